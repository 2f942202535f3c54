import type { Job } from './job.js';

export type AllocDesiredStatus = 'run' | 'stop' | 'evict';
export type AllocClientStatus = 'pending' | 'running' | 'complete' | 'failed' | 'lost' | 'unknown';

/** A port the scheduler assigned on the node. */
export interface AllocatedPort {
  label: string;
  value: number;
  to: number;
  hostIp: string;
}

export interface AllocatedResources {
  cpu: number;
  memoryMB: number;
  memoryMaxMB: number;
  diskMB: number;
  ports: AllocatedPort[];
}

/** Why a node was or was not chosen: what `alloc status` and the console show. */
export interface NodeScoreMeta {
  nodeId: string;
  /** Score parts by name: binpack, job-anti-affinity, node-affinity, allocation-spread, node-reschedule-penalty. */
  scores: Record<string, number>;
  normScore: number;
}

export interface AllocMetric {
  nodesEvaluated: number;
  nodesFiltered: number;
  nodesInPool: number;
  nodesAvailable: Record<string, number>;
  /** How many nodes each node class filtered. */
  classFiltered: Record<string, number>;
  /** How many nodes each constraint (by its string form) filtered. */
  constraintFiltered: Record<string, number>;
  nodesExhausted: number;
  classExhausted: Record<string, number>;
  /** Exhausted dimension → count: `cpu`, `memory`, `disk`, `network: reserved port collision 8080`, ... */
  dimensionExhausted: Record<string, number>;
  quotaExhausted: string[];
  /** The best few nodes with their score parts, best first. */
  scoreMetaData: NodeScoreMeta[];
  allocationTime: number;
  coalescedFailures: number;
}

export interface RescheduleEvent {
  rescheduleTime: number;
  prevAllocId: string;
  prevNodeId: string;
  delay: number;
}

export interface DesiredTransition {
  migrate: boolean;
  reschedule: boolean;
  forceReschedule: boolean;
}

export interface TaskState {
  state: 'pending' | 'running' | 'dead';
  failed: boolean;
  restarts: number;
  lastRestart: number;
  startedAt: number;
  finishedAt: number;
  events: { type: string; time: number; message: string }[];
}

export interface AllocDeploymentStatus {
  healthy: boolean | null;
  canary: boolean;
  timestamp: number;
  modifyIndex: number;
}

export interface Allocation {
  id: string;
  namespace: string;
  evalId: string;
  /** `<job>.<group>[<index>]`, as Nomad names allocations. */
  name: string;
  nodeId: string;
  nodeName: string;
  jobId: string;
  /** The job version the allocation runs (a copy, so the client needs no lookup). */
  job: Job;
  taskGroup: string;
  resources: AllocatedResources;
  /** Per-task share of the resources, for drivers and cgroups. */
  taskResources: Record<string, { cpu: number; memoryMB: number; memoryMaxMB: number }>;
  metrics: AllocMetric;
  desiredStatus: AllocDesiredStatus;
  desiredDescription: string;
  desiredTransition: DesiredTransition;
  clientStatus: AllocClientStatus;
  clientDescription: string;
  taskStates: Record<string, TaskState>;
  deploymentId: string;
  deploymentStatus: AllocDeploymentStatus | null;
  previousAllocation: string;
  nextAllocation: string;
  rescheduleTracker: RescheduleEvent[];
  /** When a failed allocation may be replaced (delayed reschedule). 0 = now. */
  followupEvalId: string;
  createIndex: number;
  modifyIndex: number;
  allocModifyIndex: number;
  createTime: number;
  modifyTime: number;
}

/*
 * Shared, frozen zero values for a new allocation's records (no transition, no task
 * states, no reschedules, no task resources): every allocation keeps its record for
 * good, and code replaces these records rather than writing into them.
 */
const NoTransition: DesiredTransition = Object.freeze({ migrate: false, reschedule: false, forceReschedule: false });
const NoTaskStates: Record<string, TaskState> = Object.freeze({});
const NoReschedules = Object.freeze([]) as unknown as RescheduleEvent[];
const NoTaskResources: Allocation['taskResources'] = Object.freeze({});

