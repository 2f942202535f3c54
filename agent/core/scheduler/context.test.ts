import { describe, expect, it } from 'vitest';
import { SeededRng } from '../lib/index.js';
import fc from 'fast-check';
import type { Allocation, Plan } from '../structs/index.js';
import { appendAlloc, emptyPlan, planEntries, planRecordLog, planRecordLogMismatch, removeAlloc, trackPlanRecords } from '../structs/index.js';
import { EvalContext } from './context.js';
import { mockAlloc, mockJob, mockNode, MockState } from '../testing/index.js';

describe('EvalContext.proposal', () => {
  const node = mockNode({ id: 'n1' });
  const other = mockJob({ id: 'other' });
  const existing = mockAlloc(other, { nodeId: 'n1' }, { resources: { cpu: 500, memoryMB: 256, memoryMaxMB: 256, diskMB: 0, ports: [] } });
  const state = new MockState({ nodes: [node], allocs: [existing], jobs: [other] });

  it('contexts sharing a node each see only their own plan, however their calls interleave', () => {
    const jobA = mockJob({ id: 'a' });
    const jobB = mockJob({ id: 'b' });
    const a = new EvalContext(state, emptyPlan('eval-a', 'tok', 50, jobA, state.index), new SeededRng(1));
    const b = new EvalContext(state, emptyPlan('eval-b', 'tok', 50, jobB, state.index), new SeededRng(2));
    const res = (cpu: number) => ({ resources: { cpu, memoryMB: 10, memoryMaxMB: 10, diskMB: 0, ports: [] } });

    expect(a.proposal(node).cpu).toBe(500);
    appendAlloc(a.plan.nodeAllocation, mockAlloc(jobA, { nodeId: 'n1', index: 0 }, res(100)));
    expect(a.proposal(node).cpu).toBe(600);

    // b takes the node over: it must not see a's placement.
    expect(b.proposal(node).cpu).toBe(500);
    expect(b.proposal(node).allocs.map((x) => x.id)).toEqual([existing.id]);
    appendAlloc(b.plan.nodeAllocation, mockAlloc(jobB, { nodeId: 'n1', index: 0 }, res(200)));
    appendAlloc(b.plan.nodeAllocation, mockAlloc(jobB, { nodeId: 'n1', index: 1 }, res(200)));
    expect(b.proposal(node).cpu).toBe(900);
    expect(b.proposal(node).groupCount(jobB.namespace, 'b', 'web')).toBe(2);

    // Back to a: its own placement only, counts included.
    const pa = a.proposal(node);
    expect(pa.cpu).toBe(600);
    expect(pa.groupCount(jobA.namespace, 'a', 'web')).toBe(1);
    expect(pa.groupCount(jobB.namespace, 'b', 'web')).toBe(0);
    appendAlloc(a.plan.nodeAllocation, mockAlloc(jobA, { nodeId: 'n1', index: 1 }, res(100)));
    expect(a.proposal(node).cpu).toBe(700);
    expect(a.proposal(node).allocs).toHaveLength(3);

    // And b again.
    expect(b.proposal(node).cpu).toBe(900);
    expect(b.proposal(node).allocs).toHaveLength(3);
  });

  it('a list handed out before another context took the node over does not change', () => {
    const jobA = mockJob({ id: 'a' });
    const a = new EvalContext(state, emptyPlan('eval-a', 'tok', 50, jobA, state.index), new SeededRng(1));
    const b = new EvalContext(state, emptyPlan('eval-b', 'tok', 50, jobA, state.index), new SeededRng(2));
    appendAlloc(a.plan.nodeAllocation, mockAlloc(jobA, { nodeId: 'n1', index: 0 }));
    const listA = a.proposedAllocs('n1');
    expect(listA).toHaveLength(2);
    appendAlloc(b.plan.nodeAllocation, mockAlloc(jobA, { nodeId: 'n1', index: 5 }));
    expect(b.proposedAllocs('n1')).toHaveLength(2);
    expect(listA).toHaveLength(2);
    expect(listA.map((x) => x.name)).not.toContain(b.proposedAllocs('n1')[1]!.name);
  });
});

