/**
 * Shared by the commands that talk to a cluster: Nomad-style flag parsing (-address, -json,
 * ...), connecting through the API client, id prefixes, tables that fit 80 columns, the
 * placement-failure explanation and the error/exit-code conventions.
 */
import { ApiClient, optionsFromEnv } from '../../agent/api/index.js';
import { NomadError } from '../../agent/core/lib/index.js';
import type { AllocMetric } from '../../agent/core/structs/index.js';
import type { Out } from './jobspec-io.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Exit codes shared by every command. */
export const Exit = { ok: 0, error: 1, placementFailed: 2 } as const;

export interface FlagSpec {
  /** Flags without a value (-json, -detach). */
  bool?: readonly string[];
  /** Flags with one value (-address). -address is always accepted. */
  value?: readonly string[];
  /** Repeatable flags with a value (-var). */
  multi?: readonly string[];
}

export interface ParsedFlags {
  bool: Set<string>;
  value: Map<string, string>;
  multi: Map<string, string[]>;
  positional: string[];
}

/** `-flag`, `--flag`, `-flag value`, `-flag=value`; `--` ends the flags. */
export function parseFlags(args: readonly string[], spec: FlagSpec): ParsedFlags {
  const bool = new Set<string>();
  const value = new Map<string, string>();
  const multi = new Map<string, string[]>();
  const positional: string[] = [];
  const valueFlags = new Set(['address', ...(spec.value ?? [])]);
  const boolFlags = new Set(spec.bool ?? []);
  const multiFlags = new Set(spec.multi ?? []);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { positional.push(...args.slice(i + 1)); break; }
    const m = /^--?([a-z][a-z-]*)(?:=(.*))?$/s.exec(a);
    if (m === null) { positional.push(a); continue; }
    const name = m[1]!;
    if (boolFlags.has(name)) {
      if (m[2] !== undefined) throw new NomadError('invalid_argument', `-${name} takes no value`);
      bool.add(name);
    } else if (valueFlags.has(name) || multiFlags.has(name)) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new NomadError('invalid_argument', `-${name} needs a value`);
      if (multiFlags.has(name)) multi.set(name, [...(multi.get(name) ?? []), v]);
      else value.set(name, v);
    } else {
      throw new NomadError('invalid_argument', `unknown flag ${a}`);
    }
  }
  return { bool, value, multi, positional };
}

/** Exactly `n` positional arguments, or an error naming what was expected. */
export function positionals(f: ParsedFlags, names: readonly string[], optional = false): (string | undefined)[] {
  if (f.positional.length > names.length || (!optional && f.positional.length < names.length)) {
    const want = names.map((n) => `<${n}>`).join(' ');
    throw new NomadError('invalid_argument', `expected ${optional ? 'at most ' : ''}${want}, got ${f.positional.length === 0 ? 'nothing' : f.positional.join(' ')}`);
  }
  return names.map((_, i) => f.positional[i]);
}

/**
 * The API client for -address (or NOMADTS_ADDR) with the TLS files the environment names. A
 * command that accepts -stale lets any server answer its reads from its own state.
 */
export function connect(env: Env, f: ParsedFlags): ApiClient {
  const address = f.value.get('address');
  const opts = optionsFromEnv(address === undefined ? env : { ...env, NOMADTS_ADDR: address });
  return new ApiClient(f.bool.has('stale') ? { ...opts, stale: true } : opts);
}

/** The error as a person should read it; an unreachable server gets a hint. */
export function errorText(err: unknown): string {
  if (err instanceof NomadError && err.code === 'unavailable') {
    // A server that refuses our certificate ends the TLS handshake; gRPC reports that as
    // "cannot connect" too (ECONNRESET or "Failed to connect"), so both causes are named.
    return (
      `Error: ${err.message}\nIs a nomadts agent running at that address? Start one with \`nomadts agent -dev\`, or point -address / NOMADTS_ADDR at a server.\n` +
      'If one is, the TLS handshake failed: NOMADTS_CACERT must be the CA that signed the server\'s certificate, and NOMADTS_CLIENT_CERT / NOMADTS_CLIENT_KEY a cli certificate that CA signed.\n'
    );
  }
  return `Error: ${err instanceof Error ? err.message : String(err)}\n`;
}

/**
 * Parse the flags, connect, run `body`, close. Any error is printed as `Error: ...` and the
 * exit code is 1 (or `errorCode`).
 */
export async function withClient(
  out: Out,
  env: Env,
  args: readonly string[],
  spec: FlagSpec,
  body: (client: ApiClient, f: ParsedFlags) => Promise<number>,
  errorCode: number = Exit.error,
): Promise<number> {
  let client: ApiClient | undefined;
  try {
    const f = parseFlags(args, spec);
    client = connect(env, f);
    const code = await body(client, f);
    if (f.bool.has('stale')) {
      const note = staleNote(client.lastReadMeta());
      if (note !== '') out.stderr(note);
    }
    return code;
  } catch (err) {
    out.stderr(errorText(err));
    return errorCode;
  } finally {
    client?.close();
  }
}

/** A -stale answer from a server that is far behind: how old it may be, else ''. */
export const StaleNoteAfterMs = 5_000;

