import { describe, expect, it } from 'vitest';
import { SeededRng } from '../lib/index.js';
import type { Allocation, Job, Node, TaskGroup } from '../structs/index.js';
import { appendAlloc, emptyPlan } from '../structs/index.js';
import { EvalContext, MaxRetainedNodeScores } from './context.js';
import { readyNodesInDCs } from './feasible.js';
import { affinitySpreadLimit, candidateLimit, GenericStack, SystemStack } from './stack.js';
import { mockAlloc, mockJob, mockNode, mockTask, mockTaskGroup, MockState, withComputedClass } from '../testing/index.js';

function ctxOf(nodes: Node[], job: Job, allocs: Allocation[] = [], seed = 1): EvalContext {
  const state = new MockState({ nodes, allocs, jobs: [job] });
  return new EvalContext(state, emptyPlan('eval-1', 'tok', 50, job, state.index), new SeededRng(seed));
}

const small = (patch: Partial<TaskGroup> = {}) =>
  mockTaskGroup({ tasks: [mockTask({ resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 } })], ephemeralDisk: { sizeMB: 10, sticky: false, migrate: false }, ...patch });

/** Nodes that each already run something of another job (so every binpack score is > 0 and nothing is skipped). */
function loadedCluster(n: number): { nodes: Node[]; allocs: Allocation[] } {
  const nodes: Node[] = [];
  const allocs: Allocation[] = [];
  const other = mockJob({ id: 'other' });
  for (let i = 0; i < n; i++) {
    nodes.push(withComputedClass(mockNode({ id: `n${String(i).padStart(3, '0')}`, datacenter: `dc${(i % 3) + 1}`, nodeClass: i % 2 === 0 ? 'even' : 'odd' })));
    allocs.push(mockAlloc(other, { nodeId: nodes[i]!.id }));
  }
  return { nodes, allocs };
}

describe('candidate limit', () => {
  it('service: max(2, ceil(log2 n)); batch: 2; affinity/spread: max(count, 100)', () => {
    expect(candidateLimit(false, 5000)).toBe(13);
    expect(candidateLimit(false, 64)).toBe(6);
    expect(candidateLimit(false, 3)).toBe(2);
    expect(candidateLimit(false, 1)).toBe(2);
    expect(candidateLimit(false, 0)).toBe(2);
    expect(candidateLimit(true, 5000)).toBe(2);
    expect(affinitySpreadLimit(10)).toBe(100);
    expect(affinitySpreadLimit(250)).toBe(250);
  });

  it('the stack ranks exactly `limit` nodes when all are feasible', () => {
    const { nodes, allocs } = loadedCluster(64);
    for (const [type, expected] of [['service', 6], ['batch', 2]] as const) {
      const job = mockJob({ type, taskGroups: [small()] });
      const ctx = ctxOf(nodes, job, allocs);
      const stack = new GenericStack(type === 'batch', ctx);
      stack.setNodes(nodes);
      stack.setJob(job);
      expect(stack.select(job.taskGroups[0]!)).not.toBeNull();
      expect(stack.currentLimit()).toBe(expected);
      expect(ctx.metrics.nodesEvaluated).toBe(expected);
    }
  });

  it('affinities or spreads raise the limit for that group only', () => {
    const { nodes, allocs } = loadedCluster(64);
    const plain = small({ name: 'plain' });
    const aff = small({ name: 'aff', affinities: [{ lTarget: '${node.datacenter}', operand: '=', rTarget: 'dc1', weight: 50 }] });
    const job = mockJob({ taskGroups: [plain, aff] });
    const ctx = ctxOf(nodes, job, allocs);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(nodes);
    stack.setJob(job);
    stack.select(aff);
    expect(stack.currentLimit()).toBe(100);
    expect(ctx.metrics.nodesEvaluated).toBe(64);
    stack.select(plain);
    expect(stack.currentLimit()).toBe(6);
    expect(ctx.metrics.nodesEvaluated).toBe(6);
  });
});

