import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MultiError, NomadError } from '../core/lib/index.js';
import type { Job } from '../core/structs/index.js';
import {
  canonicalizeJob, checkCron, formatDuration, jobToJSON, parseDuration, parseJobFile, parseJobJSON, parseJobText, validateJob,
} from './index.js';

const JOBS = fileURLToPath(new URL('../../jobs/', import.meta.url));

/** 1-based line of the first line containing `needle` (computed independently of the parser). */
function lineOf(src: string, needle: string, after?: string): number {
  const lines = src.split('\n');
  const start = after === undefined ? 0 : lines.findIndex((l) => l.includes(after));
  const i = lines.findIndex((l, k) => k >= start && l.includes(needle));
  if (i < 0) throw new Error(`test bug: ${needle} not in source`);
  return i + 1;
}

async function errorsOf(src: string, opts: Parameters<typeof parseJobText>[1] = {}): Promise<string[]> {
  try {
    await parseJobText(src, { filename: 't.hcl', ...opts });
  } catch (e) {
    if (e instanceof MultiError) return e.errors.map((x) => x.message);
    if (e instanceof NomadError) return [e.message];
    throw e;
  }
  throw new Error('expected the job to be rejected');
}

const job = (groupBody: string, jobBody = '', head = 'job "j" {'): string => `${head}
${jobBody}
  group "web" {
${groupBody}
  }
}
`;
const task = (body: string): string => `    task "api" {
      driver = "raw_exec"
${body}
    }`;

describe('example jobs', () => {
  const files = readdirSync(JOBS).filter((f) => f.endsWith('.nomad.hcl'));
  it('has every example the issue names', () => {
    expect(files.sort()).toEqual([
      'batch-retry.nomad.hcl', 'docker-web.nomad.hcl', 'hello-web.nomad.hcl', 'lifecycle.nomad.hcl', 'periodic-report.nomad.hcl',
      'placement.nomad.hcl', 'sysbatch-cleanup.nomad.hcl', 'system-agent.nomad.hcl', 'variables.nomad.hcl',
    ]);
  });
  for (const f of files) {
    it(`${f} parses, validates, and round-trips through JSON`, async () => {
      const varFiles = f === 'variables.nomad.hcl' ? [join(JOBS, 'variables.vars')] : [];
      const j = await parseJobFile(join(JOBS, f), { varFiles });
      expect(j.taskGroups.length).toBeGreaterThan(0);
      expect(() => validateJob(j)).not.toThrow();
      const back = await parseJobJSON(jobToJSON(j), `${f}.json`);
      expect(back).toEqual(j);
    });
  }
  it('hello-web keeps the runtime port and has an http check', async () => {
    const j = await parseJobFile(join(JOBS, 'hello-web.nomad.hcl'));
    const g = j.taskGroups[0]!;
    expect(g.networks[0]!.dynamicPorts).toEqual([{ label: 'http', value: 0, to: 0, hostNetwork: 'default' }]);
    expect((g.tasks[0]!.config['args'] as string[])[2]).toBe('${NOMAD_PORT_http}');
    expect(g.services[0]!.checks[0]).toMatchObject({ type: 'http', path: '/', portLabel: 'http', interval: 10_000, timeout: 2000 });
  });
  it('placement has the distinct_hosts operator form, distinct_property and a spread', async () => {
    const j = await parseJobFile(join(JOBS, 'placement.nomad.hcl'));
    const g = j.taskGroups[0]!;
    expect(g.constraints).toEqual([
      { lTarget: '${meta.rack}', rTarget: '', operand: 'is_set' },
      { lTarget: '', rTarget: 'true', operand: 'distinct_hosts' },
      { lTarget: '${meta.rack}', rTarget: '3', operand: 'distinct_property' },
    ]);
    expect(g.spreads[0]).toEqual({ attribute: '${meta.rack}', weight: 80, targets: [{ value: 'r1', percent: 50 }, { value: 'r2', percent: 50 }] });
    expect(g.affinities[0]).toEqual({ lTarget: '${node.datacenter}', rTarget: 'dc1', operand: '=', weight: 60 });
  });
  it('lifecycle keeps task order from the source and the hooks', async () => {
    const j = await parseJobFile(join(JOBS, 'lifecycle.nomad.hcl'));
    const tasks = j.taskGroups[0]!.tasks;
    expect(tasks.map((t) => t.name)).toEqual(['init', 'log-shipper', 'main', 'announce']);
    expect(tasks.map((t) => t.lifecycle)).toEqual([{ hook: 'prestart', sidecar: false }, { hook: 'prestart', sidecar: true }, null, { hook: 'poststart', sidecar: false }]);
  });
  it('docker-web defaults kill_signal to SIGTERM for docker', async () => {
    const j = await parseJobFile(join(JOBS, 'docker-web.nomad.hcl'));
    expect(j.taskGroups[0]!.tasks[0]!.killSignal).toBe('SIGTERM');
    expect(j.taskGroups[0]!.tasks[0]!.config['image']).toBe('nomadts/busybox:local');
  });
});

