/** The wall clock, for production wiring at the edge. The core only sees the Clock interface. */
import { randomBytes } from 'node:crypto';
import type { Clock, Rng, TimerHandle } from '../core/lib/index.js';
import { SeededRng } from '../core/lib/index.js';

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }
}

/** A seeded generator whose seed comes from the OS; the seed is returned so a run can be replayed. */
export function systemRng(seed?: number): { rng: Rng; seed: number } {
  const s = seed ?? randomBytes(4).readUInt32LE(0);
  return { rng: new SeededRng(s), seed: s };
}
