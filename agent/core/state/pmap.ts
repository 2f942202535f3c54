/**
 * A persistent string-keyed map for the state tables: snapshots share it, a
 * write transaction copies only what it touches. It replaces immutable.js's HAMT
 * on the hot read path: a lookup is one string hash plus one native Map lookup
 * (~10x faster than the HAMT here), which matters because the scheduler reads
 * allocations by node for every node it ranks.
 *
 * Representation: the entries are spread over 2^k buckets by a hash of the key,
 * with k grown so that a bucket holds 8-16 entries; a bucket is three parallel
 * arrays (keys, hashes, values), so copying one is three slices and a lookup a short scan. A transient
 * (`asMutable`) shares every bucket with its source, and even the array of buckets
 * until its first write; it copies a bucket the first time it writes to it (each
 * bucket is stamped with the transient that owns it, so nothing is allocated to
 * track ownership); `asImmutable` seals it. Copy cost per written key is one
 * bucket (8-16 entries), so a write is O(1) amortised and a snapshot O(1); a
 * transient that writes nothing costs one object.
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
  // 30 bits: a small integer to V8, so a bucket's hash array holds unboxed small
  // integers (no double array); buckets index by the low bits, which are kept.
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * A bucket: keys, their hashes and values in parallel arrays (a copy is three
 * slices; a lookup a short scan). The scan compares hashes first, so it reads
 * only the key strings whose hash matches: comparing every key touched up to 16
 * strings spread over the heap per lookup, the lookups' main cost.
 */
interface Bucket<V> {
  keys: string[];
  hashes: number[];
  vals: V[];
  /** The transient that made this bucket and may still write it (0: nobody). */
  owner: number;
}

function emptyBucket<V>(owner = 0): Bucket<V> {
  return { keys: [], hashes: [], vals: [], owner };
}

/**
 * A copy of a bucket array with room to grow: most bucket copies are followed by a
 * push (a new key), and a `slice()` (exact size) then reallocates on that push, so a
 * write allocated the bucket twice. Pushing into a fresh literal reserves 16 slots
 * at once, which holds a bucket of up to 16 entries in one allocation.
 */
function copyOf<T>(a: readonly T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < a.length; i++) out.push(a[i]!);
  return out;
}

/** Transient ids: each `asMutable` gets a new one, so it never writes a bucket another map shares. */
let nextOwner = 1;

function find(b: Bucket<unknown>, key: string, h: number): number {
  const hashes = b.hashes;
  for (let i = 0; i < hashes.length; i++) if (hashes[i] === h && b.keys[i] === key) return i;
  return -1;
}

export class PMap<V> {
  private buckets: Bucket<V>[];
  private mask: number;
  private count: number;
  /** This transient's id (buckets stamped with it are its own to write); 0 when immutable. */
  private owner: number;
  /** True while `buckets` is still the source map's array (copied on the first write). */
  private sharedArray: boolean;
  private altered = false;

  private constructor(buckets: Bucket<V>[], count: number, owner: number) {
    this.buckets = buckets;
    this.mask = buckets.length - 1;
    this.count = count;
    this.owner = owner;
    this.sharedArray = owner !== 0;
  }

  static empty<V>(): PMap<V> {
    return new PMap<V>([emptyBucket<V>()], 0, 0);
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
    const h = hashKey(key);
    const b = this.buckets[h & this.mask]!;
    const i = find(b, key, h);
    return i < 0 ? undefined : b.vals[i];
  }

  has(key: string): boolean {
    const h = hashKey(key);
    return find(this.buckets[h & this.mask]!, key, h) >= 0;
  }

  forEach(fn: (value: V, key: string) => void): void {
    for (const b of this.buckets) for (let i = 0; i < b.keys.length; i++) fn(b.vals[i]!, b.keys[i]!);
  }

  /** True when `pred` holds for some value (stops at the first). */
  some(pred: (value: V) => boolean): boolean {
    for (const b of this.buckets) for (const v of b.vals) if (pred(v)) return true;
    return false;
  }

  *keys(): IterableIterator<string> {
    for (const b of this.buckets) yield* b.keys;
  }

  *values(): IterableIterator<V> {
    for (const b of this.buckets) yield* b.vals;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const b of this.buckets) for (let i = 0; i < b.keys.length; i++) yield [b.keys[i]!, b.vals[i]!];
  }

  /** A transient copy that shares every bucket until it writes to it. */
  asMutable(): PMap<V> {
    return new PMap<V>(this.buckets, this.count, nextOwner++);
  }

  /** Seal a transient; it must not be written afterwards. */
  asImmutable(): PMap<V> {
    this.owner = 0;
    return this;
  }

  /** True when this transient changed anything. */
  wasAltered(): boolean {
    return this.altered;
  }

  /** Set on a transient (returns it); on an immutable map, returns a changed copy. */
  set(key: string, value: V): PMap<V> {
    if (this.owner === 0) return this.asMutable().set(key, value).asImmutable();
    const h = hashKey(key);
    const b = this.writable(h & this.mask);
    const i = find(b, key, h);
    this.altered = true;
    if (i >= 0) {
      b.vals[i] = value;
      return this;
    }
    b.keys.push(key);
    b.hashes.push(h);
    b.vals.push(value);
    this.count++;
    if (this.count > this.buckets.length * TargetBucketSize * 2) this.grow();
    return this;
  }

  /** Remove on a transient (returns it); on an immutable map, returns a changed copy. */
  remove(key: string): PMap<V> {
    if (this.owner === 0) return this.has(key) ? this.asMutable().remove(key).asImmutable() : this;
    const hash = hashKey(key);
    const h = hash & this.mask;
    if (find(this.buckets[h]!, key, hash) < 0) return this;
    const b = this.writable(h);
    const i = find(b, key, hash);
    b.keys.splice(i, 1);
    b.hashes.splice(i, 1);
    b.vals.splice(i, 1);
    this.count--;
    this.altered = true;
    return this;
  }

  delete(key: string): PMap<V> {
    return this.remove(key);
  }

  private writable(i: number): Bucket<V> {
    if (this.sharedArray) {
      this.buckets = this.buckets.slice();
      this.sharedArray = false;
    }
    let b = this.buckets[i]!;
    if (b.owner !== this.owner) {
      b = { keys: copyOf(b.keys), hashes: copyOf(b.hashes), vals: copyOf(b.vals), owner: this.owner };
      this.buckets[i] = b;
    }
    return b;
  }

  /** Double the bucket count (every bucket becomes new and owned). */
  private grow(): void {
    const size = this.buckets.length * 2;
    const next: Bucket<V>[] = [];
    for (let i = 0; i < size; i++) next.push(emptyBucket<V>(this.owner));
    const mask = size - 1;
    for (const b of this.buckets) {
      for (let i = 0; i < b.keys.length; i++) {
        const h = b.hashes[i]!;
        const t = next[h & mask]!;
        t.keys.push(b.keys[i]!);
        t.hashes.push(h);
        t.vals.push(b.vals[i]!);
      }
    }
    this.buckets = next;
    this.mask = mask;
    this.sharedArray = false;
  }
}
