/**
 * The mock driver, for tests of everything above drivers (task runner, alloc runner,
 * client). It runs nothing: a task "runs" on the injected Clock, so with a VirtualClock
 * every outcome is deterministic. Config (after nomad drivers/mock):
 *   run_for        duration; exits with `exit_code` after it (absent = runs until stopped)
 *   exit_code      integer exit code at the end of run_for (default 0)
 *   start_error    start fails with this message
 *   kill_after     duration the task takes to exit after the stop signal; if longer than
 *                  the stop timeout, it is killed (SIGKILL) at the timeout instead
 *   stdout_string  written to the task's stdout file at start
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants as osConstants } from 'node:os';
import { MultiError, NomadError } from '../../core/lib/index.js';
import type { Clock, TimerHandle } from '../../core/lib/index.js';
import type { DriverInfo } from '../../core/structs/index.js';
import { ConfigChecker } from './config.js';
import type { ExitResult, TaskConfig, TaskDriver, TaskHandle, TaskStatus, TaskUsage } from './driver.js';

export interface MockDriverOptions {
  clock: Clock;
  /** Driver name (default `mock`), so a test can register several. */
  name?: string;
  /** Fingerprint health (default healthy). */
  healthy?: boolean;
}

const CONFIG_KEYS = ['run_for', 'exit_code', 'start_error', 'kill_after', 'stdout_string'] as const;

interface MockConfig {
  runFor: number | undefined;
  exitCode: number;
  startError: string | undefined;
  killAfter: number | undefined;
  stdoutString: string | undefined;
}

interface MockTask {
  cfg: TaskConfig;
  mc: MockConfig;
  handle: TaskHandle;
  exit: ExitResult | null;
  completedAt: number;
  exited: Promise<ExitResult>;
  resolveExit: (r: ExitResult) => void;
  timer: TimerHandle | null;
  stopping: boolean;
  /** Signals received through `signal` (they do not end a mock task). */
  signals: string[];
}

export class MockDriver implements TaskDriver {
  readonly name: string;
  private readonly clock: Clock;
  private healthy: boolean;
  private readonly tasks = new Map<string, MockTask>();

  constructor(opts: MockDriverOptions) {
    this.clock = opts.clock;
    this.name = opts.name ?? 'mock';
    this.healthy = opts.healthy ?? true;
  }

  /** Flip fingerprint health (tests of driver health changes). */
  setHealthy(healthy: boolean): void {
    this.healthy = healthy;
  }

  async fingerprint(): Promise<DriverInfo> {
    return this.healthy
      ? { detected: true, healthy: true, healthDescription: 'healthy', attributes: { 'driver.mock.version': '1' } }
      : { detected: true, healthy: false, healthDescription: 'unhealthy (set by test)', attributes: { 'driver.mock.version': '1' } };
  }

  validateConfig(config: Record<string, unknown>): NomadError[] {
    return this.parse(config).errors;
  }

  async start(cfg: TaskConfig): Promise<TaskHandle> {
    const { mc, errors } = this.parse(cfg.config);
    if (errors.length > 0) throw errors.length === 1 ? errors[0]! : new MultiError(errors);
    if (mc.startError !== undefined) throw new NomadError('internal', `mock: ${mc.startError}`);
    if (this.tasks.has(cfg.id)) throw new NomadError('conflict', `mock: task ${cfg.id} is already running`);
    const handle: TaskHandle = { taskId: cfg.id, driver: this.name, config: cfg, startedAt: this.clock.now(), state: {} };
    if (mc.stdoutString !== undefined && cfg.stdoutPath !== '') {
      mkdirSync(dirname(cfg.stdoutPath), { recursive: true });
      appendFileSync(cfg.stdoutPath, mc.stdoutString);
    }
    this.launch(cfg, mc, handle, mc.runFor);
    return handle;
  }

  async wait(taskId: string): Promise<ExitResult> {
    return this.get(taskId).exited;
  }

  async stop(taskId: string, timeoutMs: number, signal: string): Promise<void> {
    const t = this.get(taskId);
    if (t.exit !== null) return;
    const sig = signal === '' ? 'SIGINT' : signal;
    if (!Object.prototype.hasOwnProperty.call(osConstants.signals, sig)) {
      throw new NomadError('invalid_argument', `mock: unknown kill signal ${JSON.stringify(signal)}`, { field: 'kill_signal' });
    }
    if (!t.stopping) {
      t.stopping = true;
      t.timer?.cancel();
      const after = t.mc.killAfter ?? 0;
      t.timer = after <= timeoutMs
        ? this.clock.setTimer(after, () => this.finish(t, bySignal(sig)))
        : this.clock.setTimer(Math.max(0, timeoutMs), () => this.finish(t, bySignal('SIGKILL')));
    }
    await t.exited;
  }

