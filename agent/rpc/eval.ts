/** Evaluation ↔ nomadts.v1.Evaluation. */
import type * as d from '../core/structs/index.js';
import * as pb from '../../proto/index.js';
import { allocMetricFromProto, allocMetricToProto } from './alloc.js';
import { copyMap, EnumCodec, invalidField, mapValues } from './codec.js';
import { jobTypeCodec } from './job.js';

export const evalStatusCodec = new EnumCodec<d.EvalStatus, pb.EvalStatus>('evaluation status', {
  blocked: pb.EvalStatus.EVAL_STATUS_BLOCKED,
  pending: pb.EvalStatus.EVAL_STATUS_PENDING,
  complete: pb.EvalStatus.EVAL_STATUS_COMPLETE,
  failed: pb.EvalStatus.EVAL_STATUS_FAILED,
  canceled: pb.EvalStatus.EVAL_STATUS_CANCELED,
});

const T = pb.EvalTrigger;
const triggerCodec = new EnumCodec<d.EvalTrigger, pb.EvalTrigger>('evaluation trigger', {
  'job-register': T.EVAL_TRIGGER_JOB_REGISTER,
  'job-deregister': T.EVAL_TRIGGER_JOB_DEREGISTER,
  'periodic-job': T.EVAL_TRIGGER_PERIODIC_JOB,
  'node-drain': T.EVAL_TRIGGER_NODE_DRAIN,
  'node-update': T.EVAL_TRIGGER_NODE_UPDATE,
  'alloc-stop': T.EVAL_TRIGGER_ALLOC_STOP,
  scheduled: T.EVAL_TRIGGER_SCHEDULED,
  'rolling-update': T.EVAL_TRIGGER_ROLLING_UPDATE,
  'deployment-watcher': T.EVAL_TRIGGER_DEPLOYMENT_WATCHER,
  'failed-follow-up': T.EVAL_TRIGGER_FAILED_FOLLOW_UP,
  'max-plan-attempts': T.EVAL_TRIGGER_MAX_PLAN_ATTEMPTS,
  'alloc-failure': T.EVAL_TRIGGER_ALLOC_FAILURE,
  'queued-allocs': T.EVAL_TRIGGER_QUEUED_ALLOCS,
  preemption: T.EVAL_TRIGGER_PREEMPTION,
  'job-scaling': T.EVAL_TRIGGER_JOB_SCALING,
  'max-disconnect-timeout': T.EVAL_TRIGGER_MAX_DISCONNECT_TIMEOUT,
  reconnect: T.EVAL_TRIGGER_RECONNECT,
});

export function evalToProto(e: d.Evaluation, path = 'eval'): pb.Evaluation {
  return {
    id: e.id,
    namespace: e.namespace,
    priority: e.priority,
    type: jobTypeCodec.encode(e.type, path, 'type'),
    triggeredBy: triggerCodec.encode(e.triggeredBy, path, 'triggeredBy'),
    jobId: e.jobId,
    jobModifyIndex: e.jobModifyIndex,
    nodeId: e.nodeId,
    nodeModifyIndex: e.nodeModifyIndex,
    deploymentId: e.deploymentId,
    status: evalStatusCodec.encode(e.status, path, 'status'),
    statusDescription: e.statusDescription,
    waitUntilMs: e.waitUntil,
    nextEval: e.nextEval,
    previousEval: e.previousEval,
    blockedEval: e.blockedEval,
    failedTgAllocs: mapValues(e.failedTgAllocs, allocMetricToProto),
    classEligibility: copyMap(e.classEligibility),
    escapedComputedClass: e.escapedComputedClass,
    quotaLimitReached: e.quotaLimitReached,
    annotatePlan: e.annotatePlan,
    queuedAllocations: copyMap(e.queuedAllocations),
    snapshotIndex: e.snapshotIndex,
    createIndex: e.createIndex,
    modifyIndex: e.modifyIndex,
    createTimeMs: e.createTime,
    modifyTimeMs: e.modifyTime,
  };
}

export function evalFromProto(e: pb.Evaluation, path = 'eval'): d.Evaluation {
  if (e.id === '') throw invalidField(path, 'id', 'required field is missing');
  return {
    id: e.id,
    namespace: e.namespace,
    priority: e.priority,
    type: jobTypeCodec.decode(e.type, path, 'type'),
    triggeredBy: triggerCodec.decode(e.triggeredBy, path, 'triggeredBy'),
    jobId: e.jobId,
    jobModifyIndex: e.jobModifyIndex,
    nodeId: e.nodeId,
    nodeModifyIndex: e.nodeModifyIndex,
    deploymentId: e.deploymentId,
    status: evalStatusCodec.decode(e.status, path, 'status'),
    statusDescription: e.statusDescription,
    waitUntil: e.waitUntilMs,
    nextEval: e.nextEval,
    previousEval: e.previousEval,
    blockedEval: e.blockedEval,
    failedTgAllocs: mapValues(e.failedTgAllocs, allocMetricFromProto),
    classEligibility: copyMap(e.classEligibility),
    escapedComputedClass: e.escapedComputedClass,
    quotaLimitReached: e.quotaLimitReached,
    annotatePlan: e.annotatePlan,
    queuedAllocations: copyMap(e.queuedAllocations),
    snapshotIndex: e.snapshotIndex,
    createIndex: e.createIndex,
    modifyIndex: e.modifyIndex,
    createTime: e.createTimeMs,
    modifyTime: e.modifyTimeMs,
  };
}
