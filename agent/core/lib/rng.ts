/**
 * Seeded randomness. The core never calls Math.random: node shuffles, IDs and
 * jitter come from an Rng passed in, so a seed replays exactly.
 * Algorithm: sfc32 seeded through splitmix32 (fast, 128-bit state, good enough
 * statistical quality for scheduling and simulation).
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A new independent generator derived from this one. */
  fork(): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  fork(): Rng {
    return new SeededRng(this.u32());
  }
}

/** Fisher-Yates shuffle in place. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/** Char codes of each byte's two hex digits (high, low). */
const HEX_HI = Array.from({ length: 256 }, (_, i) => '0123456789abcdef'.charCodeAt(i >>> 4));
const HEX_LO = Array.from({ length: 256 }, (_, i) => '0123456789abcdef'.charCodeAt(i & 15));
const DASH = 45;

/** A random (version 4 shaped) UUID drawn from `rng`. */
export function uuid(rng: Rng): string {
  // Four 32-bit words, little-endian bytes, as before; the string is built in one
  // String.fromCharCode call (flat, no temporary arrays or joined pieces: one id per
  // placement, and every one is kept).
  const w0 = Math.floor(rng.next() * 4294967296);
  const w1 = Math.floor(rng.next() * 4294967296);
  const w2 = Math.floor(rng.next() * 4294967296);
  const w3 = Math.floor(rng.next() * 4294967296);
  const b0 = w0 & 0xff, b1 = (w0 >>> 8) & 0xff, b2 = (w0 >>> 16) & 0xff, b3 = (w0 >>> 24) & 0xff;
  const b4 = w1 & 0xff, b5 = (w1 >>> 8) & 0xff, b6 = (((w1 >>> 16) & 0xff) & 0x0f) | 0x40, b7 = (w1 >>> 24) & 0xff;
  const b8 = ((w2 & 0xff) & 0x3f) | 0x80, b9 = (w2 >>> 8) & 0xff, b10 = (w2 >>> 16) & 0xff, b11 = (w2 >>> 24) & 0xff;
  const b12 = w3 & 0xff, b13 = (w3 >>> 8) & 0xff, b14 = (w3 >>> 16) & 0xff, b15 = (w3 >>> 24) & 0xff;
  const H = HEX_HI, L = HEX_LO;
  return String.fromCharCode(
    H[b0]!, L[b0]!, H[b1]!, L[b1]!, H[b2]!, L[b2]!, H[b3]!, L[b3]!, DASH,
    H[b4]!, L[b4]!, H[b5]!, L[b5]!, DASH,
    H[b6]!, L[b6]!, H[b7]!, L[b7]!, DASH,
    H[b8]!, L[b8]!, H[b9]!, L[b9]!, DASH,
    H[b10]!, L[b10]!, H[b11]!, L[b11]!, H[b12]!, L[b12]!, H[b13]!, L[b13]!, H[b14]!, L[b14]!, H[b15]!, L[b15]!,
  );
}
