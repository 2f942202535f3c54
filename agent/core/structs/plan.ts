import type { Allocation } from './alloc.js';
import type { Deployment } from './deployment.js';
import type { Evaluation } from './eval.js';
import type { Job } from './job.js';
import type { StateReader } from './state-reader.js';

/**
 * What a scheduler wants to change. Only the plan applier turns a plan into
 * state; schedulers never write.
 */
export interface Plan {
  evalId: string;
  /** The eval's broker token: the applier refuses plans from an eval that is no longer outstanding. */
  evalToken: string;
  priority: number;
  allAtOnce: boolean;
  job: Job | null;
  /** Allocations to stop/evict, by node. Each is the existing allocation with its new desired status. */
  nodeUpdate: Record<string, Allocation[]>;
  /** New or updated allocations, by node. */
  nodeAllocation: Record<string, Allocation[]>;
  /** Allocations to preempt, by node. */
  nodePreemptions: Record<string, Allocation[]>;
  deployment: Deployment | null;
  deploymentUpdates: { deploymentId: string; status: Deployment['status']; statusDescription: string }[];
  /** The index of the snapshot the scheduler planned on. */
  snapshotIndex: number;
}

export interface PlanResult {
  nodeUpdate: Record<string, Allocation[]>;
  nodeAllocation: Record<string, Allocation[]>;
  nodePreemptions: Record<string, Allocation[]>;
  deployment: Deployment | null;
  deploymentUpdates: Plan['deploymentUpdates'];
  /** Nodes whose part of the plan did not fit the latest state. */
  rejectedNodes: string[];
  /** When > 0 the plan was partly rejected: the scheduler must refresh to at least this index. */
  refreshIndex: number;
  /** The index at which the accepted part was committed (0 if nothing was). */
  allocIndex: number;
}

/**
 * What a scheduler may do besides deciding. The worker implements it (submitting
 * to the plan applier and writing evals through the FSM); the test harness
 * records calls.
 */
export interface Planner {
  submitPlan(plan: Plan): Promise<{ result: PlanResult; refreshedState: StateReader | null }>;
  updateEval(evaluation: Evaluation): Promise<void>;
  createEval(evaluation: Evaluation): Promise<void>;
  reblockEval(evaluation: Evaluation): Promise<void>;
}


export function emptyPlan(evalId: string, evalToken: string, priority: number, job: Job | null, snapshotIndex: number): Plan {
  return {
    evalId,
    evalToken,
    priority,
    allAtOnce: job?.allAtOnce ?? false,
    job,
    nodeUpdate: {},
    nodeAllocation: {},
    nodePreemptions: {},
    deployment: null,
    deploymentUpdates: [],
    snapshotIndex,
  };
}

export function planIsNoOp(plan: Plan): boolean {
  return (
    Object.keys(plan.nodeUpdate).length === 0 &&
    Object.keys(plan.nodeAllocation).length === 0 &&
    Object.keys(plan.nodePreemptions).length === 0 &&
    plan.deployment === null &&
    plan.deploymentUpdates.length === 0
  );
}

/**
 * A plan record's entries for one node, or undefined. Use this on hot paths
 * instead of `record[nodeId]`: a miss on a plain object looks the key up the
 * prototype chain, which in V8 costs ~1 µs for uuid keys on an empty record
 * (the usual `nodeUpdate`/`nodePreemptions`); an own-property check is ~20x
 * cheaper, and never mistakes `constructor` & co. for an entry.
 */
export function planEntries(record: Readonly<Record<string, Allocation[]>>, nodeId: string): Allocation[] | undefined {
  return Object.hasOwn(record, nodeId) ? record[nodeId] : undefined;
}

export function appendAlloc(target: Record<string, Allocation[]>, alloc: Allocation): void {
  const list = planEntries(target, alloc.nodeId);
  if (list === undefined) target[alloc.nodeId] = [alloc];
  else list.push(alloc);
}