describe('HCL and JSON forms', () => {
  const src = readFileSync(join(JOBS, 'placement.nomad.hcl'), 'utf8');
  it('the canonical JSON printed back parses to the same Job', async () => {
    const a = await parseJobText(src, { filename: 'p.hcl' });
    expect(await parseJobText(jobToJSON(a), { filename: 'p.json' })).toEqual(a);
  });
  it("hcl2json's shape gives the same Job as the HCL", async () => {
    const a = await parseJobText(src, { filename: 'p.hcl' });
    const { parse } = await import('@cdktn/hcl2json');
    const shape = await parse('p.hcl', src);
    expect(await parseJobJSON(JSON.stringify(shape), 'p.json')).toEqual(a);
  });
  it('a partial canonical JSON job takes defaults; unknown keys and wrong types are refused', async () => {
    const j = await parseJobJSON(JSON.stringify({ id: 'x', taskGroups: [{ name: 'g', tasks: [{ name: 't', driver: 'exec' }] }] }), 'x.json');
    expect(j.taskGroups[0]!.count).toBe(1);
    expect(j.taskGroups[0]!.tasks[0]!.resources).toEqual({ cpu: 100, memoryMB: 300, memoryMaxMB: 0, cores: 0 });
    await expect(parseJobJSON(JSON.stringify({ id: 'x', taskGroupz: [] }), 'x.json')).rejects.toThrow(/x\.json: taskGroupz is not a known field/);
    await expect(parseJobJSON(JSON.stringify({ id: 'x', priority: '50' }), 'x.json')).rejects.toThrow(/priority must be a number, got string/);
    await expect(parseJobJSON(JSON.stringify({ id: 'x', taskGroups: [{ name: 'g', tasks: [{ name: 't', driver: 'exec', resources: { memoryMB: 5 } }] }] }), 'x.json'))
      .rejects.toThrow(/x\.json: group "g" task "t": resources\.memory must be >= 10, got 5/);
  });
  it('refuses invalid JSON with a position, and the Nomad API shape with a clear message', async () => {
    await expect(parseJobJSON('{\n  "id": "x",,\n}', 'x.json')).rejects.toThrow(/^x\.json:2:\d+: invalid JSON/);
    await expect(parseJobJSON('{"Job": {"ID": "x"}}', 'x.json')).rejects.toThrow(/API JSON shape/);
  });
});

