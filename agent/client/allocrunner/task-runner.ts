/**
 * The task runner, after Nomad's client/allocrunner/taskrunner/task_runner.go: one
 * task through its lifecycle, with its steps as an ordered list of task hooks.
 *
 *   Received → [prestart hooks: task_dir, template, task_env, driver_config, validate]
 *     → driver.start → Started → [poststart hooks: stats] → driver.wait → Terminated
 *     → RestartTracker: restart after delay | wait out the interval | fail | done
 *
 * `prestart` stops at the first hook error (event `Task Hook Failed`; an
 * `invalid_argument` error is unrecoverable, anything else goes to the restart
 * policy, as a failed start does). While a restart is pending the task is `pending`
 * (Nomad sets TaskStatePending with the `Restarting` event); `Not Restarting` marks it
 * dead and failed. A kill (`Killing` → driver.stop with killTimeout/killSignal →
 * `Terminated` → `Killed`) is never restarted and does not fail the task.
 *
 * Every state change goes through `setState`, which appends the event (Nomad keeps
 * the last 10) and calls each hook's `stateChanged`: the `persist` hook writes the
 * driver handle and TaskState atomically to `<dataDir>/client/allocs/<alloc>/<task>.json`,
 * so a restarted client can `restore()`: a running task is reattached through
 * `driver.recover` (when the driver can); a handle that cannot be recovered counts as
 * a failed exit and the restart policy decides.
 */
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, Rng, TimerHandle } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { Allocation, Node, Task, TaskState } from '../../core/structs/index.js';
import type { ExitResult, TaskConfig, TaskDriver, TaskHandle, TaskUsage } from '../drivers/index.js';
import { canRecover, canSignal, canStats } from '../drivers/index.js';
import type { AllocDir, RestartDecision, TaskDirPaths, TaskEnv } from '../taskrunner/index.js';
import type { LogmonHandle } from '../taskrunner/index.js';
import { buildTaskEnv, interpolateConfig, planChanges, templateName, logFifoPath, logFileName, logmonServing, releaseLogmon, retireTaskLogmon, RestartTracker, rotatingOptions, startLogmon, stopLogmon, TaskTemplates } from '../taskrunner/index.js';
import type { PersistedTask } from './persist.js';
import { readPersistedTask, taskStateFile, writeJsonAtomic } from './persist.js';

/** Nomad keeps the most recent task events only. */
export const MaxTaskEvents = 10;

export const TaskEventType = {
  Received: 'Received',
  Setup: 'Task Setup',
  TemplateRendered: 'Template Rendered',
  HookFailed: 'Task Hook Failed',
  DriverFailure: 'Driver Failure',
  Started: 'Started',
  Terminated: 'Terminated',
  Restarting: 'Restarting',
  NotRestarting: 'Not Restarting',
  Killing: 'Killing',
  Killed: 'Killed',
  SiblingFailed: 'Sibling Task Failed',
  LeaderDead: 'Leader Task Dead',
  MainDead: 'Main Tasks Dead',
  Signaling: 'Signaling',
  RestartSignal: 'Restart Signaled',
} as const;

/**
 * A signal name as the drivers take it: upper case with the `SIG` prefix (`usr1`, `USR1` and
 * `SIGUSR1` all give `SIGUSR1`); '' stays '' (the caller picks the default).
 */
export function normalizeSignal(name: string): string {
  const up = name.trim().toUpperCase();
  if (up === '') return '';
  return up.startsWith('SIG') ? up : `SIG${up}`;
}

export interface TaskEvent {
  type: string;
  time: number;
  message: string;
}

/** What the prestart hooks build up for `driver.start`. */
export interface TaskSetup {
  dirs: TaskDirPaths;
  /** Variables from templates with `env = true`. */
  templateEnv: Record<string, string>;
  env: TaskEnv | null;
  /** The driver config after `${...}` interpolation. */
  config: Record<string, unknown>;
}

