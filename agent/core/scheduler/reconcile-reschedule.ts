/**
 * When may a failed allocation be replaced? The reschedule policy arithmetic of
 * nomad's `Allocation.NextDelay`, `NextRescheduleTime` and
 * `RescheduleTracker.rescheduleInfo` (nomad/structs/alloc.go), as pure functions
 * of an allocation (its own job version's policy) and, for the reconciler, `now`.
 */
import type { Allocation, Deployment, ReschedulePolicy } from '../structs/index.js';
import { allocTerminalStatus, deploymentActive, lookupTaskGroup } from '../structs/index.js';

/**
 * A failed alloc whose reschedule time is at most this far in the future is
 * replaced now (protects against small clock drift between servers).
 */
export const RescheduleWindowMs = 1000;

/** The reschedule policy of the alloc's own job version, or null if the group is gone or has none. */
export function allocReschedulePolicy(alloc: Allocation): ReschedulePolicy | null {
  return lookupTaskGroup(alloc.job, alloc.taskGroup)?.reschedule ?? null;
}

/**
 * When the allocation failed: the latest `finishedAt` of its tasks, or its
 * modify time when no task recorded one.
 */
export function allocFailTime(alloc: Allocation): number {
  let last = 0;
  for (const name in alloc.taskStates) {
    const f = alloc.taskStates[name]!.finishedAt;
    if (f > last) last = f;
  }
  return last > 0 ? last : alloc.modifyTime;
}

/** Reschedule attempts made within the policy interval before `failTime`. */
export function rescheduleAttemptsInInterval(alloc: Allocation, policy: ReschedulePolicy, failTime: number): number {
  if (policy.attempts <= 0) return 0;
  let attempted = 0;
  for (const ev of alloc.rescheduleTracker) {
    if (failTime - ev.rescheduleTime < policy.interval) attempted++;
  }
  return attempted;
}

/**
 * The delay before the next reschedule, from the delay function and the
 * delays of earlier attempts (recorded in the reschedule tracker):
 * - constant: always `delay`;
 * - exponential: twice the previous delay, capped at `maxDelay`;
 * - fibonacci: the sum of the two previous delays (delay, delay, 2d, 3d, 5d, ...), capped.
 * Once capped, a failure that comes more than the capped delay after the last
 * reschedule starts the series again from `delay`.
 */
export function nextRescheduleDelay(alloc: Allocation): number {
  const policy = allocReschedulePolicy(alloc);
  if (policy === null) return 0;
  const events = alloc.rescheduleTracker;
  const last = events[events.length - 1];
  if (last === undefined) return policy.delay;
  let delay: number;
  switch (policy.delayFunction) {
    case 'constant':
      return policy.delay;
    case 'exponential':
      delay = last.delay * 2;
      break;
    case 'fibonacci': {
      const prev = events[events.length - 2];
      if (prev === undefined) delay = policy.delay;
      // A series that hit the ceiling and was reset starts again: delay, delay, 2*delay, ...
      else if (prev.delay === policy.maxDelay && last.delay === policy.delay) delay = last.delay;
      else delay = last.delay + prev.delay;
      break;
    }
  }
  if (policy.maxDelay > 0 && delay > policy.maxDelay) {
    delay = policy.maxDelay;
    // A long quiet period since the last reschedule resets the back-off.
    if (allocFailTime(alloc) - last.rescheduleTime > delay) delay = policy.delay;
  }
  return delay;
}

export interface RescheduleTime {
  /** ms since epoch at or after which the alloc may be replaced. */
  time: number;
  /** Whether the policy allows another attempt at all. */
  eligible: boolean;
}

/**
 * When the alloc may next be rescheduled, and whether the policy allows it.
 * Only failed (or lost) allocs, or batch allocs flagged for reschedule, are
 * candidates; a policy with no attempts and not unlimited disables rescheduling.
 */