describe('defaults per job type (Nomad canonicalisation)', () => {
  const minimal = (type: string): string => job(task(''), `  type = "${type}"`);
  it('service', async () => {
    const j = await parseJobText(minimal('service'));
    expect(j).toMatchObject({ priority: 50, region: 'global', namespace: 'default', datacenters: ['*'], nodePool: 'default', name: 'j', status: 'pending', version: 0, submitTime: 0 });
    const g = j.taskGroups[0]!;
    expect(g.count).toBe(1);
    expect(g.restart).toEqual({ attempts: 2, interval: 30 * 60_000, delay: 15_000, mode: 'fail', renderTemplates: false });
    expect(g.reschedule).toEqual({ attempts: 0, interval: 0, delay: 30_000, delayFunction: 'exponential', maxDelay: 3_600_000, unlimited: true });
    expect(g.migrate).toEqual({ maxParallel: 1, healthCheck: 'checks', minHealthyTime: 10_000, healthyDeadline: 300_000 });
    expect(g.update).toBeNull();
    expect(g.ephemeralDisk).toEqual({ sizeMB: 300, sticky: false, migrate: false });
    const t = g.tasks[0]!;
    expect(t).toMatchObject({ killTimeout: 5000, killSignal: 'SIGINT', logs: { maxFiles: 10, maxFileSizeMB: 10, disabled: false }, resources: { cpu: 100, memoryMB: 300, memoryMaxMB: 0, cores: 0 } });
    expect(t.restart).toEqual(g.restart);
  });
  it('batch', async () => {
    const g = (await parseJobText(minimal('batch'))).taskGroups[0]!;
    expect(g.restart).toEqual({ attempts: 3, interval: 24 * 3_600_000, delay: 15_000, mode: 'fail', renderTemplates: false });
    expect(g.reschedule).toEqual({ attempts: 1, interval: 24 * 3_600_000, delay: 5000, delayFunction: 'constant', maxDelay: 0, unlimited: false });
    expect(g.migrate).toBeNull();
  });
  it('system and sysbatch: count 1, no reschedule, no migrate', async () => {
    for (const type of ['system', 'sysbatch']) {
      const g = (await parseJobText(minimal(type))).taskGroups[0]!;
      expect(g.count).toBe(1);
      expect(g.reschedule).toBeNull();
      expect(g.migrate).toBeNull();
      expect(g.restart.attempts).toBe(type === 'system' ? 2 : 3);
    }
  });
  it('a job-level update block is the default for every group, merged field by field', async () => {
    const j = await parseJobText(job(`    update {\n      canary = 1\n    }\n${task('')}`, '  update {\n    max_parallel = 3\n  }'));
    expect(j.update).toMatchObject({ maxParallel: 3, stagger: 30_000, healthCheck: 'checks', minHealthyTime: 10_000, healthyDeadline: 300_000, progressDeadline: 600_000 });
    expect(j.taskGroups[0]!.update).toMatchObject({ maxParallel: 3, canary: 1 });
  });
  it('job-level reschedule and migrate merge into groups; a task restart overrides the group one', async () => {
    const j = await parseJobText(job(`    reschedule {\n      delay = "1m"\n    }\n    restart {\n      attempts = 5\n      interval = "1h"\n    }\n${task('      restart {\n        attempts = 1\n      }')}`, '  reschedule {\n    max_delay = "2h"\n  }\n  migrate {\n    max_parallel = 2\n  }'));
    const g = j.taskGroups[0]!;
    expect(g.reschedule).toMatchObject({ delay: 60_000, maxDelay: 7_200_000, unlimited: true });
    expect(g.migrate!.maxParallel).toBe(2);
    expect(g.restart).toMatchObject({ attempts: 5, interval: 3_600_000 });
    expect(g.tasks[0]!.restart).toMatchObject({ attempts: 1, interval: 3_600_000 });
  });
  it('canonicalizeJob is idempotent on a canonical job', async () => {
    const j = await parseJobFile(join(JOBS, 'hello-web.nomad.hcl'));
    expect(canonicalizeJob(JSON.parse(jobToJSON(j)) as Job)).toEqual(j);
  });
});

