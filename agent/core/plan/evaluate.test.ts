import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fsm } from '../state/index.js';
import type { StateSnapshot } from '../state/index.js';
import { emptyPlan } from '../structs/index.js';
import type { Allocation, Job, Plan } from '../structs/index.js';
import { mockAlloc, mockJob, mockNode } from '../testing/index.js';
import { PlanApplier } from './applier.js';
import { planResultCommand } from './command.js';
import { evaluateNodePlan, evaluatePlan, planNodeIds } from './evaluate.js';

/** A node with 3,900 MHz free (4,000 less 100 reserved), and `live` running allocations of `cpu` MHz each. */
function world(live: number, cpu = 500): { fsm: Fsm; job: Job; allocs: Allocation[] } {
  const fsm = new Fsm();
  fsm.apply(1, { type: 'UpsertNode', node: mockNode({ id: 'n1', createIndex: 0, modifyIndex: 0 }) });
  const job = mockJob({ id: 'web', name: 'web', createIndex: 0, modifyIndex: 0, jobModifyIndex: 0 });
  fsm.apply(2, { type: 'UpsertJob', job });
  const stored = fsm.store.snapshot().jobByID('default', 'web')!;
  const allocs = Array.from({ length: live }, (_, i) => withCpu(mockAlloc(stored, { nodeId: 'n1', index: i }, { id: `live-${i}`, createIndex: 0 }), cpu));
  if (allocs.length > 0) fsm.apply(3, { type: 'ApplyPlanResults', allocsUpdated: allocs, allocsStopped: [], allocsPreempted: [] });
  return { fsm, job: stored, allocs: allocs.map((a) => fsm.store.snapshot().allocByID(a.id)!) };
}

function withCpu(a: Allocation, cpu: number): Allocation {
  return { ...a, resources: { ...a.resources, cpu, memoryMB: 16, memoryMaxMB: 16, diskMB: 10 } };
}

function fresh(job: Job, id: string, cpu = 500): Allocation {
  return withCpu(mockAlloc(job, { nodeId: 'n1' }, { id, createIndex: 0, modifyIndex: 0, allocModifyIndex: 0 }), cpu);
}

function plan(job: Job, parts: { place?: Allocation[]; stop?: Allocation[]; preempt?: Allocation[] }): Plan {
  const p = emptyPlan('e1', 't1', 50, job, 0);
  if (parts.place !== undefined) p.nodeAllocation.n1 = parts.place;
  if (parts.stop !== undefined) p.nodeUpdate.n1 = parts.stop.map((a) => ({ ...a, desiredStatus: 'stop' as const }));
  if (parts.preempt !== undefined) p.nodePreemptions.n1 = parts.preempt.map((a) => ({ ...a, desiredStatus: 'evict' as const }));
  return p;
}

/** What fits, the long way: sum everything the node would run after the plan. */
function referenceFits(state: StateSnapshot, p: Plan): boolean {
  const removed = new Set<string>();
  for (const list of [p.nodeUpdate.n1, p.nodePreemptions.n1, p.nodeAllocation.n1]) for (const a of list ?? []) removed.add(a.id);
  let cpu = 0;
  for (const a of state.allocsByNode('n1')) if (a.desiredStatus === 'run' && !removed.has(a.id)) cpu += a.resources.cpu;
  for (const a of p.nodeAllocation.n1 ?? []) if (a.desiredStatus === 'run') cpu += a.resources.cpu;
  return cpu <= 3_900;
}

