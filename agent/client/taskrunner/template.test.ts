import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NomadError, SeededRng } from '../../core/lib/index.js';
import type { Template } from '../../core/structs/index.js';
import { AllocDir } from './allocdir.js';
import type { InterpolationVars } from './env.js';
import { parseEnvFile, planChanges, renderTemplateText, TaskTemplates } from './template.js';

function tmpl(patch: Partial<Template>): Template {
  return {
    data: '', sourcePath: '', destPath: 'local/out.txt', changeMode: 'restart', changeSignal: '', envvars: false,
    perms: '', leftDelim: '', rightDelim: '', splay: 0, ...patch,
  };
}

const vars = (env: Record<string, string>): InterpolationVars => ({ env, node: {} });

let root: string;
let ad: AllocDir;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nomadts-tmpl-'));
  ad = new AllocDir(root, 'a1');
  await ad.build(['web']);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('renderTemplateText', () => {
  it('renders env lookups, literals, pipes, comments and trim markers', () => {
    const t = tmpl({});
    const v = vars({ PORT: '8080', NAME: 'Web' });
    expect(renderTemplateText(t, 'port={{ env "PORT" }} name={{env "NAME" | toLower}} missing=[{{ env "NOPE" }}]', v))
      .toBe('port=8080 name=web missing=[]');
    expect(renderTemplateText(t, 'a {{/* note */}}b {{ "lit\\n" }}{{ `raw` }} {{ toUpper "x" }}', v)).toBe('a b lit\nraw X');
    expect(renderTemplateText(t, 'x   {{- env "PORT" -}}   \n y', v)).toBe('x8080y');
    expect(renderTemplateText(t, 'no actions ${NOMAD_X} stays', v)).toBe('no actions ${NOMAD_X} stays');
  });

  it('honours custom delimiters', () => {
    const t = tmpl({ leftDelim: '[[', rightDelim: ']]' });
    expect(renderTemplateText(t, '{{ not an action }} [[ env "A" ]]', vars({ A: '1' }))).toBe('{{ not an action }} 1');
  });

  it('names the template, line and function for unknown or unsupported functions', () => {
    const t = tmpl({ destPath: 'local/app.conf' });
    const run = (text: string) => () => renderTemplateText(t, text, vars({}));
    expect(run('ok\nline2 {{ frobnicate "x" }}')).toThrow('local/app.conf:2: template "local/app.conf": unknown function "frobnicate"');
    expect(run('{{ key "service/x" }}')).toThrow(/template "local\/app.conf": function "key" is not supported/);
    expect(run('{{ range service "db" }}{{ end }}')).toThrow(/control structure "range" is not supported/);
    expect(run('{{ .NOMAD_ALLOC_ID }}')).toThrow(/fields and variables are not supported/);
    expect(run('{{ env "A" ')).toThrow(/unclosed action/);
    expect(run('{{ env }}')).toThrow(/env takes one quoted name/);
    expect(run('{{ "unterminated }}')).toThrow(/unterminated string/);
    try {
      run('\n\n{{ nope }}')();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NomadError);
      expect((e as NomadError).position).toEqual({ file: 'local/app.conf', line: 3 });
    }
  });
});

describe('parseEnvFile', () => {
  it('parses KEY=VALUE lines with comments, export and quotes', () => {
    const t = tmpl({});
    expect(parseEnvFile(t, '# c\n\nA=1\nexport B = two words \nC="q\\"x"\nD=\'s\'\nE=a=b\n')).toEqual({ A: '1', B: 'two words', C: 'q"x', D: 's', E: 'a=b' });
  });

  it('names the bad line', () => {
    const t = tmpl({ destPath: 'secrets/env' });
    expect(() => parseEnvFile(t, 'A=1\njust text\n')).toThrow('secrets/env:2: template "secrets/env" (env = true): line 2 is not KEY=VALUE: "just text"');
    expect(() => parseEnvFile(t, '1A=x')).toThrow(/line 1 has an invalid variable name "1A"/);
    expect(() => parseEnvFile(t, 'A=ok\nB="open')).toThrow(/line 2 has an unterminated quote/);
  });
});

