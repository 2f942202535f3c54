/**
 * A binary min-heap ordered by `before(a, b)` ("a comes out before b"). Push and
 * pop are O(log n), peek O(1). The broker keeps one per ready queue, one per job's
 * pending evaluations and one for delayed evaluations (nomad uses container/heap
 * the same way; lib/delayheap for the time-ordered one).
 */
export class BinaryHeap<T> {
  private items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const p = items[parent]!;
      if (!this.before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    // Sift `last` down from the root.
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      if (r < n && this.before(items[r]!, items[l]!)) child = r;
      const c = items[child]!;
      if (!this.before(c, last)) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** Remove and return every item, in no particular order (O(1)). */
  drain(): T[] {
    const all = this.items;
    this.items = [];
    return all;
  }

  /** The items in heap (not sorted) order; for invariant checks. */
  values(): readonly T[] {
    return this.items;
  }
}
