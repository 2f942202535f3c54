/**
 * Checking a plan against the latest state (nomad/plan_apply.go evaluatePlan).
 * Pure: a snapshot and a plan in, a PlanResult out. The applier commits only
 * what this accepts.
 */
import type { Allocation, Plan, PlanResult, StateReader } from '../structs/index.js';
import { allocsFit, allocTerminalStatus, nodeAvailable, planEntries } from '../structs/index.js';

export interface NodeVerdict {
  fit: boolean;
  /** Why the node's part was refused ('' when it fits). */
  reason: string;
}

/** Every node the plan touches, in a stable order. */
export function planNodeIds(plan: Plan): string[] {
  const ids = new Set<string>([...Object.keys(plan.nodeUpdate), ...Object.keys(plan.nodeAllocation), ...Object.keys(plan.nodePreemptions)]);
  return [...ids].sort();
}

/**
 * Would this node's part of the plan fit the latest state? Stops and evictions
 * always fit. New placements need the node to exist, be ready and eligible, and
 * all its remaining allocations (existing − stopped − preempted − replaced +
 * placed) to fit its resources and ports together. An update of an allocation
 * already running on the node is allowed on an ineligible (e.g. draining) node,
 * so in-place updates do not loop while a node drains.
 */
export function evaluateNodePlan(state: StateReader, plan: Plan, nodeId: string): NodeVerdict {
  const placed = planEntries(plan.nodeAllocation, nodeId) ?? [];
  if (placed.length === 0) return { fit: true, reason: '' };

  const node = state.nodeByID(nodeId);
  if (node === undefined) return { fit: false, reason: 'node does not exist' };
  if (node.status !== 'ready') return { fit: false, reason: `node is not ready for placements (status ${node.status})` };

  const usage = state.nodeUsage(nodeId);
  if (node.schedulingEligibility === 'ineligible' || node.drainStrategy !== null) {
    const running = new Set(usage.live.map((a) => a.id));
    if (!placed.every((a) => running.has(a.id))) return { fit: false, reason: 'node is not eligible' };
  }

  // Start from the memoised usage of the live allocations, take out what the plan
  // stops, preempts or replaces, add what it places: O(plan entries on the node).
  const removed = new Set<string>();
  for (const a of planEntries(plan.nodeUpdate, nodeId) ?? []) removed.add(a.id);
  for (const a of planEntries(plan.nodePreemptions, nodeId) ?? []) removed.add(a.id);
  for (const a of placed) removed.add(a.id);
  let cpu = usage.cpu;
  let memoryMB = usage.memoryMB;
  let diskMB = usage.diskMB;
  for (const id of removed) {
    const a = state.allocByID(id);
    if (a === undefined || a.nodeId !== nodeId || allocTerminalStatus(a)) continue;
    cpu -= a.resources.cpu;
    memoryMB -= a.resources.memoryMB;
    diskMB -= a.resources.diskMB;
  }
  let placesPorts = false;
  for (const a of placed) {
    if (allocTerminalStatus(a)) continue;
    cpu += a.resources.cpu;
    memoryMB += a.resources.memoryMB;
    diskMB += a.resources.diskMB;
    if (a.resources.ports.length > 0) placesPorts = true;
  }
  const avail = nodeAvailable(node);
  if (cpu > avail.cpu) return { fit: false, reason: 'resources exhausted: cpu' };
  if (memoryMB > avail.memoryMB) return { fit: false, reason: 'resources exhausted: memory' };
  if (diskMB > avail.diskMB) return { fit: false, reason: 'resources exhausted: disk' };
  if (placesPorts) {
    // Only a placement with ports can collide; the live allocations were checked when placed.
    const proposed: Allocation[] = [];
    for (const a of usage.live) if (!removed.has(a.id)) proposed.push(a);
    for (const a of placed) proposed.push(a);
    const fit = allocsFit(node, proposed, true);
    if (!fit.fit) return { fit: false, reason: `resources exhausted: ${fit.dimension}` };
  }
  return { fit: true, reason: '' };
}

export interface PlanEvaluation {
  result: PlanResult;
  /** Why each rejected node was refused, for events and the console. */
  rejections: Record<string, string>;
}

/**
 * Evaluate every node of the plan. What fits goes into the result; the rest is
 * rejected and the result carries a refresh index (the snapshot's index) so the
 * scheduler retries on state at least that new. An all-at-once plan is
 * accepted whole or not at all.
 */
export function evaluatePlan(state: StateReader, plan: Plan): PlanEvaluation {
  const result: PlanResult = {
    nodeUpdate: {},
    nodeAllocation: {},
    nodePreemptions: {},
    deployment: plan.deployment,
    deploymentUpdates: plan.deploymentUpdates,
    rejectedNodes: [],
    refreshIndex: 0,
    allocIndex: 0,
  };
  const rejections: Record<string, string> = {};

  for (const nodeId of planNodeIds(plan)) {
    const verdict = evaluateNodePlan(state, plan, nodeId);
    if (!verdict.fit) {
      result.rejectedNodes.push(nodeId);
      rejections[nodeId] = verdict.reason;
      if (plan.allAtOnce) break;
      continue;
    }
    copyIfAny(result.nodeUpdate, plan.nodeUpdate, nodeId);
    copyIfAny(result.nodeAllocation, plan.nodeAllocation, nodeId);
    copyIfAny(result.nodePreemptions, plan.nodePreemptions, nodeId);
  }

  if (result.rejectedNodes.length > 0) {
    result.refreshIndex = state.index;
    if (plan.allAtOnce) {
      result.nodeUpdate = {};
      result.nodeAllocation = {};
      result.nodePreemptions = {};
      result.deployment = null;
      result.deploymentUpdates = [];
    }
  }
  return { result, rejections };
}

function copyIfAny(target: Record<string, Allocation[]>, source: Record<string, Allocation[]>, nodeId: string): void {
  const list = source[nodeId];
  if (list !== undefined && list.length > 0) target[nodeId] = list;
}

/** True when the result commits nothing. */
export function resultIsNoOp(result: PlanResult): boolean {
  return (
    Object.keys(result.nodeUpdate).length === 0 &&
    Object.keys(result.nodeAllocation).length === 0 &&
    Object.keys(result.nodePreemptions).length === 0 &&
    result.deployment === null &&
    result.deploymentUpdates.length === 0
  );
}
