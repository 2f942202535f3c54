/**
 * Allocation names `<job>.<group>[i]`: which indexes are taken, which to use
 * next (lowest free first) and which to give up when scaling down (highest
 * first). Nomad's `allocNameIndex` (scheduler/reconciler/allocs.go).
 */
import type { Allocation } from '../structs/index.js';
import { allocIndex, allocName } from '../structs/index.js';

export class AllocNameIndex {
  private readonly used = new Map<number, number>();

  constructor(
    private readonly jobId: string,
    private readonly group: string,
    allocs: Iterable<Allocation>,
  ) {
    for (const a of allocs) {
      const i = allocIndex(a.name);
      if (i >= 0) this.set(i);
    }
  }

  /** Takes index `i` (counts holders, so duplicates survive one unset). */
  set(i: number): void {
    this.used.set(i, (this.used.get(i) ?? 0) + 1);
  }

  unset(i: number): void {
    const n = this.used.get(i) ?? 0;
    if (n <= 1) this.used.delete(i);
    else this.used.set(i, n - 1);
  }

  isUsed(i: number): boolean {
    return this.used.has(i);
  }

  name(i: number): string {
    return allocName(this.jobId, this.group, i);
  }

  /** The `n` lowest free names, taken as they are handed out. */
  next(n: number): string[] {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) {
      if (this.used.has(i)) continue;
      this.set(i);
      out.push(this.name(i));
    }
    return out;
  }

  /** The `n` highest taken indexes, highest first. */
  highest(n: number): number[] {
    return [...this.used.keys()].sort((x, y) => y - x).slice(0, n);
  }
}
