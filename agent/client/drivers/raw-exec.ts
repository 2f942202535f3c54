/**
 * raw_exec: runs the task's command as a plain child process, with no isolation
 * (after nomad drivers/rawexec). The process leads its own process group, so a stop
 * signals the task and everything it forked; when the leader exits, what is left of
 * the group is killed. Off unless the client enables it (`driver.raw_exec.enable`).
 *
 * A handle records pid, process group and the kernel's start time of the pid, so a
 * restarted agent can reattach (`recover`) without starting a second copy, and refuses
 * a pid that has since died or been reused by an unrelated process.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { MultiError, NomadError } from '../../core/lib/index.js';
import type { Clock, TimerHandle } from '../../core/lib/index.js';
import type { DriverInfo } from '../../core/structs/index.js';
import { SystemClock } from '../../runtime/index.js';
import { ConfigChecker } from './config.js';
import type { ExitResult, TaskConfig, TaskDriver, TaskHandle, TaskStatus, TaskUsage } from './driver.js';
import { CLOCK_TICKS_PER_SECOND, processGroupMembers, readProcStat, readRssBytes } from './proc.js';

export interface RawExecOptions {
  /** Nomad's `driver.raw_exec.enable`: off by default on a client, on in dev mode. */
  enabled: boolean;
  /** Timers for kill escalation and for polling recovered processes. Default: the wall clock. */
  clock?: Clock;
  /** Agent environment variables a task gets when it does not set them itself. Default: PATH only. */
  inheritEnv?: readonly string[];
  /** How often a recovered (non-child) process is checked for exit. Default 1000 ms. */
  pollIntervalMs?: number;
}

const CONFIG_KEYS = ['command', 'args'] as const;

interface RawTask {
  cfg: TaskConfig;
  handle: TaskHandle;
  pid: number;
  pgid: number;
  child: ChildProcess | null;
  completedAt: number;
  exit: ExitResult | null;
  exited: Promise<ExitResult>;
  resolveExit: (r: ExitResult) => void;
  poll: TimerHandle | null;
  lastCpu: { at: number; ticks: number } | null;
}

export class RawExecDriver implements TaskDriver {
  readonly name = 'raw_exec';
  private readonly enabled: boolean;
  private readonly clock: Clock;
  private readonly inheritEnv: readonly string[];
  private readonly pollIntervalMs: number;
  private readonly tasks = new Map<string, RawTask>();

  constructor(opts: RawExecOptions) {
    this.enabled = opts.enabled;
    this.clock = opts.clock ?? new SystemClock();
    this.inheritEnv = opts.inheritEnv ?? ['PATH'];
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
  }

  async fingerprint(): Promise<DriverInfo> {
    if (!this.enabled) {
      return { detected: true, healthy: false, healthDescription: 'disabled', attributes: {} };
    }
    return { detected: true, healthy: true, healthDescription: 'healthy', attributes: {} };
  }

  validateConfig(config: Record<string, unknown>): NomadError[] {
    const c = new ConfigChecker(this.name, config, CONFIG_KEYS);
    c.string('command', true);
    c.stringArray('args');
    return c.errors;
  }

