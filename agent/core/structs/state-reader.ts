import type { Allocation } from './alloc.js';
import type { PeriodicLaunch, SchedulerConfiguration } from './config.js';
import type { Deployment } from './deployment.js';
import type { Evaluation } from './eval.js';
import type { Job } from './job.js';
import type { Node } from './node.js';

export const TableNames = ['jobs', 'job_versions', 'nodes', 'allocs', 'evals', 'deployments', 'periodic_launch', 'scheduler_config'] as const;
export type TableName = (typeof TableNames)[number];

/**
 * A read-only, immutable view of the replicated state at one index. The state
 * store hands these out; schedulers, the plan applier and the API read only
 * through this interface. Arrays returned are fresh (callers may sort them) but
 * the objects inside are shared and must be treated as frozen.
 */
export interface StateReader {
  /** The highest index of any table in this snapshot. */
  readonly index: number;
  tableIndex(table: TableName): number;

  jobByID(namespace: string, id: string): Job | undefined;
  jobVersion(namespace: string, id: string, version: number): Job | undefined;
  jobVersions(namespace: string, id: string): Job[];
  jobs(): Job[];

  nodeByID(id: string): Node | undefined;
  nodes(): Node[];
  nodeCount(): number;

  allocByID(id: string): Allocation | undefined;
  allocsByJob(namespace: string, jobId: string): Allocation[];
  allocsByNode(nodeId: string): Allocation[];
  allocsByEval(evalId: string): Allocation[];
  allocCount(): number;

  evalByID(id: string): Evaluation | undefined;
  evalsByJob(namespace: string, jobId: string): Evaluation[];
  evals(): Evaluation[];

  deploymentByID(id: string): Deployment | undefined;
  deploymentsByJob(namespace: string, jobId: string): Deployment[];
  latestDeploymentByJob(namespace: string, jobId: string): Deployment | undefined;

  periodicLaunch(namespace: string, jobId: string): PeriodicLaunch | undefined;
  schedulerConfig(): SchedulerConfiguration;
}
