/**
 * End to end through the control plane in one process: jobspec → FSM → broker →
 * workers → schedulers → plan applier → FSM, on simulated nodes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRng, VirtualClock } from '../agent/core/lib/index.js';
import type { Allocation, Node } from '../agent/core/structs/index.js';
import { allocTerminalStatus, allocsFit } from '../agent/core/structs/index.js';
import { parseJobFile, parseJobText } from '../agent/jobspec/index.js';
import { SimCluster } from '../agent/sim/index.js';

let cluster: SimCluster | undefined;
let clock = new VirtualClock();
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function start(nodes: number, seed = 1): Promise<SimCluster> {
  clock = new VirtualClock();
  cluster = await SimCluster.start({ clock, rng: new SeededRng(seed), workers: 3, freezeObjects: true, nodes: { count: nodes } });
  return cluster;
}

function live(allocs: Allocation[]): Allocation[] {
  return allocs.filter((a) => !allocTerminalStatus(a));
}

function assertNoOvercommit(c: SimCluster): void {
  const state = c.server.state();
  for (const node of state.nodes()) {
    const fit = allocsFit(node, state.allocsByNode(node.id));
    expect(fit.fit, `node ${node.name} over-committed: ${fit.dimension}`).toBe(true);
  }
}

describe('control plane end to end', () => {
  it('places a service job at its count on distinct nodes and completes its evaluation', async () => {
    const c = await start(20);
    const job = await parseJobText(`job "web" {\n  group "web" {\n    count = 5\n    constraint {\n      operator = "distinct_hosts"\n      value = "true"\n    }\n    task "t" {\n      driver = "raw_exec"\n      config { command = "sleep" }\n      resources {\n        cpu = 200\n        memory = 128\n      }\n    }\n  }\n}\n`, { filename: 'web.hcl' });
    const evalId = await c.submit(job);
    await c.settle();
    const state = c.server.state();
    const allocs = live(state.allocsByJob('default', 'web'));
    expect(allocs).toHaveLength(5);
    expect(new Set(allocs.map((a) => a.nodeId)).size).toBe(5);
    expect(allocs.map((a) => a.name).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `web.web[${i}]`));
    expect(state.evalByID(evalId)?.status).toBe('complete');
    expect(state.jobByID('default', 'web')?.status).toBe('running');
    // Every placement records why its node won.
    for (const a of allocs) {
      expect(a.metrics.nodesEvaluated).toBeGreaterThan(0);
      expect(a.metrics.scoreMetaData[0]?.scores).toHaveProperty('binpack');
    }
  });

  it('places every example job in jobs/ that a simulated cluster can run', async () => {
    const c = await start(30);
    for (const file of ['hello-web', 'batch-retry', 'system-agent', 'sysbatch-cleanup', 'placement', 'lifecycle', 'docker-web']) {
      await c.submit(await parseJobFile(`jobs/${file}.nomad.hcl`));
    }
    await c.settle();
    const state = c.server.state();
    const systemAllocs = live(state.allocsByJob('default', 'system-agent'));
    expect(systemAllocs).toHaveLength(state.nodes().length);
    expect(live(state.allocsByJob('default', 'hello-web')).length).toBe(state.jobByID('default', 'hello-web')!.taskGroups[0]!.count);
    // distinct_property ${meta.rack} <= 3 per rack, distinct hosts, only dc1/dc2.
    const placed = live(state.allocsByJob('default', 'placement'));
    expect(placed).toHaveLength(6);
    const racks = new Map<string, number>();
    for (const a of placed) {
      const node = state.nodeByID(a.nodeId)!;
      expect(['dc1', 'dc2']).toContain(node.datacenter);
      racks.set(node.meta.rack!, (racks.get(node.meta.rack!) ?? 0) + 1);
    }
    for (const n of racks.values()) expect(n).toBeLessThanOrEqual(3);
    expect(new Set(placed.map((a) => a.nodeId)).size).toBe(6);
    assertNoOvercommit(c);
  });

  it('keeps a failed placement explained on the evaluation and blocks it', async () => {
    const c = await start(10);
    const job = await parseJobText(`job "big" {\n  group "g" {\n    count = 2\n    task "t" {\n      driver = "raw_exec"\n      config { command = "sleep" }\n      resources {\n        cpu = 100\n        memory = 900000\n      }\n    }\n  }\n}\n`, { filename: 'big.hcl' });
    const evalId = await c.submit(job);
    await c.settle();
    const ev = c.server.state().evalByID(evalId)!;
    expect(ev.status).toBe('complete');
    const failed = ev.failedTgAllocs.g!;
    expect(failed.nodesEvaluated).toBe(10);
    expect(failed.dimensionExhausted.memory).toBe(10);
    expect(failed.coalescedFailures).toBe(1);
    expect(ev.blockedEval).not.toBe('');
    expect(c.server.state().evalByID(ev.blockedEval)?.status).toBe('blocked');
    expect(live(c.server.state().allocsByJob('default', 'big'))).toHaveLength(0);
  });

  it('replaces allocations lost with a down node and stops a job', async () => {
    const c = await start(12);
    const job = await parseJobText(`job "svc" {\n  group "g" {\n    count = 6\n    task "t" {\n      driver = "raw_exec"\n      config { command = "sleep" }\n    }\n  }\n}\n`, { filename: 'svc.hcl' });
    await c.submit(job);
    await c.settle();
    const before = live(c.server.state().allocsByJob('default', 'svc'));
    const victim = before[0]!.nodeId;
    await c.server.updateNodeStatus(victim, 'down');
    await c.settle();
    const state = c.server.state();
    const after = live(state.allocsByJob('default', 'svc'));
    expect(after).toHaveLength(6);
    expect(after.some((a) => a.nodeId === victim)).toBe(false);
    const lost = state.allocsByJob('default', 'svc').filter((a) => a.clientStatus === 'lost');
    expect(lost.length).toBe(before.filter((a) => a.nodeId === victim).length);

    await c.server.deregisterJob('default', 'svc', false);
    await c.settle();
    expect(live(c.server.state().allocsByJob('default', 'svc'))).toHaveLength(0);
    expect(c.server.state().jobByID('default', 'svc')?.status).toBe('dead');
  });

  it('gives the same placements for the same seed', async () => {
    const placements = async (seed: number) => {
      const c = await start(25, seed);
      await c.submit(await parseJobFile('jobs/placement.nomad.hcl'));
      await c.submit(await parseJobFile('jobs/hello-web.nomad.hcl'));
      await c.settle();
      const out = c.server.state().allocs().filter((a) => !allocTerminalStatus(a)).map((a) => `${a.name}@${c.server.state().nodeByID(a.nodeId)!.name}`).sort();
      await c.stop();
      cluster = undefined;
      return out;
    };
    const a = await placements(7);
    expect(await placements(7)).toEqual(a);
  });

  it('places a system job on a node that joins later', async () => {
    const c = await start(5);
    await c.submit(await parseJobFile('jobs/system-agent.nomad.hcl'));
    await c.settle();
    expect(live(c.server.state().allocsByJob('default', 'system-agent'))).toHaveLength(5);
    const extra: Node = { ...c.nodes[0]!, id: '00000000-0000-4000-8000-000000000001', name: 'late-node' };
    await c.server.registerNode(extra);
    await c.settle();
    const allocs = live(c.server.state().allocsByJob('default', 'system-agent'));
    expect(allocs).toHaveLength(6);
    expect(allocs.some((a) => a.nodeId === extra.id)).toBe(true);
  });
});

describe('rescheduling through the whole pipeline', () => {
  it('replaces a failed service allocation after its reschedule delay, once, on another node, and links the two', async () => {
    const c = await start(8);
    const job = await parseJobText(`job "r" {\n  group "g" {\n    count = 1\n    reschedule {\n      delay = "30s"\n      delay_function = "constant"\n      unlimited = true\n    }\n    task "t" {\n      driver = "raw_exec"\n      config { command = "sleep" }\n    }\n  }\n}\n`, { filename: 'r.hcl' });
    await c.submit(job);
    await c.settle();
    const [first] = live(c.server.state().allocsByJob('default', 'r'));
    await c.server.apply({
      type: 'UpdateAllocsFromClient',
      allocs: [{ id: first!.id, clientStatus: 'failed', clientDescription: 'task exited 1', taskStates: {}, modifyTime: clock.now() }],
      evals: [{ ...c.server.state().evalsByJob('default', 'r')[0]!, id: '00000000-0000-4000-8000-0000000000aa', status: 'pending', triggeredBy: 'alloc-failure', createIndex: 0, modifyIndex: 0 }],
    });
    await c.settle();
    // Not yet: the policy waits 30s, so a follow-up evaluation waits in the broker.
    expect(live(c.server.state().allocsByJob('default', 'r'))).toHaveLength(0);
    const followup = c.server.state().evals().find((e) => e.waitUntil > 0);
    expect(followup?.waitUntil).toBe(clock.now() + 30_000);
    clock.advance(30_000);
    await c.settle();
    const state = c.server.state();
    const all = state.allocsByJob('default', 'r');
    const running = live(all);
    expect(running).toHaveLength(1);
    expect(running[0]!.previousAllocation).toBe(first!.id);
    expect(running[0]!.nodeId).not.toBe(first!.nodeId);
    expect(running[0]!.rescheduleTracker).toHaveLength(1);
    expect(state.allocByID(first!.id)!.nextAllocation).toBe(running[0]!.id);
    // A second evaluation changes nothing: the failed alloc is already replaced.
    await c.server.apply({ type: 'UpsertEvals', evals: [{ ...state.evalsByJob('default', 'r')[0]!, id: '00000000-0000-4000-8000-0000000000ab', status: 'pending', triggeredBy: 'job-register', createIndex: 0, modifyIndex: 0 }] });
    await c.settle();
    expect(c.server.state().allocsByJob('default', 'r')).toHaveLength(2);
  });
});

describe('bad requests to the server change nothing', () => {
  it('refuses to stop an unknown job, or to change an unknown node, without consuming a log index', async () => {
    const c = await start(3);
    const before = c.server.stats().index;
    const snapshot = c.server.fsm.snapshot();
    await expect(c.server.deregisterJob('default', 'nope', false)).rejects.toThrow(/job "nope" not found/);
    await expect(c.server.updateNodeStatus('00000000-0000-4000-8000-00000000dead', 'down')).rejects.toThrow(/node/);
    expect(c.server.stats().index).toBe(before);
    expect(c.server.fsm.snapshot()).toEqual(snapshot);
    // The next good write takes the next index.
    await c.submit(await parseJobFile('jobs/hello-web.nomad.hcl'));
    expect(c.server.state().jobByID('default', 'hello-web')?.createIndex).toBe(before + 1);
  });
});
