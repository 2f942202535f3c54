/**
 * Nomad `template` blocks, rendered by the client before a task starts and again
 * when its inputs change (Nomad's template hook, consul-template underneath).
 *
 * What is supported, honestly: a small subset of consul-template's Go template
 * syntax, enough for configuration files built from the task environment.
 *   - `{{ env "NAME" }}`: a variable of the task environment (empty when unset, as
 *     consul-template's env is);
 *   - `{{ "literal" }}` (double-quoted with Go escapes, or `raw` in backquotes);
 *   - pipes into `toUpper`, `toLower`, `trimSpace` (`{{ env "X" | toLower }}`);
 *   - comments `{{/* ... *\/}}` and trim markers `{{- ` / ` -}}`;
 *   - custom delimiters (`left_delimiter` / `right_delimiter`).
 * Everything else fails with a NomadError naming the template, the line and the
 * function: Consul/Vault/Nomad-variable lookups (`key`, `service`, `secret`,
 * `nomadVar`, ...) because nomadts has no such store to watch, control structures
 * (`range`, `if`, `with`, ...), and `.Field` access.
 *
 * `${...}` interpolation applies to `source` and `destination` (as in Nomad), not to
 * the template text: inside the text, `{{ env "NOMAD_..." }}` is the way, and a
 * shell script's `${VAR}` is left for the shell.
 *
 * Paths: the source must lie inside the allocation directory, the destination
 * inside the task directory (both resolved through AllocDir.taskPath).
 * `env = true` parses the rendered output as `KEY=VALUE` lines (blank lines and `#`
 * comments skipped, optional `export `, optional single/double quotes) into the
 * task environment; a bad line fails with its line number.
 *
 * Change detection: a template is "changed" when a re-render (not the first render
 * of this TaskTemplates) writes different content; `planChanges` turns the changed
 * templates into what the runner must do (restart wins over signals, as in Nomad).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Rng } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { Template } from '../../core/structs/index.js';
import type { AllocDir } from './allocdir.js';
import type { InterpolationVars } from './env.js';
import { interpolate } from './env.js';

/** consul-template functions that read Consul, Vault or Nomad state: known, but not available here. */
const UnsupportedFunctions = new Set([
  'key', 'keyOrDefault', 'keyExists', 'ls', 'safeLs', 'tree', 'safeTree', 'service', 'services', 'connect',
  'caRoots', 'caLeaf', 'secret', 'secrets', 'pkiCert', 'nomadVar', 'nomadVarList', 'nomadVarListSafe',
  'nomadVarExists', 'nomadService', 'nomadServices', 'node', 'nodes', 'datacenters', 'file', 'executeTemplate',
  'plugin', 'writeToFile', 'base64Decode', 'parseJSON', 'toJSON', 'sockaddr',
]);
const ControlKeywords = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const PipeFunctions: Record<string, (s: string) => string> = {
  toUpper: (s) => s.toUpperCase(),
  toLower: (s) => s.toLowerCase(),
  trimSpace: (s) => s.trim(),
};

/** How a template is named in errors: its destination, as Nomad names templates. */
export function templateName(t: Template): string {
  return t.destPath;
}

type Token = { kind: 'ident'; value: string } | { kind: 'string'; value: string } | { kind: 'pipe' } | { kind: 'other'; value: string };

function templateError(t: Template, line: number, message: string): NomadError {
  return new NomadError('invalid_argument', `template "${templateName(t)}": ${message}`, { position: { file: templateName(t), line }, field: 'template' });
}

function tokenize(t: Template, line: number, src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '|') {
      out.push({ kind: 'pipe' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw templateError(t, line, 'unterminated string');
      try {
        out.push({ kind: 'string', value: JSON.parse(src.slice(i, j + 1)) as string });
      } catch {
        throw templateError(t, line, `bad string ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw templateError(t, line, 'unterminated raw string');
      out.push({ kind: 'string', value: src.slice(i + 1, j) });
      i = j + 1;
    } else {
      let j = i;
      while (j < src.length && !/[\s|"`]/.test(src[j]!)) j++;
      const word = src.slice(i, j);
      out.push(/^[A-Za-z_][A-Za-z0-9_]*$/.test(word) ? { kind: 'ident', value: word } : { kind: 'other', value: word });
      i = j;
    }
  }
  return out;
}

