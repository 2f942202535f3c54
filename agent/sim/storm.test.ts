/**
 * Failure at scale, simulated: 1,200 simulated nodes on a virtual clock, the real server
 * (broker with load shedding, cancel reaper, blocked evals, drainer, heartbeat timers) and
 * simulated clients that report their allocations running and healthy, and stopped ones
 * complete. Invariants are checked after every step; every run is seeded and prints its
 * seed when it fails.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, VirtualClock } from '../core/lib/index.js';
import { HeartbeatTimers } from '../core/heartbeat/index.js';
import type { Allocation, Job, Node } from '../core/structs/index.js';
import { allocTerminalStatus } from '../core/structs/index.js';
import { mockBatchJob, mockJob, mockTask, mockTaskGroup } from '../core/testing/index.js';
import type { Server } from '../server/index.js';
import { SimCluster } from './cluster.js';

const NODES = 1_200;

const systemJob = (id: string): Job =>
  mockJob({ id, name: id, type: 'system', priority: 70, datacenters: ['*'], taskGroups: [mockTaskGroup({ name: 'agent', count: 1, tasks: [mockTask({ resources: { ...mockTask().resources, cpu: 20, memoryMB: 16 } })] })] });

const serviceJob = (id: string, count: number, maxParallel: number): Job =>
  mockJob({ id, name: id, datacenters: ['*'], taskGroups: [mockTaskGroup({ name: 'web', count, migrate: { maxParallel, healthCheck: 'task_states', minHealthyTime: 0, healthyDeadline: 300_000 } })] });

/** Simulated clients: new allocations start running and healthy; stopped ones complete. One write. */
async function clientsReport(server: Server, now: number): Promise<void> {
  const updates = [];
  for (const a of server.state().allocs()) {
    if (a.clientStatus === 'pending' && a.desiredStatus === 'run') {
      const node = server.state().nodeByID(a.nodeId);
      if (node?.status !== 'ready') continue;
      updates.push({ id: a.id, clientStatus: 'running' as const, clientDescription: '', taskStates: {}, deploymentStatus: { healthy: true, timestamp: now, canary: false, modifyIndex: 0 }, modifyTime: now });
    } else if ((a.clientStatus === 'pending' || a.clientStatus === 'running') && a.desiredStatus !== 'run') {
      updates.push({ id: a.id, clientStatus: 'complete' as const, clientDescription: 'stopped', taskStates: {}, modifyTime: now });
    }
  }
  if (updates.length > 0) await server.apply({ type: 'UpdateAllocsFromClient', allocs: updates });
}

/** Live placements: no job has two live allocations with the same name, no system job two on one node. */
function duplicatePlacements(server: Server): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const a of server.state().allocs()) {
    if (allocTerminalStatus(a)) continue;
    const key = a.job?.type === 'system' ? `${a.jobId}@${a.nodeId}/${a.taskGroup}` : `${a.jobId}/${a.name}`;
    const other = seen.get(key);
    if (other !== undefined) problems.push(`${key}: ${other} and ${a.id}`);
    seen.set(key, a.id);
  }
  return problems;
}