describe('validation: every rule names the field and its line', () => {
  const cases: { name: string; src: string; field: RegExp; needle: string; after?: string }[] = [
    { name: 'memory minimum', src: job(task('      resources {\n        memory = 5\n      }')), field: /group "web" task "api": resources\.memory must be >= 10/, needle: 'memory = 5' },
    { name: 'cpu minimum', src: job(task('      resources {\n        cpu = 0\n      }')), field: /group "web" task "api": resources\.cpu must be >= 1/, needle: 'cpu = 0' },
    { name: 'memory_max below memory', src: job(task('      resources {\n        memory = 100\n        memory_max = 50\n      }')), field: /resources\.memory_max \(50\) must be >= memory \(100\)/, needle: 'memory_max' },
    { name: 'priority range', src: job(task(''), '  priority = 101'), field: /priority must be between 1 and 100, got 101/, needle: 'priority' },
    { name: 'job type', src: job(task(''), '  type = "daemon"'), field: /type is "daemon"; must be one of service, batch, system, sysbatch/, needle: 'type =' },
    { name: 'id with a space', src: job(task(''), '', 'job "my job" {'), field: /id "my job" contains a space/, needle: 'job "my job"' },
    { name: 'negative count', src: job(`    count = -1\n${task('')}`), field: /group "web": count must be >= 0/, needle: 'count = -1' },
    { name: 'driver missing', src: job('    task "api" {\n    }'), field: /group "web" task "api": driver is required/, needle: 'task "api"' },
    { name: 'no groups', src: 'job "j" {\n  type = "batch"\n}\n', field: /has no group/, needle: 'job "j"' },
    { name: 'no tasks', src: job('    count = 1'), field: /group "web" has no task/, needle: 'group "web"' },
    { name: 'duplicate task', src: job(`${task('')}\n${task('')}`), field: /group "web" task "api" is defined more than once/, needle: 'task "api"' },
    { name: 'duplicate group', src: `job "j" {\n  group "a" {\n${task('')}\n  }\n  group "a" {\n${task('')}\n  }\n}\n`, field: /group "a" is defined more than once/, needle: 'group "a"' },
    { name: 'port label', src: job(`    network {\n      port "my-port" {}\n    }\n${task('')}`), field: /network\[0\]\.port\["my-port"\] label must contain only/, needle: 'port "my-port"' },
    { name: 'duplicate port label', src: job(`    network {\n      port "http" {}\n      port "http" {\n        static = 80\n      }\n    }\n${task('')}`), field: /port\["http"\] is defined more than once/, needle: 'port "http"' },
    { name: 'static port range', src: job(`    network {\n      port "http" {\n        static = 70000\n      }\n    }\n${task('')}`), field: /port\["http"\]\.static must be between 1 and 65535, got 70000/, needle: 'static = 70000' },
    { name: 'unknown operator', src: job(`    constraint {\n      attribute = "\${attr.x}"\n      operator = "~="\n      value = "1"\n    }\n${task('')}`), field: /group "web": constraint\[0\]\.operator is "~=", not a known constraint operator/, needle: 'operator = "~="' },
    { name: 'regexp compiles', src: job(`    constraint {\n      attribute = "\${attr.x}"\n      operator = "regexp"\n      value = "a(b"\n    }\n${task('')}`), field: /constraint\[0\]\.value is not a valid regular expression/, needle: 'value = "a(b"' },
    { name: 'version constraint', src: job(`    constraint {\n      attribute = "\${attr.x}"\n      operator = "version"\n      value = ">= banana"\n    }\n${task('')}`), field: /constraint\[0\]\.value ">= banana" is not a version constraint/, needle: 'value = ">= banana"' },
    { name: 'semver constraint', src: job(`    constraint {\n      attribute = "\${attr.x}"\n      operator = "semver"\n      value = ">= 1.2"\n    }\n${task('')}`), field: /constraint\[0\]\.value ">= 1\.2" is not a semver constraint/, needle: 'value = ">= 1.2"' },
    { name: 'set_contains needs a value', src: job(`    constraint {\n      attribute = "\${attr.x}"\n      operator = "set_contains"\n    }\n${task('')}`), field: /constraint\[0\]\.value is required for operator "set_contains"/, needle: 'constraint {' },
    { name: 'second constraint located', src: job(`    constraint {\n      attribute = "\${attr.a}"\n      value = "1"\n    }\n    constraint {\n      attribute = "\${attr.b}"\n      operator = "nope"\n    }\n${task('')}`), field: /constraint\[1\]\.operator/, needle: 'operator = "nope"' },
    { name: 'affinity weight zero', src: job(`    affinity {\n      attribute = "\${node.datacenter}"\n      value = "dc1"\n      weight = 0\n    }\n${task('')}`), field: /affinity\[0\]\.weight must be a non-zero whole number between -100 and 100, got 0/, needle: 'weight = 0' },
    { name: 'affinity weight range', src: job(`    affinity {\n      attribute = "\${node.datacenter}"\n      value = "dc1"\n      weight = -101\n    }\n${task('')}`), field: /affinity\[0\]\.weight/, needle: 'weight = -101' },
    { name: 'spread weight', src: job(`    spread {\n      attribute = "\${meta.rack}"\n      weight = 101\n    }\n${task('')}`), field: /spread\[0\]\.weight must be between 1 and 100, got 101/, needle: 'weight = 101' },
    { name: 'spread targets over 100%', src: job(`    spread {\n      attribute = "\${meta.rack}"\n      target "a" {\n        percent = 60\n      }\n      target "b" {\n        percent = 50\n      }\n    }\n${task('')}`), field: /spread\[0\]\.target\["a"\] percentages add up to 110/, needle: 'target "a"' },
    { name: 'update max_parallel', src: job(`    update {\n      max_parallel = -1\n    }\n${task('')}`), field: /group "web": update\.max_parallel must be >= 0, got -1/, needle: 'max_parallel = -1' },
    { name: 'migrate max_parallel', src: job(`    migrate {\n      max_parallel = 0\n    }\n${task('')}`), field: /group "web": migrate\.max_parallel must be >= 1, got 0/, needle: 'max_parallel = 0' },
    { name: 'canary in a batch job', src: job(`    update {\n      canary = 1\n    }\n${task('')}`, '  type = "batch"'), field: /update\.canary is not allowed for batch jobs/, needle: 'canary = 1' },
    { name: 'system count > 1', src: job(`    count = 3\n${task('')}`, '  type = "system"'), field: /group "web": count is 3; count cannot exceed 1 for system jobs/, needle: 'count = 3' },
    { name: 'system reschedule', src: job(`    reschedule {\n      attempts = 1\n    }\n${task('')}`, '  type = "system"'), field: /group "web": reschedule is not allowed for system jobs/, needle: 'reschedule {' },
    { name: 'system spread', src: job(`    spread {\n      attribute = "\${meta.rack}"\n    }\n${task('')}`, '  type = "sysbatch"'), field: /group "web": spread\[0\] is not allowed for system or sysbatch jobs/, needle: 'spread {' },
    { name: 'system canary', src: job(`    update {\n      canary = 2\n    }\n${task('')}`, '  type = "system"'), field: /update\.canary is not allowed for system jobs/, needle: 'canary = 2' },
    { name: 'periodic on a service', src: job(task(''), '  periodic {\n    cron = "* * * * *"\n  }'), field: /periodic can only be used with "batch" or "sysbatch" jobs, not "service"/, needle: 'periodic {' },
    { name: 'bad cron', src: job(task(''), '  type = "batch"\n  periodic {\n    cron = "61 * * * *"\n  }'), field: /periodic\.cron "61 \* \* \* \*" minute field "61" is invalid/, needle: 'cron =' },
    { name: 'bad time zone', src: job(task(''), '  type = "batch"\n  periodic {\n    cron = "@daily"\n    time_zone = "Mars/Olympus"\n  }'), field: /periodic\.time_zone "Mars\/Olympus" is not a known time zone/, needle: 'time_zone' },
    { name: 'lifecycle hook', src: job(task('      lifecycle {\n        hook = "prerun"\n      }')), field: /task "api": lifecycle\.hook must be one of "prestart", "poststart", "poststop", got "prerun"/, needle: 'hook = "prerun"' },
    { name: 'two leaders', src: job(`${task('      leader = true')}\n    task "b" {\n      driver = "exec"\n      leader = true\n    }`), field: /group "web" has 2 leader tasks/, needle: 'group "web"' },
    { name: 'kill_timeout negative', src: job(task('      kill_timeout = "-5s"')), field: /task "api": kill_timeout must not be negative/, needle: 'kill_timeout' },
    { name: 'template needs data or source', src: job(task('      template {\n        destination = "local/x"\n      }')), field: /task "api": template\[0\] needs data or source/, needle: 'template {' },
    { name: 'invalid duration names the field', src: job(task('      kill_timeout = "5 seconds"')), field: /task "api": kill_timeout must be a duration such as "30s"/, needle: 'kill_timeout' },
    { name: 'unknown attribute', src: job(task('      memroy = 10')), field: /group "web" task "api": memroy is not a known attribute or block/, needle: 'memroy' },
    { name: 'unknown block', src: job(`    netwrok {\n    }\n${task('')}`), field: /group "web": netwrok is not a known attribute or block/, needle: 'netwrok' },
    { name: 'unknown attribute in a nested block', src: job(task('      resources {\n        mem = 10\n      }')), field: /task "api": resources\.mem is not a known attribute/, needle: 'mem = 10' },
    { name: 'http check needs a path', src: job(`    network {\n      port "http" {}\n    }\n    service {\n      port = "http"\n      check {\n        type = "http"\n        interval = "10s"\n        timeout = "2s"\n      }\n    }\n${task('')}`), field: /group "web": service\[0\]\.check\[0\]\.path is required for an http check/, needle: 'check {' },
    { name: 'service port unknown', src: job(`    service {\n      port = "nope"\n    }\n${task('')}`), field: /service\[0\]\.port "nope" is not a port label/, needle: 'port = "nope"' },
    { name: 'wrong value type', src: job(`    count = "many"\n${task('')}`), field: /group "web": count must be a whole number, got "many"/, needle: 'count = "many"' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const errs = await errorsOf(c.src);
      const hit = errs.find((e) => c.field.test(e));
      expect(hit, `errors were:\n${errs.join('\n')}`).toBeDefined();
      const line = lineOf(c.src, c.needle, c.after);
      expect(hit).toMatch(new RegExp(`^t\\.hcl:${line}:\\d+: `));
    });
  }

  it('reports every problem, not just the first', async () => {
    const errs = await errorsOf(job(`    count = -2\n${task('      resources {\n        cpu = 0\n        memory = 1\n      }')}`, '  priority = 0'));
    expect(errs.length).toBeGreaterThanOrEqual(4);
    expect(errs.join('\n')).toMatch(/priority[\s\S]*count[\s\S]*cpu[\s\S]*memory/);
  });
  it('the distinct_hosts shorthand is accepted', async () => {
    const j = await parseJobText(job(`    constraint {\n      distinct_hosts = true\n    }\n${task('')}`));
    expect(j.taskGroups[0]!.constraints).toEqual([{ lTarget: '', rTarget: 'true', operand: 'distinct_hosts' }]);
  });
  it('validateJob also checks a job built in code, and the column points at the attribute', async () => {
    const j = await parseJobText(job(task('')));
    j.taskGroups[0]!.tasks[0]!.resources.memoryMB = 1;
    expect(() => validateJob(j, { filename: 'code' })).toThrow(/^code: group "web" task "api": resources\.memory must be >= 10, got 1$/);
    const errs = await errorsOf(job(task('      resources {\n        memory = 5\n      }')));
    expect(errs[0]).toMatch(/^t\.hcl:\d+:9: /);
  });
});