/** Evaluate one action (the text between the delimiters, trim markers removed). */
function evalAction(t: Template, line: number, action: string, vars: InterpolationVars): string {
  const tokens = tokenize(t, line, action);
  // Split into pipeline stages.
  const stages: Token[][] = [[]];
  for (const tok of tokens) {
    if (tok.kind === 'pipe') stages.push([]);
    else stages[stages.length - 1]!.push(tok);
  }
  let value: string | undefined;
  for (const [n, stage] of stages.entries()) {
    const head = stage[0];
    if (head === undefined) throw templateError(t, line, `empty command in "${action.trim()}"`);
    if (head.kind === 'other') {
      if (head.value.startsWith('.') || head.value.startsWith('$')) {
        throw templateError(t, line, `"${head.value}": fields and variables are not supported (use env "NAME")`);
      }
      throw templateError(t, line, `unexpected "${head.value}"`);
    }
    if (head.kind === 'string') {
      if (n > 0 || stage.length > 1) throw templateError(t, line, `unexpected string "${head.value}"`);
      value = head.value;
      continue;
    }
    if (head.kind !== 'ident') throw templateError(t, line, 'unexpected "|"');
    const fn = head.value;
    const args = stage.slice(1);
    if (ControlKeywords.has(fn)) throw templateError(t, line, `control structure "${fn}" is not supported`);
    if (UnsupportedFunctions.has(fn)) {
      throw templateError(t, line, `function "${fn}" is not supported by nomadts (no Consul, Vault or Nomad variable lookups); use env "NAME" or inline data`);
    }
    if (fn === 'env') {
      if (n > 0) throw templateError(t, line, 'env cannot take piped input');
      const arg = args[0];
      if (args.length !== 1 || arg?.kind !== 'string') throw templateError(t, line, 'env takes one quoted name: env "NAME"');
      value = Object.hasOwn(vars.env, arg.value) ? vars.env[arg.value]! : '';
      continue;
    }
    const pipeFn = Object.hasOwn(PipeFunctions, fn) ? PipeFunctions[fn] : undefined;
    if (pipeFn !== undefined) {
      const direct = args[0];
      if (n === 0 && (args.length !== 1 || direct?.kind !== 'string')) throw templateError(t, line, `${fn} takes one argument`);
      if (n > 0 && args.length > 0) throw templateError(t, line, `${fn} takes its input from the pipe only`);
      value = pipeFn(n === 0 ? (direct as { value: string }).value : value ?? '');
      continue;
    }
    throw templateError(t, line, `unknown function "${fn}"`);
  }
  return value ?? '';
}

/** Render template text with the given delimiters. Pure: no I/O. */
export function renderTemplateText(t: Template, text: string, vars: InterpolationVars): string {
  const left = t.leftDelim === '' ? '{{' : t.leftDelim;
  const right = t.rightDelim === '' ? '}}' : t.rightDelim;
  let out = '';
  let i = 0;
  let line = 1;
  let trimNextLeading = false;
  for (;;) {
    const open = text.indexOf(left, i);
    let literal = open < 0 ? text.slice(i) : text.slice(i, open);
    if (trimNextLeading) literal = literal.replace(/^\s+/, '');
    trimNextLeading = false;
    if (open < 0) {
      out += literal;
      break;
    }
    let inner = text.slice(open + left.length);
    const close = inner.indexOf(right);
    const startLine = line + countLines(text, i, open);
    if (close < 0) throw templateError(t, startLine, `unclosed action (missing "${right}")`);
    inner = inner.slice(0, close);
    if (/^-[ \t\r\n]/.test(inner)) {
      literal = literal.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    if (/[ \t\r\n]-$/.test(inner)) {
      trimNextLeading = true;
      inner = inner.slice(0, -1);
    }
    out += literal;
    const trimmed = inner.trim();
    if (trimmed.startsWith('/*')) {
      if (!trimmed.endsWith('*/')) throw templateError(t, startLine, 'unclosed comment');
    } else {
      out += evalAction(t, startLine, inner, vars);
    }
    const next = open + left.length + close + right.length;
    line = startLine + countLines(text, open, next);
    i = next;
  }
  return out;
}

function countLines(s: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) if (s.charCodeAt(k) === 10) n++;
  return n;
}

