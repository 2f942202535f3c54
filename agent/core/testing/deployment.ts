import type { Deployment, DeploymentGroupState, Job } from '../structs/index.js';
import { mockId, MINUTE } from './ids.js';

export function mockDeploymentGroupState(patch: Partial<DeploymentGroupState> = {}): DeploymentGroupState {
  return {
    autoRevert: false,
    autoPromote: false,
    progressDeadline: 10 * MINUTE,
    promoted: false,
    placedCanaries: [],
    desiredCanaries: 0,
    desiredTotal: 10,
    placedAllocs: 0,
    healthyAllocs: 0,
    unhealthyAllocs: 0,
    requireProgressBy: 0,
    ...patch,
  };
}

/** A running deployment for `job`'s current version, one group state per task group. */
export function mockDeployment(job: Job, patch: Partial<Deployment> = {}): Deployment {
  const taskGroups: Record<string, DeploymentGroupState> = {};
  for (const g of job.taskGroups) taskGroups[g.name] = mockDeploymentGroupState({ desiredTotal: g.count });
  return {
    id: mockId('deployment'),
    namespace: job.namespace,
    jobId: job.id,
    jobVersion: job.version,
    jobModifyIndex: job.jobModifyIndex,
    jobCreateIndex: job.createIndex,
    taskGroups,
    status: 'running',
    statusDescription: 'Deployment is running',
    createIndex: 30,
    modifyIndex: 30,
    createTime: 0,
    modifyTime: 0,
    ...patch,
  };
}
