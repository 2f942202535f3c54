import type { AllocMetric } from './alloc.js';
import type { JobType } from './job.js';

export type EvalStatus = 'blocked' | 'pending' | 'complete' | 'failed' | 'canceled';

export type EvalTrigger =
  | 'job-register'
  | 'job-deregister'
  | 'periodic-job'
  | 'node-drain'
  | 'node-update'
  | 'alloc-stop'
  | 'scheduled'
  | 'rolling-update'
  | 'deployment-watcher'
  | 'failed-follow-up'
  | 'max-plan-attempts'
  | 'alloc-failure'
  | 'queued-allocs'
  | 'preemption'
  | 'job-scaling'
  | 'max-disconnect-timeout'
  | 'reconnect';

export interface Evaluation {
  id: string;
  namespace: string;
  priority: number;
  type: JobType;
  triggeredBy: EvalTrigger;
  jobId: string;
  jobModifyIndex: number;
  nodeId: string;
  nodeModifyIndex: number;
  deploymentId: string;
  status: EvalStatus;
  statusDescription: string;
  /** Delay the eval until this time (ms since epoch); 0 = ready now. */
  waitUntil: number;
  nextEval: string;
  previousEval: string;
  blockedEval: string;
  /** Per task group: why placements failed (kept for the CLI and console). */
  failedTgAllocs: Record<string, AllocMetric>;
  /** Node classes whose feasibility was checked: class → eligible? (for blocked evals). */
  classEligibility: Record<string, boolean>;
  /** True when a constraint looked at a unique attribute, so classes can't be trusted. */
  escapedComputedClass: boolean;
  quotaLimitReached: string;
  annotatePlan: boolean;
  /** Allocations still to place per group after this eval. */
  queuedAllocations: Record<string, number>;
  /** The index the scheduler's snapshot had to reach. */
  snapshotIndex: number;
  createIndex: number;
  modifyIndex: number;
  createTime: number;
  modifyTime: number;
}

export function evalTerminal(e: Pick<Evaluation, 'status'>): boolean {
  return e.status === 'complete' || e.status === 'failed' || e.status === 'canceled';
}