/** Parse `KEY=VALUE` lines (an `env = true` template's output). Errors name the template and line. */
export function parseEnvFile(t: Template, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [n, raw] of lines.entries()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trimStart();
    const eq = line.indexOf('=');
    const where = { position: { file: templateName(t), line: n + 1 }, field: 'template.env' };
    if (eq <= 0) {
      throw new NomadError('invalid_argument', `template "${templateName(t)}" (env = true): line ${n + 1} is not KEY=VALUE: ${JSON.stringify(raw)}`, where);
    }
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      throw new NomadError('invalid_argument', `template "${templateName(t)}" (env = true): line ${n + 1} has an invalid variable name ${JSON.stringify(key)}`, where);
    }
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else if (q === '"' || q === "'") {
      throw new NomadError('invalid_argument', `template "${templateName(t)}" (env = true): line ${n + 1} has an unterminated quote`, where);
    }
    out[key] = value;
  }
  return out;
}

/** Parse Nomad's `perms` (octal string, default 0644). */
export function parsePerms(t: Template): number {
  if (t.perms === '') return 0o644;
  if (!/^0?[0-7]{3,4}$/.test(t.perms)) {
    throw new NomadError('invalid_argument', `template "${templateName(t)}": perms "${t.perms}" is not an octal file mode`, { field: 'template.perms' });
  }
  return parseInt(t.perms, 8);
}

export interface RenderedTemplate {
  template: Template;
  /** Host path of the destination. */
  path: string;
  content: string;
  /** True when the file on disk was (re)written because its content differed. */
  written: boolean;
}

export interface RenderResult {
  rendered: RenderedTemplate[];
  /** Templates whose content changed since the previous render of this TaskTemplates. */
  changed: Template[];
  /** Variables from `env = true` templates, in template order (later wins). */
  env: Record<string, string>;
}

/** A task's templates; call `render` before the task starts and again whenever the env changes. */
export class TaskTemplates {
  private readonly last = new Map<number, string>();

  constructor(
    private readonly allocDir: AllocDir,
    private readonly task: string,
    readonly templates: readonly Template[],
  ) {}

  async render(vars: InterpolationVars): Promise<RenderResult> {
    const rendered: RenderedTemplate[] = [];
    const changed: Template[] = [];
    const env: Record<string, string> = {};
    for (const [idx, t] of this.templates.entries()) {
      const text = await this.source(t, vars);
      const content = renderTemplateText(t, text, vars);
      const mode = parsePerms(t);
      if (t.destPath === '') throw templateError(t, 0, 'destination is required');
      const path = await this.allocDir.taskPath(this.task, interpolate(t.destPath, vars), 'task');
      const previous = this.last.get(idx) ?? (await readFile(path, 'utf8').catch(() => undefined));
      const written = previous !== content;
      if (written) {
        await mkdir(dirname(path), { recursive: true });
        const tmp = `${path}.nomadts-tmp`;
        await writeFile(tmp, content, { mode });
        await chmod(tmp, mode);
        await rename(tmp, path);
        if (this.last.has(idx)) changed.push(t);
      }
      this.last.set(idx, content);
      if (t.envvars) Object.assign(env, parseEnvFile(t, content));
      rendered.push({ template: t, path, content, written });
    }
    return { rendered, changed, env };
  }

  private async source(t: Template, vars: InterpolationVars): Promise<string> {
    if (t.data !== '') return t.data;
    if (t.sourcePath === '') throw templateError(t, 0, 'needs either data or source');
    const path = await this.allocDir.taskPath(this.task, interpolate(t.sourcePath, vars), 'alloc');
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new NomadError('not_found', `template "${templateName(t)}": cannot read source "${t.sourcePath}": ${(e as Error).message}`, { field: 'template.source' });
    }
  }
}

/** What the runner must do about changed templates (Nomad's change_mode handling). */
export interface ChangePlan {
  restart: boolean;
  /** Distinct signals to send, in template order; empty when restarting. */
  signals: string[];
  /** Templates with change_mode "script" (the runner decides how to run them). */
  scripts: Template[];
  /** Random wait before acting, up to the largest splay among the changed templates. */
  splayMs: number;
}

export function planChanges(changed: readonly Template[], rng: Rng): ChangePlan {
  let restart = false;
  const signals: string[] = [];
  const scripts: Template[] = [];
  let splay = 0;
  for (const t of changed) {
    if (t.changeMode === 'noop') continue;
    splay = Math.max(splay, t.splay);
    if (t.changeMode === 'restart') restart = true;
    else if (t.changeMode === 'signal') {
      const sig = t.changeSignal === '' ? 'SIGHUP' : t.changeSignal;
      if (!signals.includes(sig)) signals.push(sig);
    } else scripts.push(t);
  }
  return { restart, signals: restart ? [] : signals, scripts, splayMs: splay > 0 ? rng.int(splay) : 0 };
}