describe('evaluateNodePlan', () => {
  it('refuses a placement that would overcommit the node, naming the dimension', () => {
    const { fsm, job } = world(7); // 3,500 MHz used
    expect(evaluateNodePlan(fsm.store.snapshot(), plan(job, { place: [fresh(job, 'x', 300)] }), 'n1')).toEqual({ fit: true, reason: '' });
    expect(evaluateNodePlan(fsm.store.snapshot(), plan(job, { place: [fresh(job, 'x', 500)] }), 'n1')).toEqual({ fit: false, reason: 'resources exhausted: cpu' });
  });

  it('counts an in-place update of a live allocation once, not twice', () => {
    const { fsm, job, allocs } = world(7);
    const updated = { ...allocs[0]!, resources: { ...allocs[0]!.resources, cpu: 800 } };
    // 3,500 - 500 + 800 = 3,800: fits; counting it twice would be 4,300.
    expect(evaluateNodePlan(fsm.store.snapshot(), plan(job, { place: [updated] }), 'n1').fit).toBe(true);
  });

  it('takes an allocation both stopped and preempted out once', () => {
    const { fsm, job, allocs } = world(7);
    const p = plan(job, { stop: [allocs[0]!], preempt: [allocs[0]!], place: [fresh(job, 'x'), fresh(job, 'y')] });
    // 3,500 - 500 + 1,000 = 4,000 > 3,900; taking it out twice would wrongly fit.
    expect(evaluateNodePlan(fsm.store.snapshot(), p, 'n1')).toEqual({ fit: false, reason: 'resources exhausted: cpu' });
  });

  it('refuses placements on a missing or down node, and allows only running allocations on an ineligible one', () => {
    const { fsm, job, allocs } = world(2);
    const missing = plan(job, { place: [fresh(job, 'x')] });
    missing.nodeAllocation = { gone: [fresh(job, 'x')] };
    expect(evaluateNodePlan(fsm.store.snapshot(), missing, 'gone')).toEqual({ fit: false, reason: 'node does not exist' });
    fsm.apply(4, { type: 'UpdateNodeEligibility', nodeId: 'n1', eligibility: 'ineligible' });
    expect(evaluateNodePlan(fsm.store.snapshot(), plan(job, { place: [fresh(job, 'x')] }), 'n1')).toEqual({ fit: false, reason: 'node is not eligible' });
    expect(evaluateNodePlan(fsm.store.snapshot(), plan(job, { place: [allocs[1]!] }), 'n1').fit).toBe(true);
    fsm.apply(5, { type: 'UpdateNodeStatus', nodeId: 'n1', status: 'down', updatedAt: 1 });
    expect(evaluateNodePlan(fsm.store.snapshot(), plan(job, { place: [allocs[1]!] }), 'n1')).toEqual({ fit: false, reason: 'node is not ready for placements (status down)' });
  });

  it('agrees with summing everything the node would run (random plans)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 50, max: 900 }), { maxLength: 10 }),
        fc.array(fc.record({ kind: fc.constantFrom('stop', 'preempt', 'update', 'new'), pick: fc.nat(), cpu: fc.integer({ min: 50, max: 1200 }) }), { maxLength: 12 }),
        (liveCpu, ops) => {
          const { fsm, job } = world(0);
          const live = liveCpu.map((cpu, i) => withCpu(mockAlloc(job, { nodeId: 'n1', index: i }, { id: `live-${i}`, createIndex: 0 }), cpu));
          if (live.length > 0) fsm.apply(3, { type: 'ApplyPlanResults', allocsUpdated: live, allocsStopped: [], allocsPreempted: [] });
          const state = fsm.store.snapshot();
          const parts: { place: Allocation[]; stop: Allocation[]; preempt: Allocation[] } = { place: [], stop: [], preempt: [] };
          ops.forEach((o, i) => {
            const target = live.length > 0 ? state.allocByID(live[o.pick % live.length]!.id)! : undefined;
            if (o.kind === 'new' || target === undefined) parts.place.push(fresh(job, `new-${i}`, o.cpu));
            else if (o.kind === 'update') parts.place.push({ ...target, resources: { ...target.resources, cpu: o.cpu } });
            else parts[o.kind].push(target);
          });
          const p = plan(job, parts);
          const verdict = evaluateNodePlan(state, p, 'n1');
          const want = parts.place.length === 0 || referenceFits(state, p);
          if (verdict.fit !== want) throw new Error(`verdict ${JSON.stringify(verdict)} but the long way says fit=${want}`);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe('evaluatePlan', () => {
  it('hands back a result the caller may edit without changing the plan', () => {
    const { fsm, job } = world(1);
    const p = plan(job, { place: [fresh(job, 'x', 100)] });
    const { result } = evaluatePlan(fsm.store.snapshot(), p);
    expect(result.nodeAllocation.n1).toEqual(p.nodeAllocation.n1);
    delete result.nodeAllocation.n1;
    expect(p.nodeAllocation.n1).toHaveLength(1);
  });
});

describe('planNodeIds', () => {
  it('lists every node of the plan once, sorted, whether it only places or also stops and preempts', () => {
    const job = mockJob({ id: 'web' });
    const a = (nodeId: string): Allocation => mockAlloc(job, { nodeId });
    const placing = emptyPlan('e1', 't1', 50, job, 0);
    for (const n of ['n3', 'n1', 'n2']) placing.nodeAllocation[n] = [a(n)];
    expect(planNodeIds(placing)).toEqual(['n1', 'n2', 'n3']);
    const mixed = emptyPlan('e1', 't1', 50, job, 0);
    mixed.nodeAllocation.n2 = [a('n2')];
    mixed.nodeUpdate.n2 = [a('n2')];
    mixed.nodeUpdate.n0 = [a('n0')];
    mixed.nodePreemptions.n4 = [a('n4')];
    mixed.nodePreemptions.n0 = [a('n0')];
    expect(planNodeIds(mixed)).toEqual(['n0', 'n2', 'n4']);
    expect(planNodeIds(emptyPlan('e1', 't1', 50, job, 0))).toEqual([]);
  });

  it('hands back result records that are copies in the plan\'s key order', () => {
    const { fsm, job } = world(0);
    const p = plan(job, { place: [fresh(job, 'x', 100)] });
    const { result } = evaluatePlan(fsm.store.snapshot(), p);
    expect(result.nodeAllocation).not.toBe(p.nodeAllocation);
    expect(result.nodeUpdate).not.toBe(p.nodeUpdate);
    expect(Object.keys(result.nodeAllocation)).toEqual(Object.keys(p.nodeAllocation));
  });
});

describe('PlanApplier', () => {
  it('commits nothing for a plan refused in full: state, index and events unchanged', async () => {
    const { fsm, job } = world(7);
    const before = fsm.snapshot();
    const index = fsm.store.index;
    const events = fsm.events.lastIndex();
    let commits = 0;
    const applier = new PlanApplier({
      latestState: () => fsm.store.snapshot(),
      commit: (p, r) => {
        commits++;
        fsm.apply(fsm.store.index + 1, planResultCommand(p, r));
        return Promise.resolve(fsm.store.index);
      },
      tokenValid: () => true,
    });
    const result = await applier.submit(plan(job, { place: [fresh(job, 'x'), fresh(job, 'y')] }));
    expect(result.rejectedNodes).toEqual(['n1']);
    expect(result.refreshIndex).toBe(index);
    expect(commits).toBe(0);
    expect(fsm.store.index).toBe(index);
    expect(fsm.events.lastIndex()).toBe(events);
    expect(fsm.snapshot()).toEqual(before);
    expect(evaluatePlan(fsm.store.snapshot(), plan(job, { place: [fresh(job, 'z', 100)] })).result.rejectedNodes).toEqual([]);
  });
});
