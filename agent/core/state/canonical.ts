/** Canonical JSON (sorted keys) and structural equality for plain JSON values. */

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    // undefined (only reachable at the top level) encodes as null, like JSON arrays do.
    return v === undefined ? 'null' : JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) s += ',';
      const item: unknown = v[i];
      s += item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item);
    }
    return s + ']';
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const item = obj[k];
    if (item === undefined || typeof item === 'function') continue;
    if (!first) s += ',';
    first = false;
    s += JSON.stringify(k) + ':' + canonicalJson(item);
  }
  return s + '}';
}

/** Deep equality of JSON-like values; `undefined` properties count as absent. */
export function jsonEqual(a: unknown, b: unknown, ignore?: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of Object.keys(ao)) {
    if (ignore?.has(k) === true || ao[k] === undefined) continue;
    if (!jsonEqual(ao[k], bo[k])) return false;
  }
  for (const k of Object.keys(bo)) {
    if (ignore?.has(k) === true || bo[k] === undefined) continue;
    if (ao[k] === undefined) return false;
  }
  return true;
}