describe('parse errors, limits', () => {
  it('a syntax error carries file:line:col', async () => {
    const errs = await errorsOf('job "x" {\n  group "g" {\n    count = \n  }\n}\n');
    expect(errs[0]).toMatch(/^t\.hcl:3:\d+: /);
    const e2 = await errorsOf('job "x" {\n  type = "batch"\n');
    expect(e2[0]).toMatch(/^t\.hcl:1:9: Unclosed configuration block/);
  });
  it('no job block, or two', async () => {
    expect((await errorsOf('variable "a" {\n  default = 1\n}\n')).join()).toMatch(/no job block/);
    expect((await errorsOf(`${job(task(''))}job "k" {\n}\n`)).join()).toMatch(/second job block/);
  });
  it('rejects an oversized file before parsing', async () => {
    const big = `${job(task(''))}${'# padding\n'.repeat(200)}`;
    await expect(parseJobText(big, { filename: 'big.hcl', maxBytes: 1000 })).rejects.toThrow(/^big\.hcl: is \d+ bytes; the limit is 1000 bytes/);
    await expect(parseJobText('x'.repeat(1024 * 1024 + 1), { filename: 'big.hcl' })).rejects.toMatchObject({ code: 'too_large' });
  });
  it('rejects absurd nesting in HCL and JSON', async () => {
    const deep = `job "x" {\n  group "g" {\n    task "t" {\n      config {\n        a = ${'['.repeat(100)}${']'.repeat(100)}\n      }\n    }\n  }\n}\n`;
    await expect(parseJobText(deep, { filename: 'deep.hcl' })).rejects.toMatchObject({ code: 'too_deep' });
    await expect(parseJobText(deep, { filename: 'deep.hcl' })).rejects.toThrow(/^deep\.hcl:5:\d+: nesting deeper than 64 levels/);
    await expect(parseJobJSON(`${'['.repeat(100)}${']'.repeat(100)}`, 'deep.json')).rejects.toMatchObject({ code: 'too_deep' });
    const blocks = `job "x" {\n${'a {\n'.repeat(70)}${'}\n'.repeat(70)}}\n`;
    await expect(parseJobText(blocks, { filename: 'b.hcl' })).rejects.toMatchObject({ code: 'too_deep' });
  });
  it('a rejected job returns nothing', async () => {
    let result: unknown = 'untouched';
    try { result = await parseJobText(job(task('      resources {\n        memory = 1\n      }'))); } catch { /* expected */ }
    expect(result).toBe('untouched');
  });
});

