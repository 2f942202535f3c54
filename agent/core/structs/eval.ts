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

/** The fields a new evaluation cannot do without; everything else has a zero value. */
export type NewEvaluationFields = Pick<Evaluation, 'id' | 'namespace' | 'priority' | 'type' | 'triggeredBy' | 'jobId'> & Partial<Evaluation>;

/**
 * A new evaluation: `fields` over zero values (status `pending`, empty records,
 * indexes and times 0; a field given as undefined gets its zero value too). The
 * one place an Evaluation literal is written in full: a new field needs a zero here.
 */
export function newEvaluation(fields: NewEvaluationFields): Evaluation {
  return {
    id: fields.id,
    namespace: fields.namespace,
    priority: fields.priority,
    type: fields.type,
    triggeredBy: fields.triggeredBy,
    jobId: fields.jobId,
    jobModifyIndex: fields.jobModifyIndex ?? 0,
    nodeId: fields.nodeId ?? '',
    nodeModifyIndex: fields.nodeModifyIndex ?? 0,
    deploymentId: fields.deploymentId ?? '',
    status: fields.status ?? 'pending',
    statusDescription: fields.statusDescription ?? '',
    waitUntil: fields.waitUntil ?? 0,
    nextEval: fields.nextEval ?? '',
    previousEval: fields.previousEval ?? '',
    blockedEval: fields.blockedEval ?? '',
    failedTgAllocs: fields.failedTgAllocs ?? {},
    classEligibility: fields.classEligibility ?? {},
    escapedComputedClass: fields.escapedComputedClass ?? false,
    quotaLimitReached: fields.quotaLimitReached ?? '',
    annotatePlan: fields.annotatePlan ?? false,
    queuedAllocations: fields.queuedAllocations ?? {},
    snapshotIndex: fields.snapshotIndex ?? 0,
    createIndex: fields.createIndex ?? 0,
    modifyIndex: fields.modifyIndex ?? 0,
    createTime: fields.createTime ?? 0,
    modifyTime: fields.modifyTime ?? 0,
  };
}

export function evalTerminal(e: Pick<Evaluation, 'status'>): boolean {
  return e.status === 'complete' || e.status === 'failed' || e.status === 'canceled';
}