describe('planEntries', () => {
  it('reads own entries only', () => {
    const rec: Record<string, never[]> = { n1: [] };
    expect(planEntries(rec, 'n1')).toEqual([]);
    expect(planEntries(rec, 'n2')).toBeUndefined();
    expect(planEntries({}, 'constructor')).toBeUndefined();
    expect(planEntries({}, '__proto__')).toBeUndefined();
  });
});

describe('EvalContext.markPlanSlots', () => {
  const nodes = ['a', 'b', 'c', 'l', 'z'].map((id) => mockNode({ id }));
  const job = mockJob({ id: 'j' });
  const state = new MockState({ nodes, allocs: [], jobs: [job] });
  const place = (ctx: EvalContext, nodeId: string): void => appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId }));
  const free = (ctx: EvalContext): string[] => {
    ctx.markPlanSlots();
    const out = nodes.filter((n) => ctx.planFree(ctx.slotOf(n.id))).map((n) => n.id);
    ctx.endSlotFastPath();
    return out;
  };

  it('marks nodes added between selections, in every record, and none outside a selection', () => {
    const ctx = new EvalContext(state, emptyPlan('e', 'tok', 50, job, state.index), new SeededRng(1));
    expect(free(ctx)).toEqual(['a', 'b', 'c', 'l', 'z']);
    place(ctx, 'a');
    expect(free(ctx)).toEqual(['b', 'c', 'l', 'z']);
    appendAlloc(ctx.plan.nodeUpdate, mockAlloc(job, { nodeId: 'c' }));
    (ctx.plan.nodePreemptions as Record<string, unknown>)['z'] = [mockAlloc(job, { nodeId: 'z' })];
    expect(free(ctx)).toEqual(['b', 'l']);
    expect(ctx.planFree(ctx.slotOf('b'))).toBe(false);
  });

  it('marks a node added after others were removed, even when the last key seen is back in its place', () => {
    const ctx = new EvalContext(state, emptyPlan('e', 'tok', 50, job, state.index), new SeededRng(1));
    place(ctx, 'a');
    place(ctx, 'b');
    place(ctx, 'l');
    expect(free(ctx)).toEqual(['c', 'z']);
    // Keys [a, b, l] become [b, c, l]: same count, same last key, but c is new.
    const rec = ctx.plan.nodeAllocation;
    const l = rec.l!;
    delete rec.a;
    delete rec.l;
    place(ctx, 'c');
    rec.l = l;
    expect(free(ctx)).toEqual(['a', 'z']);
  });

  it('starts over for a new plan', () => {
    const ctx = new EvalContext(state, emptyPlan('e', 'tok', 50, job, state.index), new SeededRng(1));
    place(ctx, 'a');
    expect(free(ctx)).toEqual(['b', 'c', 'l', 'z']);
    ctx.setPlan(emptyPlan('e', 'tok', 50, job, state.index));
    expect(free(ctx)).toEqual(['a', 'b', 'c', 'l', 'z']);
  });
});

