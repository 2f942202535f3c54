/**
 * The restart policy tracker, after Nomad's
 * client/allocrunner/taskrunner/restarts/restarts.go. Pure: time comes from the
 * injected Clock, jitter from the injected Rng.
 *
 * Per exit (or failed start):
 *  - a user-requested restart restarts at once and does not count;
 *  - a killed task is not restarted;
 *  - a task that exits successfully when restarting on success is off (batch and
 *    sysbatch jobs, and non-sidecar prestart/poststart/poststop tasks) is `done`;
 *  - otherwise the restart is counted in the current interval (a new interval
 *    starts, and the count resets, once `interval` has passed since the last one
 *    began); within `attempts` it restarts after `delay` plus up to 25% jitter;
 *    past `attempts` mode `fail` gives up and mode `delay` waits until the interval
 *    ends, then restarts;
 *  - `attempts = 0` never restarts (a successful exit is still `done`, not failed);
 *  - an unrecoverable start error fails at once.
 */
import type { Clock, Rng } from '../../core/lib/index.js';
import type { JobType, Lifecycle, RestartPolicy } from '../../core/structs/index.js';

/** Nomad adds up to a quarter of the delay as jitter. */
export const RestartJitterFraction = 0.25;

export interface TaskExit {
  exitCode: number;
  /** Signal that ended the task (0 = none). */
  signal?: number;
  /** Defaults to exitCode !== 0 || signal !== 0. */
  failed?: boolean;
  oomKilled?: boolean;
}

export type RestartDecision =
  /** Restart after `delayMs` (policy delay plus jitter, 0 for a user restart). */
  | { action: 'restart'; delayMs: number; reason: string }
  /** Attempts used up in mode `delay`: restart when the interval ends, `delayMs` from now. */
  | { action: 'wait'; delayMs: number; reason: string }
  /** Do not restart; the task failed. */
  | { action: 'fail'; reason: string }
  /** Do not restart; the task finished (successfully, or was killed). */
  | { action: 'done'; reason: string };

export const ReasonWithinPolicy = 'Restart within policy';
export const ReasonNoRestartsAllowed = 'Policy allows no restarts';
export const ReasonUnrecoverable = 'Error was unrecoverable';
export const ReasonDelay = 'Exceeded allowed attempts, applying a delay';
export const ReasonSuccess = 'Restart unnecessary as task terminated successfully';

/** Whether a task that exits 0 should be restarted (Nomad's restartOnSuccess). */
export function restartsOnSuccess(jobType: JobType, lifecycle: Lifecycle | null): boolean {
  if (jobType === 'batch' || jobType === 'sysbatch') return false;
  if (lifecycle !== null && !lifecycle.sidecar) return false;
  return true;
}

export class RestartTracker {
  private intervalStart: number;
  private count = 0;
  private restarts = 0;

  constructor(
    private policy: RestartPolicy,
    private readonly onSuccess: boolean,
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {
    this.intervalStart = clock.now();
  }

  static forTask(policy: RestartPolicy, jobType: JobType, lifecycle: Lifecycle | null, clock: Clock, rng: Rng): RestartTracker {
    return new RestartTracker(policy, restartsOnSuccess(jobType, lifecycle), clock, rng);
  }

  /** Restarts decided so far (what TaskState.restarts shows). */
  get restartCount(): number {
    return this.restarts;
  }

  /** Attempts counted in the current interval. */
  get attemptsInInterval(): number {
    return this.count;
  }

  /** A job update may change the policy; the count carries over, as in Nomad. */
  setPolicy(policy: RestartPolicy): void {
    this.policy = policy;
  }

  /** The task exited. */
  onExit(exit: TaskExit): RestartDecision {
    const failed = exit.failed ?? (exit.exitCode !== 0 || (exit.signal ?? 0) !== 0);
    if (this.policy.attempts === 0) {
      return failed ? { action: 'fail', reason: ReasonNoRestartsAllowed } : { action: 'done', reason: ReasonNoRestartsAllowed };
    }
    if (!failed && !this.onSuccess) return { action: 'done', reason: ReasonSuccess };
    return this.count_();
  }

  /** The task failed to start; unrecoverable errors are not retried. */
  onStartError(recoverable: boolean): RestartDecision {
    if (!recoverable) return { action: 'fail', reason: ReasonUnrecoverable };
    if (this.policy.attempts === 0) return { action: 'fail', reason: ReasonNoRestartsAllowed };
    return this.count_();
  }

  /** A user asked for a restart: immediate and not counted against the policy. */
  onUserRestart(): RestartDecision {
    this.restarts++;
    return { action: 'restart', delayMs: 0, reason: 'User requested restart' };
  }

  /** The task was killed on purpose (stop, alloc update): no restart. */
  onKilled(): RestartDecision {
    return { action: 'done', reason: 'Task killed' };
  }

  private count_(): RestartDecision {
    const now = this.clock.now();
    // Nomad restarts the interval once now is after its end; at exactly the end a
    // task that waited out the interval (mode delay) would otherwise be delayed again.
    if (now >= this.intervalStart + this.policy.interval) {
      this.count = 0;
      this.intervalStart = now;
    }
    this.count++;
    if (this.count > this.policy.attempts) {
      if (this.policy.mode === 'fail') {
        return { action: 'fail', reason: `Exceeded allowed attempts ${this.policy.attempts} in interval ${this.policy.interval}ms and mode is "fail"` };
      }
      this.restarts++;
      return { action: 'wait', delayMs: Math.max(0, this.intervalStart + this.policy.interval - now), reason: ReasonDelay };
    }
    this.restarts++;
    return { action: 'restart', delayMs: this.jittered(), reason: ReasonWithinPolicy };
  }

  private jittered(): number {
    const d = this.policy.delay;
    if (d <= 0) return 0;
    return d + Math.floor(this.rng.int(d) * RestartJitterFraction);
  }
}
