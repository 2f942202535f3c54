import { describe, expect, it } from 'vitest';
import { Fsm } from '../state/index.js';
import { emptyPlan } from '../structs/index.js';
import type { PlanResult } from '../structs/index.js';
import { mockAlloc, mockJob, mockNode } from '../testing/index.js';
import { planResultCommand } from './command.js';

function setup() {
  const job = mockJob({ id: 'web', name: 'web' });
  const plan = emptyPlan('e1', 't1', 50, job, 0);
  const a = mockAlloc(job, { nodeId: 'n1' }, { id: 'a1', createIndex: 0, modifyIndex: 0, allocModifyIndex: 0 });
  const other = mockAlloc(mockJob({ id: 'web', name: 'web', version: 9 }), { nodeId: 'n1' }, { id: 'a2', createIndex: 0 });
  plan.nodeAllocation.n1 = [a, other];
  const result: PlanResult = { nodeUpdate: {}, nodeAllocation: plan.nodeAllocation, nodePreemptions: {}, deployment: null, deploymentUpdates: [], rejectedNodes: [], refreshIndex: 0, allocIndex: 0 };
  return { job, plan, a, other, result };
}

describe('planResultCommand', () => {
  it('ships allocations of the plan\'s job without their copy of it, by default (for an encoded log)', () => {
    const { plan, a, other, result } = setup();
    const cmd = planResultCommand(plan, result);
    if (cmd.type !== 'ApplyPlanResults') throw new Error(cmd.type);
    expect(cmd.allocsUpdated[0]).toEqual({ ...a, job: null });
    expect(cmd.allocsUpdated[1]).toBe(other); // a different job object travels with its allocation
    expect(a.job).not.toBeNull(); // the scheduler's allocation is left alone
  });

  it('passes the allocations as they are when applied in process, and the FSM stores the same rows either way', () => {
    const { job, plan, a, result } = setup();
    const inline = planResultCommand(plan, result, { stripJob: false });
    if (inline.type !== 'ApplyPlanResults') throw new Error(inline.type);
    expect(inline.allocsUpdated[0]).toBe(a);
    const stored = [planResultCommand(plan, result), inline].map((cmd) => {
      const fsm = new Fsm();
      fsm.apply(1, { type: 'UpsertNode', node: mockNode({ id: 'n1' }) });
      fsm.apply(2, cmd);
      return fsm.store.snapshot().allocByID('a1')!;
    });
    expect(stored[0]).toEqual(stored[1]);
    expect(stored[1]!.job).toBe(job);
    expect(stored[1]).not.toBe(a); // the FSM keeps its own stamped copy
    expect(stored[1]!.createIndex).toBe(2);
  });
});
