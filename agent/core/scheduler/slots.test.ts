import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../lib/index.js';
import type { Allocation, Constraint, Job, Node } from '../structs/index.js';
import { appendAlloc, emptyPlan } from '../structs/index.js';
import { EvalContext } from './context.js';
import { readyNodesInDCs } from './feasible.js';
import { fitScore } from './rank.js';
import { buildSlotView, slotView } from './slots.js';
import { GenericStack } from './stack.js';
import { mockAlloc, mockJob, mockNode, mockTask, mockTaskGroup, MockState, withComputedClass } from '../testing/index.js';
import { scoreFitBinPack, scoreFitSpread, slotUsage } from '../structs/index.js';

describe('slot view of a reader without one', () => {
  it('holds every node with its capacity, usage and class id', () => {
    const other = mockJob({ id: 'other' });
    const nodes = [0, 1, 2].map((i) => withComputedClass(mockNode({ id: `n${i}`, nodeClass: i === 2 ? 'big' : 'small' })));
    const allocs = [mockAlloc(other, { nodeId: 'n0' }), mockAlloc(other, { nodeId: 'n0', index: 1 }), mockAlloc(other, { nodeId: 'n1', index: 2 }, { clientStatus: 'failed' })];
    const state = new MockState({ nodes, allocs });
    const v = slotView(state);
    expect(slotView(state)).toBe(v);
    expect(v.size).toBe(3);
    const s0 = v.slotOf('n0');
    expect(s0).toBe(0);
    expect(slotUsage(v, s0).cpu).toBe(allocs[0]!.resources.cpu + allocs[1]!.resources.cpu);
    expect(slotUsage(v, v.slotOf('n1')).cpu).toBe(0);
    expect(v.availCpu[s0]).toBe(nodes[0]!.resources.cpu - nodes[0]!.reserved.cpu);
    expect(v.classId[s0]).toBe(v.classId[v.slotOf('n1')]);
    expect(v.classId[s0]).not.toBe(v.classId[v.slotOf('n2')]);
    expect(v.slotOf('nope')).toBe(-1);
    expect(buildSlotView(new MockState()).size).toBe(0);
  });
});

describe('fitScore', () => {
  it('equals structs.scoreFitBinPack/scoreFitSpread', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 70_000 }), (cpu, mem, ucpu, umem) => {
        const node = mockNode({ resources: { ...mockNode().resources, cpu, memoryMB: mem }, reserved: { ...mockNode().reserved, cpu: 0, memoryMB: 0 } });
        const util = { cpu: ucpu, memoryMB: umem, diskMB: 0 };
        expect(fitScore(cpu, mem, ucpu, umem, false)).toBe(scoreFitBinPack(node, util));
        expect(fitScore(cpu, mem, ucpu, umem, true)).toBe(scoreFitSpread(node, util));
      }),
    );
  });
});

interface Pick {
  node: string | null;
  score: number;
  scores: Record<string, number> | null;
  metrics: unknown;
}

/**
 * Place `count` allocations with one stack, appending each to the plan (and
 * stopping an existing allocation before some of them); with `slots` the stack
 * ranks plan-free nodes from the slot arrays, without them from proposals.
 */
function run(state: MockState, job: Job, count: number, stops: readonly (Allocation | undefined)[], seed: number, slots: boolean): Pick[] {
  const ready = readyNodesInDCs(state, job.datacenters, job.nodePool);
  const ctx = new EvalContext(state, emptyPlan('e', 't', 50, job, state.index), new SeededRng(seed));
  ctx.setNodeCounts(ready.byDC, ready.nodesInPool);
  const stack = new GenericStack(job.type === 'batch', ctx);
  if (slots) stack.setNodes(ready.nodes, ready.slots);
  else stack.setNodes(ready.nodes);
  stack.setJob(job);
  const tg = job.taskGroups[0]!;
  const out: Pick[] = [];
  for (let i = 0; i < count; i++) {
    const stop = stops[i];
    if (stop !== undefined) appendAlloc(ctx.plan.nodeUpdate, { ...stop, desiredStatus: 'stop' });
    const r = stack.select(tg);
    out.push({ node: r?.node.id ?? null, score: r?.finalScore ?? 0, scores: r?.scores ?? null, metrics: { ...ctx.metrics, allocationTime: 0 } });
    if (r !== null) appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: r.node.id, index: 100 + i }, { resources: r.resources }));
  }
  return out;
}

describe('slot fast path', () => {
  it('picks the same nodes with the same scores and metrics as ranking every node from its proposal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 40 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom('none', 'distinct_hosts', 'class'),
        fc.boolean(),
        fc.integer({ min: 1, max: 1_000_000 }),
        (nodeCount, existing, count, constraint, batch, seed) => {
          const rng = new SeededRng(seed);
          const nodes: Node[] = [];
          for (let i = 0; i < nodeCount; i++) {
            const base = mockNode({ id: `n${i}`, datacenter: `dc${i % 2}`, nodeClass: `c${rng.int(3)}` });
            nodes.push(withComputedClass({ ...base, resources: { ...base.resources, cpu: 1000 + rng.int(4) * 1000, memoryMB: 2048 + rng.int(4) * 2048 } }));
          }
          const constraints: Constraint[] =
            constraint === 'distinct_hosts' ? [{ lTarget: '', operand: 'distinct_hosts', rTarget: 'true' }] : constraint === 'class' ? [{ lTarget: '${node.class}', operand: '!=', rTarget: 'c0' }] : [];
          const tg = mockTaskGroup({ count, constraints, tasks: [mockTask({ resources: { cpu: 100 + rng.int(5) * 100, memoryMB: 64 + rng.int(4) * 64, memoryMaxMB: 0, cores: 0 } })], ephemeralDisk: { sizeMB: 10, sticky: false, migrate: false } });
          const job = mockJob({ id: 'web', type: batch ? 'batch' : 'service', datacenters: ['dc0', 'dc1'], taskGroups: [tg] });
          const other = mockJob({ id: 'other' });
          const allocs: Allocation[] = [];
          for (let i = 0; i < existing; i++) {
            const owner = rng.int(2) === 0 ? job : other;
            allocs.push(mockAlloc(owner, { nodeId: `n${rng.int(nodeCount)}`, index: i }, rng.int(5) === 0 ? { clientStatus: 'complete' } : {}));
          }
          const state = new MockState({ nodes, allocs, jobs: [job] });
          const mine = allocs.filter((a) => a.jobId === 'web');
          const stops = Array.from({ length: count }, (_, i) => (i % 3 === 1 ? mine[i % Math.max(1, mine.length)] : undefined));
          const fast = run(state, job, count, stops, seed, true);
          const slow = run(state, job, count, stops, seed, false);
          expect(fast).toEqual(slow);
        },
      ),
      { numRuns: 120 },
    );
  });
});
