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

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A clock that moves only when told to. Timers fire in (time, creation order),
 * so two runs with the same inputs produce the same trace. Timers sit in a
 * binary heap; cancelled ones are dropped when they reach the top, and the heap
 * is compacted when they outnumber live ones, so it stays O(live timers).
 */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private heap: VirtualTimer[] = [];
  private live = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: VirtualTimer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        this.live--;
        if (this.heap.length > 64 && this.live * 2 < this.heap.length) this.compact();
      },
    };
  }

  /** Number of timers still waiting to fire. */
  pending(): number {
    return this.live;
  }

  /** Time of the next live timer, or undefined. */
  nextAt(): number | undefined {
    return this.peekLive()?.at;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(target: number): void {
    for (;;) {
      const next = this.peekLive();
      if (next === undefined || next.at > target) break;
      this.fire(this.pop()!);
    }
    this.current = Math.max(this.current, target);
  }

  /** Fire timers until none is left (or `limit` have fired). Returns how many fired. */
  runAll(limit = 1_000_000): number {
    let fired = 0;
    while (fired < limit && this.peekLive() !== undefined) {
      this.fire(this.pop()!);
      fired++;
    }
    return fired;
  }

  private fire(timer: VirtualTimer): void {
    timer.cancelled = true;
    this.live--;
    this.current = Math.max(this.current, timer.at);
    timer.fn();
  }

  private peekLive(): VirtualTimer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private compact(): void {
    const keep = this.heap.filter((t) => !t.cancelled);
    this.heap = [];
    for (const t of keep) this.push(t);
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
