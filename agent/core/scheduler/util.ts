/**
 * Pieces both schedulers share (nomad scheduler/util.go): tainted nodes, building
 * allocations from a ranked node, appending stops to a plan, and the eval status
 * write at the end of an evaluation.
 */
import type { Rng } from '../lib/index.js';
import { uuid } from '../lib/index.js';
import type {
  AllocMetric,
  Allocation,
  Evaluation,
  EvalStatus,
  Job,
  Node,
  Plan,
  Planner,
  PlanResult,
  StateReader,
  TaskGroup,
} from '../structs/index.js';
import { allocTerminalStatus, appendAlloc, newAllocation, newEvaluation, planRecordLogMismatch } from '../structs/index.js';
import { NomadError } from '../lib/index.js';
import type { RankedNode } from './stack.js';

/**
 * Nodes of the job's live allocations that can no longer be trusted to run them:
 * gone (null), down, disconnected, or draining.
 */
export function taintedNodes(state: StateReader, allocs: readonly Allocation[]): Map<string, Node | null> {
  const out = new Map<string, Node | null>();
  for (const a of allocs) {
    if (allocTerminalStatus(a) || out.has(a.nodeId)) continue;
    const node = state.nodeByID(a.nodeId);
    if (node === undefined) out.set(a.nodeId, null);
    else if (node.status === 'down' || node.status === 'disconnected' || node.drainStrategy !== null) out.set(a.nodeId, node);
  }
  return out;
}

/** Append a stop of `alloc` to the plan: a copy with desired status stop (and client status lost when its node is gone). */
export function appendStop(plan: Plan, alloc: Allocation, description: string, clientStatus?: 'lost', followupEvalId?: string): void {
  const stopped: Allocation = {
    ...alloc,
    desiredStatus: 'stop',
    desiredDescription: description,
    clientStatus: clientStatus ?? alloc.clientStatus,
    clientDescription: clientStatus === 'lost' ? 'alloc is lost since its node is down' : alloc.clientDescription,
    followupEvalId: followupEvalId ?? alloc.followupEvalId,
  };
  appendAlloc(plan.nodeUpdate, stopped);
}

export interface NewAllocation {
  rng: Rng;
  now: number;
  evaluation: Evaluation;
  job: Job;
  tg: TaskGroup;
  name: string;
  ranked: RankedNode;
  metrics: AllocMetric;
  deploymentId: string;
  canary: boolean;
  previous: Allocation | undefined;
  /** The reschedule event to add when this replaces a failed allocation. */
  rescheduleDelay: number | null;
  /** Resources shared with this evaluation's earlier allocations of the group, when equal. */
  shared?: SharedResources;
}

type TaskResourceMap = Allocation['taskResources'];
type GroupResources = { resources: Allocation['resources']; taskResources: TaskResourceMap };

/**
 * Frozen resource records shared by the allocations one evaluation places for a group:
 * without ports, every allocation of a group asks for the same resources, so they can
 * point at one record instead of each keeping its own copy for good (stored allocations
 * are never mutated; the records are frozen to keep it so). Every kept object is also
 * copied twice by the young-generation collector, so fewer of them is less GC time.
 */
export class SharedResources {
  private readonly byGroup = new Map<string, GroupResources>();

  /** `ranked`'s resources, or an equal frozen record given earlier for `group`. */
  of(group: string, ranked: Pick<RankedNode, 'resources' | 'taskResources'>): GroupResources {
    const r = ranked.resources;
    if (r.ports.length > 0) return { resources: r, taskResources: ranked.taskResources };
    const prior = this.byGroup.get(group);
    if (prior !== undefined && ((prior.resources === r && prior.taskResources === ranked.taskResources) || sameResources(prior, r, ranked.taskResources))) return prior;
    if (Object.isFrozen(r) && Object.isFrozen(r.ports) && frozenTaskResources(ranked.taskResources)) {
      // Already frozen (the stack's records for a group without ports): share them as they are.
      const shared: GroupResources = { resources: r, taskResources: ranked.taskResources };
      this.byGroup.set(group, shared);
      return shared;
    }
    const taskResources: TaskResourceMap = {};
    for (const k in ranked.taskResources) taskResources[k] = Object.freeze({ ...ranked.taskResources[k]! });
    const shared: GroupResources = {
      resources: Object.freeze({ cpu: r.cpu, memoryMB: r.memoryMB, memoryMaxMB: r.memoryMaxMB, diskMB: r.diskMB, ports: NoPorts }),
      taskResources: Object.freeze(taskResources),
    };
    this.byGroup.set(group, shared);
    return shared;
  }
}

