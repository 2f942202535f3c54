/**
 * The client RPCs without a transport: a SimCluster on a VirtualClock, calls straight into
 * ClientRpcService. Heartbeat TTLs and their expiry run on the virtual clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Rng } from '../core/lib/index.js';
import { NomadError, SeededRng, VirtualClock } from '../core/lib/index.js';
import type { ClientAllocUpdate } from '../core/state/index.js';
import type { Job, Node } from '../core/structs/index.js';
import { nodeUsageTotals } from '../core/structs/index.js';
import { mockJob, mockNode, mockServiceReschedulePolicy, mockTask, mockTaskGroup, withComputedClass } from '../core/testing/index.js';
import { SimCluster } from '../sim/index.js';
import type { NodeAllocsUpdate } from './index.js';
import { ClientRpcService, heartbeatTtlMs, rateScaledIntervalMs } from './index.js';

let cluster: SimCluster | undefined;
let service: ClientRpcService | undefined;
afterEach(async () => {
  service?.stop();
  await cluster?.stop();
  cluster = undefined;
  service = undefined;
});

const fixed = (value: number): Rng => ({ next: () => value, int: (n) => Math.floor(value * n), fork: () => fixed(value) });

async function setup(): Promise<{ c: SimCluster; svc: ClientRpcService; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const rng = new SeededRng(11);
  const c = await SimCluster.start({ clock, rng: rng.fork(), workers: 2, freezeObjects: true, nodes: [] });
  cluster = c;
  // rng 0 → no stagger: every TTL is exactly the 10 s minimum, so expiry is at 20 s with the grace.
  const svc = new ClientRpcService({ server: c.server, clock, rng: fixed(0) });
  service = svc;
  return { c, svc, clock };
}

function mockDriverNode(id: string): Node {
  return withComputedClass(
    mockNode({
      id,
      status: 'initializing',
      attributes: { 'kernel.name': 'linux', 'cpu.arch': 'amd64', 'driver.mock': '1', 'unique.hostname': id },
      drivers: { mock: { detected: true, healthy: true, healthDescription: 'healthy', attributes: {} } },
    }),
  );
}

function mockDriverJob(count: number): Job {
  return mockJob({
    id: 'svc',
    name: 'svc',
    taskGroups: [
      mockTaskGroup({
        count,
        reschedule: mockServiceReschedulePolicy({ delay: 0, delayFunction: 'constant' }),
        tasks: [mockTask({ driver: 'mock', config: {} })],
      }),
    ],
  });
}

async function failure(p: Promise<unknown>): Promise<NomadError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NomadError) return err;
    throw err;
  }
  throw new Error('expected a NomadError');
}

function update(id: string, clientStatus: ClientAllocUpdate['clientStatus'], modifyTime: number): ClientAllocUpdate {
  return { id, clientStatus, clientDescription: clientStatus, taskStates: {}, modifyTime };
}

describe('heartbeat TTL (Nomad: max(10 s, nodes / 50 per second) plus a stagger up to the TTL)', () => {
  it('scales with the node count: 10, 1,000 and 10,000 nodes', () => {
    expect(rateScaledIntervalMs(50, 10_000, 10)).toBe(10_000);
    expect(rateScaledIntervalMs(50, 10_000, 1_000)).toBe(20_000);
    expect(rateScaledIntervalMs(50, 10_000, 10_000)).toBe(200_000);
    expect(heartbeatTtlMs(10, fixed(0))).toBe(10_000);
    expect(heartbeatTtlMs(1_000, fixed(0.5))).toBe(30_000);
    expect(heartbeatTtlMs(10_000, fixed(0.5))).toBe(300_000);
  });

  it('staggers every TTL within [interval, 2 × interval)', () => {
    const rng = new SeededRng(5);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const ttl = heartbeatTtlMs(1_000, rng);
      expect(ttl).toBeGreaterThanOrEqual(20_000);
      expect(ttl).toBeLessThan(40_000);
      seen.add(ttl);
    }
    expect(seen.size).toBeGreaterThan(100); // really random, not a constant
  });

  it('a zero or negative rate falls back to the minimum', () => {
    expect(rateScaledIntervalMs(0, 10_000, 5_000)).toBe(10_000);
  });
});

describe('register and heartbeat', () => {
  it('leaderOnly: a server without the leader duties refuses registrations and heartbeats, changing nothing', async () => {
    const { c } = await setup();
    const svc = new ClientRpcService({ server: c.server, clock: new VirtualClock(), rng: fixed(0), leaderOnly: true });
    const node = mockDriverNode('n-leader-only');
    await svc.register(node);
    await c.server.stop(); // leader duties off, as on a follower
    const other = mockDriverNode('n-follower');
    await expect(svc.register(other)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/not the cluster leader/) });
    await expect(svc.heartbeat(node.id)).rejects.toMatchObject({ code: 'unavailable' });
    expect(c.server.state().nodeByID(other.id)).toBeUndefined();
    svc.stop();
  });

  it('registers a node as ready and hands back the TTL', async () => {
    const { c, svc } = await setup();
    const r = await svc.register(mockDriverNode('n1'));
    expect(r.heartbeatTtlMs).toBe(10_000);
    expect(c.server.state().nodeByID('n1')?.status).toBe('ready');
    expect(svc.heartbeatCount()).toBe(1);
  });

  it('refuses a node without id, name or datacenter, naming the field', async () => {
    const { svc } = await setup();
    expect((await failure(svc.register({ ...mockDriverNode('x'), id: '' }))).field).toBe('nodeId');
    expect((await failure(svc.register({ ...mockDriverNode('x'), datacenter: '' }))).field).toBe('node.datacenter');
    expect((await failure(svc.register({ ...mockDriverNode('x'), name: '' }))).field).toBe('node.name');
  });

  it('heartbeats keep the node ready; a missed TTL (+ grace) marks it down and evaluates its jobs', async () => {
    const { c, svc, clock } = await setup();
    await svc.register(mockDriverNode('n1'));
    const reg = await c.server.registerJob(mockDriverJob(2));
    await c.settle();
    expect(c.server.state().allocsByNode('n1')).toHaveLength(2);

    // Heartbeat every 15 s for a minute: past several TTLs, the node stays ready.
    for (let i = 0; i < 4; i++) {
      clock.advance(15_000);
      const hb = await svc.heartbeat('n1');
      expect(hb.heartbeatTtlMs).toBe(10_000);
    }
    await c.settle();
    expect(c.server.state().nodeByID('n1')?.status).toBe('ready');

    // Silence: 19.999 s later still ready, at 20 s (TTL 10 s + grace 10 s) down.
    clock.advance(19_999);
    expect(c.server.state().nodeByID('n1')?.status).toBe('ready');
    const evalsBefore = c.server.state().evalsByJob('default', 'svc').length;
    clock.advance(1);
    await c.settle();
    expect(c.server.state().nodeByID('n1')?.status).toBe('down');
    expect(svc.heartbeatCount()).toBe(0);
    const evals = c.server.state().evalsByJob('default', 'svc');
    expect(evals.length).toBeGreaterThan(evalsBefore);
    expect(evals.some((e) => e.triggeredBy === 'node-update' && e.nodeId === 'n1' && e.id !== reg.evalId)).toBe(true);
  });

  it('a heartbeat from a node marked down brings it back ready; an unknown node must register', async () => {
    const { c, svc, clock } = await setup();
    await svc.register(mockDriverNode('n1'));
    clock.advance(20_000);
    await c.settle();
    expect(c.server.state().nodeByID('n1')?.status).toBe('down');
    await svc.heartbeat('n1');
    expect(c.server.state().nodeByID('n1')?.status).toBe('ready');
    expect(svc.heartbeatCount()).toBe(1);

    const e = await failure(svc.heartbeat('nobody'));
    expect(e.code).toBe('not_found');
    expect(e.message).toContain('register it first');
    expect((await failure(svc.heartbeat(''))).field).toBe('nodeId');
  });

  it('the TTL grows with the number of nodes holding timers', async () => {
    const { svc } = await setup();
    let last = 0;
    for (let i = 0; i < 1_000; i++) last = (await svc.register(mockDriverNode(`n${i}`))).heartbeatTtlMs;
    expect(last).toBe(20_000);
  });

  it('stop() cancels every timer: nothing is marked down afterwards', async () => {
    const { c, svc, clock } = await setup();
    await svc.register(mockDriverNode('n1'));
    svc.stop();
    clock.advance(60_000);
    await c.settle();
    expect(c.server.state().nodeByID('n1')?.status).toBe('ready');
  });
});

describe('watchAllocations', () => {
  it('sends the full allocations once, then only the changed ones, with the id → index map each time', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    await c.server.registerJob(mockDriverJob(2));
    await c.settle();
    const abort = new AbortController();
    const watch = svc.watchAllocations('n1', { signal: abort.signal });
    const first = (await watch.next()).value as NodeAllocsUpdate;
    expect(first.changed).toHaveLength(2);
    expect(Object.keys(first.allocModifyIndex).sort()).toEqual(first.changed.map((a) => a.id).sort());

    // A client report changes modifyIndex only: not resent. A scale-up adds one: only it is sent.
    const ids = first.changed.map((a) => a.id);
    await svc.updateAllocs('n1', [update(ids[0]!, 'running', 1)]);
    await c.server.registerJob(mockDriverJob(3));
    await c.settle();
    let next = (await watch.next()).value as NodeAllocsUpdate;
    while (Object.keys(next.allocModifyIndex).length < 3) next = (await watch.next()).value as NodeAllocsUpdate;
    const fresh = next.changed.filter((a) => !ids.includes(a.id));
    expect(fresh).toHaveLength(1);
    expect(next.index).toBeGreaterThan(first.index);
    abort.abort();
    await watch.return(undefined);
  });

  it('resumes from known indexes without resending what the caller holds', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    await c.server.registerJob(mockDriverJob(2));
    await c.settle();
    const held = Object.fromEntries(c.server.state().allocsByNode('n1').map((a) => [a.id, a.allocModifyIndex]));
    const watch = svc.watchAllocations('n1', { known: held });
    const first = (await watch.next()).value as NodeAllocsUpdate;
    expect(first.changed).toEqual([]);
    expect(first.allocModifyIndex).toEqual(held);
    await watch.return(undefined);
  });

  it('waits past minIndex, ends when aborted, and refuses an unknown node or a bad index', async () => {
    const { c, svc, clock } = await setup();
    await svc.register(mockDriverNode('n1'));
    const abort = new AbortController();
    const watch = svc.watchAllocations('n1', { minIndex: c.server.state().index + 100, signal: abort.signal });
    const pending = watch.next();
    clock.advance(1_000);
    abort.abort();
    expect((await pending).done).toBe(true);
    await expect(svc.watchAllocations('ghost').next()).rejects.toThrow('node "ghost" not found');
    await expect(svc.watchAllocations('n1', { minIndex: -1 }).next()).rejects.toThrow('minIndex must be a whole number');
  });
});

describe('updateAllocs', () => {
  it('applies one batch in one FSM write: running and failed land as the client status', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    await svc.register(mockDriverNode('n2'));
    await c.server.registerJob(mockDriverJob(2));
    await c.settle();
    const [a, b] = c.server.state().allocsByJob('default', 'svc');
    const before = c.server.state().index;
    const r = await svc.updateAllocs(a!.nodeId, [update(a!.id, 'running', 5)]);
    expect(r.index).toBe(before + 1);
    expect(c.server.state().allocByID(a!.id)?.clientStatus).toBe('running');
    await svc.updateAllocs(b!.nodeId, [update(b!.id, 'running', 5)]);
    expect(c.server.state().allocByID(b!.id)?.clientStatus).toBe('running');
  });

  it('a failed allocation gets one alloc-failure eval per job, and the scheduler places a replacement', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    await c.server.registerJob(mockDriverJob(2));
    await c.settle();
    const [a, b] = c.server.state().allocsByNode('n1');
    const r = await svc.updateAllocs('n1', [update(a!.id, 'failed', 7), update(b!.id, 'failed', 7)]);
    expect(r.evalIds).toHaveLength(1);
    expect(c.server.state().evalByID(r.evalIds[0]!)?.triggeredBy).toBe('alloc-failure');
    await c.settle();
    const allocs = c.server.state().allocsByJob('default', 'svc');
    const live = allocs.filter((x) => x.clientStatus !== 'failed' && x.desiredStatus === 'run');
    expect(live).toHaveLength(2);
    expect(live.every((x) => x.previousAllocation === a!.id || x.previousAllocation === b!.id)).toBe(true);

    // Failing again an alloc already failed creates no eval.
    expect((await svc.updateAllocs('n1', [update(a!.id, 'failed', 8)])).evalIds).toEqual([]);
  });

  it('no eval when the reschedule policy allows no attempt', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    const job = mockDriverJob(1);
    const noResched = { ...job, taskGroups: job.taskGroups.map((g) => ({ ...g, reschedule: { ...g.reschedule!, unlimited: false, attempts: 0 } })) };
    await c.server.registerJob(noResched);
    await c.settle();
    const [a] = c.server.state().allocsByNode('n1');
    expect((await svc.updateAllocs('n1', [update(a!.id, 'failed', 7)])).evalIds).toEqual([]);
    expect(c.server.state().allocByID(a!.id)?.clientStatus).toBe('failed');
  });

  it('refuses an empty batch, an unknown node and another node’s allocation', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    await svc.register(mockDriverNode('n2'));
    await c.server.registerJob(mockDriverJob(4));
    await c.settle();
    const onN1 = c.server.state().allocsByNode('n1')[0]!;
    expect((await failure(svc.updateAllocs('n1', []))).field).toBe('updates');
    expect((await failure(svc.updateAllocs('ghost', [update(onN1.id, 'running', 1)]))).code).toBe('not_found');
    const e = await failure(svc.updateAllocs('n2', [update(onN1.id, 'running', 1)]));
    expect(e.field).toBe('updates[0].id');
    expect(e.message).toContain('runs on node "n1"');
    // An allocation gone from state is skipped, as the FSM does.
    await svc.updateAllocs('n1', [update('gone', 'running', 1)]);
  });
});

describe('ClientRpcService usage reports', () => {
  const sample = (rss: number, cpuMhz: number): { timestamp: number; cpuPercent: number; cpuMhz: number; cpuTotalMs: number; memoryRssBytes: number } => ({
    timestamp: 1, cpuPercent: cpuMhz / 10, cpuMhz, cpuTotalMs: 5, memoryRssBytes: rss,
  });

  it('keeps the latest report per node in memory (not in the state), stamped when it arrived; a node marked down loses it', async () => {
    const { c, svc, clock } = await setup();
    await svc.register(mockDriverNode('n1'));
    await c.server.registerJob(mockDriverJob(2));
    await c.settle();
    const [a, b] = c.server.state().allocsByNode('n1');
    const index = c.server.state().index;
    clock.advance(1000);
    await svc.updateUsage('n1', [{ allocId: a!.id, tasks: { web: sample(1000, 20) } }, { allocId: b!.id, tasks: { web: sample(3000, 5) } }]);
    expect(c.server.state().index).toBe(index);
    const got = svc.usage.get('n1')!;
    expect(got.receivedAt).toBe(clock.now());
    expect(nodeUsageTotals(got)).toEqual({ memoryRssBytes: 4000, cpuMhz: 25, cpuPercent: 2.5 });
    // A new report replaces the old one.
    await svc.updateUsage('n1', [{ allocId: a!.id, tasks: { web: sample(10, 1) } }]);
    expect(svc.usage.list().map((n) => n.allocs.map((x) => x.allocId))).toEqual([[a!.id]]);
    // No heartbeat: marked down at TTL + grace, and its usage is dropped.
    clock.advance(25_000);
    await c.settle();
    expect(svc.usage.get('n1')).toBeUndefined();
  });

  it('refuses an unknown node and another node’s allocation (naming it), skips a gone allocation; nothing stored on refusal', async () => {
    const { c, svc } = await setup();
    await svc.register(mockDriverNode('n1'));
    await svc.register(mockDriverNode('n2'));
    await c.server.registerJob(mockDriverJob(4));
    await c.settle();
    const onN1 = c.server.state().allocsByNode('n1')[0]!;
    expect((await failure(svc.updateUsage('ghost', []))).code).toBe('not_found');
    expect((await failure(svc.updateUsage('', []))).field).toBe('nodeId');
    const e = await failure(svc.updateUsage('n2', [{ allocId: 'gone', tasks: {} }, { allocId: onN1.id, tasks: { web: sample(1, 1) } }]));
    expect(e.field).toBe('allocs[1].allocId');
    expect(e.message).toContain('runs on node "n1"');
    expect(svc.usage.get('n2')).toBeUndefined();
    await svc.updateUsage('n1', [{ allocId: 'gone', tasks: {} }, { allocId: onN1.id, tasks: {} }]);
    expect(svc.usage.get('n1')!.allocs.map((x) => x.allocId)).toEqual([onN1.id]);
  });
});