/** A task hook (Nomad's TaskPrestartHook, TaskPoststartHook, TaskExitedHook, ...). */
export interface TaskHook {
  readonly name: string;
  prestart?(tr: TaskRunner, setup: TaskSetup): Promise<void>;
  poststart?(tr: TaskRunner, handle: TaskHandle): void;
  exited?(tr: TaskRunner, exit: ExitResult): void;
  /** After every state change (event, handle, state). */
  stateChanged?(tr: TaskRunner): void;
  /** The runner is done (task dead, or the runner was shut down). */
  stop?(tr: TaskRunner): void;
  /** The allocation was updated in place (new job version, meta, env): after the runner took it. */
  update?(tr: TaskRunner): Promise<void>;
}

export interface TaskRunnerOptions {
  alloc: Allocation;
  task: Task;
  allocDir: AllocDir;
  /** The driver named by `task.driver`, or undefined when this client has none. */
  driver: TaskDriver | undefined;
  clock: Clock;
  rng: Rng;
  /** The client's data dir; state is persisted under `<dataDir>/client/allocs`. */
  dataDir: string;
  node?: Node;
  /** Resource usage sampling interval (0 = off). Default 1000 ms. */
  statsIntervalMs?: number;
  /** Called after every state change. */
  onStateChange?: (task: string, state: TaskState) => void;
  /** Extra hooks, run after the built-in ones. */
  hooks?: readonly TaskHook[];
  /**
   * Capture the task's output through a logmon process (FIFOs → rotated files that keep
   * rotating while the agent is down). Off: the driver appends to `<task>.stdout.0` itself.
   */
  logmon?: boolean;
}

