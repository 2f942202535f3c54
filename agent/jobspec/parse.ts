/**
 * Text → validated, canonical Job. The pipeline: size limit → nesting scan (also the
 * position map) → HCL parse → variables → decode → canonicalise → validate. Every
 * problem found is reported together; a rejected job throws and nothing partial escapes.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Job } from '../core/structs/index.js';
import { MultiError, NomadError } from '../core/lib/index.js';
import { Issues, attr, block, formatPath } from './path.js';
import type { Issue } from './path.js';
import { SourceMap, checkJsonDepth } from './source-map.js';
import { parseHcl } from './hcl.js';
import { decodeRoot } from './decode.js';
import { canonicalizeJob } from './canonicalize.js';
import { validateJob } from './validate.js';
import { decodeJobObject } from './json.js';
import type { JobDraft } from './draft.js';
import type { VariableDecl } from './variables.js';
import { Interpolator, containsExpression, convert, parseVarType, typeName, unescapeLiteral } from './variables.js';

export const DefaultMaxBytes = 1024 * 1024;
export const DefaultMaxDepth = 64;

export interface VarFile {
  filename: string;
  text: string;
}

export interface ParseOptions {
  /** Used in every message; defaults to "<input>". */
  filename?: string;
  /** -var values: "name=value" strings or a name → value map. */
  vars?: readonly string[] | Readonly<Record<string, string>>;
  /** -var-file contents, in the order given (later files win). */
  varFiles?: readonly VarFile[];
  /** Environment for NOMAD_VAR_<name> values (the CLI passes process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  maxBytes?: number;
  maxDepth?: number;
}

type Obj = Record<string, unknown>;

function sizeCheck(text: string, file: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new NomadError('too_large', `is ${bytes} bytes; the limit is ${maxBytes} bytes`, { position: { file } });
}

/** Converts issues to positioned errors and throws them all with `extra`, or returns. */
function finish(issues: readonly Issue[], extra: readonly NomadError[], file: string, map: SourceMap | undefined): void {
  const errors = [...extra];
  // A field that failed to decode is not reported again by validation.
  const seen = new Set<string>();
  for (const i of issues) {
    const field = formatPath(i.path);
    const key = `${field}\u0000${i.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = map?.locate(i.path);
    const position = pos === undefined ? { file } : { file, line: pos.line, column: pos.column };
    errors.push(new NomadError(i.code, field === '' ? i.message : `${field} ${i.message}`, { position, field }));
  }
  if (errors.length === 0) return;
  throw new MultiError(errors);
}

function looksLikeJson(text: string, file: string): boolean {
  return file.endsWith('.json') || text.trimStart().startsWith('{');
}

export async function parseJobText(text: string, opts: ParseOptions = {}): Promise<Job> {
  const file = opts.filename ?? '<input>';
  const maxBytes = opts.maxBytes ?? DefaultMaxBytes;
  const maxDepth = opts.maxDepth ?? DefaultMaxDepth;
  sizeCheck(text, file, maxBytes);
  if (looksLikeJson(text, file)) return parseJobJSON(text, file, opts);
  const map = SourceMap.scan(text, file, maxDepth);
  const root = await parseHcl(file, text);
  return fromHclShape(root, file, map, opts);
}

/**
 * JSON input: the canonical form printed by `job run -output` (no interpolation: its strings
 * are final), or hcl2json's shape ({"job": {"name": [{...}]}}), decoded like HCL.
 */
export async function parseJobJSON(text: string, filename: string, opts: ParseOptions = {}): Promise<Job> {
  sizeCheck(text, filename, opts.maxBytes ?? DefaultMaxBytes);
  checkJsonDepth(text, filename, opts.maxDepth ?? DefaultMaxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    let position: { file: string; line?: number; column?: number } = { file: filename };
    if (m !== null) {
      const before = text.slice(0, Number(m[1]));
      const lines = before.split('\n');
      position = { file: filename, line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
    }
    throw new NomadError('parse', `invalid JSON: ${msg}`, { position });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NomadError('parse', 'a job in JSON must be an object', { position: { file: filename } });
  }
  const obj = value as Obj;
  if ('Job' in obj || 'TaskGroups' in obj || 'ID' in obj) {
    throw new NomadError('parse', "Nomad's API JSON shape (Job/ID/TaskGroups) is not supported yet; give the HCL file, hcl2json's shape or the JSON printed by `nomadts job run -output`", { position: { file: filename } });
  }
  if ('job' in obj || 'variable' in obj) return fromHclShape(obj, filename, undefined, opts);
  const issues = new Issues();
  const draft = decodeJobObject(obj, issues);
  finish(issues.list, [], filename, undefined);
  return canonicalAndValid(draft!, issues, [], filename, undefined);
}

function canonicalAndValid(draft: JobDraft, issues: Issues, extra: NomadError[], file: string, map: SourceMap | undefined): Job {
  const job = canonicalizeJob(draft);
  const decodeFields = new Set(issues.list.map((i) => formatPath(i.path)));
  const v = new Issues();
  validateJob(job, v);
  for (const i of v.list) if (!decodeFields.has(formatPath(i.path))) issues.list.push(i);
  finish(issues.list, extra, file, map);
  return job;
}

async function fromHclShape(root: Obj, file: string, map: SourceMap | undefined, opts: ParseOptions): Promise<Job> {
  const issues = new Issues();
  const extra: NomadError[] = [];
  const { values, unset } = await resolveVariables(root, issues, extra, opts);
  const interp = new Interpolator(values, issues, unset);
  const draft = decodeRoot(root, { issues, interp, map });
  if (draft === undefined) {
    finish(issues.list, extra, file, map);
    throw new NomadError('internal', 'job decoding failed without a reason', { position: { file } });
  }
  return canonicalAndValid(draft, issues, extra, file, map);
}

function declarations(root: Obj, issues: Issues): Map<string, VariableDecl> {
  const decls = new Map<string, VariableDecl>();
  const v = root['variable'];
  if (v === undefined) return decls;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    issues.add([attr('variable')], 'must be labelled blocks: variable "name" { ... }');
    return decls;
  }
  for (const [name, bodies] of Object.entries(v as Obj)) {
    const list: unknown[] = Array.isArray(bodies) ? bodies : [bodies];
    const path = [block('variable', name)];
    if (list.length > 1) issues.add(path, 'is declared more than once');
    const body: unknown = list[0];
    if (body === null || typeof body !== 'object' || Array.isArray(body)) continue;
    const b = body as Obj;
    for (const k of Object.keys(b)) {
      if (!['type', 'default', 'description', 'sensitive'].includes(k)) issues.add([...path, attr(k)], 'is not a known attribute of a variable block (type, default, description, sensitive)');
    }
    const type = parseVarType(b['type']);
    if (type === undefined) {
      issues.add([...path, attr('type')], `${JSON.stringify(b['type'])} is not a supported type (string, number, bool, any, list(T), set(T), map(T))`);
      continue;
    }
    const decl: VariableDecl = { name, type, defaultValue: undefined, hasDefault: 'default' in b };
    if (decl.hasDefault) {
      const d = b['default'];
      if (containsExpression(d)) issues.add([...path, attr('default')], 'must be a literal value (no references)');
      else if (d !== null) {
        const c = convert(unescapeLiteral(d), type);
        if (!c.ok) issues.add([...path, attr('default')], `does not match the variable's type ${typeName(type)}`);
        else decl.defaultValue = c.value;
      }
    }
    decls.set(name, decl);
  }
  return decls;
}

