/**
 * raw_exec: runs the task's command as a plain child process, with no isolation
 * (after nomad drivers/rawexec). The process leads its own process group, so a stop
 * signals the task and everything it forked; when the leader exits, what is left of
 * the group is killed. Off unless the client enables it (`driver.raw_exec.enable`).
 *
 * The command runs under a tiny `/bin/sh` supervisor (the group leader, Nomad's executor in
 * miniature): it waits for the command and writes its exit status to a file before it exits,
 * so an agent that was down when the task ended still learns how it ended. The supervisor
 * traps the catchable signals (a trap, unlike an ignored signal, is reset in the command), so
 * a stop's signal to the group reaches the command and the supervisor stays to record the
 * exit. As in a shell, a command killed by signal N reports exit code 128+N and that signal.
 *
 * A handle records pid, process group, the kernel's start time of the pid and the exit-status
 * file, so a restarted agent can reattach (`recover`) without starting a second copy, refuses
 * a pid that has since been reused by an unrelated process, and reads the exit status of a
 * task that ended while the agent was down.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { MultiError, NomadError } from '../../core/lib/index.js';
import { requireSignal } from './signals.js';
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

/**
 * The supervisor: `sh -c SUPERVISOR nomadts-raw-exec <exit file> <command> <args...>`. It runs
 * the command in the foreground (a trapped signal waits until the command is done), then
 * records `$?` and exits with it.
 */
const SUPERVISOR = 'f=$1; shift; trap : HUP INT QUIT TERM USR1 USR2 ALRM; "$@"; s=$?; echo "$s" > "$f"; exit "$s"';

