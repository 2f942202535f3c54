/**
 * The transmit-limited broadcast queue (memberlist queue.go/broadcast.go, learnt from): state
 * changes wait here to be piggybacked on outgoing packets. Each is sent at most
 * λ·⌈log10(N+1)⌉ times; the least-sent go first (newest first among equals); a newer
 * broadcast about the same member replaces the older one.
 *
 * Items sit in one bucket per transmit count, so taking is O(items sent + items skipped), not a
 * sort of the whole queue (a member that learns 1,000 others at once queues 1,000 broadcasts).
 */
import { utf8Length } from './types.js';

interface Item {
  key: string;
  text: string;
  bytes: number;
  transmits: number;
  live: boolean;
  done: (() => void) | undefined;
}

/** ⌈log10(N+1)⌉ · mult: how many times a broadcast is sent before it is dropped. */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

/** Stop looking for a smaller item once less than this much room is left, or after this many misses. */
const MIN_USEFUL_ROOM = 48;
const MAX_MISSES = 8;

export class BroadcastQueue {
  private readonly byKey = new Map<string, Item>();
  /** buckets[t]: items sent t times, oldest first. Replaced items stay until skipped (live = false). */
  private buckets: Item[][] = [];
  private dead = 0;

  constructor(private readonly limit: () => number) {}

  /** Queue `text` (one encoded message) about member `key`; `done` runs once it is sent out or replaced. */
  enqueue(key: string, text: string, done?: () => void): void {
    const old = this.byKey.get(key);
    if (old !== undefined) this.retire(old);
    const it: Item = { key, text, bytes: utf8Length(text), transmits: 0, live: true, done };
    this.byKey.set(key, it);
    (this.buckets[0] ??= []).push(it);
  }

  /** Up to `budget` bytes of broadcasts (each costing `overhead` more), least-sent first. */
  take(budget: number, overhead: number): string[] {
    if (this.byKey.size === 0) return [];
    const limit = this.limit();
    const out: string[] = [];
    const moved: Item[] = [];
    let used = 0;
    let misses = 0;
    for (let t = 0; t < this.buckets.length && budget - used >= MIN_USEFUL_ROOM && misses < MAX_MISSES; t++) {
      const b = this.buckets[t];
      if (b === undefined || b.length === 0) continue;
      const keep: Item[] = [];
      // Newest first: walk from the end, keep the order of what stays.
      for (let i = b.length - 1; i >= 0; i--) {
        const it = b[i]!;
        if (!it.live) { this.dead--; continue; }
        if (it.transmits >= limit) { this.retire(it, true); this.dead--; continue; }
        if (misses < MAX_MISSES && budget - used >= MIN_USEFUL_ROOM && used + it.bytes + overhead <= budget) {
          used += it.bytes + overhead;
          out.push(it.text);
          it.transmits++;
          if (it.transmits >= limit) { this.retire(it, true); this.dead--; } else moved.push(it);
        } else {
          if (budget - used < it.bytes + overhead) misses++;
          keep.push(it);
        }
      }
      keep.reverse();
      this.buckets[t] = keep;
    }
    for (const it of moved) (this.buckets[it.transmits] ??= []).push(it);
    return out;
  }

  size(): number {
    return this.byKey.size;
  }

  /** Drop everything (shutdown); pending `done` callbacks run. */
  reset(): void {
    const items = [...this.byKey.values()];
    this.byKey.clear();
    this.buckets = [];
    this.dead = 0;
    for (const it of items) it.done?.();
  }

  private retire(it: Item, _sent = false): void {
    if (!it.live) return;
    it.live = false;
    this.dead++;
    if (this.byKey.get(it.key) === it) this.byKey.delete(it.key);
    it.done?.();
    if (this.dead > 1024 && this.dead > this.byKey.size) this.compact();
  }

  private compact(): void {
    this.buckets = this.buckets.map((b) => b.filter((it) => it.live));
    this.dead = 0;
  }
}
