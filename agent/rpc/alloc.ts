/** Allocation (and AllocMetric, TaskState, the client's status updates) ↔ nomadts.v1. */
import type * as d from '../core/structs/index.js';
import type { ClientAllocUpdate } from '../core/state/index.js';
import * as pb from '../../proto/index.js';
import { copyMap, EnumCodec, invalidField, keyPath, mapValues, required } from './codec.js';
import { jobFromProto, jobToProto } from './job.js';

export const desiredStatusCodec = new EnumCodec<d.AllocDesiredStatus, pb.AllocDesiredStatus>('desired status', {
  run: pb.AllocDesiredStatus.ALLOC_DESIRED_STATUS_RUN,
  stop: pb.AllocDesiredStatus.ALLOC_DESIRED_STATUS_STOP,
  evict: pb.AllocDesiredStatus.ALLOC_DESIRED_STATUS_EVICT,
});

export const clientStatusCodec = new EnumCodec<d.AllocClientStatus, pb.AllocClientStatus>('client status', {
  pending: pb.AllocClientStatus.ALLOC_CLIENT_STATUS_PENDING,
  running: pb.AllocClientStatus.ALLOC_CLIENT_STATUS_RUNNING,
  complete: pb.AllocClientStatus.ALLOC_CLIENT_STATUS_COMPLETE,
  failed: pb.AllocClientStatus.ALLOC_CLIENT_STATUS_FAILED,
  lost: pb.AllocClientStatus.ALLOC_CLIENT_STATUS_LOST,
  unknown: pb.AllocClientStatus.ALLOC_CLIENT_STATUS_UNKNOWN,
});

const taskRunStateCodec = new EnumCodec<d.TaskState['state'], pb.TaskRunState>('task state', {
  pending: pb.TaskRunState.TASK_RUN_STATE_PENDING,
  running: pb.TaskRunState.TASK_RUN_STATE_RUNNING,
  dead: pb.TaskRunState.TASK_RUN_STATE_DEAD,
});

export function allocMetricToProto(m: d.AllocMetric): pb.AllocMetric {
  return {
    nodesEvaluated: m.nodesEvaluated,
    nodesFiltered: m.nodesFiltered,
    nodesInPool: m.nodesInPool,
    nodesAvailable: copyMap(m.nodesAvailable),
    classFiltered: copyMap(m.classFiltered),
    constraintFiltered: copyMap(m.constraintFiltered),
    nodesExhausted: m.nodesExhausted,
    classExhausted: copyMap(m.classExhausted),
    dimensionExhausted: copyMap(m.dimensionExhausted),
    quotaExhausted: [...m.quotaExhausted],
    scoreMetaData: m.scoreMetaData.map((s) => ({ nodeId: s.nodeId, scores: copyMap(s.scores), normScore: s.normScore })),
    allocationTimeMs: m.allocationTime,
    coalescedFailures: m.coalescedFailures,
  };
}

export function allocMetricFromProto(m: pb.AllocMetric): d.AllocMetric {
  return {
    nodesEvaluated: m.nodesEvaluated,
    nodesFiltered: m.nodesFiltered,
    nodesInPool: m.nodesInPool,
    nodesAvailable: copyMap(m.nodesAvailable),
    classFiltered: copyMap(m.classFiltered),
    constraintFiltered: copyMap(m.constraintFiltered),
    nodesExhausted: m.nodesExhausted,
    classExhausted: copyMap(m.classExhausted),
    dimensionExhausted: copyMap(m.dimensionExhausted),
    quotaExhausted: [...m.quotaExhausted],
    scoreMetaData: m.scoreMetaData.map((s) => ({ nodeId: s.nodeId, scores: copyMap(s.scores), normScore: s.normScore })),
    allocationTime: m.allocationTimeMs,
    coalescedFailures: m.coalescedFailures,
  };
}