describe('TaskTemplates', () => {
  it('renders inline data to the task dir with perms, and a source file from the alloc dir', async () => {
    await writeFile(join(ad.dataDir, 'app.tpl'), 'alloc={{ env "NOMAD_ALLOC_ID" }}\n');
    const tt = new TaskTemplates(ad, 'web', [
      tmpl({ data: 'port={{ env "PORT" }}', destPath: 'local/${NOMAD_TASK_NAME}.conf', perms: '0600' }),
      tmpl({ sourcePath: '../alloc/data/app.tpl', destPath: 'local/from-source.conf' }),
    ]);
    const r = await tt.render(vars({ PORT: '9000', NOMAD_ALLOC_ID: 'abc', NOMAD_TASK_NAME: 'web' }));
    const dir = ad.taskDir('web').local;
    expect(await readFile(join(dir, 'web.conf'), 'utf8')).toBe('port=9000');
    expect((await stat(join(dir, 'web.conf'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'from-source.conf'), 'utf8')).toBe('alloc=abc\n');
    expect((await stat(join(dir, 'from-source.conf'))).mode & 0o777).toBe(0o644);
    expect(r.rendered.map((x) => x.written)).toEqual([true, true]);
    expect(r.changed).toEqual([]);
  });

  it('reports only templates whose content changed on re-render', async () => {
    const a = tmpl({ data: 'a={{ env "A" }}', destPath: 'local/a', changeMode: 'signal', changeSignal: 'SIGUSR1' });
    const b = tmpl({ data: 'b={{ env "B" }}', destPath: 'local/b', changeMode: 'restart' });
    const tt = new TaskTemplates(ad, 'web', [a, b]);
    await tt.render(vars({ A: '1', B: '1' }));
    const same = await tt.render(vars({ A: '1', B: '1' }));
    expect(same.changed).toEqual([]);
    expect(same.rendered.map((x) => x.written)).toEqual([false, false]);
    const r = await tt.render(vars({ A: '2', B: '1' }));
    expect(r.changed).toEqual([a]);
    expect(await readFile(join(ad.taskDir('web').local, 'a'), 'utf8')).toBe('a=2');
  });

  it('does not rewrite a file that already holds the same content (client restart)', async () => {
    await writeFile(join(ad.taskDir('web').local, 'a'), 'a=1');
    const tt = new TaskTemplates(ad, 'web', [tmpl({ data: 'a={{ env "A" }}', destPath: 'local/a' })]);
    const r = await tt.render(vars({ A: '1' }));
    expect(r.rendered[0]!.written).toBe(false);
  });

  it('env = true puts the rendered variables into the result, and a bad line fails', async () => {
    const good = new TaskTemplates(ad, 'web', [tmpl({ data: 'DB_HOST={{ env "H" }}\nDB_PORT=5432\n', destPath: 'secrets/db.env', envvars: true })]);
    expect((await good.render(vars({ H: 'db.local' }))).env).toEqual({ DB_HOST: 'db.local', DB_PORT: '5432' });
    const bad = new TaskTemplates(ad, 'web', [tmpl({ data: 'OK=1\noops', destPath: 'secrets/bad.env', envvars: true })]);
    await expect(bad.render(vars({}))).rejects.toThrow(/template "secrets\/bad.env" \(env = true\): line 2 is not KEY=VALUE/);
  });

  it('refuses sources outside the alloc dir and destinations outside the task dir', async () => {
    const src = new TaskTemplates(ad, 'web', [tmpl({ sourcePath: '../../../../etc/passwd' })]);
    await expect(src.render(vars({}))).rejects.toThrow(/escapes the allocation directory/);
    const dst = new TaskTemplates(ad, 'web', [tmpl({ data: 'x', destPath: '../alloc/data/x' })]);
    await expect(dst.render(vars({}))).rejects.toThrow(/path "..\/alloc\/data\/x" escapes the task directory of "web"/);
    const abs = new TaskTemplates(ad, 'web', [tmpl({ data: 'x', destPath: '/tmp/x' })]);
    await expect(abs.render(vars({}))).rejects.toThrow(/absolute/);
    const none = new TaskTemplates(ad, 'web', [tmpl({})]);
    await expect(none.render(vars({}))).rejects.toThrow(/needs either data or source/);
    const missing = new TaskTemplates(ad, 'web', [tmpl({ sourcePath: 'local/none.tpl' })]);
    await expect(missing.render(vars({}))).rejects.toThrow(/cannot read source "local\/none.tpl"/);
    const perms = new TaskTemplates(ad, 'web', [tmpl({ data: 'x', perms: '999' })]);
    await expect(perms.render(vars({}))).rejects.toThrow(/perms "999" is not an octal file mode/);
  });
});

describe('planChanges', () => {
  it('restart wins over signals; noop contributes nothing; signals are distinct; splay is drawn from the rng', () => {
    const rng = new SeededRng(1);
    const sig1 = tmpl({ changeMode: 'signal', changeSignal: 'SIGUSR1', splay: 1000 });
    const sig2 = tmpl({ changeMode: 'signal', changeSignal: '' });
    const noop = tmpl({ changeMode: 'noop', splay: 99_999 });
    const p = planChanges([sig1, sig2, sig1, noop], rng);
    expect(p).toMatchObject({ restart: false, signals: ['SIGUSR1', 'SIGHUP'], scripts: [] });
    expect(p.splayMs).toBeGreaterThanOrEqual(0);
    expect(p.splayMs).toBeLessThan(1000);
    expect(planChanges([sig1, tmpl({ changeMode: 'restart' })], rng)).toMatchObject({ restart: true, signals: [] });
    expect(planChanges([noop], rng)).toEqual({ restart: false, signals: [], scripts: [], splayMs: 0 });
  });
});
