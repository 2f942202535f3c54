/**
 * In-place or destructive? When a job changes, an allocation of the old version
 * can keep running and just adopt the new version (in-place) unless something
 * the client cannot change under a running task changed (nomad `tasksUpdated`
 * and `genericAllocUpdateFn` in scheduler/util.go).
 */
import type { Allocation, Job, Task, TaskGroup } from '../structs/index.js';
import { allocTerminalStatus, lookupTaskGroup } from '../structs/index.js';

export type AllocUpdateDecision =
  | { kind: 'ignore' }
  | { kind: 'destructive'; reason: string }
  | { kind: 'inplace'; alloc: Allocation };

/**
 * Decides how `existing` follows `job`. Must be pure. The generic scheduler may
 * pass its own (e.g. one that also checks the new version still fits the node)
 * and fall back to `defaultAllocUpdate`.
 */
export type AllocUpdateFn = (existing: Allocation, job: Job, group: TaskGroup) => AllocUpdateDecision;

/** Same job version (and the same job: a purged and re-created job has a new createIndex). */
export function sameJobVersion(a: Job, b: Job): boolean {
  return a.version === b.version && a.createIndex === b.createIndex;
}

/**
 * Nothing to do for the same version; destructive when `tasksUpdated` says so;
 * terminal allocs are left alone (a completed batch alloc gains nothing from a
 * new version); otherwise an in-place update: a copy adopting the new job.
 */
export function defaultAllocUpdate(existing: Allocation, job: Job, group: TaskGroup): AllocUpdateDecision {
  if (sameJobVersion(existing.job, job)) return { kind: 'ignore' };
  const reason = tasksUpdated(existing.job, job, group.name);
  if (reason !== null) return { kind: 'destructive', reason };
  if (allocTerminalStatus(existing)) return { kind: 'ignore' };
  return { kind: 'inplace', alloc: { ...existing, job } };
}

/**
 * Why group `groupName` changed in a way that needs new allocations, or null
 * when its allocations can be updated in place. Destructive: tasks added or
 * removed; a task's driver, user, config, env, meta, artifacts, templates,
 * lifecycle or resources; networks and ports; ephemeral disk; constraints,
 * affinities and spreads at any level; datacenters or node pool (the
 * reconciler does not know an alloc's node, so any change there is treated as
 * possibly leaving the node outside the job's placement domain). In place:
 * count, services and checks, restart/reschedule/update/migrate policies, kill
 * timeout and signal, log settings.
 */
export function tasksUpdated(oldJob: Job, newJob: Job, groupName: string): string | null {
  const a = lookupTaskGroup(oldJob, groupName);
  const b = lookupTaskGroup(newJob, groupName);
  if (a === undefined || b === undefined) return 'task group added or removed';
  if (a.tasks.length !== b.tasks.length) return 'number of tasks changed';
  if (!deepEqual(a.ephemeralDisk, b.ephemeralDisk)) return 'ephemeral disk changed';
  if (!deepEqual(a.networks, b.networks)) return 'group network changed';
  if (!deepEqual(oldJob.datacenters, newJob.datacenters)) return 'datacenters changed';
  if (oldJob.nodePool !== newJob.nodePool) return 'node pool changed';
  if (!deepEqual(oldJob.constraints, newJob.constraints) || !deepEqual(a.constraints, b.constraints)) return 'constraints changed';
  if (!deepEqual(oldJob.affinities, newJob.affinities) || !deepEqual(a.affinities, b.affinities)) return 'affinities changed';
  if (!deepEqual(oldJob.spreads, newJob.spreads) || !deepEqual(a.spreads, b.spreads)) return 'spreads changed';
  for (const at of a.tasks) {
    const bt = b.tasks.find((t) => t.name === at.name);
    if (bt === undefined) return `task "${at.name}" removed`;
    const why = taskUpdated(at, bt);
    if (why !== null) return `task "${at.name}": ${why} changed`;
    // Meta reaches the task's environment (NOMAD_META_*), merged job → group → task.
    if (!deepEqual(combinedMeta(oldJob, a, at), combinedMeta(newJob, b, bt))) return `task "${at.name}": meta changed`;
  }
  return null;
}

function taskUpdated(a: Task, b: Task): string | null {
  if (a.driver !== b.driver) return 'driver';
  if (a.user !== b.user) return 'user';
  if (!deepEqual(a.config, b.config)) return 'config';
  if (!deepEqual(a.env, b.env)) return 'env';
  if (!deepEqual(a.artifacts, b.artifacts)) return 'artifacts';
  if (!deepEqual(a.templates, b.templates)) return 'templates';
  if (!deepEqual(a.lifecycle, b.lifecycle)) return 'lifecycle';
  if (a.leader !== b.leader) return 'leader';
  if (!deepEqual(a.resources, b.resources)) return 'resources';
  if (!deepEqual(a.constraints, b.constraints)) return 'constraints';
  if (!deepEqual(a.affinities, b.affinities)) return 'affinities';
  return null;
}

function combinedMeta(job: Job, group: TaskGroup, task: Task): Record<string, string> {
  return { ...job.meta, ...group.meta, ...task.meta };
}

/** Structural equality of plain JSON-like values (objects compared by own keys, order-insensitive). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(rb, k)) return false;
    if (!deepEqual(ra[k], rb[k])) return false;
  }
  return true;
}