  async start(cfg: TaskConfig): Promise<TaskHandle> {
    if (!this.enabled) {
      throw new NomadError('invalid_argument', `raw_exec is disabled on this client: enable it with client options "driver.raw_exec.enable" = "1" (task "${cfg.name}")`);
    }
    const errors = this.validateConfig(cfg.config);
    if (errors.length > 0) throw errors.length === 1 ? errors[0]! : new MultiError(errors);
    if (this.tasks.has(cfg.id)) throw new NomadError('conflict', `raw_exec: task ${cfg.id} is already running`);
    if (!existsSync(cfg.dir) || !statSync(cfg.dir).isDirectory()) {
      throw new NomadError('invalid_argument', `raw_exec: task directory ${cfg.dir} does not exist`, { field: 'dir' });
    }
    const command = cfg.config['command'] as string;
    const args = (cfg.config['args'] as string[] | undefined) ?? [];
    const ids = cfg.user === '' ? {} : lookupUser(cfg.user);

    mkdirSync(dirname(cfg.stdoutPath), { recursive: true });
    mkdirSync(dirname(cfg.stderrPath), { recursive: true });
    const out = openSync(cfg.stdoutPath, 'a');
    const err = openSync(cfg.stderrPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { cwd: cfg.dir, env: this.taskEnv(cfg.env), stdio: ['ignore', out, err], detached: true, ...ids });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    // The exit may be seen before the task is registered below (a very short command).
    const early: { exit: ExitResult | null } = { exit: null };
    child.once('exit', (code, signal) => {
      const result = toExitResult(code, signal);
      const t = this.tasks.get(cfg.id);
      if (t !== undefined && t.child === child) this.finish(t, result);
      else early.exit = result;
    });
    try {
      await new Promise<void>((res, rej) => {
        child.once('spawn', () => res());
        child.once('error', rej);
      });
    } catch (e) {
      throw new NomadError('invalid_argument', `raw_exec: cannot start ${JSON.stringify(command)}: ${e instanceof Error ? e.message : String(e)}`, { field: 'config.command' });
    }
    const pid = child.pid!;
    const startTime = readProcStat(pid)?.startTime ?? 0;
    const handle: TaskHandle = {
      taskId: cfg.id,
      driver: this.name,
      config: cfg,
      startedAt: this.clock.now(),
      state: { pid, pgid: pid, startTime },
    };
    const task: RawTask = { cfg, handle, pid, pgid: pid, child, completedAt: 0, exit: null, exited, resolveExit, poll: null, lastCpu: null };
    this.tasks.set(cfg.id, task);
    if (early.exit !== null) this.finish(task, early.exit);
    return handle;
  }

  async wait(taskId: string): Promise<ExitResult> {
    return this.get(taskId).exited;
  }

  async stop(taskId: string, timeoutMs: number, signal: string): Promise<void> {
    const t = this.get(taskId);
    const sig = signal === '' ? 'SIGINT' : signal;
    if (!isSignal(sig)) throw new NomadError('invalid_argument', `raw_exec: unknown kill signal ${JSON.stringify(signal)}`, { field: 'kill_signal' });
    if (t.exit !== null) return;
    signalGroup(t.pgid, sig);
    const escalate = this.clock.setTimer(Math.max(0, timeoutMs), () => signalGroup(t.pgid, 'SIGKILL'));
    try {
      await t.exited;
    } finally {
      escalate.cancel();
    }
  }

  async signal(taskId: string, signal: string): Promise<void> {
    const t = this.get(taskId);
    if (!isSignal(signal)) throw new NomadError('invalid_argument', `raw_exec: unknown signal ${JSON.stringify(signal)}`, { field: 'signal' });
    if (t.exit !== null) throw new NomadError('conflict', `raw_exec: task ${taskId} has exited; there is no process to signal`);
    signalGroup(t.pgid, signal);
  }

