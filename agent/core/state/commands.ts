/**
 * The commands the FSM applies. Raft ships them as JSON, so every command is a
 * plain, JSON-serialisable value (no Maps, no class instances, no undefined
 * inside arrays). One command = one log entry = one atomic write at one index.
 */
import type {
  Allocation,
  AllocClientStatus,
  AllocDeploymentStatus,
  Deployment,
  DeploymentStatus,
  DesiredTransition,
  DrainStrategy,
  Evaluation,
  Job,
  Node,
  NodeStatus,
  PeriodicLaunch,
  SchedulerConfiguration,
  SchedulingEligibility,
  TaskState,
} from '../structs/index.js';

/**
 * An allocation as the plan applier ships it. `job` may be left out (or null) to keep
 * the log entry small: the FSM then attaches the plan's `job`, or the job the stored
 * allocation already carries.
 */
export type AllocInput = Omit<Allocation, 'job'> & { job?: Job | null };

/** What a client reports about one allocation it runs. */
export interface ClientAllocUpdate {
  id: string;
  clientStatus: AllocClientStatus;
  clientDescription: string;
  taskStates: Record<string, TaskState>;
  /** Health reported for a deployment; null/absent leaves the stored value. */
  deploymentStatus?: AllocDeploymentStatus | null;
  modifyTime: number;
}

export interface DeploymentStatusUpdate {
  deploymentId: string;
  status: DeploymentStatus;
  statusDescription: string;
}

export type FsmCommand =
  /** Register or re-register a client node. Eligibility and drain are kept from the stored node. */
  | { type: 'UpsertNode'; node: Node }
  | { type: 'DeregisterNodes'; nodeIds: string[] }
  | { type: 'UpdateNodeStatus'; nodeId: string; status: NodeStatus; updatedAt: number; evals?: Evaluation[] }
  /** Refused (conflict) when asked to make a draining node eligible. */
  | { type: 'UpdateNodeEligibility'; nodeId: string; eligibility: SchedulingEligibility; evals?: Evaluation[] }
  | {
      type: 'UpdateNodeDrain';
      nodeId: string;
      /** null ends the drain. */
      drainStrategy: DrainStrategy | null;
      /** When ending a drain, also make the node eligible again. */
      markEligible: boolean;
      evals?: Evaluation[];
    }
  /** Register a job (a new version only when the spec changed), optionally with its eval. */
  | { type: 'UpsertJob'; job: Job; eval?: Evaluation }
  /** Purge the job, or keep it with stop=true. */
  | { type: 'DeregisterJob'; namespace: string; jobId: string; purge: boolean; submitTime: number; eval?: Evaluation }
  | { type: 'UpsertEvals'; evals: Evaluation[] }
  /** Garbage collection: unknown ids are skipped. */
  | { type: 'DeleteEvalsAllocs'; evalIds: string[]; allocIds: string[] }
  /** The plan applier's one write. */
  | {
      type: 'ApplyPlanResults';
      /** New and updated (in-place or destructive) allocations. */
      allocsUpdated: AllocInput[];
      /** Existing allocations with desiredStatus stop/evict (full copies). */
      allocsStopped: AllocInput[];
      /** Existing allocations preempted (full copies, desiredStatus evict). */
      allocsPreempted: AllocInput[];
      /** The job the allocations run, attached to allocations shipped without one. */
      job?: Job | null;
      deployment?: Deployment | null;
      deploymentUpdates?: DeploymentStatusUpdate[];
      /** The eval that produced the plan: its modifyIndex is bumped to this index. */
      evalId?: string;
      /** Evals to write with the plan (the eval update, preemption follow-ups). */
      evals?: Evaluation[];
    }
  | { type: 'UpdateAllocsFromClient'; allocs: ClientAllocUpdate[]; evals?: Evaluation[] }
  | {
      type: 'UpdateAllocDesiredTransition';
      transitions: { allocId: string; transition: Partial<DesiredTransition> }[];
      evals?: Evaluation[];
    }
  | { type: 'UpsertDeployment'; deployment: Deployment }
  | {
      type: 'UpdateDeploymentStatus';
      update: DeploymentStatusUpdate;
      /** A job to register with the update (auto-revert). */
      job?: Job;
      eval?: Evaluation;
      updatedAt: number;
    }
  | { type: 'UpsertPeriodicLaunch'; launch: PeriodicLaunch }
  /** Replace the scheduler configuration; with `cas`, only if the stored modifyIndex equals it. */
  | { type: 'SetSchedulerConfig'; config: SchedulerConfiguration; cas?: number };

export type FsmCommandType = FsmCommand['type'];

export const FsmCommandTypes: readonly FsmCommandType[] = [
  'UpsertNode',
  'DeregisterNodes',
  'UpdateNodeStatus',
  'UpdateNodeEligibility',
  'UpdateNodeDrain',
  'UpsertJob',
  'DeregisterJob',
  'UpsertEvals',
  'DeleteEvalsAllocs',
  'ApplyPlanResults',
  'UpdateAllocsFromClient',
  'UpdateAllocDesiredTransition',
  'UpsertDeployment',
  'UpdateDeploymentStatus',
  'UpsertPeriodicLaunch',
  'SetSchedulerConfig',
];

export interface FsmResult {
  /** The log index the command was applied at. */
  index: number;
  /** False only when a check-and-set did not match (nothing was written). */
  applied: boolean;
}