describe('EvalContext on a tracked plan (append logs)', () => {
  const nodeIds = ['a', 'b', 'c', 'l', 'z'];
  const nodes = nodeIds.map((id) => mockNode({ id }));
  const job = mockJob({ id: 'j' });
  const state = new MockState({ nodes, allocs: [], jobs: [job] });
  type Rec = 'nodeAllocation' | 'nodeUpdate' | 'nodePreemptions';
  const recs: Rec[] = ['nodeAllocation', 'nodeUpdate', 'nodePreemptions'];
  type Op =
    | { kind: 'append'; rec: number; node: number }
    | { kind: 'remove'; rec: number; pick: number }
    | { kind: 'replace'; rec: number }
    | { kind: 'direct'; rec: number; node: number }
    | { kind: 'track' }
    | { kind: 'check' };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('append' as const), rec: fc.nat(2), node: fc.nat(4) }),
    fc.record({ kind: fc.constant('remove' as const), rec: fc.nat(2), pick: fc.nat(20) }),
    fc.record({ kind: fc.constant('replace' as const), rec: fc.nat(2) }),
    fc.record({ kind: fc.constant('direct' as const), rec: fc.nat(2), node: fc.nat(4) }),
    fc.constant({ kind: 'track' as const }),
    fc.constant({ kind: 'check' as const }),
  );

  /** What a from-scratch reader sees: the nodes without entries, and the entries' ids. */
  const truth = (plan: Plan) => {
    const touched = new Set<string>();
    for (const r of recs) for (const id in plan[r]) if (plan[r][id]!.length > 0) touched.add(id);
    const ids = (r: Rec) => Object.values(plan[r]).flat().map((a) => a.id).sort();
    return { free: nodeIds.filter((id) => !touched.has(id)), placed: ids('nodeAllocation'), stopped: ids('nodeUpdate') };
  };
  const seen = (ctx: EvalContext) => {
    ctx.markPlanSlots();
    const free = nodeIds.filter((id) => ctx.planFree(ctx.slotOf(id)));
    ctx.endSlotFastPath();
    ctx.syncPlanJournal();
    return { free, placed: ctx.journalPlaced.map((a) => a.id).sort(), stopped: ctx.journalStopped.map((a) => a.id).sort() };
  };

  it('every selection sees exactly what a from-scratch reader would, however the plan changed', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops: Op[]) => {
        const plan = emptyPlan('e', 'tok', 50, job, state.index);
        trackPlanRecords(plan);
        const ctx = new EvalContext(state, plan, new SeededRng(1));
        let n = 0;
        for (const o of ops) {
          if (o.kind === 'append') appendAlloc(plan[recs[o.rec]!], mockAlloc(job, { nodeId: nodeIds[o.node]! }, { id: `x${n++}` }));
          else if (o.kind === 'remove') {
            const all = Object.values(plan[recs[o.rec]!]).flat();
            const victim = all[o.pick % Math.max(1, all.length)];
            if (victim !== undefined) expect(removeAlloc(plan[recs[o.rec]!], victim.nodeId, victim.id)).toBe(true);
          } else if (o.kind === 'replace') {
            // A new (untracked) record with the same entries: read the slow way until tracked again.
            const copy: Record<string, Allocation[]> = {};
            for (const [k, v] of Object.entries(plan[recs[o.rec]!])) copy[k] = [...v];
            plan[recs[o.rec]!] = copy;
          } else if (o.kind === 'direct') {
            // Direct writes are allowed on an untracked record only.
            if (planRecordLog(plan[recs[o.rec]!]) === undefined) {
              const list = planEntries(plan[recs[o.rec]!], nodeIds[o.node]!);
              const a = mockAlloc(job, { nodeId: nodeIds[o.node]! }, { id: `x${n++}` });
              if (list === undefined) plan[recs[o.rec]!][nodeIds[o.node]!] = [a];
              else list.push(a);
            }
          } else if (o.kind === 'track') trackPlanRecords(plan);
          else expect(seen(ctx)).toEqual(truth(plan));
        }
        expect(seen(ctx)).toEqual(truth(plan));
        expect(planRecordLogMismatch(plan)).toBe('');
      }),
      { numRuns: 300 },
    );
  });

  it('after a removal the marks and the journal start over (a fresh context agrees)', () => {
    const plan = emptyPlan('e', 'tok', 50, job, state.index);
    trackPlanRecords(plan);
    const ctx = new EvalContext(state, plan, new SeededRng(1));
    appendAlloc(plan.nodeAllocation, mockAlloc(job, { nodeId: 'a' }, { id: 'p1' }));
    appendAlloc(plan.nodeUpdate, mockAlloc(job, { nodeId: 'b' }, { id: 's1' }));
    expect(seen(ctx)).toEqual({ free: ['c', 'l', 'z'], placed: ['p1'], stopped: ['s1'] });
    const epoch = ctx.journalEpoch;
    removeAlloc(plan.nodeUpdate, 'b', 's1');
    appendAlloc(plan.nodeAllocation, mockAlloc(job, { nodeId: 'c' }, { id: 'p2' }));
    const fresh = new EvalContext(state, plan, new SeededRng(1));
    expect(seen(ctx)).toEqual({ free: ['b', 'l', 'z'], placed: ['p1', 'p2'], stopped: [] });
    expect(seen(fresh)).toEqual(seen(ctx));
    expect(ctx.journalEpoch).toBeGreaterThan(epoch);
  });
});