export function staleNote(meta: { knownLeader: boolean; lastContactMs: number } | undefined): string {
  if (meta === undefined) return '';
  if (meta.lastContactMs < 0) return 'Note: -stale answer from a server that has never heard from a leader; its state may be arbitrarily old\n';
  if (!meta.knownLeader) return `Note: -stale answer from a server that knows no leader (last heard from one ${(meta.lastContactMs / 1000).toFixed(1)} s ago); its state may be that old\n`;
  if (meta.lastContactMs > StaleNoteAfterMs) return `Note: -stale answer from a server last in contact with the leader ${(meta.lastContactMs / 1000).toFixed(1)} s ago; its state may be that old\n`;
  return '';
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/**
 * The one id a prefix names: an exact match wins; otherwise exactly one id must start with
 * it. Ambiguity is an error listing the matches.
 */
export function uniqueMatch(kind: string, prefix: string, ids: readonly string[]): string {
  if (prefix === '') throw new NomadError('invalid_argument', `${kind} id must not be empty`);
  if (ids.includes(prefix)) return prefix;
  const matches = ids.filter((id) => id.startsWith(prefix));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new NomadError('not_found', `no ${kind} with id or prefix "${prefix}"`);
  const shown = matches.slice(0, 10).join(', ');
  throw new NomadError('invalid_argument', `prefix "${prefix}" matches ${matches.length} ${kind}s, give more of the id: ${shown}${matches.length > 10 ? ', ...' : ''}`);
}

/** Resolve an id prefix through a prefix-filtered list call. */
export async function resolveId(kind: string, prefix: string, list: (prefix: string) => Promise<{ value: { id: string }[] }>): Promise<string> {
  if (prefix === '') throw new NomadError('invalid_argument', `${kind} id must not be empty`);
  const r = await list(prefix);
  return uniqueMatch(kind, prefix, r.value.map((x) => x.id));
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `Key = value` lines with the keys aligned, as Nomad prints a single object. */
export function keyValues(pairs: readonly (readonly [string, string | number | boolean])[]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(w)} = ${String(v)}`.trimEnd()).join('\n') + '\n';
}

function cut(s: string, w: number): string {
  return s.length <= w ? s : `${s.slice(0, Math.max(0, w - 1))}…`;
}

/**
 * Left-aligned columns two spaces apart. When a row would pass `width` (80), the widest
 * columns are narrowed (down to 6 characters) and their cells cut with `…`.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], width = 80): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    let widest = 0;
    for (let i = 1; i < widths.length; i++) if (widths[i]! > widths[widest]!) widest = i;
    if (widths[widest]! <= 6) break;
    widths[widest]!--;
  }
  const line = (cells: readonly string[]): string =>
    widths.map((w, i) => (i === widths.length - 1 ? cut(cells[i] ?? '', w) : cut(cells[i] ?? '', w).padEnd(w))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** A time in ms since the epoch as `2026-01-02T03:04:05Z` (empty for 0). */
export function formatTime(ms: number): string {
  if (ms <= 0) return '';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Bytes as MiB with one decimal below 10 MiB (`1.5`, `12`, `300`). */
export function formatMiB(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib < 10 ? mib.toFixed(1) : String(Math.round(mib));
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Why placements failed, as Nomad's `formatAllocMetrics`: nodes evaluated, which constraint or
 * class filtered how many, which dimension was exhausted on how many.
 */
export function formatAllocMetrics(m: AllocMetric, indent: string): string {
  const lines: string[] = [];
  if (m.nodesEvaluated === 0) lines.push('No nodes were eligible for evaluation');
  for (const [dc, n] of Object.entries(m.nodesAvailable)) if (n === 0) lines.push(`No nodes are available in datacenter "${dc}"`);
  lines.push(`Nodes evaluated: ${m.nodesEvaluated}, filtered: ${m.nodesFiltered}, exhausted: ${m.nodesExhausted}`);
  for (const [cls, n] of sorted(m.classFiltered)) lines.push(`Class "${cls}": ${plural(n, 'node')} excluded by filter`);
  for (const [c, n] of sorted(m.constraintFiltered)) lines.push(`Constraint "${c}": ${plural(n, 'node')} excluded by filter`);
  if (m.nodesExhausted > 0) lines.push(`Resources exhausted on ${plural(m.nodesExhausted, 'node')}`);
  for (const [cls, n] of sorted(m.classExhausted)) lines.push(`Class "${cls}" exhausted on ${plural(n, 'node')}`);
  for (const [d, n] of sorted(m.dimensionExhausted)) lines.push(`Dimension "${d}" exhausted on ${plural(n, 'node')}`);
  for (const q of m.quotaExhausted) lines.push(`Quota limit hit "${q}"`);
  return lines.map((l) => `${indent}* ${l}\n`).join('');
}

function sorted(r: Record<string, number>): [string, number][] {
  return Object.entries(r).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** `Task Group "web" (failed to place 2 allocations):` followed by the reasons. */
export function formatFailedGroups(failed: Readonly<Record<string, AllocMetric>>, indent: string): string {
  let s = '';
  for (const [g, m] of Object.entries(failed).sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    s += `${indent}Task Group "${g}" (failed to place ${plural(1 + m.coalescedFailures, 'allocation')}):\n`;
    s += formatAllocMetrics(m, `${indent}  `);
  }
  return s;
}

/** Score parts of the best nodes, one row per node, as `alloc status` shows them. */
export function formatScores(m: AllocMetric): string {
  if (m.scoreMetaData.length === 0) return '';
  const names = [...new Set(m.scoreMetaData.flatMap((s) => Object.keys(s.scores)))].sort();
  const rows = m.scoreMetaData.map((s) => [shortId(s.nodeId), ...names.map((n) => (s.scores[n] === undefined ? '' : s.scores[n].toFixed(3))), s.normScore.toFixed(3)]);
  return table(['Node', ...names, 'final score'], rows);
}