export function taskStateToProto(t: d.TaskState, path: string): pb.TaskState {
  return {
    state: taskRunStateCodec.encode(t.state, path, 'state'),
    failed: t.failed,
    restarts: t.restarts,
    lastRestartMs: t.lastRestart,
    startedAtMs: t.startedAt,
    finishedAtMs: t.finishedAt,
    events: t.events.map((e) => ({ type: e.type, timeMs: e.time, message: e.message })),
  };
}

export function taskStateFromProto(t: pb.TaskState, path: string): d.TaskState {
  return {
    state: taskRunStateCodec.decode(t.state, path, 'state'),
    failed: t.failed,
    restarts: t.restarts,
    lastRestart: t.lastRestartMs,
    startedAt: t.startedAtMs,
    finishedAt: t.finishedAtMs,
    events: t.events.map((e) => ({ type: e.type, time: e.timeMs, message: e.message })),
  };
}

function deploymentStatusToProto(s: d.AllocDeploymentStatus): pb.AllocDeploymentStatus {
  // The domain's `healthy: null` (not yet known) is the absent optional field.
  return { healthy: s.healthy ?? undefined, canary: s.canary, timestampMs: s.timestamp, modifyIndex: s.modifyIndex };
}

function deploymentStatusFromProto(s: pb.AllocDeploymentStatus): d.AllocDeploymentStatus {
  return { healthy: s.healthy ?? null, canary: s.canary, timestamp: s.timestampMs, modifyIndex: s.modifyIndex };
}

export function allocToProto(a: d.Allocation, path = 'alloc'): pb.Allocation {
  const r = a.resources;
  return {
    id: a.id,
    namespace: a.namespace,
    evalId: a.evalId,
    name: a.name,
    nodeId: a.nodeId,
    nodeName: a.nodeName,
    jobId: a.jobId,
    job: jobToProto(a.job, `${path}.job`),
    taskGroup: a.taskGroup,
    resources: {
      cpu: r.cpu,
      memoryMb: r.memoryMB,
      memoryMaxMb: r.memoryMaxMB,
      diskMb: r.diskMB,
      ports: r.ports.map((p) => ({ label: p.label, value: p.value, to: p.to, hostIp: p.hostIp })),
    },
    taskResources: mapValues(a.taskResources, (t) => ({ cpu: t.cpu, memoryMb: t.memoryMB, memoryMaxMb: t.memoryMaxMB })),
    metrics: allocMetricToProto(a.metrics),
    desiredStatus: desiredStatusCodec.encode(a.desiredStatus, path, 'desiredStatus'),
    desiredDescription: a.desiredDescription,
    desiredTransition: { migrate: a.desiredTransition.migrate, reschedule: a.desiredTransition.reschedule, forceReschedule: a.desiredTransition.forceReschedule },
    clientStatus: clientStatusCodec.encode(a.clientStatus, path, 'clientStatus'),
    clientDescription: a.clientDescription,
    taskStates: mapValues(a.taskStates, (t, k) => taskStateToProto(t, keyPath(path, 'taskStates', k))),
    deploymentId: a.deploymentId,
    deploymentStatus: a.deploymentStatus === null ? undefined : deploymentStatusToProto(a.deploymentStatus),
    previousAllocation: a.previousAllocation,
    nextAllocation: a.nextAllocation,
    rescheduleTracker: a.rescheduleTracker.map((e) => ({ rescheduleTimeMs: e.rescheduleTime, prevAllocId: e.prevAllocId, prevNodeId: e.prevNodeId, delayMs: e.delay })),
    followupEvalId: a.followupEvalId,
    createIndex: a.createIndex,
    modifyIndex: a.modifyIndex,
    allocModifyIndex: a.allocModifyIndex,
    createTimeMs: a.createTime,
    modifyTimeMs: a.modifyTime,
  };
}

