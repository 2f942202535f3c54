/** What `job plan` reports (per-group desired updates) and plan result summaries ↔ nomadts.v1. */
import type * as d from '../core/structs/index.js';
import type { DesiredUpdates } from '../core/scheduler/index.js';
import type * as pb from '../../proto/index.js';
import { mapValues } from './codec.js';
import { deploymentStatusUpdateFromProto, deploymentStatusUpdateToProto } from './deployment.js';

export function desiredUpdatesToProto(u: DesiredUpdates): pb.DesiredUpdates {
  return {
    ignore: u.ignore,
    place: u.place,
    migrate: u.migrate,
    stop: u.stop,
    inPlaceUpdate: u.inPlaceUpdate,
    destructiveUpdate: u.destructiveUpdate,
    canary: u.canary,
    preemptions: u.preemptions,
    rescheduleNow: u.rescheduleNow,
    rescheduleLater: u.rescheduleLater,
  };
}

export function desiredUpdatesFromProto(u: pb.DesiredUpdates): DesiredUpdates {
  return {
    ignore: u.ignore,
    place: u.place,
    migrate: u.migrate,
    stop: u.stop,
    inPlaceUpdate: u.inPlaceUpdate,
    destructiveUpdate: u.destructiveUpdate,
    canary: u.canary,
    preemptions: u.preemptions,
    rescheduleNow: u.rescheduleNow,
    rescheduleLater: u.rescheduleLater,
  };
}

/** Per task group: what a plan would do (`job plan`). */
export function planAnnotationsToProto(desiredTGUpdates: Readonly<Record<string, DesiredUpdates>>): pb.PlanAnnotations {
  return { desiredTgUpdates: mapValues(desiredTGUpdates, desiredUpdatesToProto) };
}

export function planAnnotationsFromProto(a: pb.PlanAnnotations): Record<string, DesiredUpdates> {
  return mapValues(a.desiredTgUpdates, desiredUpdatesFromProto);
}

/** A plan result without the allocations: their ids, per node. */
export interface PlanResultSummary {
  nodeUpdate: Record<string, string[]>;
  nodeAllocation: Record<string, string[]>;
  nodePreemptions: Record<string, string[]>;
  /** The deployment the plan created, '' for none. */
  deploymentId: string;
  deploymentUpdates: d.PlanResult['deploymentUpdates'];
  rejectedNodes: string[];
  refreshIndex: number;
  allocIndex: number;
}

function ids(byNode: Readonly<Record<string, readonly d.Allocation[]>>): Record<string, string[]> {
  return mapValues(byNode, (allocs) => allocs.map((a) => a.id));
}

export function summarizePlanResult(r: d.PlanResult): PlanResultSummary {
  return {
    nodeUpdate: ids(r.nodeUpdate),
    nodeAllocation: ids(r.nodeAllocation),
    nodePreemptions: ids(r.nodePreemptions),
    deploymentId: r.deployment?.id ?? '',
    deploymentUpdates: r.deploymentUpdates.map((u) => ({ ...u })),
    rejectedNodes: [...r.rejectedNodes],
    refreshIndex: r.refreshIndex,
    allocIndex: r.allocIndex,
  };
}

export function planResultSummaryToProto(s: PlanResultSummary, path = 'planResult'): pb.PlanResultSummary {
  const wrap = (m: Record<string, string[]>): Record<string, pb.AllocIdList> => mapValues(m, (allocIds) => ({ allocIds: [...allocIds] }));
  return {
    nodeUpdate: wrap(s.nodeUpdate),
    nodeAllocation: wrap(s.nodeAllocation),
    nodePreemptions: wrap(s.nodePreemptions),
    deploymentId: s.deploymentId,
    deploymentUpdates: s.deploymentUpdates.map((u, i) => deploymentStatusUpdateToProto(u, `${path}.deploymentUpdates[${i}]`)),
    rejectedNodes: [...s.rejectedNodes],
    refreshIndex: s.refreshIndex,
    allocIndex: s.allocIndex,
  };
}

export function planResultSummaryFromProto(s: pb.PlanResultSummary, path = 'planResult'): PlanResultSummary {
  const unwrap = (m: Record<string, pb.AllocIdList>): Record<string, string[]> => mapValues(m, (l) => [...l.allocIds]);
  return {
    nodeUpdate: unwrap(s.nodeUpdate),
    nodeAllocation: unwrap(s.nodeAllocation),
    nodePreemptions: unwrap(s.nodePreemptions),
    deploymentId: s.deploymentId,
    deploymentUpdates: s.deploymentUpdates.map((u, i) => deploymentStatusUpdateFromProto(u, `${path}.deploymentUpdates[${i}]`)),
    rejectedNodes: [...s.rejectedNodes],
    refreshIndex: s.refreshIndex,
    allocIndex: s.allocIndex,
  };
}
