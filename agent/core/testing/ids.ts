const counters = new Map<string, number>();

/** A deterministic, readable id: `alloc-000001`, `node-000002`, ... (a counter per prefix). */
export function mockId(prefix: string): string {
  const n = (counters.get(prefix) ?? 0) + 1;
  counters.set(prefix, n);
  return `${prefix}-${String(n).padStart(6, '0')}`;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
