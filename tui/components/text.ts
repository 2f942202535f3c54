/** Fixed-width text helpers: every panel draws exactly the lines it is given, never more. */

export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length <= width) return s.padEnd(width);
  return width <= 1 ? s.slice(0, width) : `${s.slice(0, width - 1)}…`;
}

export function right(s: string, width: number): string {
  return s.length >= width ? s.slice(0, width) : s.padStart(width);
}

/** Columns laid out left to right with the given widths (the last one takes the rest). */
export function columns(cells: readonly string[], widths: readonly number[], total: number): string {
  let out = '';
  let used = 0;
  cells.forEach((c, i) => {
    const w = i === cells.length - 1 ? Math.max(0, total - used) : (widths[i] ?? 8);
    out += fit(c, w);
    used += w;
  });
  return fit(out, total);
}

/**
 * A bar of `width` cells: `█` up to what is used, `▒` up to what is allocated, `·` for the
 * rest. `used` null = not reported: allocated only.
 */
export function bar(allocated: number, used: number | null, total: number, width: number): string {
  if (width <= 0) return '';
  if (total <= 0) return '·'.repeat(width);
  // Anything above zero shows as at least one cell.
  const cells = (n: number): number => (n <= 0 ? 0 : Math.min(width, Math.max(1, Math.round((n / total) * width))));
  const a = cells(allocated);
  const u = used === null ? 0 : cells(used);
  const solid = Math.min(u, width);
  const shade = Math.max(0, a - solid);
  return '█'.repeat(solid) + '▒'.repeat(shade) + '·'.repeat(Math.max(0, width - solid - shade));
}

export function pct(n: number, total: number): string {
  if (total <= 0) return '  -';
  return `${Math.round((n / total) * 100)}%`.padStart(4);
}

/** `12:03:04.567` from epoch ms, in UTC, so tests and screenshots agree. */
export function clockTime(ms: number): string {
  if (ms <= 0) return '--:--:--';
  return new Date(ms).toISOString().slice(11, 23);
}

/** `+125ms`, `+2.4s`: the time of a step after the one before. */
export function delta(ms: number): string {
  if (ms < 1000) return `+${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(1)}s`;
  return `+${Math.round(ms / 60_000)}m`;
}

export function ago(now: number, at: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
