import { describe, expect, it } from 'vitest';
import { VirtualClock } from './clock.js';
import { SeededRng } from './rng.js';

describe('VirtualClock', () => {
  it('fires timers in time order, ties in creation order, and only when due', () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c'));
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(10, () => fired.push('b'));
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now()).toBe(10);
    clock.advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(110);
  });

  it('skips cancelled timers and counts only live ones', () => {
    const clock = new VirtualClock(0);
    const fired: number[] = [];
    const handles = Array.from({ length: 200 }, (_, i) => clock.setTimer(i, () => fired.push(i)));
    for (let i = 0; i < 200; i++) if (i % 3 !== 0) handles[i]!.cancel();
    expect(clock.pending()).toBe(67);
    clock.advance(1_000);
    expect(fired).toEqual(Array.from({ length: 67 }, (_, i) => i * 3));
    expect(clock.pending()).toBe(0);
  });

  it('runs timers set by timers at the right virtual time', () => {
    const clock = new VirtualClock(0);
    const at: number[] = [];
    clock.setTimer(5, () => {
      at.push(clock.now());
      clock.setTimer(5, () => at.push(clock.now()));
    });
    clock.runAll();
    expect(at).toEqual([5, 10]);
  });
});

describe('SeededRng', () => {
  it('replays the same sequence for the same seed and differs for another', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const c = new SeededRng(43);
    const seqA = Array.from({ length: 20 }, () => a.int(1000));
    expect(Array.from({ length: 20 }, () => b.int(1000))).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.int(1000))).not.toEqual(seqA);
  });

  it('stays within range and covers it', () => {
    const rng = new SeededRng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const v = rng.int(10);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(10);
      seen.add(v);
    }
    expect(seen.size).toBe(10);
  });
});
