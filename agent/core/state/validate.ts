/**
 * Shape checks for what the FSM is asked to store. A log entry is data from the
 * wire: check the fields the store relies on (ids, keys, enums) and name the field
 * that is wrong. Deep validation of specs is the job endpoint's work, not the FSM's.
 */
import { NomadError } from '../lib/index.js';
import { JobTypes } from '../structs/index.js';
import type { Allocation, Deployment, Evaluation, Job, Node, SchedulerConfiguration } from '../structs/index.js';

export function invalid(field: string, message: string): never {
  throw new NomadError('invalid_argument', `${field}: ${message}`, { field });
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function reqObject(v: unknown, field: string): Record<string, unknown> {
  if (!isObject(v)) invalid(field, `must be an object, got ${describe(v)}`);
  return v;
}

export function reqArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) invalid(field, `must be an array, got ${describe(v)}`);
  return v;
}

export function optArray(v: unknown, field: string): unknown[] {
  return v === undefined || v === null ? [] : reqArray(v, field);
}

export function reqId(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') invalid(field, `must be a non-empty string, got ${describe(v)}`);
  return v;
}

export function reqString(v: unknown, field: string): string {
  if (typeof v !== 'string') invalid(field, `must be a string, got ${describe(v)}`);
  return v;
}

export function reqNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(field, `must be a finite number, got ${describe(v)}`);
  return v;
}

export function reqBool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') invalid(field, `must be true or false, got ${describe(v)}`);
  return v;
}

export function reqOneOf<T extends string>(v: unknown, allowed: readonly T[], field: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    invalid(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

const NodeStatuses = ['initializing', 'ready', 'down', 'disconnected'] as const;
const Eligibilities = ['eligible', 'ineligible'] as const;
const DesiredStatuses = ['run', 'stop', 'evict'] as const;
const ClientStatuses = ['pending', 'running', 'complete', 'failed', 'lost', 'unknown'] as const;
const EvalStatuses = ['blocked', 'pending', 'complete', 'failed', 'canceled'] as const;
export const DeploymentStatuses = ['running', 'paused', 'failed', 'successful', 'cancelled', 'pending', 'blocked', 'unblocking'] as const;
export { NodeStatuses, Eligibilities, ClientStatuses };

export function checkNode(v: unknown, field: string): Node {
  const n = reqObject(v, field);
  reqId(n.id, `${field}.id`);
  reqString(n.name, `${field}.name`);
  reqString(n.datacenter, `${field}.datacenter`);
  reqString(n.nodeClass, `${field}.nodeClass`);
  reqString(n.nodePool, `${field}.nodePool`);
  reqObject(n.attributes, `${field}.attributes`);
  reqObject(n.meta, `${field}.meta`);
  reqObject(n.drivers, `${field}.drivers`);
  reqObject(n.resources, `${field}.resources`);
  reqOneOf(n.status, NodeStatuses, `${field}.status`);
  reqOneOf(n.schedulingEligibility, Eligibilities, `${field}.schedulingEligibility`);
  if (n.drainStrategy !== null) reqObject(n.drainStrategy, `${field}.drainStrategy`);
  return n as unknown as Node;
}

export function checkJob(v: unknown, field: string): Job {
  const j = reqObject(v, field);
  reqId(j.id, `${field}.id`);
  reqId(j.namespace, `${field}.namespace`);
  reqOneOf(j.type, JobTypes, `${field}.type`);
  reqNumber(j.priority, `${field}.priority`);
  reqArray(j.taskGroups, `${field}.taskGroups`);
  reqBool(j.stop, `${field}.stop`);
  return j as unknown as Job;
}

const isId = (v: unknown): boolean => typeof v === 'string' && v !== '';

/**
 * True when `checkAlloc` would pass `v` without checking a job (none, when
 * `jobOptional`, or `checkedJob` itself): the plan-result fast path, which builds
 * no field names. False says nothing: call `checkAlloc` for the verdict.
 */
export function allocLooksValid(v: unknown, jobOptional: boolean, checkedJob: Job | null): boolean {
  if (!isObject(v)) return false;
  return (
    isId(v.id) &&
    isId(v.namespace) &&
    isId(v.jobId) &&
    isId(v.nodeId) &&
    typeof v.evalId === 'string' &&
    typeof v.taskGroup === 'string' &&
    (DesiredStatuses as readonly unknown[]).includes(v.desiredStatus) &&
    (ClientStatuses as readonly unknown[]).includes(v.clientStatus) &&
    ((jobOptional && (v.job === undefined || v.job === null)) || (checkedJob !== null && v.job === checkedJob))
  );
}

/**
 * An allocation; `job` may be absent when `jobOptional` (plan results ship it once).
 * A job identical to `checkedJob` (the plan's, already checked) is not checked again.
 */
export function checkAlloc(v: unknown, field: string, jobOptional: boolean, checkedJob: Job | null = null): Allocation {
  const a = reqObject(v, field);
  reqId(a.id, `${field}.id`);
  reqId(a.namespace, `${field}.namespace`);
  reqId(a.jobId, `${field}.jobId`);
  reqId(a.nodeId, `${field}.nodeId`);
  reqString(a.evalId, `${field}.evalId`);
  reqString(a.taskGroup, `${field}.taskGroup`);
  reqOneOf(a.desiredStatus, DesiredStatuses, `${field}.desiredStatus`);
  reqOneOf(a.clientStatus, ClientStatuses, `${field}.clientStatus`);
  if (!(jobOptional && (a.job === undefined || a.job === null)) && (checkedJob === null || a.job !== checkedJob)) checkJob(a.job, `${field}.job`);
  return a as unknown as Allocation;
}

export function checkEval(v: unknown, field: string): Evaluation {
  const e = reqObject(v, field);
  reqId(e.id, `${field}.id`);
  reqId(e.namespace, `${field}.namespace`);
  reqString(e.jobId, `${field}.jobId`);
  reqOneOf(e.status, EvalStatuses, `${field}.status`);
  reqOneOf(e.type, JobTypes, `${field}.type`);
  return e as unknown as Evaluation;
}

export function checkDeployment(v: unknown, field: string): Deployment {
  const d = reqObject(v, field);
  reqId(d.id, `${field}.id`);
  reqId(d.namespace, `${field}.namespace`);
  reqId(d.jobId, `${field}.jobId`);
  reqOneOf(d.status, DeploymentStatuses, `${field}.status`);
  reqObject(d.taskGroups, `${field}.taskGroups`);
  return d as unknown as Deployment;
}

export function checkSchedulerConfig(v: unknown, field: string): SchedulerConfiguration {
  const c = reqObject(v, field);
  reqOneOf(c.schedulerAlgorithm, ['binpack', 'spread'] as const, `${field}.schedulerAlgorithm`);
  reqObject(c.preemptionConfig, `${field}.preemptionConfig`);
  reqBool(c.memoryOversubscriptionEnabled, `${field}.memoryOversubscriptionEnabled`);
  reqBool(c.pauseEvalBroker, `${field}.pauseEvalBroker`);
  return c as unknown as SchedulerConfiguration;
}
