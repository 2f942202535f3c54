/** The one FSM write for an accepted plan: the server commits it (through Raft in a cluster). */
import type { AllocInput, FsmCommand } from '../state/index.js';
import type { Allocation, Plan, PlanResult } from '../structs/index.js';

/** The FSM command that commits the accepted part of a plan. Allocations of the plan's job ship without a copy of it. */
export function planResultCommand(plan: Plan, result: PlanResult): FsmCommand {
  const strip = (a: Allocation): AllocInput => {
    if (plan.job !== null && a.job === plan.job) {
      const { job: _job, ...rest } = a;
      return rest;
    }
    return a;
  };
  const flat = (byNode: Record<string, Allocation[]>) => Object.values(byNode).flat().map(strip);
  return {
    type: 'ApplyPlanResults',
    allocsUpdated: flat(result.nodeAllocation),
    allocsStopped: flat(result.nodeUpdate),
    allocsPreempted: flat(result.nodePreemptions),
    job: plan.job,
    deployment: result.deployment,
    deploymentUpdates: result.deploymentUpdates,
    evalId: plan.evalId,
  };
}