const NoPorts = Object.freeze([]) as unknown as Allocation['resources']['ports'];

function frozenTaskResources(t: TaskResourceMap): boolean {
  if (!Object.isFrozen(t)) return false;
  for (const k in t) if (!Object.isFrozen(t[k])) return false;
  return true;
}

function sameResources(a: GroupResources, r: Allocation['resources'], t: TaskResourceMap): boolean {
  const x = a.resources;
  if (x.cpu !== r.cpu || x.memoryMB !== r.memoryMB || x.memoryMaxMB !== r.memoryMaxMB || x.diskMB !== r.diskMB) return false;
  let n = 0;
  for (const k in t) {
    const p = a.taskResources[k];
    const q = t[k]!;
    if (p === undefined || p.cpu !== q.cpu || p.memoryMB !== q.memoryMB || p.memoryMaxMB !== q.memoryMaxMB) return false;
    n++;
  }
  let m = 0;
  for (const _ in a.taskResources) m++;
  return n === m;
}

/** A new allocation for a chosen node, appended to the plan. */
export function placeAlloc(plan: Plan, p: NewAllocation): Allocation {
  const tracker = p.previous !== undefined && p.rescheduleDelay !== null
    ? [...p.previous.rescheduleTracker, { rescheduleTime: p.now, prevAllocId: p.previous.id, prevNodeId: p.previous.nodeId, delay: p.rescheduleDelay }]
    : undefined;
  const res = p.shared !== undefined ? p.shared.of(p.tg.name, p.ranked) : p.ranked;
  const alloc = newAllocation({
    id: uuid(p.rng),
    namespace: p.job.namespace,
    evalId: p.evaluation.id,
    name: p.name,
    nodeId: p.ranked.node.id,
    nodeName: p.ranked.node.name,
    jobId: p.job.id,
    job: p.job,
    taskGroup: p.tg.name,
    resources: res.resources,
    taskResources: res.taskResources,
    metrics: p.metrics,
    deploymentId: p.deploymentId,
    deploymentStatus: p.canary ? { healthy: null, canary: true, timestamp: p.now, modifyIndex: 0 } : null,
    previousAllocation: p.previous?.id ?? '',
    rescheduleTracker: tracker,
    createTime: p.now,
    modifyTime: p.now,
  });
  appendAlloc(plan.nodeAllocation, alloc);
  return alloc;
}

/**
 * Throw when a plan whose records are tracked (structs.trackPlanRecords) was
 * written behind their logs' back: the scheduler's plan marks would have missed
 * those entries. Once per plan, before it is submitted.
 */
export function assertPlanLogs(plan: Plan): void {
  const mismatch = planRecordLogMismatch(plan);
  if (mismatch !== '') throw new NomadError('internal', mismatch);
}

/** Record a failed placement for a group, coalescing repeats as Nomad does. */
export function recordFailure(failed: Record<string, AllocMetric>, group: string, metrics: AllocMetric): void {
  const prior = failed[group];
  if (prior === undefined) failed[group] = metrics;
  else prior.coalescedFailures++;
}

/** A new evaluation derived from `from` (blocked, follow-up...). */
export function deriveEval(rng: Rng, now: number, from: Evaluation, fields: Partial<Evaluation>): Evaluation {
  // What a derived eval inherits from `from`; every other field starts at its zero value.
  return newEvaluation({
    id: uuid(rng),
    namespace: from.namespace,
    priority: from.priority,
    type: from.type,
    triggeredBy: from.triggeredBy,
    jobId: from.jobId,
    jobModifyIndex: from.jobModifyIndex,
    nodeId: from.nodeId,
    nodeModifyIndex: from.nodeModifyIndex,
    deploymentId: from.deploymentId,
    annotatePlan: from.annotatePlan,
    previousEval: from.id,
    createTime: now,
    modifyTime: now,
    ...fields,
  });
}

/** Write the evaluation's final status through the planner. */
export async function setEvalStatus(
  planner: Planner,
  now: number,
  evaluation: Evaluation,
  status: EvalStatus,
  description: string,
  extra: Partial<Evaluation> = {},
): Promise<Evaluation> {
  const updated: Evaluation = { ...evaluation, status, statusDescription: description, modifyTime: now, ...extra };
  await planner.updateEval(updated);
  return updated;
}

/** Did the plan applier commit anything of the plan (nomad progressMade)? Then a retry starts its count afresh. */
export function progressMade(result: PlanResult): boolean {
  return (
    Object.keys(result.nodeUpdate).length > 0 ||
    Object.keys(result.nodeAllocation).length > 0 ||
    result.deployment !== null ||
    result.deploymentUpdates.length > 0
  );
}