describe('GenericStack', () => {
  it('records the top nodes with their score parts, best first', () => {
    const { nodes, allocs } = loadedCluster(64);
    const job = mockJob({ taskGroups: [small()] });
    const ctx = ctxOf(nodes, job, allocs);
    ctx.setNodeCounts({ dc1: 22, dc2: 21, dc3: 21 }, 64);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(nodes);
    stack.setJob(job);
    const r = stack.select(job.taskGroups[0]!)!;
    const meta = ctx.metrics.scoreMetaData;
    expect(meta).toHaveLength(MaxRetainedNodeScores);
    expect(meta[0]!.nodeId).toBe(r.node.id);
    expect(meta[0]!.normScore).toBe(r.finalScore);
    for (let i = 0; i + 1 < meta.length; i++) expect(meta[i]!.normScore).toBeGreaterThanOrEqual(meta[i + 1]!.normScore);
    expect(Object.keys(meta[0]!.scores).sort()).toEqual(['binpack', 'job-anti-affinity', 'node-affinity', 'node-reschedule-penalty']);
    expect(r.scores).toEqual(meta[0]!.scores);
    expect(ctx.metrics.nodesAvailable).toEqual({ dc1: 22, dc2: 21, dc3: 21 });
    expect(ctx.metrics.nodesInPool).toBe(64);
    expect(ctx.metrics.allocationTime).toBe(0);
  });

  it('resets the metrics before each selection', () => {
    const job = mockJob({ taskGroups: [small()] });
    const nodes = [withComputedClass(mockNode({ id: 'ok' })), withComputedClass(mockNode({ id: 'bad', attributes: { 'kernel.name': 'windows', 'driver.exec': '1' } }))];
    const ctx = ctxOf(nodes, job);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(nodes);
    stack.setJob(job);
    stack.select(job.taskGroups[0]!);
    const first = ctx.metrics;
    stack.select(job.taskGroups[0]!);
    expect(ctx.metrics).not.toBe(first);
    expect(ctx.metrics.nodesEvaluated).toBe(2);
    expect(ctx.metrics.nodesFiltered).toBe(1);
  });

  it('is deterministic for a seed', () => {
    const { nodes, allocs } = loadedCluster(50);
    const run = (seed: number) => {
      const tg = small({ count: 30 });
      const job = mockJob({ taskGroups: [tg] });
      const ctx = ctxOf(nodes, job, allocs, seed);
      const stack = new GenericStack(false, ctx);
      stack.setNodes(nodes);
      stack.setJob(job);
      const out: string[] = [];
      for (let i = 0; i < 30; i++) {
        const r = stack.select(tg)!;
        out.push(r.node.id);
        appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: r.node.id, index: i }, { resources: r.resources }));
      }
      return out;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('tries the preferred node first and falls back to the others', () => {
    const job = mockJob({ taskGroups: [small()] });
    const nodes = [mockNode({ id: 'a' }), mockNode({ id: 'b' }), mockNode({ id: 'full', resources: { ...mockNode().resources, cpu: 150 } })];
    const ctx = ctxOf(nodes, job);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(nodes);
    stack.setJob(job);
    expect(stack.select(job.taskGroups[0]!, { preferredNode: nodes[1]! })!.node.id).toBe('b');
    const r = stack.select(job.taskGroups[0]!, { preferredNode: nodes[2]! })!;
    expect(['a', 'b']).toContain(r.node.id);
  });

  it('returns null with the reasons when no node is feasible', () => {
    const job = mockJob({ constraints: [{ lTarget: '${attr.kernel.name}', operand: '=', rTarget: 'plan9' }], taskGroups: [small()] });
    const nodes = Array.from({ length: 5 }, (_, i) => withComputedClass(mockNode({ id: `n${i}`, nodeClass: 'std' })));
    const ctx = ctxOf(nodes, job);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(nodes);
    stack.setJob(job);
    expect(stack.select(job.taskGroups[0]!)).toBeNull();
    expect(ctx.metrics).toMatchObject({ nodesEvaluated: 5, nodesFiltered: 5, classFiltered: { std: 5 }, constraintFiltered: { '${attr.kernel.name} = plan9': 5 } });
    expect(ctx.eligibility.classes()).toEqual({ [nodes[0]!.computedClass]: false });
  });

  it('refuses to select before setJob', () => {
    const job = mockJob();
    const stack = new GenericStack(false, ctxOf([], job));
    expect(() => stack.select(job.taskGroups[0]!)).toThrow(/setJob/);
  });

  it('a large cluster places many allocations with the right node counts', () => {
    const nodes: Node[] = [];
    for (let i = 0; i < 300; i++) nodes.push(withComputedClass(mockNode({ id: `n${i}`, datacenter: `dc${i % 3}`, nodeClass: `c${i % 5}` })));
    const tg = small({ count: 600 });
    const job = mockJob({ datacenters: ['dc0', 'dc1'], taskGroups: [tg] });
    const state = new MockState({ nodes, jobs: [job] });
    const ready = readyNodesInDCs(state, job.datacenters, job.nodePool);
    const ctx = new EvalContext(state, emptyPlan('e', 't', 50, job, 1), new SeededRng(3));
    ctx.setNodeCounts(ready.byDC, ready.nodesInPool);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(ready.nodes);
    stack.setJob(job);
    const perNode = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const r = stack.select(tg)!;
      expect(r.node.datacenter).not.toBe('dc2');
      perNode.set(r.node.id, (perNode.get(r.node.id) ?? 0) + 1);
      appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: r.node.id, index: i }, { resources: r.resources }));
    }
    expect(ctx.metrics.nodesAvailable).toEqual({ dc0: 100, dc1: 100 });
    for (const [id, n] of perNode) expect(ctx.proposedAllocs(id)).toHaveLength(n);
  });
});

