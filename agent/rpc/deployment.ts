/** Deployment ↔ nomadts.v1.Deployment. */
import type * as d from '../core/structs/index.js';
import * as pb from '../../proto/index.js';
import { EnumCodec, invalidField, mapValues } from './codec.js';

export const deploymentStatusCodec = new EnumCodec<d.DeploymentStatus, pb.DeploymentStatus>('deployment status', {
  running: pb.DeploymentStatus.DEPLOYMENT_STATUS_RUNNING,
  paused: pb.DeploymentStatus.DEPLOYMENT_STATUS_PAUSED,
  failed: pb.DeploymentStatus.DEPLOYMENT_STATUS_FAILED,
  successful: pb.DeploymentStatus.DEPLOYMENT_STATUS_SUCCESSFUL,
  cancelled: pb.DeploymentStatus.DEPLOYMENT_STATUS_CANCELLED,
  pending: pb.DeploymentStatus.DEPLOYMENT_STATUS_PENDING,
  blocked: pb.DeploymentStatus.DEPLOYMENT_STATUS_BLOCKED,
  unblocking: pb.DeploymentStatus.DEPLOYMENT_STATUS_UNBLOCKING,
});

function groupStateToProto(g: d.DeploymentGroupState): pb.DeploymentGroupState {
  return {
    autoRevert: g.autoRevert,
    autoPromote: g.autoPromote,
    progressDeadlineMs: g.progressDeadline,
    promoted: g.promoted,
    placedCanaries: [...g.placedCanaries],
    desiredCanaries: g.desiredCanaries,
    desiredTotal: g.desiredTotal,
    placedAllocs: g.placedAllocs,
    healthyAllocs: g.healthyAllocs,
    unhealthyAllocs: g.unhealthyAllocs,
    requireProgressByMs: g.requireProgressBy,
  };
}

function groupStateFromProto(g: pb.DeploymentGroupState): d.DeploymentGroupState {
  return {
    autoRevert: g.autoRevert,
    autoPromote: g.autoPromote,
    progressDeadline: g.progressDeadlineMs,
    promoted: g.promoted,
    placedCanaries: [...g.placedCanaries],
    desiredCanaries: g.desiredCanaries,
    desiredTotal: g.desiredTotal,
    placedAllocs: g.placedAllocs,
    healthyAllocs: g.healthyAllocs,
    unhealthyAllocs: g.unhealthyAllocs,
    requireProgressBy: g.requireProgressByMs,
  };
}

export function deploymentToProto(x: d.Deployment, path = 'deployment'): pb.Deployment {
  return {
    id: x.id,
    namespace: x.namespace,
    jobId: x.jobId,
    jobVersion: x.jobVersion,
    jobModifyIndex: x.jobModifyIndex,
    jobCreateIndex: x.jobCreateIndex,
    taskGroups: mapValues(x.taskGroups, groupStateToProto),
    status: deploymentStatusCodec.encode(x.status, path, 'status'),
    statusDescription: x.statusDescription,
    createIndex: x.createIndex,
    modifyIndex: x.modifyIndex,
    createTimeMs: x.createTime,
    modifyTimeMs: x.modifyTime,
  };
}

export function deploymentFromProto(x: pb.Deployment, path = 'deployment'): d.Deployment {
  if (x.id === '') throw invalidField(path, 'id', 'required field is missing');
  return {
    id: x.id,
    namespace: x.namespace,
    jobId: x.jobId,
    jobVersion: x.jobVersion,
    jobModifyIndex: x.jobModifyIndex,
    jobCreateIndex: x.jobCreateIndex,
    taskGroups: mapValues(x.taskGroups, groupStateFromProto),
    status: deploymentStatusCodec.decode(x.status, path, 'status'),
    statusDescription: x.statusDescription,
    createIndex: x.createIndex,
    modifyIndex: x.modifyIndex,
    createTime: x.createTimeMs,
    modifyTime: x.modifyTimeMs,
  };
}

type DeploymentStatusUpdate = d.Plan['deploymentUpdates'][number];

export function deploymentStatusUpdateToProto(u: DeploymentStatusUpdate, path = 'deploymentUpdate'): pb.DeploymentStatusUpdate {
  return { deploymentId: u.deploymentId, status: deploymentStatusCodec.encode(u.status, path, 'status'), statusDescription: u.statusDescription };
}

export function deploymentStatusUpdateFromProto(u: pb.DeploymentStatusUpdate, path = 'deploymentUpdate'): DeploymentStatusUpdate {
  return { deploymentId: u.deploymentId, status: deploymentStatusCodec.decode(u.status, path, 'status'), statusDescription: u.statusDescription };
}
