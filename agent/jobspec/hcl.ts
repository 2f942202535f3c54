/**
 * The one place that knows which HCL parser we use (@cdktn/hcl2json, a WASM build of
 * the Go hcl2json). Its output is hcl2json's JSON shape: blocks become arrays (labelled
 * blocks an object of label → array), and expressions it cannot evaluate come back as
 * "${...}" template strings with `$${` escapes kept.
 */
import { parse } from '@cdktn/hcl2json';
import { NomadError } from '../core/lib/index.js';

export type HclObject = Record<string, unknown>;

export async function parseHcl(filename: string, text: string): Promise<HclObject> {
  let out: unknown;
  try {
    out = await parse(filename, text);
  } catch (err) {
    throw toParseError(filename, err);
  }
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    throw new NomadError('parse', 'HCL parser returned no body', { position: { file: filename } });
  }
  return out as HclObject;
}

/** `parse config: [x.hcl:2,7-3,1: Invalid expression; Expected ...]` → file:2:7: Invalid expression; ... */
export function toParseError(filename: string, err: unknown): NomadError {
  const raw = err instanceof Error ? err.message : String(err);
  const inner = raw.replace(/^parse config:\s*/, '').replace(/^\[/, '').replace(/\]$/, '');
  const first = inner.split(/\],?\s*\[|\n/)[0] ?? inner;
  const m = /^(.*?):(\d+),(\d+)(?:-(?:\d+,)?\d+)?:\s*(.*)$/s.exec(first);
  if (m === null) return new NomadError('parse', inner, { position: { file: filename } });
  return new NomadError('parse', m[4]!.trim(), { position: { file: filename, line: Number(m[2]), column: Number(m[3]) } });
}