describe('EvalContext.proposedAllocs', () => {
  it('existing minus stops plus placements; an in-place update replaces; follows plan appends', () => {
    const job = mockJob();
    const a1 = mockAlloc(job, { nodeId: 'n' });
    const a2 = mockAlloc(job, { nodeId: 'n', index: 1 });
    const done = mockAlloc(job, { nodeId: 'n', index: 2, clientStatus: 'complete' });
    const ctx = ctxOf([mockNode({ id: 'n' })], job, [a1, a2, done]);
    expect(ctx.proposedAllocs('n').map((a) => a.id)).toEqual([a1.id, a2.id]);
    appendAlloc(ctx.plan.nodeUpdate, { ...a1, desiredStatus: 'stop' });
    expect(ctx.proposedAllocs('n').map((a) => a.id)).toEqual([a2.id]);
    const updated = { ...a2, modifyIndex: 99 };
    appendAlloc(ctx.plan.nodeAllocation, updated);
    expect(ctx.proposedAllocs('n')).toEqual([updated]);
    const fresh = mockAlloc(job, { nodeId: 'n', index: 3 });
    appendAlloc(ctx.plan.nodeAllocation, fresh);
    expect(ctx.proposedAllocs('n').map((a) => a.id).sort()).toEqual([a2.id, fresh.id].sort());
    const p = ctx.proposal(mockNode({ id: 'n' }));
    expect(p.cpu).toBe(a2.resources.cpu + fresh.resources.cpu);
    ctx.setPlan(emptyPlan('eval-2', 'tok', 50, job, 1));
    expect(ctx.proposedAllocs('n').map((a) => a.id)).toEqual([a1.id, a2.id]);
  });
});

describe('SystemStack', () => {
  it('checks exactly the node it is given', () => {
    const job = mockJob({ type: 'system', taskGroups: [small()] });
    const ok = withComputedClass(mockNode({ id: 'ok' }));
    const win = withComputedClass(mockNode({ id: 'win', attributes: { 'kernel.name': 'windows', 'driver.exec': '1' } }));
    const full = withComputedClass(mockNode({ id: 'full', resources: { ...mockNode().resources, memoryMB: 300 } }));
    const ctx = ctxOf([ok, win, full], job);
    const stack = new SystemStack(false, ctx);
    stack.setJob(job);
    const tg = job.taskGroups[0]!;
    const r = stack.selectOn(ok, tg)!;
    expect(r.node.id).toBe('ok');
    expect(Object.keys(r.scores)).toEqual(['binpack']);
    expect(ctx.metrics.nodesEvaluated).toBe(1);
    expect(stack.selectOn(win, tg)).toBeNull();
    expect(ctx.metrics.constraintFiltered).toEqual({ '${attr.kernel.name} = linux': 1 });
    expect(stack.selectOn(full, tg)).toBeNull();
    expect(ctx.metrics.dimensionExhausted).toEqual({ memory: 1 });
  });

  it('honours distinct_property against the plan', () => {
    const tg = small({ constraints: [{ lTarget: '${meta.rack}', operand: 'distinct_property', rTarget: '1' }] });
    const job = mockJob({ type: 'system', taskGroups: [tg] });
    const a = mockNode({ id: 'a', meta: { rack: 'r1' } });
    const b = mockNode({ id: 'b', meta: { rack: 'r1' } });
    const ctx = ctxOf([a, b], job);
    const stack = new SystemStack(false, ctx);
    stack.setJob(job);
    const r = stack.selectOn(a, tg)!;
    appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: r.node.id }, { resources: r.resources }));
    expect(stack.selectOn(b, tg)).toBeNull();
  });
});

