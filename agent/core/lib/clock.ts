/**
 * Time is injected. Everything in the core that waits (nack delays, wait_until,
 * heartbeat TTLs, Raft ticks) takes a Clock, so tests run on a VirtualClock and a
 * failing seed replays exactly. The wall-clock implementation lives at the edge
 * (agent/runtime).
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` once, `delayMs` from now. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers fire in (time, creation order),
 * so two runs with the same inputs produce the same trace.
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: VirtualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.insert(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Time of the next live timer, or undefined. */
  nextAt(): number | undefined {
    return this.timers.find((t) => !t.cancelled)?.at;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.at > target) break;
      this.timers.shift();
      if (next.cancelled) continue;
      this.current = Math.max(this.current, next.at);
      next.fn();
    }
    this.current = Math.max(this.current, target);
  }

  /** Fire timers until none is left (or `limit` have fired). Returns how many fired. */
  runAll(limit = 1_000_000): number {
    let fired = 0;
    while (fired < limit) {
      const next = this.timers.shift();
      if (next === undefined) break;
      if (next.cancelled) continue;
      this.current = Math.max(this.current, next.at);
      next.fn();
      fired++;
    }
    return fired;
  }

  private insert(timer: VirtualTimer): void {
    // Binary search on (at, seq); timers lists stay short in practice.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.timers[mid]!;
      if (t.at < timer.at || (t.at === timer.at && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
  }
}
