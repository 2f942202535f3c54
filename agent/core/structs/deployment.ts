export type DeploymentStatus = 'running' | 'paused' | 'failed' | 'successful' | 'cancelled' | 'pending' | 'blocked' | 'unblocking';

export interface DeploymentGroupState {
  autoRevert: boolean;
  autoPromote: boolean;
  progressDeadline: number;
  promoted: boolean;
  placedCanaries: string[];
  desiredCanaries: number;
  desiredTotal: number;
  placedAllocs: number;
  healthyAllocs: number;
  unhealthyAllocs: number;
  requireProgressBy: number;
}

export interface Deployment {
  id: string;
  namespace: string;
  jobId: string;
  jobVersion: number;
  jobModifyIndex: number;
  jobCreateIndex: number;
  taskGroups: Record<string, DeploymentGroupState>;
  status: DeploymentStatus;
  statusDescription: string;
  createIndex: number;
  modifyIndex: number;
  createTime: number;
  modifyTime: number;
}

export function deploymentActive(d: Pick<Deployment, 'status'>): boolean {
  return d.status === 'running' || d.status === 'paused' || d.status === 'pending' || d.status === 'blocked' || d.status === 'unblocking';
}