/** The fields a new allocation cannot do without; everything else has a zero value. */
export type NewAllocationFields = Pick<
  Allocation,
  'id' | 'namespace' | 'evalId' | 'name' | 'nodeId' | 'nodeName' | 'jobId' | 'job' | 'taskGroup' | 'resources'
> & Partial<Allocation>;

/**
 * A new allocation: `fields` over zero values (desired `run`, client `pending`, no
 * transition, empty metrics and task states, indexes and times 0; a field given as
 * undefined gets its zero value too). The one place an Allocation literal is written
 * in full: a new field needs a zero here.
 */
export function newAllocation(fields: NewAllocationFields): Allocation {
  return {
    id: fields.id,
    namespace: fields.namespace,
    evalId: fields.evalId,
    name: fields.name,
    nodeId: fields.nodeId,
    nodeName: fields.nodeName,
    jobId: fields.jobId,
    job: fields.job,
    taskGroup: fields.taskGroup,
    resources: fields.resources,
    taskResources: fields.taskResources ?? NoTaskResources,
    metrics: fields.metrics ?? emptyAllocMetric(),
    desiredStatus: fields.desiredStatus ?? 'run',
    desiredDescription: fields.desiredDescription ?? '',
    desiredTransition: fields.desiredTransition ?? NoTransition,
    clientStatus: fields.clientStatus ?? 'pending',
    clientDescription: fields.clientDescription ?? '',
    taskStates: fields.taskStates ?? NoTaskStates,
    deploymentId: fields.deploymentId ?? '',
    deploymentStatus: fields.deploymentStatus ?? null,
    previousAllocation: fields.previousAllocation ?? '',
    nextAllocation: fields.nextAllocation ?? '',
    rescheduleTracker: fields.rescheduleTracker ?? NoReschedules,
    followupEvalId: fields.followupEvalId ?? '',
    createIndex: fields.createIndex ?? 0,
    modifyIndex: fields.modifyIndex ?? 0,
    allocModifyIndex: fields.allocModifyIndex ?? 0,
    createTime: fields.createTime ?? 0,
    modifyTime: fields.modifyTime ?? 0,
  };
}

export function allocTerminalStatus(a: Pick<Allocation, 'desiredStatus' | 'clientStatus'>): boolean {
  return allocServerTerminal(a) || allocClientTerminal(a);
}

export function allocServerTerminal(a: Pick<Allocation, 'desiredStatus'>): boolean {
  return a.desiredStatus === 'stop' || a.desiredStatus === 'evict';
}

export function allocClientTerminal(a: Pick<Allocation, 'clientStatus'>): boolean {
  return a.clientStatus === 'complete' || a.clientStatus === 'failed' || a.clientStatus === 'lost';
}

/** Index of an allocation inside its group, parsed from its name (`web.api[3]` → 3). */
export function allocIndex(name: string): number {
  const open = name.lastIndexOf('[');
  if (open < 0 || !name.endsWith(']')) return -1;
  const n = Number(name.slice(open + 1, -1));
  return Number.isInteger(n) ? n : -1;
}

export function allocName(jobId: string, group: string, index: number): string {
  // join builds one flat string; a template literal builds a chain of cons strings
  // (~4 extra objects), and every allocation keeps its name for good.
  return [jobId, '.', group, '[', String(index), ']'].join('');
}

export function emptyAllocMetric(): AllocMetric {
  return {
    nodesEvaluated: 0,
    nodesFiltered: 0,
    nodesInPool: 0,
    nodesAvailable: {},
    classFiltered: {},
    constraintFiltered: {},
    nodesExhausted: 0,
    classExhausted: {},
    dimensionExhausted: {},
    quotaExhausted: [],
    scoreMetaData: [],
    allocationTime: 0,
    coalescedFailures: 0,
  };
}
