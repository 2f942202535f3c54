/**
 * The transmit-limited broadcast queue (memberlist queue.go/broadcast.go, learnt from): state
 * changes wait here to be piggybacked on outgoing packets. Each is sent at most
 * λ·⌈log10(N+1)⌉ times; the least-sent go first (newest first among equals); a newer
 * broadcast about the same member replaces the older one.
 */
import { utf8Length } from './types.js';

interface Item {
  key: string;
  text: string;
  bytes: number;
  transmits: number;
  id: number;
  done: (() => void) | undefined;
}

/** ⌈log10(N+1)⌉ · mult: how many times a broadcast is sent before it is dropped. */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

export class BroadcastQueue {
  private items: Item[] = [];
  private nextId = 0;

  constructor(private readonly limit: () => number) {}

  /** Queue `text` (one encoded message) about member `key`; `done` runs once it is sent out or replaced. */
  enqueue(key: string, text: string, done?: () => void): void {
    const i = this.items.findIndex((it) => it.key === key);
    if (i >= 0) {
      const old = this.items[i]!;
      this.items.splice(i, 1);
      old.done?.();
    }
    this.items.push({ key, text, bytes: utf8Length(text), transmits: 0, id: this.nextId++, done });
  }

  /** Up to `budget` bytes of broadcasts (each costing `overhead` more), least-sent first. */
  take(budget: number, overhead: number): string[] {
    if (this.items.length === 0) return [];
    const limit = this.limit();
    this.items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: string[] = [];
    let used = 0;
    const keep: Item[] = [];
    for (const it of this.items) {
      if (used + it.bytes + overhead <= budget) {
        used += it.bytes + overhead;
        out.push(it.text);
        it.transmits++;
        if (it.transmits >= limit) { it.done?.(); continue; }
      }
      keep.push(it);
    }
    this.items = keep;
    return out;
  }

  size(): number {
    return this.items.length;
  }

  /** Drop everything (shutdown); pending `done` callbacks run. */
  reset(): void {
    for (const it of this.items) it.done?.();
    this.items = [];
  }
}
