import type { Allocation } from './alloc.js';
import type { Deployment } from './deployment.js';
import type { Evaluation } from './eval.js';
import type { Job } from './job.js';
import type { StateReader } from './state-reader.js';

/**
 * What a scheduler wants to change. Only the plan applier turns a plan into
 * state; schedulers never write.
 */
export interface Plan {
  evalId: string;
  /** The eval's broker token: the applier refuses plans from an eval that is no longer outstanding. */
  evalToken: string;
  priority: number;
  allAtOnce: boolean;
  job: Job | null;
  /** Allocations to stop/evict, by node. Each is the existing allocation with its new desired status. */
  nodeUpdate: Record<string, Allocation[]>;
  /** New or updated allocations, by node. */
  nodeAllocation: Record<string, Allocation[]>;
  /** Allocations to preempt, by node. */
  nodePreemptions: Record<string, Allocation[]>;
  deployment: Deployment | null;
  deploymentUpdates: { deploymentId: string; status: Deployment['status']; statusDescription: string }[];
  /** The index of the snapshot the scheduler planned on. */
  snapshotIndex: number;
}

export interface PlanResult {
  nodeUpdate: Record<string, Allocation[]>;
  nodeAllocation: Record<string, Allocation[]>;
  nodePreemptions: Record<string, Allocation[]>;
  deployment: Deployment | null;
  deploymentUpdates: Plan['deploymentUpdates'];
  /** Nodes whose part of the plan did not fit the latest state. */
  rejectedNodes: string[];
  /** When > 0 the plan was partly rejected: the scheduler must refresh to at least this index. */
  refreshIndex: number;
  /** The index at which the accepted part was committed (0 if nothing was). */
  allocIndex: number;
}

/**
 * What a scheduler may do besides deciding. The worker implements it (submitting
 * to the plan applier and writing evals through the FSM); the test harness
 * records calls.
 */
export interface Planner {
  submitPlan(plan: Plan): Promise<{ result: PlanResult; refreshedState: StateReader | null }>;
  updateEval(evaluation: Evaluation): Promise<void>;
  createEval(evaluation: Evaluation): Promise<void>;
  reblockEval(evaluation: Evaluation): Promise<void>;
}


export function emptyPlan(evalId: string, evalToken: string, priority: number, job: Job | null, snapshotIndex: number): Plan {
  return {
    evalId,
    evalToken,
    priority,
    allAtOnce: job?.allAtOnce ?? false,
    job,
    nodeUpdate: newPlanRecord(),
    nodeAllocation: newPlanRecord(),
    nodePreemptions: newPlanRecord(),
    deployment: null,
    deploymentUpdates: [],
    snapshotIndex,
  };
}

/**
 * An empty record for allocations by node id, without a prototype. V8 keeps
 * such objects as hash tables from the start; a `{}` gets a new hidden class
 * for each of its first uuid keys (a dozen or so per record per plan, each a
 * long-lived heap object) before it gives up and becomes a hash table anyway.
 * Read it with `planEntries` / `Object.hasOwn` / `for...in` as any record.
 */
export function newPlanRecord(): Record<string, Allocation[]> {
  return Object.create(null) as Record<string, Allocation[]>;
}

export function planIsNoOp(plan: Plan): boolean {
  return (
    Object.keys(plan.nodeUpdate).length === 0 &&
    Object.keys(plan.nodeAllocation).length === 0 &&
    Object.keys(plan.nodePreemptions).length === 0 &&
    plan.deployment === null &&
    plan.deploymentUpdates.length === 0
  );
}

/**
 * A plan record's entries for one node, or undefined. Use this on hot paths
 * instead of `record[nodeId]`: a miss on a plain object looks the key up the
 * prototype chain, which in V8 costs ~1 µs for uuid keys on an empty record
 * (the usual `nodeUpdate`/`nodePreemptions`); an own-property check is ~20x
 * cheaper, and never mistakes `constructor` & co. for an entry.
 */
export function planEntries(record: Readonly<Record<string, Allocation[]>>, nodeId: string): Allocation[] | undefined {
  return Object.hasOwn(record, nodeId) ? record[nodeId] : undefined;
}

