/**
 * A persistent string-keyed map for the state tables: snapshots share it, a
 * write transaction copies only what it touches. It replaces immutable.js's HAMT
 * on the hot read path: a lookup is one string hash plus one native Map lookup
 * (~10x faster than the HAMT here), which matters because the scheduler reads
 * allocations by node for every node it ranks.
 *
 * Representation: the entries are spread over 2^k buckets by a hash of the key,
 * with k grown so that a bucket holds 8-16 entries. A bucket is ONE array: the
 * transient that owns it at [0], then (hash, key, value) triples, so copying a
 * bucket is one allocation of exactly its size and a lookup a stride-3 scan that
 * compares hashes (small integers) before keys. A transient (`asMutable`) shares
 * every bucket with its source, and even the array of buckets until its first
 * write; it copies a bucket the first time it writes to it (the owner stamp says
 * whose it is, so nothing is allocated to track ownership); `asImmutable` seals
 * it. Copy cost per written key is one bucket (8-16 entries), so a write is O(1)
 * amortised and a snapshot O(1); a transient that writes nothing costs one object.
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
 * A bucket: [owner, hash0, key0, value0, hash1, key1, value1, ...]. The owner is
 * the transient that made the bucket and may still write it (0: nobody). One
 * array instead of three parallel ones: a copy is one allocation (a third of the
 * headers), and the triples of a lookup sit together in memory.
 */
type Bucket = unknown[];

const Stride = 3;

function emptyBucket(owner = 0): Bucket {
  const b: Bucket = new Array<unknown>(1);
  b[0] = owner;
  return b;
}

/**
 * A copy of `b` of exactly `length` slots (>= 1), stamped with `owner`: slots past
 * b's are for the caller to fill. A preallocated array filled by index: neither
 * a push loop (slow, and leaves spare capacity) nor slice + push (fast, but the
 * grown array keeps ~50% spare), as a copied bucket usually outlives a young
 * collection and its size is what the collector copies.
 */
function copyBucket(b: Bucket, length: number, owner: number): Bucket {
  const out: Bucket = new Array<unknown>(length);
  out[0] = owner;
  const n = Math.min(b.length, length);
  for (let i = 1; i < n; i++) out[i] = b[i];
  return out;
}

/** Transient ids: each `asMutable` gets a new one, so it never writes a bucket another map shares. */
let nextOwner = 1;

/** The index of the key's triple in `b` (its hash slot), or -1. */
function find(b: Bucket, key: string, h: number): number {
  for (let i = 1; i < b.length; i += Stride) if (b[i] === h && b[i + 1] === key) return i;
  return -1;
}

export class PMap<V> {
  private buckets: Bucket[];
  private mask: number;
  private count: number;
  /** This transient's id (buckets stamped with it are its own to write); 0 when immutable. */
  private owner: number;
  /** True while `buckets` is still the source map's array (copied on the first write). */
  private sharedArray: boolean;
  private altered = false;

  private constructor(buckets: Bucket[], count: number, owner: number) {
    this.buckets = buckets;
    this.mask = buckets.length - 1;
    this.count = count;
    this.owner = owner;
    this.sharedArray = owner !== 0;
  }

  static empty<V>(): PMap<V> {
    return new PMap<V>([emptyBucket()], 0, 0);
  }

