/**
 * A persistent string-keyed map for the state tables: snapshots share it, a
 * write transaction copies only what it touches. It replaces immutable.js's HAMT
 * on the hot read path: a lookup is one string hash plus one native Map lookup
 * (~10x faster than the HAMT here), which matters because the scheduler reads
 * allocations by node for every node it ranks.
 *
 * Representation: the entries are spread over 2^k buckets (native Maps) by a hash
 * of the key, with k grown so that a bucket holds about 32 entries. A transient
 * (`asMutable`) shares every bucket with its source and copies a bucket the first
 * time it writes to it; `asImmutable` seals it. Copy cost per written key is one
 * bucket (~32 entries), so a write is O(1) amortised and a snapshot O(1).
 *
 * Iteration order is bucket order, then insertion order within a bucket:
 * deterministic for a given history of writes, not sorted.
 */

const TargetBucketSize = 8;

function hashKey(key: string): number {
  // FNV-1a over the last 24 characters: ids are random there, and job keys
  // (`namespace/id`) differ there too.
  let h = 0x811c9dc5;
  for (let i = Math.max(0, key.length - 24); i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

export class PMap<V> {
  private buckets: Map<string, V>[];
  private mask: number;
  private count: number;
  /** Per bucket: copied by this transient (may be written). Null when immutable. */
  private owned: Uint8Array | null;
  private altered = false;

  private constructor(buckets: Map<string, V>[], count: number, owned: Uint8Array | null) {
    this.buckets = buckets;
    this.mask = buckets.length - 1;
    this.count = count;
    this.owned = owned;
  }

  static empty<V>(): PMap<V> {
    return new PMap<V>([new Map<string, V>()], 0, null);
  }

  static of<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    const m = PMap.empty<V>().asMutable();
    for (const [k, v] of entries) m.set(k, v);
    return m.asImmutable();
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.buckets[hashKey(key) & this.mask]!.get(key);
  }

  has(key: string): boolean {
    return this.buckets[hashKey(key) & this.mask]!.has(key);
  }

  forEach(fn: (value: V, key: string) => void): void {
    for (const b of this.buckets) b.forEach(fn);
  }

  /** True when `pred` holds for some value (stops at the first). */
  some(pred: (value: V) => boolean): boolean {
    for (const b of this.buckets) for (const v of b.values()) if (pred(v)) return true;
    return false;
  }

  *keys(): IterableIterator<string> {
    for (const b of this.buckets) yield* b.keys();
  }

  *values(): IterableIterator<V> {
    for (const b of this.buckets) yield* b.values();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const b of this.buckets) yield* b.entries();
  }

  /** A transient copy that shares every bucket until it writes to it. */
  asMutable(): PMap<V> {
    return new PMap<V>(this.buckets.slice(), this.count, new Uint8Array(this.buckets.length));
  }

  /** Seal a transient; it must not be written afterwards. */
  asImmutable(): PMap<V> {
    this.owned = null;
    return this;
  }

  /** True when this transient changed anything. */
  wasAltered(): boolean {
    return this.altered;
  }

  /** Set on a transient (returns it); on an immutable map, returns a changed copy. */
  set(key: string, value: V): PMap<V> {
    if (this.owned === null) return this.asMutable().set(key, value).asImmutable();
    const bucket = this.writable(hashKey(key) & this.mask);
    const before = bucket.size;
    bucket.set(key, value);
    this.altered = true;
    if (bucket.size > before) {
      this.count++;
      if (this.count > this.buckets.length * TargetBucketSize * 2) this.grow();
    }
    return this;
  }

  /** Remove on a transient (returns it); on an immutable map, returns a changed copy. */
  remove(key: string): PMap<V> {
    if (this.owned === null) return this.has(key) ? this.asMutable().remove(key).asImmutable() : this;
    const i = hashKey(key) & this.mask;
    if (!this.buckets[i]!.has(key)) return this;
    this.writable(i).delete(key);
    this.count--;
    this.altered = true;
    return this;
  }

  delete(key: string): PMap<V> {
    return this.remove(key);
  }

  private writable(i: number): Map<string, V> {
    const owned = this.owned!;
    if (owned[i] === 0) {
      this.buckets[i] = new Map(this.buckets[i]);
      owned[i] = 1;
    }
    return this.buckets[i]!;
  }

  /** Double the bucket count (every bucket becomes new and owned). */
  private grow(): void {
    const size = this.buckets.length * 2;
    const next: Map<string, V>[] = [];
    for (let i = 0; i < size; i++) next.push(new Map<string, V>());
    const mask = size - 1;
    for (const b of this.buckets) b.forEach((v, k) => next[hashKey(k) & mask]!.set(k, v));
    this.buckets = next;
    this.mask = mask;
    this.owned = new Uint8Array(size).fill(1);
  }
}