  async destroy(taskId: string): Promise<void> {
    const t = this.get(taskId);
    if (t.exit === null) {
      signalGroup(t.pgid, 'SIGKILL');
      await t.exited;
    }
    t.poll?.cancel();
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
      driverAttributes: { pid: String(t.pid) },
    };
  }

  async stats(taskId: string): Promise<TaskUsage> {
    const t = this.get(taskId);
    if (t.exit !== null) throw new NomadError('not_found', `raw_exec: task ${taskId} has exited; no usage to sample`);
    const members = processGroupMembers(t.pgid);
    members.sort((a, b) => (a.pid === t.pid ? -1 : b.pid === t.pid ? 1 : a.pid - b.pid));
    let rss = 0;
    let user = 0;
    let sys = 0;
    const pids: number[] = [];
    for (const m of members) {
      const r = readRssBytes(m.pid);
      if (r === undefined) continue;
      pids.push(m.pid);
      rss += r;
      user += m.utime;
      sys += m.stime;
    }
    const now = this.clock.now();
    const ticks = user + sys;
    let cpuPercent = 0;
    if (t.lastCpu !== null && now > t.lastCpu.at) {
      const usedMs = ((ticks - t.lastCpu.ticks) * 1000) / CLOCK_TICKS_PER_SECOND;
      cpuPercent = Math.max(0, (usedMs / (now - t.lastCpu.at)) * 100);
    }
    t.lastCpu = { at: now, ticks };
    const toMs = (n: number): number => (n * 1000) / CLOCK_TICKS_PER_SECOND;
    return { timestamp: now, pids, rssBytes: rss, cpuUserMs: toMs(user), cpuSystemMs: toMs(sys), cpuPercent };
  }

  async recover(handle: TaskHandle): Promise<void> {
    if (handle.driver !== this.name) {
      throw new NomadError('invalid_argument', `raw_exec: cannot recover a handle of driver ${JSON.stringify(handle.driver)}`);
    }
    if (this.tasks.has(handle.taskId)) return;
    const pid = handle.state['pid'];
    const pgid = handle.state['pgid'] ?? pid;
    const startTime = handle.state['startTime'];
    if (typeof pid !== 'number' || typeof pgid !== 'number' || typeof startTime !== 'number' || !Number.isInteger(pid) || pid <= 0) {
      throw new NomadError('invalid_argument', `raw_exec: cannot recover task ${handle.taskId}: handle has no valid pid/pgid/startTime`);
    }
    const stat = readProcStat(pid);
    if (stat === undefined || stat.state === 'Z' || stat.state === 'X') {
      throw new NomadError('not_found', `raw_exec: cannot recover task ${handle.taskId}: process ${pid} is gone`);
    }
    if (stat.startTime !== startTime) {
      throw new NomadError('conflict', `raw_exec: cannot recover task ${handle.taskId}: pid ${pid} now belongs to another process (started at tick ${stat.startTime}, handle says ${startTime})`);
    }
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    const task: RawTask = { cfg: handle.config, handle, pid, pgid, child: null, completedAt: 0, exit: null, exited, resolveExit, poll: null, lastCpu: null };
    this.tasks.set(handle.taskId, task);
    const check = (): void => {
      const now = readProcStat(pid);
      if (now !== undefined && now.state !== 'Z' && now.state !== 'X' && now.startTime === startTime) {
        task.poll = this.clock.setTimer(this.pollIntervalMs, check);
        return;
      }
      this.finish(task, { exitCode: -1, signal: null, oomKilled: false, err: 'exit status unknown: the task was recovered after an agent restart and is not a child of this agent' });
    };
    task.poll = this.clock.setTimer(this.pollIntervalMs, check);
  }

  private finish(t: RawTask, result: ExitResult): void {
    if (t.exit !== null) return;
    t.exit = result;
    t.completedAt = this.clock.now();
    t.poll?.cancel();
    t.poll = null;
    // The task is its process group: nothing it forked outlives it.
    signalGroup(t.pgid, 'SIGKILL');
    t.resolveExit(result);
  }

  private get(taskId: string): RawTask {
    const t = this.tasks.get(taskId);
    if (t === undefined) throw new NomadError('not_found', `raw_exec: no task ${JSON.stringify(taskId)}`);
    return t;
  }

  private taskEnv(env: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of this.inheritEnv) {
      const v = process.env[name];
      if (v !== undefined) out[name] = v;
    }
    return { ...out, ...env };
  }
}

function isSignal(name: string): name is NodeJS.Signals {
  return Object.prototype.hasOwnProperty.call(osConstants.signals, name);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

function toExitResult(code: number | null, signal: NodeJS.Signals | null): ExitResult {
  if (signal !== null) {
    const n = osConstants.signals[signal] as number | undefined;
    return { exitCode: n === undefined ? -1 : 128 + n, signal, oomKilled: false, err: null };
  }
  return { exitCode: code ?? -1, signal: null, oomKilled: false, err: null };
}

/** A user name (from /etc/passwd) or a numeric uid to {uid, gid}. */
function lookupUser(user: string): { uid: number; gid: number } {
  if (/^\d+$/.test(user)) return { uid: Number(user), gid: Number(user) };
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // fall through to not found
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new NomadError('invalid_argument', `raw_exec: user ${JSON.stringify(user)} does not exist on this host`, { field: 'user' });
}