/**
 * What was added to one plan record, in order: the node ids as they got their
 * first entry and every entry as it was appended. Kept for records that
 * `trackPlanRecords` registered, by `appendAlloc` and `removeAlloc`, so readers
 * (the scheduler's plan marks and property-set journal) catch up with a growing
 * plan in O(new entries) instead of walking every key on every selection.
 */
export interface PlanRecordLog {
  /** Node ids with entries, in the order they got their first one (since `epoch` began). */
  nodeIds: string[];
  /** Every entry, in the order appended (since `epoch` began). */
  allocs: Allocation[];
  /**
   * Bumped when the record changed other than by appending (an entry removed):
   * both lists are then fresh arrays rebuilt from the record, and readers start over.
   */
  epoch: number;
}

const recordLogs = new WeakMap<object, PlanRecordLog>();

function logFromRecord(record: Readonly<Record<string, Allocation[]>>, epoch: number): PlanRecordLog {
  const log: PlanRecordLog = { nodeIds: [], allocs: [], epoch };
  for (const nodeId in record) {
    const list = record[nodeId]!;
    if (list.length === 0) continue;
    log.nodeIds.push(nodeId);
    for (const a of list) log.allocs.push(a);
  }
  return log;
}

/**
 * Start logging the plan's three records (see PlanRecordLog). From then on they
 * must change only through `appendAlloc` and `removeAlloc`, or be replaced by
 * other objects (an untracked record is read the slow way);
 * `planRecordLogMismatch` finds a tracked record that was written behind the log's back.
 */
export function trackPlanRecords(plan: Plan): void {
  for (const record of [plan.nodeAllocation, plan.nodeUpdate, plan.nodePreemptions]) {
    if (!recordLogs.has(record)) recordLogs.set(record, logFromRecord(record, 0));
  }
}

/** The record's log, or undefined when it is not tracked. */
export function planRecordLog(record: Readonly<Record<string, Allocation[]>>): PlanRecordLog | undefined {
  return recordLogs.get(record);
}

export function appendAlloc(target: Record<string, Allocation[]>, alloc: Allocation): void {
  const list = planEntries(target, alloc.nodeId);
  const log = recordLogs.get(target);
  if (list === undefined) {
    target[alloc.nodeId] = [alloc];
    if (log !== undefined) log.nodeIds.push(alloc.nodeId);
  } else {
    if (list.length === 0 && log !== undefined) log.nodeIds.push(alloc.nodeId);
    list.push(alloc);
  }
  if (log !== undefined) log.allocs.push(alloc);
}

/**
 * Remove the entry for allocation `allocId` from the node's list (and the
 * node's key when that empties it). False when there was no such entry.
 */
export function removeAlloc(target: Record<string, Allocation[]>, nodeId: string, allocId: string): boolean {
  const list = planEntries(target, nodeId);
  if (list === undefined) return false;
  const i = list.findIndex((a) => a.id === allocId);
  if (i < 0) return false;
  list.splice(i, 1);
  if (list.length === 0) delete target[nodeId];
  const log = recordLogs.get(target);
  if (log !== undefined) recordLogs.set(target, logFromRecord(target, log.epoch + 1));
  return true;
}

/**
 * '' when every tracked record of the plan holds exactly what its log says,
 * else which record and how it differs (a write that bypassed appendAlloc /
 * removeAlloc). O(plan entries): for a check once per plan, not per selection.
 */
export function planRecordLogMismatch(plan: Plan): string {
  const records: [string, Record<string, Allocation[]>][] = [
    ['nodeAllocation', plan.nodeAllocation],
    ['nodeUpdate', plan.nodeUpdate],
    ['nodePreemptions', plan.nodePreemptions],
  ];
  for (const [name, record] of records) {
    const log = recordLogs.get(record);
    if (log === undefined) continue;
    const logged = new Set(log.nodeIds);
    let i = 0;
    let entries = 0;
    for (const nodeId in record) {
      const n = record[nodeId]!.length;
      if (n === 0) continue;
      if (!logged.has(nodeId)) return `plan.${name}: node ${nodeId} is not in the record's log (written without appendAlloc?)`;
      i++;
      entries += n;
    }
    if (i !== logged.size) return `plan.${name}: ${log.nodeIds.length - i} logged node(s) missing from the record (removed without removeAlloc?)`;
    if (entries !== log.allocs.length) return `plan.${name}: ${entries} entries, ${log.allocs.length} logged (written without appendAlloc?)`;
  }
  return '';
}
