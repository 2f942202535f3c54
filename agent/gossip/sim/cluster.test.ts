/**
 * The protocol on a simulated network: seeded, replayable (GOSSIP_SEED=<n> replays a failure; the
 * seed is in every failure message).
 */
import { describe, expect, it } from 'vitest';
import type { MemberEvent } from '../core/index.js';
import { serverTags } from '../core/index.js';
import { SimCluster } from './index.js';

const BASE_SEED = process.env.GOSSIP_SEED !== undefined ? Number(process.env.GOSSIP_SEED) : 20261122;

/** Run `body` with a seed; a failure names the seed to replay it with. */
function seeded(offset: number, body: (seed: number) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const seed = BASE_SEED + offset;
    try {
      await body(seed);
    } catch (err) {
      if (err instanceof Error) err.message = `[replay with GOSSIP_SEED=${BASE_SEED}, cluster seed ${seed}] ${err.message}`;
      throw err;
    }
  };
}

function record(c: SimCluster, names: readonly string[]): MemberEvent[] {
  const events: (MemberEvent & { viewer: string; at: number })[] = [];
  for (const n of names) c.get(n).subscribe((e) => events.push({ ...e, viewer: n, at: c.clock.now() }));
  return events;
}

describe('gossip on a simulated network', () => {
  it('forms a cluster from one join address; tags and tag changes reach everyone', seeded(1, (seed) => {
    const c = new SimCluster({ seed, config: { tags: serverTags({ region: 'global', datacenter: 'dc1', raftAddr: '-', build: '0.1.0' }) } });
    const names = c.bootstrap(8);
    expect(c.allSeeAllAlive()).toBe(true);
    expect(c.get('m7').member('m0')?.tags).toEqual({ role: 'server', region: 'global', dc: 'dc1', raft_addr: '-', build: '0.1.0' });
    const events = record(c, names);
    c.get('m3').setTags({ role: 'server', region: 'global', dc: 'dc2', raft_addr: '10.0.0.4:4647', build: '0.1.0' });
    c.run(5000);
    for (const n of names) expect(c.get(n).member('m3')?.tags.dc, n).toBe('dc2');
    expect(events.filter((e) => e.type === 'updated' && e.member.name === 'm3')).toHaveLength(7);
  }));

  it('join fails clearly when no address answers, and changes nothing', seeded(2, (seed) => {
    const c = new SimCluster({ seed });
    const m = c.start('lonely');
    let error: unknown;
    m.join(['10.9.9.9:7946']).catch((e: unknown) => { error = e; });
    c.run(20_000);
    return Promise.resolve().then(() => {
      expect(error).toMatchObject({ code: 'unavailable' });
      expect(m.members().map((x) => x.name)).toEqual(['lonely']);
    });
  }));

  it('a member cut off briefly is suspected, refutes with a higher incarnation, and is never declared failed', seeded(3, (seed) => {
    const c = new SimCluster({ seed });
    const names = c.bootstrap(10);
    const events = record(c, names);
    const inc = c.get('m4').localMember().incarnation;
    c.net.partition([names.filter((n) => n !== 'm4').map((n) => c.addr(n)), [c.addr('m4')]]);
    c.runUntil(() => events.some((e) => e.type === 'suspect' && e.member.name === 'm4'), 10_000);
    c.run(1000);
    // Lifeguard: the cut-off member gets neither acks nor nacks, so it distrusts itself and slows
    // down; the others get nacks from their helpers, so their health stays perfect.
    expect(c.get('m4').health()).toBeGreaterThan(0);
    for (const n of names.filter((x) => x !== 'm4')) expect(c.get(n).health(), n).toBe(0);
    c.net.heal();
    c.run(30_000);
    expect(events.some((e) => e.type === 'suspect' && e.member.name === 'm4')).toBe(true);
    expect(events.filter((e) => e.type === 'failed').map((e) => JSON.stringify(e))).toEqual([]);
    expect(c.get('m4').localMember().incarnation).toBeGreaterThan(inc);
    expect(c.get('m4').stats().refutations).toBeGreaterThan(0);
    expect(c.allSeeAllAlive()).toBe(true);
  }));

  it('a graceful leave is seen as left (not failed) by all, and left members are reaped after reapAfterMs', seeded(4, async (seed) => {
    const c = new SimCluster({ seed, config: { reapAfterMs: 60_000 } });
    const names = c.bootstrap(10);
    const events = record(c, names);
    let left = false;
    void c.get('m2').leave().then(() => { left = true; });
    c.run(10_000);
    await Promise.resolve();
    expect(left).toBe(true);
    expect(c.countSeeing('m2', 'left')).toBe(9);
    expect(events.filter((e) => e.member.name === 'm2' && e.type === 'failed')).toEqual([]);
    c.run(90_000);
    for (const n of names.filter((x) => x !== 'm2')) expect(c.get(n).member('m2'), n).toBeUndefined();
    expect(events.filter((e) => e.type === 'reaped' && e.member.name === 'm2').length).toBe(9);
  }));

  it('a killed member that restarts at the same address refutes its death and is alive again', seeded(5, (seed) => {
    const c = new SimCluster({ seed });
    c.bootstrap(10);
    c.kill('m6');
    expect(c.runUntil(() => c.countSeeing('m6', 'failed') === 9, 120_000)).toBe(true);
    c.start('m6').join([c.addr('m0')]).catch(() => undefined);
    expect(c.runUntil(() => c.allSeeAllAlive(), 60_000)).toBe(true);
    expect(c.get('m6').localMember().incarnation).toBeGreaterThan(0);
  }));

  it('force-leave turns a failed member into left everywhere; a running member refutes it; unknown names are refused', seeded(6, (seed) => {
    const c = new SimCluster({ seed });
    const names = c.bootstrap(6);
    c.kill('m5');
    expect(c.runUntil(() => c.countSeeing('m5', 'failed') === 5, 60_000)).toBe(true);
    c.get('m0').forceLeave('m5');
    c.run(5000);
    expect(c.countSeeing('m5', 'left')).toBe(5);
    const events = record(c, names.filter((n) => n !== 'm5'));
    c.get('m0').forceLeave('m2');
    c.run(1000);
    expect(c.countSeeing('m2', 'left')).toBe(4);
    // m2 hears it at the latest in its next push-pull, refutes, and is alive again everywhere.
    expect(c.runUntil(() => c.countSeeing('m2', 'alive') === 4, 120_000)).toBe(true);
    expect(c.get('m2').stats().refutations).toBeGreaterThan(0);
    expect(events.filter((e) => e.member.name === 'm2').map((e) => e.type)).toContain('alive');
    expect(() => c.get('m0').forceLeave('nobody')).toThrow(expect.objectContaining({ code: 'not_found', field: 'name' }));
    expect(() => c.get('m0').forceLeave('m0')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  }));

  it('replays exactly: the same seed gives the same trace', () => {
    const trace = (seed: number): string => {
      const c = new SimCluster({ seed, loss: 0.1 });
      const names = c.bootstrap(20);
      const events = record(c, names);
      c.kill('m3');
      c.run(60_000);
      return JSON.stringify([events, c.net.counters]);
    };
    expect(trace(BASE_SEED)).toBe(trace(BASE_SEED));
    expect(trace(BASE_SEED)).not.toBe(trace(BASE_SEED + 1));
  });

  for (const [n, minutes, how] of [[100, 10, 'joins'], [500, 2, 'formed']] as const) {
    it(`${n} members (${how}): 10% packet loss for ${minutes} min declares no live member failed; a killed one is detected by all; halves of a partition heal into one view`, seeded(10 + n, (seed) => {
      const c = new SimCluster({ seed });
      const names = how === 'joins' ? c.bootstrap(n, { staggerMs: 10 }) : c.formed(n);
      expect(c.runUntil(() => c.allSeeAllAlive(), 60_000), 'formed').toBe(true);
      const events = record(c, names);

      c.net.loss = 0.1;
      c.run(minutes * 60_000);
      const wrong = events.filter((e) => e.type === 'failed');
      expect(wrong, `${wrong.length} false failures`).toEqual([]);

      const victim = names[n >> 1]!;
      c.kill(victim);
      const detected = c.runUntil(() => c.countSeeing(victim, 'failed') === n - 1, 120_000);
      expect(detected, `${c.countSeeing(victim, 'failed')} of ${n - 1} saw ${victim} failed`).toBe(true);
      expect(events.filter((e) => e.type === 'failed' && e.member.name !== victim)).toEqual([]);

      c.net.loss = 0;
      const live = c.live();
      const a = live.slice(0, live.length >> 1);
      const b = live.slice(live.length >> 1);
      c.net.partition([a.map((x) => c.addr(x)), b.map((x) => c.addr(x))]);
      const split = c.runUntil(() => c.countSeeing(b[0]!, 'failed') === a.length && c.countSeeing(a[0]!, 'failed') === b.length, 180_000, 1000);
      expect(split, 'each side declares the other failed').toBe(true);
      c.net.heal();
      const healed = c.runUntil(() => c.allSeeAllAlive(), 300_000, 1000);
      expect(healed, `live members each side sees after healing: ${live.map((v) => c.get(v).numLive()).join(',')}`).toBe(true);
    }), 1_200_000);
  }
});
