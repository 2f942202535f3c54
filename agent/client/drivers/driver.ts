/**
 * The task driver interface (after nomad plugins/drivers/driver.go): every driver
 * fingerprints itself, starts a task from a TaskConfig, waits for it, stops it with a
 * signal and a grace period, destroys it, and reports its status. Stats and recovery
 * after an agent restart are optional capabilities, tested for with `canStats` /
 * `canRecover` rather than assumed.
 */
import type { DriverInfo, Resources } from '../../core/structs/index.js';
import type { NomadError } from '../../core/lib/index.js';

export type { DriverInfo };

/** Everything a driver needs to run one task. */
export interface TaskConfig {
  /** Unique per task run (e.g. `<allocId>/<taskName>/<attempt>`). */
  id: string;
  name: string;
  allocId: string;
  /** The task's `config { ... }` block, as the job spec carries it; each driver validates its own. */
  config: Record<string, unknown>;
  /** The complete environment of the task (the agent's own environment is not inherited). */
  env: Record<string, string>;
  /** The task directory: the working directory of the process. */
  dir: string;
  /** Log files; output is appended. */
  stdoutPath: string;
  stderrPath: string;
  /** Run as this user ('' = the agent's user). */
  user: string;
  resources: Resources;
}

/**
 * What a driver hands back from `start`, and what the client persists so that a
 * restarted agent can `recover` the task instead of starting a second copy.
 * `state` is driver-specific and must survive JSON round-trips.
 */
export interface TaskHandle {
  taskId: string;
  driver: string;
  config: TaskConfig;
  /** Wall-clock ms when the task started. */
  startedAt: number;
  state: Record<string, string | number | boolean>;
}

export interface ExitResult {
  /** Process exit code; 128 + signal number when killed by a signal; -1 when unknown. */
  exitCode: number;
  /** Name of the signal that ended the task (e.g. `SIGKILL`), or null. */
  signal: string | null;
  oomKilled: boolean;
  /** Why the driver could not observe a normal exit (e.g. a recovered process), or null. */
  err: string | null;
}

export type TaskState = 'running' | 'exited';

export interface TaskStatus {
  id: string;
  name: string;
  state: TaskState;
  startedAt: number;
  /** 0 while running. */
  completedAt: number;
  exitResult: ExitResult | null;
  driverAttributes: Record<string, string>;
}

export interface TaskUsage {
  /** Wall-clock ms of the sample. */
  timestamp: number;
  /** The task's processes that were sampled (the leader first). */
  pids: number[];
  rssBytes: number;
  /** Cumulative CPU time of the sampled processes. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Share of one core since the previous sample (0 on the first), in percent. */
  cpuPercent: number;
}

export interface TaskDriver {
  readonly name: string;
  /** Presence and health of the driver on this host. */
  fingerprint(): Promise<DriverInfo>;
  /** Problems with a task's `config` block, each naming its field (empty = valid). */
  validateConfig(config: Record<string, unknown>): NomadError[];
  start(cfg: TaskConfig): Promise<TaskHandle>;
  /** Resolves once the task has exited (immediately when it already has). */
  wait(taskId: string): Promise<ExitResult>;
  /** Sends `signal`, then kills after `timeoutMs`; resolves once the task has exited. */
  stop(taskId: string, timeoutMs: number, signal: string): Promise<void>;
  /** Kills the task if it still runs and forgets it. */
  destroy(taskId: string): Promise<void>;
  inspect(taskId: string): TaskStatus;
  stats?(taskId: string): Promise<TaskUsage>;
  /** Reattaches to a task started by an earlier agent; refuses a handle whose process is gone. */
  recover?(handle: TaskHandle): Promise<void>;
  /**
   * Sends `signal` (a name such as `SIGUSR1`) to the running task without stopping it (Nomad's
   * SignalTask); refuses an unknown signal (`invalid_argument`) and an exited task.
   */
  signal?(taskId: string, signal: string): Promise<void>;
}

export type StatsDriver = TaskDriver & Required<Pick<TaskDriver, 'stats'>>;
export type RecoverableDriver = TaskDriver & Required<Pick<TaskDriver, 'recover'>>;
export type SignalDriver = TaskDriver & Required<Pick<TaskDriver, 'signal'>>;

export function canStats(d: TaskDriver): d is StatsDriver {
  return typeof d.stats === 'function';
}

export function canRecover(d: TaskDriver): d is RecoverableDriver {
  return typeof d.recover === 'function';
}

export function canSignal(d: TaskDriver): d is SignalDriver {
  return typeof d.signal === 'function';
}