async function resolveVariables(
  root: Obj, issues: Issues, extra: NomadError[], opts: ParseOptions,
): Promise<{ values: Map<string, unknown>; unset: Set<string> }> {
  const decls = declarations(root, issues);
  const values = new Map<string, unknown>();
  for (const d of decls.values()) if (d.hasDefault) values.set(d.name, d.defaultValue);
  const set = (name: string, raw: unknown, where: string, position: { file: string; line?: number; column?: number }): void => {
    const d = decls.get(name);
    if (d === undefined) {
      extra.push(new NomadError('invalid_argument', `${where}: no variable "${name}" is declared in the job file`, { position }));
      return;
    }
    const c = convert(raw, d.type);
    if (!c.ok) {
      extra.push(new NomadError('invalid_argument', `${where}: ${JSON.stringify(raw)} is not a valid ${typeName(d.type)} for variable "${name}"`, { position }));
      return;
    }
    values.set(name, c.value);
  };
  // Precedence (lowest first), as Nomad: defaults, NOMAD_VAR_ environment, -var-file, -var.
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!k.startsWith('NOMAD_VAR_') || v === undefined) continue;
    const name = k.slice('NOMAD_VAR_'.length);
    if (!decls.has(name)) continue; // the environment may hold variables for other jobs
    set(name, await complexFromString(v, decls.get(name)!, k, extra), k, { file: k });
  }
  for (const vf of opts.varFiles ?? []) {
    let obj: Obj;
    let map: SourceMap | undefined;
    try {
      if (vf.filename.endsWith('.json')) obj = JSON.parse(vf.text) as Obj;
      else {
        map = SourceMap.scan(vf.text, vf.filename, DefaultMaxDepth);
        obj = await parseHcl(vf.filename, vf.text);
      }
    } catch (e) {
      extra.push(e instanceof NomadError ? e : new NomadError('parse', String(e), { position: { file: vf.filename } }));
      continue;
    }
    for (const [name, raw] of Object.entries(obj)) {
      const pos = map?.locate([attr(name)]);
      const position = pos === undefined ? { file: vf.filename } : { file: vf.filename, line: pos.line, column: pos.column };
      if (containsExpression(raw)) {
        extra.push(new NomadError('invalid_argument', `variable "${name}" must be a literal value in a var-file`, { position }));
        continue;
      }
      set(name, unescapeLiteral(raw), `var-file value "${name}"`, position);
    }
  }
  const cli = opts.vars ?? [];
  const pairs: [string, string][] = Array.isArray(cli)
    ? (cli as readonly string[]).map((s) => {
        const eq = s.indexOf('=');
        return eq < 0 ? [s, '\u0000missing'] : [s.slice(0, eq).trim(), s.slice(eq + 1)];
      })
    : Object.entries(cli as Record<string, string>);
  for (const [name, raw] of pairs) {
    if (raw === '\u0000missing') {
      extra.push(new NomadError('invalid_argument', `-var ${JSON.stringify(name)} must have the form name=value`, { position: { file: '-var' } }));
      continue;
    }
    const d = decls.get(name);
    const v = d === undefined ? raw : await complexFromString(raw, d, `-var ${name}`, extra);
    set(name, v, `-var ${name}`, { file: '-var' });
  }
  const unset = new Set<string>();
  for (const d of decls.values()) {
    if (!values.has(d.name)) {
      unset.add(d.name);
      issues.add([block('variable', d.name)], `has no value: set it with -var ${d.name}=..., a -var-file, or NOMAD_VAR_${d.name}, or give it a default`);
    }
  }
  return { values, unset };
}