function emptyState(): TaskState {
  return { state: 'pending', failed: false, restarts: 0, lastRestart: 0, startedAt: 0, finishedAt: 0, events: [] };
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class TaskRunner {
  readonly name: string;
  private alloc: Allocation;
  private task: Task;
  readonly allocDir: AllocDir;
  private readonly driver: TaskDriver | undefined;
  readonly clock: Clock;
  readonly rng: Rng;
  private readonly dataDir: string;
  private readonly node: Node | undefined;
  readonly statsIntervalMs: number;
  private readonly onStateChange: ((task: string, state: TaskState) => void) | undefined;
  private readonly hooks: TaskHook[];
  private readonly tracker: RestartTracker;
  private readonly persistHook: PersistHook;

  private st: TaskState = emptyState();
  private currentHandle: TaskHandle | null = null;
  private restoredHandle: TaskHandle | null = null;
  private restoredLost = false;
  private attempt = 0;
  private logmonHandle: LogmonHandle | null = null;
  /** Read-write fds this runner holds on the task's FIFOs: a writer never blocks or gets EPIPE. */
  private fifoFds: number[] = [];
  private readonly useLogmon: boolean;
  private started = false;
  private finished = false;
  private killRequested = false;
  /** A user restart is under way: the next exit restarts at once, outside the restart policy. */
  private userRestart = false;
  private busyOps = 0;
  private detached = false;
  private wake: (() => void) | null = null;
  private sleepTimer: TimerHandle | null = null;
  private resolveDone!: () => void;
  /** Resolves when the task is dead (or the runner was shut down). */
  readonly done: Promise<void>;
  /** The latest resource usage sample (null before the first, or without a stats-capable driver). */
  latestUsage: TaskUsage | null = null;

  constructor(opts: TaskRunnerOptions) {
    this.name = opts.task.name;
    this.alloc = opts.alloc;
    this.task = opts.task;
    this.allocDir = opts.allocDir;
    this.driver = opts.driver;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.dataDir = opts.dataDir;
    this.node = opts.node;
    this.statsIntervalMs = opts.statsIntervalMs ?? 1000;
    this.useLogmon = opts.logmon ?? false;
    this.onStateChange = opts.onStateChange;
    this.tracker = RestartTracker.forTask(opts.task.restart, opts.alloc.job.type, opts.task.lifecycle, opts.clock, opts.rng);
    this.persistHook = new PersistHook(taskStateFile(opts.dataDir, opts.alloc.id, opts.task.name));
    this.hooks = [
      taskDirHook,
      logmonHook,
      templateHook(),
      taskEnvHook,
      driverConfigHook,
      validateHook,
      statsHook(),
      this.persistHook,
      ...(opts.hooks ?? []),
    ];
    this.done = new Promise((res) => { this.resolveDone = res; });
  }

  // ---- what the alloc runner reads ----

  /** A copy of the task's state. */
  state(): TaskState {
    return { ...this.st, events: this.st.events.map((e) => ({ ...e })) };
  }

  get handle(): TaskHandle | null {
    return this.currentHandle;
  }

  get isLeader(): boolean {
    return this.task.leader;
  }

  get isSidecar(): boolean {
    return this.task.lifecycle?.sidecar ?? false;
  }

  get lifecycleHook(): 'prestart' | 'poststart' | 'poststop' | 'main' {
    return this.task.lifecycle?.hook ?? 'main';
  }

  /** Whether `run()` was called (or the restored state shows the task ran before). */
  get hasStarted(): boolean {
    return this.started;
  }

  get isDead(): boolean {
    return this.st.state === 'dead';
  }

  get driverName(): string {
    return this.task.driver;
  }

  get taskSpec(): Task {
    return this.task;
  }

  get allocation(): Allocation {
    return this.alloc;
  }

  get nodeInfo(): Node | undefined {
    return this.node;
  }

  get taskDriver(): TaskDriver | undefined {
    return this.driver;
  }

  /** Resolves once every state change so far is on disk. */
  async persisted(): Promise<void> {
    await this.persistHook.flush();
  }

  /** Append an event without changing the state (hooks use it). */
  emitEvent(type: string, message: string): void {
    this.setState({}, { type, message });
  }

  /** Record that the task was handed to this client (Nomad's `Received`). */
  received(): void {
    this.emitEvent(TaskEventType.Received, 'Task received by client');
  }

  /**
   * An in-place job update: the new task definition and restart policy apply from the next
   * start; the update hooks run now (templates are re-rendered and their change_mode applied).
   * Hook errors become task events; they do not fail the task.
   */
  async updateAlloc(alloc: Allocation, task: Task): Promise<void> {
    this.alloc = alloc;
    this.task = task;
    this.tracker.setPolicy(task.restart);
    for (const hook of this.hooks) {
      if (hook.update === undefined) continue;
      try {
        await hook.update(this);
      } catch (e) {
        this.emitEvent(TaskEventType.HookFailed, `update hook "${hook.name}" failed: ${errorMessage(e)}`);
      }
    }
  }

  /** Whether the task runs now with a live handle (signals and restarts can reach it). */
  get isRunning(): boolean {
    return !this.finished && !this.killRequested && !this.detached && this.currentHandle !== null && this.st.state === 'running';
  }

  // ---- lifecycle ----

  /** Start the task's lifecycle loop (once). */
  run(): void {
    if (this.started) return;
    this.started = true;
    if (this.st.state === 'dead') {
      this.finish();
      return;
    }
    void this.loop();
  }

  /**
   * Load the persisted state (before `run`). Returns false when nothing was persisted.
   * A task that was running is reattached by `run()`; a dead one stays dead.
   */
  async restore(): Promise<boolean> {
    const p = await readPersistedTask(this.dataDir, this.alloc.id, this.name);
    if (p === undefined) return false;
    this.st = p.state;
    this.attempt = p.attempt;
    this.logmonHandle = p.logmon;
    if (p.state.state === 'running') {
      if (p.handle !== null) this.restoredHandle = p.handle;
      else this.restoredLost = true;
    }
    return true;
  }

  /** Whether the restored state shows a task that had begun running (so lifecycle gates do not apply). */
  get needsReattach(): boolean {
    return this.restoredHandle !== null || this.restoredLost;
  }

  /**
   * Kill the task: `Killing`, then driver.stop with the task's kill timeout and
   * signal. Resolves when the task is dead. `reason` is recorded first (e.g.
   * `Sibling Task Failed`).
   */
  async kill(reason?: { type: string; message: string }): Promise<void> {
    if (this.finished || this.detached) return this.done;
    if (!this.started && this.st.state === 'dead') {
      this.started = true;
      this.finish();
      return this.done;
    }
    if (!this.killRequested) {
      this.killRequested = true;
      if (reason !== undefined) this.emitEvent(reason.type, reason.message);
      this.emitEvent(TaskEventType.Killing, `Sent interrupt. Waiting ${this.task.killTimeout}ms before force killing`);
      if (!this.started && this.restoredHandle !== null) {
        // Restored but never run (an orphan the client is removing): the process an earlier
        // agent started may still be alive, so reattach to it and stop it like any other.
        this.started = true;
        void this.loop();
      } else if (!this.started) {
        this.started = true;
        this.finalize(false, { type: TaskEventType.Killed, message: 'Task killed before it started' });
      } else {
        this.interruptSleep();
        if (this.currentHandle !== null) this.stopHandle(this.currentHandle);
      }
    }
    return this.done;
  }

  /**
   * Send a signal to the running task (Nomad's `alloc signal`): event `Signaling` once the
   * driver has sent it. Refuses a task that is not running and a driver that cannot signal;
   * the driver refuses an unknown signal name.
   */
  async signal(signal: string): Promise<void> {
    const h = this.runningHandle('signalled');
    const d = this.driver!;
    if (!canSignal(d)) throw new NomadError('invalid_argument', `task "${this.name}": driver "${d.name}" cannot send signals to its tasks`, { field: 'task' });
    const sig = normalizeSignal(signal);
    await d.signal(h.taskId, sig);
    this.emitEvent(TaskEventType.Signaling, `Task being sent signal ${sig}`);
  }

  /**
   * Restart the running task in place (Nomad's user restart): event `Restart Signaled`, the task
   * is stopped with its kill signal and timeout, then started again at once; the restart is
   * counted in the task's `restarts` but not against its restart policy. Resolves once the old
   * process has exited. Refuses a task that is not running or is already restarting.
   */
  async restart(message = 'User requested task to restart'): Promise<void> {
    const h = this.runningHandle('restarted');
    if (this.userRestart) throw new NomadError('conflict', `task "${this.name}" is already restarting`, { field: 'task' });
    this.userRestart = true;
    this.emitEvent(TaskEventType.RestartSignal, message);
    try {
      await this.driver!.stop(h.taskId, this.task.killTimeout, this.task.killSignal);
    } catch (e) {
      this.emitEvent(TaskEventType.DriverFailure, `failed to stop task: ${errorMessage(e)}`);
      await this.driver!.destroy(h.taskId).catch(() => undefined);
    }
  }

  /** The handle of the running task, or a `conflict` error saying why there is none. */
  private runningHandle(what: string): TaskHandle {
    const h = this.currentHandle;
    if (this.finished || this.killRequested || this.detached || h === null || this.st.state !== 'running' || this.driver === undefined) {
      const why = this.killRequested && !this.finished ? 'being killed' : `not running (state ${this.st.state})`;
      throw new NomadError('conflict', `task "${this.name}" is ${why}; only a running task can be ${what}`, { field: 'task' });
    }
    return h;
  }

  /** The allocation could not be set up: a task that has not started is dead and failed. */
  failBeforeStart(type: string, message: string): void {
    if (this.started || this.finished) return;
    this.started = true;
    this.finalize(true, { type, message });
  }

  /**
   * Stop managing the task without killing it (the client is shutting down, Nomad's
   * TaskRunner.Shutdown): timers stop, the process keeps running, the persisted
   * state stays for `restore`.
   */
  shutdown(): void {
    if (this.finished) return;
    this.detached = true;
    this.interruptSleep();
    this.finish();
  }

  private stopHandle(h: TaskHandle): void {
    this.driver!.stop(h.taskId, this.task.killTimeout, this.task.killSignal).catch((e: unknown) => {
      this.emitEvent(TaskEventType.DriverFailure, `failed to stop task: ${errorMessage(e)}`);
      void this.driver!.destroy(h.taskId).catch(() => undefined);
    });
  }

  private async loop(): Promise<void> {
    try {
      await this.loopInner();
    } catch (e) {
      // A bug or an unexpected driver error: the task is failed rather than left hanging.
      if (!this.detached && !this.finished) {
        this.finalize(true, { type: TaskEventType.DriverFailure, message: `task runner error: ${errorMessage(e)}` });
      }
    }
  }

  private async loopInner(): Promise<void> {
    let restored = this.restoredHandle;
    let lost = this.restoredLost;
    this.restoredHandle = null;
    this.restoredLost = false;
    for (;;) {
      if (this.detached) return;
      // A restored handle is reattached even under a kill: its process must be stopped too.
      if (this.killRequested && restored === null) break;
      let handle: TaskHandle;
      if (restored !== null || lost) {
        const h = restored;
        restored = null;
        lost = false;
        // Logs keep flowing: the logmon the earlier agent started, or a new one on the same FIFOs.
        if (h !== null) await this.busyWhile(this.ensureLogmon().catch((e: unknown) => this.emitEvent(TaskEventType.DriverFailure, `logmon: ${errorMessage(e)}`)));
        const err = h === null ? 'no driver handle was persisted' : await this.busyWhile(this.reattach(h));
        if (this.detached) return;
        if ((err !== null || h === null) && this.killRequested) break;
        if (err !== null || h === null) {
          this.setState({ state: 'pending' }, { type: TaskEventType.Terminated, message: `Task lost while the client was down: ${err ?? 'unknown'}` }, null);
          const go = await this.apply(this.tracker.onExit({ exitCode: -1, failed: true }));
          if (!go) break;
          continue;
        }
        handle = h;
        this.currentHandle = h;
        if (this.killRequested) this.stopHandle(h);
        for (const hook of this.hooks) hook.poststart?.(this, h);
      } else {
        const setup = await this.busyWhile(this.prestart());
        if (this.detached) return;
        if (setup instanceof Error) {
          const go = await this.apply(this.tracker.onStartError(!(setup instanceof NomadError && setup.code === 'invalid_argument')));
          if (!go) break;
          continue;
        }
        if (this.killRequested) break;
        const started = await this.busyWhile(this.start(setup));
        if (this.detached) {
          if (started !== null) this.currentHandle = started;
          return;
        }
        if (started === null) {
          const go = await this.apply(this.tracker.onStartError(true));
          if (!go) break;
          continue;
        }
        handle = started;
        if (this.killRequested) this.stopHandle(handle);
        for (const hook of this.hooks) hook.poststart?.(this, handle);
      }
      const exit = await this.driver!.wait(handle.taskId);
      if (this.detached) return;
      for (const hook of this.hooks) hook.exited?.(this, exit);
      await this.busyWhile(this.driver!.destroy(handle.taskId).catch(() => undefined));
      const detail = [`Exit Code: ${exit.exitCode}`];
      if (exit.signal !== null) detail.push(`Signal: ${exit.signal}`);
      if (exit.oomKilled) detail.push('OOM Killed');
      if (exit.err !== null) detail.push(`Error: ${exit.err}`);
      this.setState({}, { type: TaskEventType.Terminated, message: detail.join(', ') }, null);
      if (this.killRequested) break;
      const user = this.userRestart;
      this.userRestart = false;
      const go = await this.apply(user ? this.tracker.onUserRestart() : this.tracker.onExit({ exitCode: exit.exitCode, signal: exit.signal === null ? 0 : 1, oomKilled: exit.oomKilled }));
      if (!go) break;
    }
    if (this.detached || this.finished) return;
    // The task is done for good: its output is in the log files before it is reported dead.
    await this.busyWhile(this.drainLogmon());
    if (this.detached || this.finished) return;
    if (this.killRequested) this.finalize(false, { type: TaskEventType.Killed, message: 'Task successfully killed' });
    else this.finalize(this.st.failed, null);
  }

  /**
   * True while the runner awaits work of its own (setup hooks, driver start, recover,
   * destroy) rather than the task, a restart delay or a kill: nothing will happen on
   * a virtual clock until it is false again (tests step time only then).
   */
  get busy(): boolean {
    return this.busyOps > 0;
  }

  private async busyWhile<T>(p: Promise<T>): Promise<T> {
    this.busyOps++;
    try {
      return await p;
    } finally {
      this.busyOps--;
    }
  }

  private async reattach(h: TaskHandle): Promise<string | null> {
    const d = this.driver;
    if (d === undefined) return `driver "${this.task.driver}" is not available on this client`;
    if (!canRecover(d)) return `driver "${d.name}" cannot recover tasks`;
    try {
      await d.recover(h);
      return null;
    } catch (e) {
      return errorMessage(e);
    }
  }

  private async prestart(): Promise<TaskSetup | Error> {
    this.emitEvent(TaskEventType.Setup, 'Building Task Directory');
    const setup: TaskSetup = { dirs: this.allocDir.taskDir(this.name), templateEnv: {}, env: null, config: {} };
    for (const hook of this.hooks) {
      if (hook.prestart === undefined) continue;
      try {
        await hook.prestart(this, setup);
      } catch (e) {
        this.emitEvent(TaskEventType.HookFailed, `prestart hook "${hook.name}" failed: ${errorMessage(e)}`);
        return e instanceof Error ? e : new Error(String(e));
      }
      if (this.detached || this.killRequested) return setup;
    }
    return setup;
  }

  private async start(setup: TaskSetup): Promise<TaskHandle | null> {
    this.attempt++;
    const cfg: TaskConfig = {
      id: `${this.alloc.id}/${this.name}/${this.attempt}`,
      name: this.name,
      allocId: this.alloc.id,
      config: setup.config,
      env: setup.env?.env ?? {},
      dir: setup.dirs.dir,
      stdoutPath: this.logPath('stdout'),
      stderrPath: this.logPath('stderr'),
      user: this.task.user,
      resources: this.task.resources,
    };
    try {
      const h = await this.driver!.start(cfg);
      if (this.detached) return h;
      this.setState({ state: 'running', startedAt: this.clock.now(), finishedAt: 0 }, { type: TaskEventType.Started, message: 'Task started by client' }, h);
      return h;
    } catch (e) {
      this.emitEvent(TaskEventType.DriverFailure, errorMessage(e));
      return null;
    }
  }

  /** Act on a restart decision; true = run the task again. */
  private async apply(d: RestartDecision): Promise<boolean> {
    if (this.killRequested || this.detached) return false;
    if (d.action === 'restart' || d.action === 'wait') {
      const msg = d.action === 'restart' ? `Task restarting in ${d.delayMs}ms` : `${d.reason}: restarting in ${d.delayMs}ms`;
      this.setState(
        { state: 'pending', restarts: this.st.restarts + 1, lastRestart: this.clock.now() },
        { type: TaskEventType.Restarting, message: msg },
      );
      await this.sleep(d.delayMs);
      return !this.killRequested && !this.detached;
    }
    if (d.action === 'fail') {
      this.setState({ failed: true }, { type: TaskEventType.NotRestarting, message: d.reason });
    }
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      this.wake = res;
      this.sleepTimer = this.clock.setTimer(ms, () => {
        this.sleepTimer = null;
        this.wake = null;
        res();
      });
    });
  }

  private interruptSleep(): void {
    this.sleepTimer?.cancel();
    this.sleepTimer = null;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private finalize(failed: boolean, event: { type: string; message: string } | null): void {
    this.setState({ state: 'dead', failed: failed || this.st.failed, finishedAt: this.clock.now() }, event ?? undefined, null);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.releaseFifos();
    // Done for good (not merely detached): logmon drains what is buffered and exits.
    if (!this.detached && this.logmonHandle !== null) stopLogmon(this.allocDir.logDir, this.name, this.logmonHandle, this.logmonDir);
    for (const hook of this.hooks) hook.stop?.(this);
    this.resolveDone();
  }

  /** The one place state changes: patch, event, handle; then every hook's stateChanged. */
  private setState(patch: Partial<TaskState>, event?: { type: string; message: string }, handle?: TaskHandle | null): void {
    if (this.detached) return;
    Object.assign(this.st, patch);
    if (handle !== undefined) this.currentHandle = handle;
    if (event !== undefined) {
      this.st.events.push({ type: event.type, time: this.clock.now(), message: event.message });
      if (this.st.events.length > MaxTaskEvents) this.st.events.splice(0, this.st.events.length - MaxTaskEvents);
    }
    for (const hook of this.hooks) hook.stateChanged?.(this);
    this.onStateChange?.(this.name, this.state());
  }

  /** For the persist hook. */
  snapshot(): PersistedTask {
    return { handle: this.currentHandle, state: this.st, attempt: this.attempt, logmon: this.logmonHandle };
  }

  /** Where the driver writes a stream: the logmon FIFO, or (without logmon) the first log file. */
  private logPath(stream: 'stdout' | 'stderr'): string {
    return this.useLogmon ? logFifoPath(this.allocDir.logDir, this.name, stream) : join(this.allocDir.logDir, logFileName(this.name, stream, 0));
  }

  /** The task's logmon is running (started if it is not), and this runner holds its FIFOs open. */
  async ensureLogmon(): Promise<void> {
    if (!this.useLogmon) return;
    if (this.logmonHandle === null || !logmonServing(this.allocDir.logDir, this.name, this.logmonHandle, this.logmonDir)) {
      // Restored from an agent of the one-logmon-per-task kind: that process goes first.
      if (this.logmonHandle !== null) retireTaskLogmon(this.logmonHandle, this.allocDir.logDir);
      const h = await startLogmon(this.allocDir.logDir, this.name, rotatingOptions(this.task.logs), this.logmonDir);
      const changed = this.logmonHandle === null || this.logmonHandle.pid !== h.pid || this.logmonHandle.startTime !== h.startTime;
      this.logmonHandle = h;
      if (changed) this.persistHook.stateChanged(this);
    }
    if (this.fifoFds.length === 0) {
      const flags = fsConstants.O_RDWR | fsConstants.O_NONBLOCK;
      for (const stream of ['stdout', 'stderr'] as const) this.fifoFds.push(openSync(logFifoPath(this.allocDir.logDir, this.name, stream), flags));
    }
  }

  /** Ask logmon to stop and wait (polling on the clock, at most 5 s) until it has written everything and let the task go. */
  private async drainLogmon(): Promise<void> {
    const h = this.logmonHandle;
    const logDir = this.allocDir.logDir;
    if (h === null || !stopLogmon(logDir, this.name, h, this.logmonDir)) return;
    for (let waited = 0; logmonServing(logDir, this.name, h, this.logmonDir); waited += 20) {
      if (waited >= 5000) {
        releaseLogmon(logDir, this.name, this.logmonDir);
        return;
      }
      await new Promise<void>((res) => this.clock.setTimer(20, res));
    }
  }

  /** The logmon serving this task, if one was started (the client's one logmon process). */
  get logmon(): LogmonHandle | null {
    return this.logmonHandle;
  }

  /** The client's logmon control directory (`<data_dir>/client/logmon`). */
  private get logmonDir(): string {
    return join(this.allocDir.root, 'client', 'logmon');
  }

  private releaseFifos(): void {
    for (const fd of this.fifoFds.splice(0)) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}

// ---- the built-in task hooks, in order ----

/** Builds the task's directories (idempotent). */
const taskDirHook: TaskHook = {
  name: 'task_dir',
  async prestart(tr) {
    await tr.allocDir.build([tr.name]);
  },
};

/** Starts (or finds) the task's logmon before the task starts. */
const logmonHook: TaskHook = {
  name: 'logmon',
  async prestart(tr) {
    await tr.ensureLogmon();
  },
};

function envFor(tr: TaskRunner, setup: TaskSetup): TaskEnv {
  return buildTaskEnv({
    alloc: tr.allocation,
    task: tr.name,
    ...(tr.nodeInfo === undefined ? {} : { node: tr.nodeInfo }),
    paths: { allocDir: tr.allocDir.sharedDir, taskDir: setup.dirs.local, secretsDir: setup.dirs.secrets },
    templateEnv: setup.templateEnv,
  });
}

/**
 * Renders the task's templates before it starts (`env = true` output feeds the environment),
 * and again when the allocation is updated in place while the task runs: a template whose
 * output changed fires its change_mode (Nomad's template hook) — `noop` nothing, `signal` its
 * change_signal (default SIGHUP) to the task, `restart` an in-place restart that does not count
 * against the restart policy (restart wins over signals), after a random wait up to `splay`.
 * `script` is not supported (an event says so).
 */
function templateHook(): TaskHook {
  let templates: TaskTemplates | null = null;
  const current = (tr: TaskRunner): TaskTemplates => {
    const specs = tr.taskSpec.templates;
    if (templates === null || templates.templates !== specs) templates = new TaskTemplates(tr.allocDir, tr.name, specs);
    return templates;
  };
  return {
    name: 'template',
    async prestart(tr, setup) {
      if (tr.taskSpec.templates.length === 0) return;
      const res = await current(tr).render(envFor(tr, setup).vars);
      setup.templateEnv = res.env;
      tr.emitEvent(TaskEventType.TemplateRendered, `Rendered ${res.rendered.length} template(s)`);
    },
    async update(tr) {
      if (tr.taskSpec.templates.length === 0 || !tr.isRunning) return;
      const setup: TaskSetup = { dirs: tr.allocDir.taskDir(tr.name), templateEnv: {}, env: null, config: {} };
      const res = await current(tr).render(envFor(tr, setup).vars);
      // A file rewritten now differs from what the running task was given.
      const changed = res.rendered.filter((r) => r.written).map((r) => r.template);
      if (changed.length === 0) return;
      const plan = planChanges(changed, tr.rng);
      tr.emitEvent(TaskEventType.TemplateRendered, `Re-rendered ${changed.length} changed template(s): ${changed.map(templateName).join(', ')}`);
      for (const t of plan.scripts) tr.emitEvent(TaskEventType.HookFailed, `template "${templateName(t)}": change_mode "script" is not supported`);
      if (!plan.restart && plan.signals.length === 0) return;
      // The action runs on its own (after the splay; a restart waits for the old process):
      // the update itself does not wait for it.
      const act = async (): Promise<void> => {
        if (plan.splayMs > 0) await new Promise<void>((res2) => tr.clock.setTimer(plan.splayMs, res2));
        if (!tr.isRunning) return;
        if (plan.restart) await tr.restart('Template with change_mode restart re-rendered');
        else for (const sig of plan.signals) await tr.signal(sig);
      };
      void act().catch((e: unknown) => tr.emitEvent(TaskEventType.DriverFailure, `template change_mode: ${errorMessage(e)}`));
    },
  };
}

/** The task environment (NOMAD_*, the env block, template env). */
const taskEnvHook: TaskHook = {
  name: 'task_env',
  async prestart(tr, setup) {
    setup.env = envFor(tr, setup);
  },
};

/** `${...}` in the driver config. */
const driverConfigHook: TaskHook = {
  name: 'driver_config',
  async prestart(tr, setup) {
    setup.config = interpolateConfig(tr.taskSpec.config, setup.env!.vars) as Record<string, unknown>;
  },
};

/** The driver exists and accepts the config; problems are unrecoverable. */
const validateHook: TaskHook = {
  name: 'validate',
  async prestart(tr, setup) {
    const d = tr.taskDriver;
    if (d === undefined) {
      throw new NomadError('invalid_argument', `task "${tr.name}": driver "${tr.driverName}" is not available on this client`, { field: 'driver' });
    }
    const errs = d.validateConfig(setup.config);
    if (errs.length > 0) throw new NomadError('invalid_argument', errs.map((e) => e.message).join('; '), { field: 'config' });
  },
};

/** Samples resource usage every statsIntervalMs while the task runs (drivers that can). */
function statsHook(): TaskHook {
  let timer: TimerHandle | null = null;
  let current: string | null = null;
  const stop = (): void => {
    timer?.cancel();
    timer = null;
    current = null;
  };
  return {
    name: 'stats',
    poststart(tr, handle) {
      const d = tr.taskDriver;
      stop();
      if (d === undefined || !canStats(d) || tr.statsIntervalMs <= 0) return;
      const clock = tr.clock;
      current = handle.taskId;
      const id = handle.taskId;
      const tick = (): void => {
        if (current !== id) return;
        d.stats(id).then((u) => {
          if (current === id) tr.latestUsage = u;
        }, () => undefined).finally(() => {
          if (current === id) timer = clock.setTimer(tr.statsIntervalMs, tick);
        });
      };
      timer = clock.setTimer(tr.statsIntervalMs, tick);
    },
    exited: stop,
    stop,
  };
}

/** Writes handle + state after every change; writes are serialised and coalesced. */
class PersistHook implements TaskHook {
  readonly name = 'persist';
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private runner: TaskRunner | null = null;
  /** The last write error, if any (a full disk must not kill the task). */
  lastError: Error | null = null;

  constructor(private readonly path: string) {}

  stateChanged(tr: TaskRunner): void {
    this.runner = tr;
    if (this.queued) return;
    this.queued = true;
    this.chain = this.chain.then(async () => {
      this.queued = false;
      await writeJsonAtomic(this.path, this.runner!.snapshot());
    }).catch((e: unknown) => {
      this.lastError = e instanceof Error ? e : new Error(String(e));
    });
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