  static of<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    const m = PMap.empty<V>().asMutable();
    for (const [k, v] of entries) m.set(k, v);
    return m.asImmutable();
  }

  get size(): number {
    return this.count;
  }

  /** The key's hash, for writers that look one key up in several maps (getHashed/setHashed). */
  static hashOf(key: string): number {
    return hashKey(key);
  }

  get(key: string): V | undefined {
    return this.getHashed(key, hashKey(key));
  }

  /** `get` with the key's hash already computed (`h` must be PMap.hashOf(key)). */
  getHashed(key: string, h: number): V | undefined {
    const b = this.buckets[h & this.mask]!;
    for (let i = 1; i < b.length; i += Stride) if (b[i] === h && b[i + 1] === key) return b[i + 2] as V;
    return undefined;
  }

  has(key: string): boolean {
    const h = hashKey(key);
    return find(this.buckets[h & this.mask]!, key, h) >= 0;
  }

  forEach(fn: (value: V, key: string) => void): void {
    for (const b of this.buckets) for (let i = 1; i < b.length; i += Stride) fn(b[i + 2] as V, b[i + 1] as string);
  }

  /** True when `pred` holds for some value (stops at the first). */
  some(pred: (value: V) => boolean): boolean {
    for (const b of this.buckets) for (let i = 1; i < b.length; i += Stride) if (pred(b[i + 2] as V)) return true;
    return false;
  }

  *keys(): IterableIterator<string> {
    for (const b of this.buckets) for (let i = 1; i < b.length; i += Stride) yield b[i + 1] as string;
  }

  *values(): IterableIterator<V> {
    for (const b of this.buckets) for (let i = 1; i < b.length; i += Stride) yield b[i + 2] as V;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const b of this.buckets) for (let i = 1; i < b.length; i += Stride) yield [b[i + 1] as string, b[i + 2] as V];
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
    return this.setHashed(key, hashKey(key), value);
  }

  /** `set` with the key's hash already computed (`h` must be PMap.hashOf(key)). */
  setHashed(key: string, h: number, value: V): PMap<V> {
    if (this.owner === 0) return this.asMutable().setHashed(key, h, value).asImmutable();
    const idx = h & this.mask;
    if (this.sharedArray) {
      this.buckets = this.buckets.slice();
      this.sharedArray = false;
    }
    let b = this.buckets[idx]!;
    const i = find(b, key, h);
    this.altered = true;
    if (b[0] !== this.owner) {
      // First write to a shared bucket: one copy of exactly the new size.
      const n = b.length;
      b = copyBucket(b, i >= 0 ? n : n + Stride, this.owner);
      this.buckets[idx] = b;
      if (i < 0) {
        b[n] = h;
        b[n + 1] = key;
        b[n + 2] = value;
      }
    } else if (i < 0) {
      b.push(h, key, value);
    }
    if (i >= 0) {
      b[i + 2] = value;
      return this;
    }
    this.count++;
    if (this.count > this.buckets.length * TargetBucketSize * 2) this.grow();
    return this;
  }

  /** Remove on a transient (returns it); on an immutable map, returns a changed copy. */
  remove(key: string): PMap<V> {
    if (this.owner === 0) return this.has(key) ? this.asMutable().remove(key).asImmutable() : this;
    const h = hashKey(key);
    const idx = h & this.mask;
    const b = this.buckets[idx]!;
    const i = find(b, key, h);
    if (i < 0) return this;
    if (this.sharedArray) {
      this.buckets = this.buckets.slice();
      this.sharedArray = false;
    }
    if (b[0] !== this.owner) {
      // A copy without the triple, keeping the others' order.
      const out = copyBucket(b, b.length - Stride, this.owner);
      for (let j = i; j < out.length; j++) out[j] = b[j + Stride];
      this.buckets[idx] = out;
    } else {
      b.splice(i, Stride);
    }
    this.count--;
    this.altered = true;
    return this;
  }

  delete(key: string): PMap<V> {
    return this.remove(key);
  }

  /** Double the bucket count (every bucket becomes new and owned, each of exactly its size). */
  private grow(): void {
    const size = this.buckets.length * 2;
    const mask = size - 1;
    const lengths = new Array<number>(size).fill(1);
    for (const b of this.buckets) for (let i = 1; i < b.length; i += Stride) lengths[(b[i] as number) & mask]! += Stride;
    const next: Bucket[] = [];
    for (let i = 0; i < size; i++) {
      const nb: Bucket = new Array<unknown>(lengths[i]!);
      nb[0] = this.owner;
      next.push(nb);
      lengths[i] = 1;
    }
    for (const b of this.buckets) {
      for (let i = 1; i < b.length; i += Stride) {
        const h = b[i] as number;
        const t = h & mask;
        const nb = next[t]!;
        const at = lengths[t]!;
        nb[at] = h;
        nb[at + 1] = b[i + 1];
        nb[at + 2] = b[i + 2];
        lengths[t] = at + Stride;
      }
    }
    this.buckets = next;
    this.mask = mask;
    this.sharedArray = false;
  }
}
