/**
 * The difference between two versions of a job's specification (Nomad's Job.Diff, as `job plan`
 * shows it): one line per field that was added, removed or changed, under the path a person
 * reads (`group "web" task "api": resources.memory`). Named lists (task groups, tasks, ports,
 * templates by destination) are matched by name, so reordering them is no change; fields the
 * server keeps (indexes, version, status, submit time) are not part of the specification.
 */
import type { Job } from './job.js';

export type DiffKind = 'added' | 'deleted' | 'edited';

export interface FieldDiff {
  kind: DiffKind;
  /** `group "web" task "api": resources.memory`, or `count` for a job-level field. */
  path: string;
  old?: unknown;
  new?: unknown;
}

/** Server-kept fields of a job: not part of what the user wrote. */
const ServerFields = new Set(['status', 'statusDescription', 'version', 'stable', 'createIndex', 'modifyIndex', 'jobModifyIndex', 'submitTime', 'stop']);

/** Lists whose items have a name to match them by (key → the name field). */
const NamedLists: Record<string, string> = { taskGroups: 'name', tasks: 'name', templates: 'destPath', services: 'name', ports: 'label', reservedPorts: 'label', dynamicPorts: 'label', volumes: 'name' };

function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function label(key: string, name: string): string {
  if (key === 'taskGroups') return `group "${name}"`;
  if (key === 'tasks') return `task "${name}"`;
  return `${key}["${name}"]`;
}

function join(prefix: string, part: string, scope: boolean): string {
  if (prefix === '') return part;
  return scope ? `${prefix} ${part}` : `${prefix}${prefix.endsWith(':') ? ' ' : '.'}${part}`;
}

function walk(a: unknown, b: unknown, path: string, out: FieldDiff[]): void {
  if (same(a, b)) return;
  if (a === undefined) {
    out.push({ kind: 'added', path, new: b });
    return;
  }
  if (b === undefined) {
    out.push({ kind: 'deleted', path, old: a });
    return;
  }
  if (isPlain(a) && isPlain(b)) {
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const nameField = NamedLists[key];
      const av = a[key];
      const bv = b[key];
      if (nameField !== undefined && Array.isArray(av) && Array.isArray(bv)) {
        walkNamed(key, nameField, av, bv, path, out);
        continue;
      }
      walk(av, bv, join(path, key, false), out);
    }
    return;
  }
  out.push({ kind: 'edited', path, old: a, new: b });
}

function walkNamed(key: string, nameField: string, a: unknown[], b: unknown[], path: string, out: FieldDiff[]): void {
  const byName = (list: unknown[]): Map<string, unknown> => {
    const m = new Map<string, unknown>();
    list.forEach((item, i) => m.set(isPlain(item) && typeof item[nameField] === 'string' ? item[nameField] : String(i), item));
    return m;
  };
  const am = byName(a);
  const bm = byName(b);
  for (const name of [...new Set([...am.keys(), ...bm.keys()])].sort()) {
    const scoped = key === 'taskGroups' || key === 'tasks';
    const p = scoped ? `${join(path.replace(/:$/, ''), label(key, name), true)}:` : join(path, label(key, name), false);
    const av = am.get(name);
    const bv = bm.get(name);
    if (av === undefined || bv === undefined) {
      out.push(av === undefined ? { kind: 'added', path: p.replace(/:$/, ''), new: bv } : { kind: 'deleted', path: p.replace(/:$/, ''), old: av });
      continue;
    }
    walk(av, bv, p, out);
  }
}

/** Field differences from `from` (undefined: the job is new) to `to`, in reading order. */
export function jobDiff(from: Job | undefined, to: Job): FieldDiff[] {
  const strip = (j: Job): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(j)) if (!ServerFields.has(k)) o[k] = v;
    return o;
  };
  if (from === undefined) return [{ kind: 'added', path: `job "${to.id}"`, new: strip(to) }];
  const out: FieldDiff[] = [];
  walk(strip(from), strip(to), '', out);
  return out;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null';
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** `+ group "web": count: 3`, `- ...`, `~ group "web" task "api": resources.memory: 256 => 512`. */
export function formatDiff(d: FieldDiff): string {
  switch (d.kind) {
    case 'added':
      return `+ ${d.path}: ${show(d.new)}`;
    case 'deleted':
      return `- ${d.path}: ${show(d.old)}`;
    case 'edited':
      return `~ ${d.path}: ${show(d.old)} => ${show(d.new)}`;
  }
}
