/** Go-style duration strings ("30s", "1h30m", "100ms", "1.5h") to milliseconds. */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
};

/** Returns milliseconds (rounded to the nearest ms), or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^([+-]?)(.+)$/.exec(text.trim());
  if (m === null) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!;
  if (body === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let parts = 0;
  for (let hit = re.exec(body); hit !== null; hit = re.exec(body)) {
    total += Number(hit[1]) * UNIT_MS[hit[2]!]!;
    pos = re.lastIndex;
    parts++;
  }
  if (parts === 0 || pos !== body.length || !Number.isFinite(total)) return undefined;
  return sign * Math.round(total);
}

/** Milliseconds back to a Go-style duration string ("1h30m0s" → "1h30m"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const h = Math.floor(rest / 3_600_000); rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000); rest -= m * 60_000;
  const s = Math.floor(rest / 1000); rest -= s * 1000;
  let out = '';
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (s > 0) out += `${s}s`;
  if (rest > 0) out += `${rest}ms`;
  return sign + out;
}