async function withSeed<T>(seed: number, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    throw new Error(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function startCluster(seed: number, clock: VirtualClock, jobs: Job[]): Promise<SimCluster> {
  const cluster = await SimCluster.start({ clock, rng: new SeededRng(seed), nodes: { count: NODES }, drainTickMs: 1_000, reaperIntervalMs: 5_000 });
  for (const j of jobs) await cluster.submit(j);
  await cluster.settle();
  await clientsReport(cluster.server, clock.now());
  await cluster.settle();
  return cluster;
}

describe(`storm simulation (${NODES} nodes, virtual clock)`, () => {
  it('a flapping node (missed TTL → down → back) never produces duplicate placements, and its system allocs come back', async () => {
    const seed = 4101;
    await withSeed(seed, async () => {
      const clock = new VirtualClock();
      const cluster = await startCluster(seed, clock, [systemJob('sys'), serviceJob('web', 40, 2)]);
      const server = cluster.server;
      const rng = new SeededRng(seed + 1);
      const timers = new HeartbeatTimers({ clock, rng: rng.fork(), onExpire: (id) => void server.nodeMissedHeartbeat(id) });
      server.useHeartbeats(timers);
      // The flapping nodes: those running the most service allocations, so the job is hit.
      const byWeb = new Map<string, number>();
      for (const a of server.state().allocsByJob('default', 'web')) byWeb.set(a.nodeId, (byWeb.get(a.nodeId) ?? 0) + 1);
      const flappers = [...byWeb.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([id]) => id);
      for (let round = 0; round < 6; round++) {
        for (const id of flappers) timers.reset(id);
        // Silence past TTL + grace: the timers fire, the nodes go down.
        clock.advance(10_000 * 2 + 10_000 + 1);
        await cluster.settle();
        for (const id of flappers) expect(server.state().nodeByID(id)!.status).toBe('down');
        expect(duplicatePlacements(server)).toEqual([]);
        for (const a of server.state().allocs()) if (flappers.includes(a.nodeId)) expect(allocTerminalStatus(a)).toBe(true);
        await clientsReport(server, clock.now());
        await cluster.settle();
        // Back: a heartbeat from a down node brings it back ready; its jobs are evaluated.
        for (const id of flappers.slice(0, 1 + rng.int(flappers.length))) await server.updateNodeStatus(id, 'ready');
        await cluster.settle();
        await clientsReport(server, clock.now());
        await cluster.settle();
        expect(duplicatePlacements(server)).toEqual([]);
        for (const id of flappers) if (server.state().nodeByID(id)!.status === 'ready') await server.updateNodeStatus(id, 'down');
        await cluster.settle();
        for (const id of flappers) await server.updateNodeStatus(id, 'ready');
        await cluster.settle();
        await clientsReport(server, clock.now());
        await cluster.settle();
        expect(duplicatePlacements(server)).toEqual([]);
      }
      const state = server.state();
      const liveSys = state.allocsByJob('default', 'sys').filter((a) => !allocTerminalStatus(a));
      expect(liveSys).toHaveLength(state.nodes().filter((n) => n.status === 'ready').length);
      expect(state.allocsByJob('default', 'web').filter((a) => !allocTerminalStatus(a))).toHaveLength(40);
      expect(server.stats().broker.counters.superseded).toBeGreaterThan(0);
      await cluster.stop();
    });
  }, 120_000);

  it('a drain never lets a group drop below count − max_parallel healthy before the deadline, and the node is empty by deadline + one tick', async () => {
    const seed = 4202;
    await withSeed(seed, async () => {
      const clock = new VirtualClock();
      const batch = mockBatchJob({ id: 'crunch', name: 'crunch', datacenters: ['*'], taskGroups: [mockTaskGroup({ name: 'worker', count: 30, migrate: null })] });
      const cluster = await startCluster(seed, clock, [systemJob('sys'), serviceJob('web', 60, 3), serviceJob('api', 25, 1), batch]);
      const server = cluster.server;
      const count = (nodeId: string): number => server.state().allocsByNode(nodeId).filter((a) => !allocTerminalStatus(a) && a.job?.type !== 'system').length;
      const targets = server.state().nodes().map((n) => n.id).sort((a, b) => count(b) - count(a)).slice(0, 8);
      const onTargets = targets.reduce((s, id) => s + count(id), 0);
      expect(onTargets).toBeGreaterThan(10);
      const deadlineMs = 120_000;
      const startedAt = clock.now();
      for (const id of targets) await server.updateNodeDrain(id, { deadline: deadlineMs, ignoreSystemJobs: false, startedAt, forceDeadline: startedAt + deadlineMs }, false);
      const groups: [string, string, number, number][] = [['web', 'web', 60, 3], ['api', 'web', 25, 1]];
      const violations: string[] = [];
      let steps = 0;
      let batchStoppedEarly = false;
      const check = (): void => {
        if (clock.now() >= startedAt + deadlineMs) return;
        for (const [job, group, n, maxPar] of groups) {
          const healthy = server.state().allocsByJob('default', job).filter((a: Allocation) => a.taskGroup === group && a.clientStatus === 'running' && a.desiredStatus === 'run' && !a.desiredTransition.migrate).length;
          if (healthy < n - maxPar) violations.push(`t+${clock.now() - startedAt} ms ${job}: ${healthy} healthy < ${n} - ${maxPar}`);
        }
        for (const a of server.state().allocsByJob('default', 'crunch')) {
          if (targets.includes(a.nodeId) && a.desiredStatus !== 'run') batchStoppedEarly = true;
        }
      };
      while (clock.now() <= startedAt + deadlineMs + 1_000) {
        // Each step: time moves (the drainer ticks), the schedulers act, check; the clients
        // report (replacements healthy, stopped allocations complete), check again.
        clock.advance(500);
        await cluster.settle();
        check();
        await clientsReport(server, clock.now());
        await cluster.settle();
        check();
        steps++;
        if (server.stats().drain.draining === 0) break;
      }
      expect(violations).toEqual([]);
      expect(batchStoppedEarly).toBe(false);
      expect(steps).toBeGreaterThan(3);
      // Deadline + one tick: nothing left on the drained nodes, drains complete, nodes ineligible.
      for (const id of targets) {
        expect(server.state().allocsByNode(id).filter((a) => !allocTerminalStatus(a))).toEqual([]);
        const n: Node = server.state().nodeByID(id)!;
        expect(n.drainStrategy).toBeNull();
        expect(n.schedulingEligibility).toBe('ineligible');
      }
      expect(clock.now()).toBeLessThanOrEqual(startedAt + deadlineMs + 1_000);
      // The services are whole again elsewhere.
      for (const [job, group, n] of groups) {
        const live = server.state().allocsByJob('default', job).filter((a) => a.taskGroup === group && !allocTerminalStatus(a));
        expect(live).toHaveLength(n);
        expect(live.some((a) => targets.includes(a.nodeId))).toBe(false);
      }
      expect(duplicatePlacements(server)).toEqual([]);
      await cluster.stop();
    });
  }, 180_000);

  it('no evaluation is lost across broker restarts (leadership lost and regained mid-storm, rebuilt from state)', async () => {
    const seed = 4303;
    await withSeed(seed, async () => {
      const clock = new VirtualClock();
      const cluster = await startCluster(seed, clock, [systemJob('sys-a'), systemJob('sys-b'), serviceJob('web', 30, 2), serviceJob('api', 12, 1)]);
      const server = cluster.server;
      const rng = new SeededRng(seed + 7);
      const nodes = server.state().nodes().map((n) => n.id);
      server.broker.pause();
      const flapped = new Set<string>();
      for (let i = 0; i < 150; i++) {
        const id = nodes[rng.int(nodes.length)]!;
        flapped.add(id);
        await server.updateNodeStatus(id, 'down');
      }
      for (const id of flapped) await server.updateNodeStatus(id, 'ready');
      const created = server.stats().broker.total.pending + server.stats().broker.total.ready;
      expect(created).toBeGreaterThan(500);
      server.broker.resume();
      // Three leadership changes while the storm drains.
      for (let k = 0; k < 3; k++) {
        for (let t = 0; t < 5 + rng.int(20); t++) await new Promise<void>((r) => setImmediate(r));
        server.revokeLeadership();
        expect(server.broker.stats().total).toEqual({ ready: 0, unacked: 0, pending: 0, delayed: 0, failed: 0, cancelable: 0 });
        server.establishLeadership({ resetHeartbeats: true, failover: true });
      }
      await cluster.settle();
      clock.advance(5_000); // the reaper's timer: any partial batch left
      await cluster.settle();
      await clientsReport(server, clock.now());
      await cluster.settle();
      const state = server.state();
      const stuck = state.evals().filter((e) => e.status === 'pending');
      expect(stuck.map((e) => `${e.jobId} ${e.triggeredBy}`)).toEqual([]);
      for (const e of state.evals()) if (e.status === 'blocked') expect(server.blocked.has(e.id)).toBe(true);
      // Every job is whole: nothing that needed scheduling was dropped.
      const ready = state.nodes().filter((n) => n.status === 'ready').length;
      for (const sys of ['sys-a', 'sys-b']) expect(state.allocsByJob('default', sys).filter((a) => !allocTerminalStatus(a))).toHaveLength(ready);
      expect(state.allocsByJob('default', 'web').filter((a) => !allocTerminalStatus(a))).toHaveLength(30);
      expect(state.allocsByJob('default', 'api').filter((a) => !allocTerminalStatus(a))).toHaveLength(12);
      expect(duplicatePlacements(server)).toEqual([]);
      const counters = server.stats().evals;
      expect((counters['system']?.cancelled ?? 0) + (counters['service']?.cancelled ?? 0)).toBeGreaterThan(0);
      await cluster.stop();
    });
  }, 180_000);
});
