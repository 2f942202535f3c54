/** The one FSM write for an accepted plan: the server commits it (through Raft in a cluster). */
import type { AllocInput, FsmCommand } from '../state/index.js';
import type { Allocation, Plan, PlanResult } from '../structs/index.js';

export interface PlanResultCommandOptions {
  /**
   * Ship allocations of the plan's job without their copy of it (`job: null`, the
   * default): what a replicated log wants, the job is encoded once. A server that
   * applies the command in process, never encoding it, passes false: the
   * allocations go as they are (no per-allocation copy) and the FSM sees that
   * their job is the plan's.
   */
  stripJob?: boolean;
}

/** The FSM command that commits the accepted part of a plan. */
export function planResultCommand(plan: Plan, result: PlanResult, opts: PlanResultCommandOptions = {}): FsmCommand {
  const stripJob = opts.stripJob ?? true;
  const flat = (byNode: Record<string, Allocation[]>): AllocInput[] => {
    const out: AllocInput[] = [];
    // Node order, as the applier evaluated them: the FSM writes in this order, and a
    // persistent map's iteration order follows write order.
    for (const nodeId of Object.keys(byNode).sort()) {
      for (const a of byNode[nodeId]!) {
        // job: null is "the plan's job" to the FSM. A spread with one override is V8's
        // fast clone; object rest (`{ job, ...rest }`) copied key by key, ~3x slower.
        out.push(stripJob && plan.job !== null && a.job === plan.job ? { ...a, job: null } : a);
      }
    }
    return out;
  };
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