/** Where the supervisor of task `cfg` records the exit status (next to its logs, hidden). */
export function exitStatusFile(cfg: TaskConfig): string {
  return join(dirname(cfg.stdoutPath), `.${cfg.id.replace(/[^\w.-]/g, '_')}.exit`);
}

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

    const env = this.taskEnv(cfg.env);
    const executable = resolveCommand(command, cfg.dir, env['PATH'] ?? '');

    mkdirSync(dirname(cfg.stdoutPath), { recursive: true });
    mkdirSync(dirname(cfg.stderrPath), { recursive: true });
    const exitFile = exitStatusFile(cfg);
    rmSync(exitFile, { force: true });
    const out = openSync(cfg.stdoutPath, 'a');
    const err = openSync(cfg.stderrPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', SUPERVISOR, 'nomadts-raw-exec', exitFile, executable, ...args], { cwd: cfg.dir, env, stdio: ['ignore', out, err], detached: true, ...ids });
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
      state: { pid, pgid: pid, startTime, exitFile },
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
    const sig = requireSignal('raw_exec', signal, 'kill_signal', 'SIGINT');
    if (t.exit !== null) return;
    await this.untilCommandStarted(t);
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
    const sig = requireSignal('raw_exec', signal, 'signal');
    if (t.exit !== null) throw new NomadError('conflict', `raw_exec: task ${taskId} has exited; there is no process to signal`);
    await this.untilCommandStarted(t);
    signalGroup(t.pgid, sig);
  }

  async destroy(taskId: string): Promise<void> {
    const t = this.get(taskId);
    if (t.exit === null) {
      signalGroup(t.pgid, 'SIGKILL');
      await t.exited;
    }
    t.poll?.cancel();
    this.tasks.delete(taskId);
    const exitFile = t.handle.state['exitFile'];
    if (typeof exitFile === 'string') rmSync(exitFile, { force: true });
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

  /**
   * Reattach to a task started by an earlier agent. A live process is watched (polled) until
   * it exits; a process that ended while the agent was down is taken as exited with the status
   * its supervisor recorded. Refused: a handle of another driver or without a pid, a pid now
   * used by another process, and a gone process that left no exit status.
   */
  async recover(handle: TaskHandle): Promise<void> {
    if (handle.driver !== this.name) {
      throw new NomadError('invalid_argument', `raw_exec: cannot recover a handle of driver ${JSON.stringify(handle.driver)}`);
    }
    if (this.tasks.has(handle.taskId)) return;
    const pid = handle.state['pid'];
    const pgid = handle.state['pgid'] ?? pid;
    const startTime = handle.state['startTime'];
    const exitFile = handle.state['exitFile'];
    if (typeof pid !== 'number' || typeof pgid !== 'number' || typeof startTime !== 'number' || !Number.isInteger(pid) || pid <= 0) {
      throw new NomadError('invalid_argument', `raw_exec: cannot recover task ${handle.taskId}: handle has no valid pid/pgid/startTime`);
    }
    const readExit = (): ExitResult | undefined => (typeof exitFile === 'string' ? readExitStatus(exitFile) : undefined);
    const stat = readProcStat(pid);
    const alive = stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
    let exitedEarly: ExitResult | undefined;
    if (!alive || stat.startTime !== startTime) {
      exitedEarly = readExit();
      if (exitedEarly === undefined && alive) {
        throw new NomadError('conflict', `raw_exec: cannot recover task ${handle.taskId}: pid ${pid} now belongs to another process (started at tick ${stat.startTime}, handle says ${startTime})`);
      }
      if (exitedEarly === undefined) {
        throw new NomadError('not_found', `raw_exec: cannot recover task ${handle.taskId}: process ${pid} is gone and left no exit status`);
      }
    }
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    const task: RawTask = { cfg: handle.config, handle, pid, pgid, child: null, completedAt: 0, exit: null, exited, resolveExit, poll: null, lastCpu: null };
    this.tasks.set(handle.taskId, task);
    if (exitedEarly !== undefined) {
      this.finish(task, exitedEarly);
      return;
    }
    const check = (): void => {
      const now = readProcStat(pid);
      if (now !== undefined && now.state !== 'Z' && now.state !== 'X' && now.startTime === startTime) {
        task.poll = this.clock.setTimer(this.pollIntervalMs, check);
        return;
      }
      this.finish(task, readExit() ?? { exitCode: -1, signal: null, oomKilled: false, err: 'exit status unknown: the task was recovered after an agent restart and its supervisor recorded none' });
    };
    task.poll = this.clock.setTimer(this.pollIntervalMs, check);
  }

  /**
   * A signal sent in the instant between the supervisor's start and the command's exec would
   * be taken by the supervisor's trap and never reach the command: wait (polling, at most 1 s)
   * until the command runs in the group, or the task has exited.
   */
  private async untilCommandStarted(t: RawTask): Promise<void> {
    // Until the command is exec'd, the forked child still runs the supervisor (same cmdline, traps).
    const own = cmdline(t.pid);
    for (let waited = 0; waited < 1000 && t.exit === null; waited += 5) {
      if (processGroupMembers(t.pgid).some((m) => m.pid !== t.pid && cmdline(m.pid) !== own)) return;
      await new Promise<void>((res) => this.clock.setTimer(5, res));
    }
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

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
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
  return fromShellStatus(code ?? -1);
}

/** A status as a shell reports it: 128+N is the command killed by signal N. */
function fromShellStatus(status: number): ExitResult {
  if (status > 128 && status < 128 + 65) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === status - 128)?.[0];
    if (name !== undefined) return { exitCode: status, signal: name, oomKilled: false, err: null };
  }
  return { exitCode: status, signal: null, oomKilled: false, err: null };
}

/** The exit status the supervisor recorded, or undefined when there is none (yet). */
export function readExitStatus(path: string): ExitResult | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (!/^\d+$/.test(text)) return undefined;
  return fromShellStatus(Number(text));
}

/**
 * The executable `command` names, as a shell would find it: a path (relative to the task
 * dir) when it has a slash, else the first executable in the task's PATH. Refused with the
 * reason (ENOENT, EACCES) against `config.command`.
 */
function resolveCommand(command: string, dir: string, path: string): string {
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : resolve(dir, command)]
    : path.split(delimiter).filter((p) => p !== '').map((p) => resolve(dir, p, command));
  let why = 'ENOENT: no such file in the task\'s PATH';
  for (const c of candidates) {
    try {
      if (!statSync(c).isFile()) continue;
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES') why = `EACCES: ${c} is not executable`;
      else if (command.includes('/')) why = `ENOENT: ${c} does not exist`;
    }
  }
  throw new NomadError('invalid_argument', `raw_exec: cannot start ${JSON.stringify(command)}: ${why}`, { field: 'config.command' });
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

