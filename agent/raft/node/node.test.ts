import { describe, expect, it } from 'vitest';
import { NomadError, SeededRng, VirtualClock } from '../../core/lib/index.js';
import type { ServerId } from '../core/index.js';
import { MemoryNetwork } from '../transport/index.js';
import type { StateMachine } from './index.js';
import { MemoryRaftStorage, RaftNode } from './index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A log of applied commands; refuses the command "bad" as an FSM refuses an invalid command. */
class ListMachine implements StateMachine<string> {
  items: string[] = [];
  apply(index: number, data: Uint8Array): string {
    const s = dec(data);
    if (s === 'bad') throw new NomadError('invalid_argument', 'bad command');
    this.items.push(`${index}:${s}`);
    return `ok ${s}`;
  }
  snapshot(): Uint8Array {
    return enc(JSON.stringify(this.items));
  }
  restore(data: Uint8Array): void {
    this.items = JSON.parse(dec(data)) as string[];
  }
}

const ids = ['a', 'b', 'c'];
const settle = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};

class Cluster {
  readonly clock = new VirtualClock();
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<ServerId, RaftNode<string>>();
  readonly fsms = new Map<ServerId, ListMachine>();
  readonly stores = new Map<ServerId, MemoryRaftStorage>();
  constructor(readonly seed: number, private readonly opts: { maxPendingProposals?: number; proposalTimeoutMs?: number; snapshotThreshold?: number } = {}) {
    for (const id of ids) this.boot(id, MemoryRaftStorage.bootstrap({ voters: ids, learners: [] }));
  }
  boot(id: ServerId, storage: MemoryRaftStorage): RaftNode<string> {
    const t = this.net.transport(id);
    for (const p of ids) if (p !== id) t.addPeer(p, '');
    const fsm = new ListMachine();
    const node = new RaftNode<string>({ id, storage, transport: t, fsm, clock: this.clock, rng: new SeededRng(this.seed * 31 + id.charCodeAt(0)), ...this.opts });
    this.nodes.set(id, node);
    this.fsms.set(id, fsm);
    this.stores.set(id, storage);
    node.start();
    return node;
  }
  /** Crash `id` (losing nothing saved) and start it again from its storage. */
  async restart(id: ServerId): Promise<RaftNode<string>> {
    const node = this.nodes.get(id)!;
    await node.stop();
    await this.net.transport(id).close();
    return this.boot(id, this.stores.get(id)!.crashCopy());
  }
  async ticks(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.clock.advance(100);
      await settle();
    }
  }
  leaders(): ServerId[] {
    return [...this.nodes].filter(([, n]) => n.isLeader()).map(([id]) => id);
  }
  async leader(): Promise<RaftNode<string>> {
    for (let i = 0; i < 100; i++) {
      const l = this.leaders();
      if (l.length === 1) return this.nodes.get(l[0]!)!;
      await this.ticks(1);
    }
    throw new Error(`seed ${this.seed}: no single leader after 100 ticks: ${this.leaders().join(',')}`);
  }
}