/** list/map variables given as strings on the command line are HCL expressions (["a","b"]). */
async function complexFromString(raw: string, d: VariableDecl, where: string, extra: NomadError[]): Promise<unknown> {
  if (d.type.kind !== 'list' && d.type.kind !== 'map' && d.type.kind !== 'any') return raw;
  if (d.type.kind === 'any' && !/^\s*[[{]/.test(raw)) return raw;
  try {
    const obj = await parseHcl(where, `v = ${raw}\n`);
    return unescapeLiteral(obj['v']);
  } catch (e) {
    extra.push(e instanceof NomadError ? e : new NomadError('invalid_argument', String(e)));
    return raw;
  }
}

export interface ParseFileOptions extends Omit<ParseOptions, 'filename' | 'varFiles'> {
  /** Paths of -var-file files, read here. */
  varFiles?: readonly string[];
}

/** The only I/O in this module: reads the job file (and var files) and parses them. */
export async function parseJobFile(path: string, opts: ParseFileOptions = {}): Promise<Job> {
  const maxBytes = opts.maxBytes ?? DefaultMaxBytes;
  const read = async (p: string): Promise<string> => {
    let size: number;
    try {
      size = (await stat(p)).size;
    } catch (e) {
      throw new NomadError('not_found', `cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { position: { file: p } });
    }
    if (size > maxBytes) throw new NomadError('too_large', `is ${size} bytes; the limit is ${maxBytes} bytes`, { position: { file: p } });
    return readFile(p, 'utf8');
  };
  const text = await read(path);
  const varFiles: VarFile[] = [];
  for (const vf of opts.varFiles ?? []) varFiles.push({ filename: vf, text: await read(vf) });
  return parseJobText(text, { ...opts, filename: path, varFiles });
}