describe('variables and interpolation', () => {
  const vsrc = readFileSync(join(JOBS, 'variables.nomad.hcl'), 'utf8');
  it('a missing variable without a default is an error naming it', async () => {
    const errs = await errorsOf(vsrc);
    expect(errs).toHaveLength(1);
    expect(errs.join('\n')).toMatch(new RegExp(`^t\\.hcl:${lineOf(vsrc, 'variable "message"')}:1: variable "message" has no value`, 'm'));
  });
  it('defaults, -var-file and -var, with -var winning', async () => {
    const varFile = { filename: 'v.vars', text: readFileSync(join(JOBS, 'variables.vars'), 'utf8') };
    const a = await parseJobText(vsrc, { filename: 't.hcl', varFiles: [varFile] });
    expect(a.taskGroups[0]!.count).toBe(2);
    expect(a.taskGroups[0]!.tasks[0]!.resources.memoryMB).toBe(32);
    expect(a.meta['message']).toBe('hello from variables.vars');
    const b = await parseJobText(vsrc, { filename: 't.hcl', varFiles: [varFile], vars: ['count=5', 'message=hi there', 'datacenters=["dc1","dc2"]'] });
    expect(b.taskGroups[0]!.count).toBe(5);
    expect(b.datacenters).toEqual(['dc1', 'dc2']);
    expect((b.taskGroups[0]!.tasks[0]!.config['args'] as string[])[1]).toBe("echo 'hi there' from ${HOME} in ${NOMAD_TASK_NAME}; sleep 3600");
    const c = await parseJobText(vsrc, { filename: 't.hcl', vars: { message: 'm' }, env: { NOMAD_VAR_count: '7', NOMAD_VAR_other: 'ignored' } });
    expect(c.taskGroups[0]!.count).toBe(7);
  });
  it('an unknown -var, a type mismatch and an unknown var-file entry are errors', async () => {
    expect((await errorsOf(vsrc, { vars: ['message=x', 'nope=1'] })).join()).toMatch(/-var nope: no variable "nope" is declared/);
    expect((await errorsOf(vsrc, { vars: ['message=x', 'count=lots'] })).join()).toMatch(/-var count: "lots" is not a valid number for variable "count"/);
    expect((await errorsOf(vsrc, { vars: ['message=x'], varFiles: [{ filename: 'x.vars', text: 'message = "a"\ncolour = "red"\n' }] })).join())
      .toMatch(/^x\.vars:2:1: var-file value "colour": no variable "colour" is declared/m);
    expect((await errorsOf(`variable "n" {\n  type = number\n  default = "abc"\n}\n${job(task(''))}`)).join()).toMatch(/variable "n": default does not match the variable's type number/);
  });
  it('a reference to an undeclared variable is an error at its field', async () => {
    const src = job(task('      user = var.who'));
    expect((await errorsOf(src)).join()).toMatch(new RegExp(`t\\.hcl:${lineOf(src, 'user = var.who')}:\\d+: group "web" task "api": user refers to an undeclared variable var.who`));
  });
  it('a whole-value reference keeps its type; inside a string it is text', async () => {
    const src = `variable "n" {\n  type = number\n  default = 3\n}\n${job(`    count = var.n\n${task('      env = {\n        N = "n=${var.n}"\n      }')}`)}`;
    const j = await parseJobText(src);
    expect(j.taskGroups[0]!.count).toBe(3);
    expect(j.taskGroups[0]!.tasks[0]!.env).toEqual({ N: 'n=3' });
  });
  it('$${ stays a literal ${ in task config and templates; runtime interpolations are untouched', async () => {
    const src = job(task(`      config {
        command = "sh"
        args = ["-c", "echo $\${HOME} \${NOMAD_ALLOC_DIR} \${attr.kernel.name} \${meta.rack} \${node.datacenter} \${env["PATH"]} %%{x}"]
      }
      template {
        data = <<EOT
home=$\${HOME} port={{ env "NOMAD_PORT_http" }}
EOT
        destination = "local/x"
      }`));
    const t = (await parseJobText(src)).taskGroups[0]!.tasks[0]!;
    expect(t.config['args']).toEqual(['-c', 'echo ${HOME} ${NOMAD_ALLOC_DIR} ${attr.kernel.name} ${meta.rack} ${node.datacenter} ${env["PATH"]} %{x}']);
    expect(t.templates[0]!.data).toBe('home=${HOME} port={{ env "NOMAD_PORT_http" }}\n');
  });
  it('an unescaped unknown reference such as ${HOME} is refused with the way out', async () => {
    const errs = await errorsOf(job(task('      config {\n        command = "echo ${HOME}"\n      }')));
    expect(errs.join()).toMatch(/config has an expression \$\{HOME\} that cannot be evaluated here.*write \$\$\{/);
  });
});

describe('durations and cron', () => {
  it('parses Nomad duration strings to milliseconds', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('100ms')).toBe(100);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('-5s')).toBe(-5000);
    for (const bad of ['', '5', 's', '5 s', '1d', '5sec', '1h-3m']) expect(parseDuration(bad), bad).toBeUndefined();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(1500)).toBe('1s500ms');
  });
  it('checks cron syntax', () => {
    for (const ok of ['* * * * *', '*/15 0-6 1,15 JAN-mar mon-fri', '0 0 * * * 2030', '0 0 0 1 1 ? 2030', '@hourly', '0 9 L * *', '0 9 ? * 1#2']) expect(checkCron(ok), ok).toBeUndefined();
    for (const bad of ['', '* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '*/0 * * * *', '5-1 * * * *', '@often', 'a b c d e']) expect(checkCron(bad), bad).toBeDefined();
  });
});