export function nextRescheduleTime(alloc: Allocation): RescheduleTime {
  const never = { time: 0, eligible: false };
  const policy = allocReschedulePolicy(alloc);
  if (policy === null || (policy.attempts === 0 && !policy.unlimited)) return never;
  const rescheduledBatch = alloc.job.type === 'batch' && alloc.desiredTransition.reschedule;
  const failTime = allocFailTime(alloc);
  if (
    alloc.desiredStatus === 'stop' ||
    (!rescheduledBatch && alloc.clientStatus !== 'failed' && alloc.clientStatus !== 'lost') ||
    failTime === 0
  ) {
    return never;
  }
  const delay = nextRescheduleDelay(alloc);
  let eligible: boolean;
  if (policy.unlimited) eligible = true;
  else eligible = rescheduleAttemptsInInterval(alloc, policy, failTime) < policy.attempts && delay < policy.interval;
  return { time: failTime + delay, eligible };
}

export type RescheduleDecision =
  | { kind: 'now' }
  | { kind: 'later'; time: number }
  | { kind: 'no' };

/**
 * The reconciler's question for one failed (or force-rescheduled) alloc:
 * replace it now, create a follow-up eval for later, or leave it.
 * - Allocs of an active deployment wait for the deployment watcher to mark them
 *   (`desiredTransition.reschedule`).
 * - `desiredTransition.forceReschedule` replaces now whatever the policy says.
 * - The follow-up eval created for an alloc replaces it when it runs, even a
 *   little early; an alloc that already has a follow-up eval gets no second one.
 */
export function rescheduleDecision(alloc: Allocation, now: number, evalId: string, deployment: Deployment | null): RescheduleDecision {
  if (deployment !== null && alloc.deploymentId === deployment.id && deploymentActive(deployment) && !alloc.desiredTransition.reschedule) {
    return { kind: 'no' };
  }
  if (alloc.desiredTransition.forceReschedule) return { kind: 'now' };
  const next = nextRescheduleTime(alloc);
  if (!next.eligible) return { kind: 'no' };
  if ((alloc.followupEvalId !== '' && alloc.followupEvalId === evalId) || next.time - now <= RescheduleWindowMs) return { kind: 'now' };
  if (alloc.followupEvalId === '') return { kind: 'later', time: next.time };
  return { kind: 'no' };
}

/** True when every task of the alloc ran to completion successfully. */
export function allocRanSuccessfully(alloc: Allocation): boolean {
  let any = false;
  for (const name in alloc.taskStates) {
    const ts = alloc.taskStates[name]!;
    if (ts.state !== 'dead' || ts.failed) return false;
    any = true;
  }
  return any;
}

/**
 * How the reschedule filter treats an alloc before asking the policy:
 * `keep`: it counts towards the group and can never be rescheduled;
 * `ignore`: it neither counts nor gets replaced by reschedule (the count does that);
 * `check`: ask `rescheduleDecision`.
 * Batch: successful completions are kept (never re-run); failures are checked.
 * Service: completed or lost allocs are ignored (the count replaces them).
 */
export function rescheduleFilter(alloc: Allocation, batch: boolean): 'keep' | 'ignore' | 'check' {
  if (batch) {
    if (alloc.desiredTransition.reschedule) return 'check';
    if (alloc.desiredStatus === 'stop') return allocRanSuccessfully(alloc) ? 'keep' : 'ignore';
    if (alloc.desiredStatus === 'evict') return 'ignore';
    return alloc.clientStatus === 'failed' ? 'check' : 'keep';
  }
  if (alloc.desiredStatus === 'stop' || alloc.desiredStatus === 'evict') return 'ignore';
  if (alloc.clientStatus === 'complete' || alloc.clientStatus === 'lost') return 'ignore';
  return 'check';
}

/** A terminal alloc that already has a replacement is done with. */
export function allocReplaced(alloc: Allocation): boolean {
  return alloc.nextAllocation !== '' && allocTerminalStatus(alloc);
}
