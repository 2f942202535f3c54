import { describe, expect, it } from 'vitest';
import type { Rng } from '../lib/index.js';
import { SeededRng, VirtualClock } from '../lib/index.js';
import { HeartbeatTimers, heartbeatTtlMs } from './heartbeat.js';

const fixed = (v: number): Rng => ({ next: () => v, int: (n: number) => Math.floor(v * n), fork: () => fixed(v) });

function timers(rng: Rng = fixed(0)) {
  const clock = new VirtualClock();
  const expired: string[] = [];
  const t = new HeartbeatTimers({ clock, rng, onExpire: (id) => expired.push(id) });
  return { clock, expired, t };
}

describe('HeartbeatTimers (nomad/heartbeat.go)', () => {
  it('scales the TTL so the leader sees at most 50 heartbeats a second', () => {
    expect(heartbeatTtlMs(10, fixed(0))).toBe(10_000);
    expect(heartbeatTtlMs(5_000, fixed(0))).toBe(100_000);
    const rng = new SeededRng(3);
    for (let i = 0; i < 200; i++) {
      const ttl = heartbeatTtlMs(5_000, rng);
      expect(ttl).toBeGreaterThanOrEqual(100_000);
      expect(ttl).toBeLessThan(200_000);
      // 5,000 nodes each beating once per TTL: never more than 50 per second.
      expect(5_000 / (ttl / 1000)).toBeLessThanOrEqual(50);
    }
  });

  it('expires a silent node after TTL + grace, not before; a heartbeat restarts the wait', () => {
    const { clock, expired, t } = timers();
    expect(t.reset('n1')).toBe(10_000);
    clock.advance(19_999);
    expect(expired).toEqual([]);
    expect(t.reset('n1')).toBe(10_000);
    clock.advance(19_999);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(['n1']);
    expect(t.size).toBe(0);
    expect(t.stats()).toMatchObject({ expired: 1 });
  });

  it('after a failover every live node gets the long failover TTL, and nodes not listed lose their timer', () => {
    const { clock, expired, t } = timers();
    t.reset('gone');
    t.resetAllTimers(['a', 'b'], true);
    expect(t.has('gone')).toBe(false);
    clock.advance(299_999);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired.sort()).toEqual(['a', 'b']);
  });

  it('without failover the reset uses the ordinary TTL; clearAll stops everything', () => {
    const { clock, expired, t } = timers();
    t.resetAllTimers(['a', 'b', 'c'], false);
    expect(t.size).toBe(3);
    t.clearAll();
    clock.advance(1_000_000);
    expect(expired).toEqual([]);
  });

  it('refuses bad input with the field named', () => {
    const clock = new VirtualClock();
    expect(() => new HeartbeatTimers({ clock, rng: fixed(0), onExpire: () => undefined, minTtlMs: 0 })).toThrow(/minTtlMs/);
    expect(() => new HeartbeatTimers({ clock, rng: fixed(0), onExpire: () => undefined, maxHeartbeatsPerSecond: -1 })).toThrow(/maxHeartbeatsPerSecond/);
    const { t } = timers();
    expect(() => t.reset('')).toThrow(/nodeId/);
  });
});
