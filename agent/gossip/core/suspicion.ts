/**
 * Lifeguard's suspicion timer (memberlist suspicion.go, learnt from, not copied): a suspected
 * member is declared failed after a timeout that starts at `max` and falls towards `min`
 * logarithmically as independent members confirm the suspicion; `k` confirmations reach `min`.
 */
import type { Clock, TimerHandle } from '../../core/lib/index.js';

/** The minimum suspicion timeout: mult · max(1, log10 N) · probe interval. */
export function suspicionTimeout(mult: number, n: number, probeIntervalMs: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(mult * scale * probeIntervalMs);
}

/**
 * The total timeout after `n` of `k` wanted confirmations: max − (log(n+1)/log(k+1))·(max − min),
 * never below min. With k = 0 it is min at once.
 */
export function suspicionTotal(n: number, k: number, minMs: number, maxMs: number): number {
  if (k <= 0) return minMs;
  const frac = Math.log(n + 1) / Math.log(k + 1);
  return Math.max(minMs, Math.floor(maxMs - frac * (maxMs - minMs)));
}

export class Suspicion {
  private confirmations = new Set<string>();
  private n = 0;
  private readonly start: number;
  private timer: TimerHandle;
  private fired = false;

  constructor(
    private readonly clock: Clock,
    from: string,
    private readonly k: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly onTimeout: (confirmations: number) => void,
  ) {
    // The suspicion's originator does not count as a confirmation (it may hear its own message back).
    this.confirmations.add(from);
    this.start = clock.now();
    this.timer = clock.setTimer(k <= 0 ? minMs : maxMs, () => this.fire());
  }

  /** Count a confirmation from `from`; true when it is new and moved the deadline. */
  confirm(from: string): boolean {
    if (this.fired || this.n >= this.k || this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    this.n++;
    const remaining = suspicionTotal(this.n, this.k, this.minMs, this.maxMs) - (this.clock.now() - this.start);
    this.timer.cancel();
    this.timer = this.clock.setTimer(Math.max(0, remaining), () => this.fire());
    return true;
  }

  /** When the timer will fire if nothing else confirms. */
  deadline(): number {
    return this.start + suspicionTotal(this.n, this.k, this.minMs, this.maxMs);
  }

  cancel(): void {
    this.fired = true;
    this.timer.cancel();
  }

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.onTimeout(this.n);
  }
}