  /** Records the signal; a mock task does not react to it. */
  async signal(taskId: string, signal: string): Promise<void> {
    const t = this.get(taskId);
    if (!Object.prototype.hasOwnProperty.call(osConstants.signals, signal)) {
      throw new NomadError('invalid_argument', `mock: unknown signal ${JSON.stringify(signal)}`, { field: 'signal' });
    }
    if (t.exit !== null) throw new NomadError('conflict', `mock: task ${taskId} has exited; there is no process to signal`);
    t.signals.push(signal);
  }

  /** The signals a task received through `signal`, oldest first. */
  signalsReceived(taskId: string): readonly string[] {
    return [...this.get(taskId).signals];
  }

  async destroy(taskId: string): Promise<void> {
    const t = this.get(taskId);
    if (t.exit === null) this.finish(t, bySignal('SIGKILL'));
    this.tasks.delete(taskId);
  }

  inspect(taskId: string): TaskStatus {
    const t = this.get(taskId);
    return {
      id: t.cfg.id,
      name: t.cfg.name,
      state: t.exit === null ? 'running' : 'exited',
      startedAt: t.handle.startedAt,
      completedAt: t.completedAt,
      exitResult: t.exit,
      driverAttributes: {},
    };
  }

  async stats(taskId: string): Promise<TaskUsage> {
    const t = this.get(taskId);
    if (t.exit !== null) throw new NomadError('not_found', `mock: task ${taskId} has exited; no usage to sample`);
    return { timestamp: this.clock.now(), pids: [], rssBytes: t.cfg.resources.memoryMB * 1024 * 1024, cpuUserMs: 0, cpuSystemMs: 0, cpuPercent: 0 };
  }

  /** Re-creates a task from its handle; `run_for` still counts from the original start. */
  async recover(handle: TaskHandle): Promise<void> {
    if (handle.driver !== this.name) throw new NomadError('invalid_argument', `${this.name}: cannot recover a handle of driver ${JSON.stringify(handle.driver)}`);
    if (this.tasks.has(handle.taskId)) return;
    const { mc, errors } = this.parse(handle.config.config);
    if (errors.length > 0) throw errors[0]!;
    const left = mc.runFor === undefined ? undefined : Math.max(0, handle.startedAt + mc.runFor - this.clock.now());
    this.launch(handle.config, mc, handle, left);
  }

  private launch(cfg: TaskConfig, mc: MockConfig, handle: TaskHandle, runFor: number | undefined): void {
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    const task: MockTask = { cfg, mc, handle, exit: null, completedAt: 0, exited, resolveExit, timer: null, stopping: false, signals: [] };
    this.tasks.set(cfg.id, task);
    if (runFor !== undefined) {
      task.timer = this.clock.setTimer(runFor, () => this.finish(task, { exitCode: mc.exitCode, signal: null, oomKilled: false, err: null }));
    }
  }

  private finish(t: MockTask, result: ExitResult): void {
    if (t.exit !== null) return;
    t.timer?.cancel();
    t.timer = null;
    t.exit = result;
    t.completedAt = this.clock.now();
    t.resolveExit(result);
  }

  private get(taskId: string): MockTask {
    const t = this.tasks.get(taskId);
    if (t === undefined) throw new NomadError('not_found', `${this.name}: no task ${JSON.stringify(taskId)}`);
    return t;
  }

  private parse(config: Record<string, unknown>): { mc: MockConfig; errors: NomadError[] } {
    const c = new ConfigChecker(this.name, config, CONFIG_KEYS);
    const mc: MockConfig = {
      runFor: c.duration('run_for'),
      exitCode: c.integer('exit_code') ?? 0,
      startError: c.string('start_error', false),
      killAfter: c.duration('kill_after'),
      stdoutString: c.string('stdout_string', false),
    };
    return { mc, errors: c.errors };
  }
}

function bySignal(signal: string): ExitResult {
  const n = (osConstants.signals as Record<string, number | undefined>)[signal];
  return { exitCode: n === undefined ? -1 : 128 + n, signal, oomKilled: false, err: null };
}
