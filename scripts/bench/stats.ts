/** Small helpers shared by the latency benchmarks. */

/** The p-th percentile (nearest rank) of ascending `sorted`; 0 for none. */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** median, p90, min and max of `samples`, in ms rounded to 0.1. */
export function summarize(samples: readonly number[]): { medianMs: number; p90Ms: number; minMs: number; maxMs: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { medianMs: r(percentileOf(s, 50)), p90Ms: r(percentileOf(s, 90)), minMs: r(s[0] ?? 0), maxMs: r(s[s.length - 1] ?? 0), n: s.length };
}

/** `--name=N` integer options over `defaults`; anything else is refused with the accepted names. */
export function intOptions<T extends Record<string, number>>(args: readonly string[], defaults: T): T {
  const o: Record<string, number> = { ...defaults };
  for (const a of args) {
    const m = /^--?([a-z-]+)=(\d+)$/.exec(a);
    const key = m?.[1]?.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (m === null || key === undefined || !(key in o)) {
      throw new Error(`unknown argument ${a} (accepted: ${Object.keys(defaults).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}=N`).join(' ')})`);
    }
    o[key] = Number(m[2]);
  }
  return o as T;
}