describe('RaftNode: three servers over the in-memory network', () => {
  for (const seed of [1, 2, 3]) {
    it(`elects one leader, commits proposals on every server in order (seed ${seed})`, async () => {
      const c = new Cluster(seed);
      const leader = await c.leader();
      const results = await Promise.all(['x', 'y', 'z'].map((s) => leader.propose(enc(s))));
      expect(results.map((r) => r.result)).toEqual(['ok x', 'ok y', 'ok z']);
      expect(results.map((r) => r.index)).toEqual([results[0]!.index, results[0]!.index + 1, results[0]!.index + 2]);
      await c.ticks(3);
      const expected = results.map((r, i) => `${r.index}:${'xyz'[i]}`);
      for (const id of ids) expect(c.fsms.get(id)!.items, `seed ${seed} server ${id}`).toEqual(expected);
      expect(c.leaders()).toHaveLength(1);
    });
  }

  it('refuses a proposal on a follower, naming the leader when known', async () => {
    const c = new Cluster(4);
    const leader = await c.leader();
    await c.ticks(2);
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    expect(follower.leader()).toBe(leader.id);
    await expect(follower.propose(enc('x'))).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('a command the state machine refuses fails its proposer and still consumes the index everywhere', async () => {
    const c = new Cluster(5);
    const leader = await c.leader();
    await expect(leader.propose(enc('bad'))).rejects.toThrow('bad command');
    const ok = await leader.propose(enc('good'));
    await c.ticks(2);
    for (const id of ids) expect(c.fsms.get(id)!.items).toEqual([`${ok.index}:good`]);
    for (const n of c.nodes.values()) expect(n.applied()).toBeGreaterThanOrEqual(ok.index);
  });

  it('answers RESOURCE_EXHAUSTED at once when the queue is full and DEADLINE_EXCEEDED when commit stalls', async () => {
    const c = new Cluster(6, { maxPendingProposals: 2, proposalTimeoutMs: 3_000 });
    const leader = await c.leader();
    c.net.isolate(leader.id);
    const first = leader.propose(enc('1'));
    const second = leader.propose(enc('2'));
    const outcomes = Promise.allSettled([first, second]);
    await expect(leader.propose(enc('3'))).rejects.toMatchObject({ code: 'resource_exhausted' });
    await c.ticks(31);
    const [r1, r2] = await outcomes;
    for (const r of [r1, r2]) {
      expect(r.status).toBe('rejected');
      const code = ((r as PromiseRejectedResult).reason as NomadError).code;
      // Timed out, or failed sooner because the isolated leader stepped down (check-quorum).
      expect(['timeout', 'unavailable']).toContain(code);
    }
    expect(leader.pendingProposals()).toBe(0);
  });

  it('elects a new leader when the leader is cut off; the old one rejoins and converges', async () => {
    const c = new Cluster(7);
    const old = await c.leader();
    const before = await old.propose(enc('before'));
    c.net.isolate(old.id);
    await c.ticks(40);
    const others = [...c.nodes.values()].filter((n) => n !== old);
    const next = others.find((n) => n.isLeader());
    expect(next, 'a new leader among the connected servers').toBeDefined();
    const after = await next!.propose(enc('after'));
    c.net.heal();
    await c.ticks(20);
    expect(c.leaders()).toEqual([next!.id]);
    for (const id of ids) expect(c.fsms.get(id)!.items).toEqual([`${before.index}:before`, `${after.index}:after`]);
  });

  it('reports how long each server has not heard from the leader (0 on the leader, -1 before any contact)', async () => {
    const c = new Cluster(9);
    expect([...c.nodes.values()].map((n) => n.lastContactMs())).toEqual([-1, -1, -1]);
    const leader = await c.leader();
    await c.ticks(3);
    const followers = [...c.nodes.values()].filter((n) => n !== leader);
    expect(leader.lastContactMs()).toBe(0);
    // The leader sends a heartbeat every tick (100 ms): a follower heard from it within one.
    for (const f of followers) expect(f.lastContactMs()).toBeLessThanOrEqual(100);
    // Cut one follower off: its last contact ages with the clock; the other's does not.
    const [cut, kept] = followers as [RaftNode<string>, RaftNode<string>];
    c.net.isolate(cut.id);
    await c.ticks(5);
    expect(cut.lastContactMs()).toBeGreaterThanOrEqual(500);
    expect(kept.lastContactMs()).toBeLessThanOrEqual(100);
    c.net.heal();
    await c.ticks(30);
    const now = c.leaders();
    expect(now).toHaveLength(1);
    // Healed: the cut-off server hears from the leader again.
    for (const n of c.nodes.values()) {
      if (n.isLeader()) expect(n.lastContactMs()).toBe(0);
      else expect(n.lastContactMs()).toBeLessThanOrEqual(100);
    }
  });

  it('serves a linearizable read point at or past every acknowledged write', async () => {
    const c = new Cluster(8);
    const leader = await c.leader();
    const w = await leader.propose(enc('w'));
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    const [atLeader, atFollower] = await Promise.all([leader.readIndex(), follower.readIndex()]);
    expect(atLeader).toBeGreaterThanOrEqual(w.index);
    expect(atFollower).toBeGreaterThanOrEqual(w.index);
    expect(c.fsms.get(follower.id)!.items).toContain(`${w.index}:w`);
  });

  it('snapshots past the threshold; a restarted server recovers the same state from snapshot and log', async () => {
    const c = new Cluster(9, { snapshotThreshold: 10 });
    const leader = await c.leader();
    for (let i = 0; i < 25; i++) await leader.propose(enc(`v${i}`));
    await c.ticks(3);
    const follower = [...c.nodes.values()].find((n) => n !== leader)!;
    expect(c.stores.get(follower.id)!.snapshot().meta.index).toBeGreaterThan(0);
    const want = [...c.fsms.get(leader.id)!.items];
    expect(want).toHaveLength(25);
    await c.restart(follower.id);
    await c.ticks(5);
    expect(c.fsms.get(follower.id)!.items).toEqual(want);
    const more = await (await c.leader()).propose(enc('more'));
    await c.ticks(3);
    expect(c.fsms.get(follower.id)!.items).toEqual([...want, `${more.index}:more`]);
  });
});