describe('ranked nodes of a group without ports', () => {
  it('share one frozen resources record, and their score parts are the metrics\' own', () => {
    const { nodes, allocs } = loadedCluster(20);
    const job = mockJob({ taskGroups: [small()] });
    const ctx = ctxOf(nodes, job, allocs);
    const stack = new GenericStack(false, ctx);
    stack.setNodes(nodes);
    stack.setJob(job);
    const a = stack.select(job.taskGroups[0]!)!;
    const aMetrics = ctx.metrics;
    const b = stack.select(job.taskGroups[0]!)!;
    expect(a.resources).toBe(b.resources);
    expect(a.taskResources).toBe(b.taskResources);
    expect(Object.isFrozen(a.resources) && Object.isFrozen(a.resources.ports) && Object.isFrozen(a.taskResources.web ?? a.taskResources[Object.keys(a.taskResources)[0]!])).toBe(true);
    expect(a.resources).toEqual({ cpu: 100, memoryMB: 64, memoryMaxMB: 64, diskMB: 10, ports: [] });
    // The winner is the metrics' best entry, with the same record of parts.
    expect(aMetrics.scoreMetaData[0]!.nodeId).toBe(a.node.id);
    expect(a.scores).toBe(aMetrics.scoreMetaData[0]!.scores);
    expect(a.scores.binpack).toBeGreaterThan(0);
    expect(aMetrics.scoreMetaData.length).toBeLessThanOrEqual(MaxRetainedNodeScores);
  });
});

describe('GenericStack.release', () => {
  const { nodes, allocs } = loadedCluster(40);
  const job = mockJob({ taskGroups: [small()] });
  const state = new MockState({ nodes, allocs, jobs: [job] });
  const ready = readyNodesInDCs(state, job.datacenters, job.nodePool);

  /** Node ids of `n` selections (each appended to the plan) by a fresh stack seeded with `seed`. */
  const picks = (seed: number, n: number, release: boolean): string[] => {
    const ctx = new EvalContext(state, emptyPlan('e', 'tok', 50, job, state.index), new SeededRng(seed));
    const stack = new GenericStack(false, ctx);
    stack.setNodes(ready.nodes, ready.slots);
    stack.setJob(job);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = stack.select(job.taskGroups[0]!);
      if (r === null) break;
      out.push(r.node.id);
      appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: r.node.id, index: i }, { resources: r.resources }));
    }
    if (release) stack.release();
    return out;
  };

  it('a stack on a reused copy picks exactly what a stack on a fresh copy picks', () => {
    const fresh = [picks(7, 12, false), picks(8, 12, false)];
    // Released copies go back to the pool; later stacks shuffle them in place.
    for (let round = 0; round < 3; round++) {
      expect(picks(7, 12, true)).toEqual(fresh[0]);
      expect(picks(8, 12, true)).toEqual(fresh[1]);
    }
    expect(fresh[0]).not.toEqual(fresh[1]);
  });

  it('leaves the stack without nodes, and the shared candidate list untouched', () => {
    const before = ready.nodes.map((n) => n.id);
    const beforeSlots = [...ready.slots];
    const ctx = new EvalContext(state, emptyPlan('e', 'tok', 50, job, state.index), new SeededRng(3));
    const stack = new GenericStack(false, ctx);
    stack.setNodes(ready.nodes, ready.slots);
    stack.setJob(job);
    expect(stack.select(job.taskGroups[0]!)).not.toBeNull();
    stack.release();
    stack.release();
    expect(stack.select(job.taskGroups[0]!)).toBeNull();
    expect(ready.nodes.map((n) => n.id)).toEqual(before);
    expect([...ready.slots]).toEqual(beforeSlots);
  });
});