export function allocFromProto(a: pb.Allocation, path = 'alloc'): d.Allocation {
  if (a.id === '') throw invalidField(path, 'id', 'required field is missing');
  const r = required(a.resources, path, 'resources');
  const t = required(a.desiredTransition, path, 'desiredTransition');
  return {
    id: a.id,
    namespace: a.namespace,
    evalId: a.evalId,
    name: a.name,
    nodeId: a.nodeId,
    nodeName: a.nodeName,
    jobId: a.jobId,
    job: jobFromProto(required(a.job, path, 'job'), `${path}.job`),
    taskGroup: a.taskGroup,
    resources: {
      cpu: r.cpu,
      memoryMB: r.memoryMb,
      memoryMaxMB: r.memoryMaxMb,
      diskMB: r.diskMb,
      ports: r.ports.map((p) => ({ label: p.label, value: p.value, to: p.to, hostIp: p.hostIp })),
    },
    taskResources: mapValues(a.taskResources, (x) => ({ cpu: x.cpu, memoryMB: x.memoryMb, memoryMaxMB: x.memoryMaxMb })),
    metrics: allocMetricFromProto(required(a.metrics, path, 'metrics')),
    desiredStatus: desiredStatusCodec.decode(a.desiredStatus, path, 'desiredStatus'),
    desiredDescription: a.desiredDescription,
    desiredTransition: { migrate: t.migrate, reschedule: t.reschedule, forceReschedule: t.forceReschedule },
    clientStatus: clientStatusCodec.decode(a.clientStatus, path, 'clientStatus'),
    clientDescription: a.clientDescription,
    taskStates: mapValues(a.taskStates, (s, k) => taskStateFromProto(s, keyPath(path, 'taskStates', k))),
    deploymentId: a.deploymentId,
    deploymentStatus: a.deploymentStatus === undefined ? null : deploymentStatusFromProto(a.deploymentStatus),
    previousAllocation: a.previousAllocation,
    nextAllocation: a.nextAllocation,
    rescheduleTracker: a.rescheduleTracker.map((e) => ({ rescheduleTime: e.rescheduleTimeMs, prevAllocId: e.prevAllocId, prevNodeId: e.prevNodeId, delay: e.delayMs })),
    followupEvalId: a.followupEvalId,
    createIndex: a.createIndex,
    modifyIndex: a.modifyIndex,
    allocModifyIndex: a.allocModifyIndex,
    createTime: a.createTimeMs,
    modifyTime: a.modifyTimeMs,
  };
}

/** A client's report about one allocation (UpdateAllocs). Absent and null deploymentStatus both travel as "absent". */
export function allocClientUpdateToProto(u: ClientAllocUpdate, path = 'update'): pb.AllocClientUpdate {
  return {
    allocId: u.id,
    clientStatus: clientStatusCodec.encode(u.clientStatus, path, 'clientStatus'),
    clientDescription: u.clientDescription,
    taskStates: mapValues(u.taskStates, (t, k) => taskStateToProto(t, keyPath(path, 'taskStates', k))),
    deploymentStatus: u.deploymentStatus === undefined || u.deploymentStatus === null ? undefined : deploymentStatusToProto(u.deploymentStatus),
    modifyTimeMs: u.modifyTime,
  };
}

export function allocClientUpdateFromProto(u: pb.AllocClientUpdate, path = 'update'): ClientAllocUpdate {
  if (u.allocId === '') throw invalidField(path, 'id', 'required field is missing');
  const out: ClientAllocUpdate = {
    id: u.allocId,
    clientStatus: clientStatusCodec.decode(u.clientStatus, path, 'clientStatus'),
    clientDescription: u.clientDescription,
    taskStates: mapValues(u.taskStates, (t, k) => taskStateFromProto(t, keyPath(path, 'taskStates', k))),
    modifyTime: u.modifyTimeMs,
  };
  if (u.deploymentStatus !== undefined) out.deploymentStatus = deploymentStatusFromProto(u.deploymentStatus);
  return out;
}
