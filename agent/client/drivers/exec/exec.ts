/**
 * exec: runs the task's command isolated (after nomad drivers/exec): its own PID, mount,
 * IPC and UTS namespaces, a chroot of read-only host directories with the allocation
 * directories mounted in, a cgroup with a hard memory limit and a CPU share, no
 * capabilities, as an unprivileged user (`nobody` unless the task sets `user`).
 *
 * Each task is one bubblewrap (`bwrap`) process, a direct child of the agent:
 *
 *   agent ─ bwrap (host namespaces, outside the task's cgroup)
 *             └ init: pid 1 of the task's namespaces; in the task's cgroup
 *                 └ setpriv → the command (pid 2): drops user, groups and capabilities
 *
 * bwrap reports the init's pid on an info pipe and then blocks on a second pipe until
 * the driver has moved the init into the task's cgroup, so the command and everything it
 * forks are born inside the limits. When the command exits, the init exits with its
 * status and the kernel kills whatever else is left in the namespace. bwrap also writes
 * the exit status to a status file in the driver's state directory: a restarted agent,
 * which cannot wait() for a process it did not start, polls /proc for the bwrap pid and
 * then reads the exit status from that file (the handle persists pids, start times,
 * status file and cgroup paths).
 *
 * Signals (kill_signal, `alloc signal`) go to every process of the task's cgroup except
 * the namespace init; the kill after kill_timeout goes to all of them. An exit while the
 * cgroup's OOM-kill counter is non-zero is reported as `oomKilled`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { MultiError, NomadError } from '../../../core/lib/index.js';
import type { Clock, TimerHandle } from '../../../core/lib/index.js';
import type { DriverInfo } from '../../../core/structs/index.js';
import { SystemClock } from '../../../runtime/index.js';
import { detectCgroups, parseTaskCgroup } from '../../cgroups/index.js';
import type { CgroupManager, TaskCgroup } from '../../cgroups/index.js';
// The exec driver is part of the drivers module: it shares the module's internals (config checks, /proc readers, the interface).
// eslint-disable-next-line no-restricted-imports
import { ConfigChecker } from '../config.js';
// eslint-disable-next-line no-restricted-imports
import type { ExitResult, TaskConfig, TaskDriver, TaskHandle, TaskStatus, TaskUsage } from '../driver.js';
// eslint-disable-next-line no-restricted-imports
import { readProcStat } from '../proc.js';
// eslint-disable-next-line no-restricted-imports
import { requireSignal } from '../signals.js';
import {
  DefaultChrootEnv, DefaultTaskPath, InTask, allocSharedDirOf, bwrapArgs, parseChrootEnv, planSandbox, resolveInSandbox, sandboxHostname, setprivArgv,
} from './sandbox.js';
import type { SandboxPlan } from './sandbox.js';

export interface ExecOptions {
  /** Timers for kill escalation and for polling recovered tasks. Default: the wall clock. */
  clock?: Clock;
  /** Host path → in-task path, read-only (Nomad's `chroot_env`). Default: Nomad's set. */
  chrootEnv?: Readonly<Record<string, string>>;
  /** The user a task runs as when it names none. Default `nobody`. */
  defaultUser?: string;
  /** Users a task may not run as (Nomad's client option `user.denylist`; names or uids). Default: root. */
  userDenylist?: readonly string[];
  /** Where status files of running tasks are kept (persist it with the client's data). Default: <tmp>/nomadts-exec. */
  stateDir?: string;
  /** The bubblewrap binary. Default: `bwrap` on the agent's PATH. */
  bwrapPath?: string;
  /** Cgroup manager; default: detected on first use (see agent/client/cgroups). */
  cgroups?: CgroupManager;
  /** Parent of task cgroups (absolute from the hierarchy root) when detecting. */
  cgroupParent?: string;
  /** How often a recovered (non-child) task is checked for exit. Default 1000 ms. */
  pollIntervalMs?: number;
}

const CONFIG_KEYS = ['command', 'args'] as const;
const DRIVER = 'exec';

interface ExecTask {
  cfg: TaskConfig;
  handle: TaskHandle;
  bwrapPid: number;
  bwrapStart: number;
  initPid: number;
  statusFile: string;
  cgroup: TaskCgroup;
  child: ChildProcess | null;
  completedAt: number;
  exit: ExitResult | null;
  exited: Promise<ExitResult>;
  resolveExit: (r: ExitResult) => void;
  poll: TimerHandle | null;
  lastCpu: { at: number; ms: number } | null;
}

/** Client options (`options { ... }` of the client config) that configure the exec driver. */
export const ExecClientOptions = { chrootEnv: 'driver.exec.chroot_env', cgroupParent: 'driver.exec.cgroup_parent', userDenylist: 'user.denylist' } as const;

/**
 * ExecOptions from the client's free-form options: `driver.exec.chroot_env` (comma-separated
 * `host[:in-task]`) and `driver.exec.cgroup_parent`. Throws a validation error naming the option.
 */
export function execOptionsFromClient(options: Readonly<Record<string, string>>, base: ExecOptions = {}): ExecOptions {
  const out: ExecOptions = { ...base };
  const env = options[ExecClientOptions.chrootEnv];
  if (env !== undefined) out.chrootEnv = parseChrootEnv(env, ExecClientOptions.chrootEnv);
  const parent = options[ExecClientOptions.cgroupParent];
  if (parent !== undefined) {
    if (!parent.startsWith('/') || parent.split('/').includes('..')) {
      throw new NomadError('validation', `${ExecClientOptions.cgroupParent} must be an absolute cgroup path without "..", got ${JSON.stringify(parent)}`, { field: ExecClientOptions.cgroupParent });
    }
    out.cgroupParent = parent;
  }
  const deny = options[ExecClientOptions.userDenylist];
  if (deny !== undefined) out.userDenylist = deny.split(',').map((u) => u.trim()).filter((u) => u !== '');
  return out;
}

export class ExecDriver implements TaskDriver {
  readonly name = DRIVER;
  private readonly clock: Clock;
  private readonly chrootEnv: Readonly<Record<string, string>>;
  private readonly defaultUser: string;
  private readonly userDenylist: readonly string[];
  private readonly stateDir: string;
  private readonly bwrapPath: string | undefined;
  private readonly cgroupParent: string | undefined;
  private readonly pollIntervalMs: number;
  private cgroupManager: CgroupManager | undefined;
  private readonly tasks = new Map<string, ExecTask>();

  constructor(opts: ExecOptions = {}) {
    this.clock = opts.clock ?? new SystemClock();
    this.chrootEnv = opts.chrootEnv ?? DefaultChrootEnv;
    this.defaultUser = opts.defaultUser ?? 'nobody';
    this.userDenylist = opts.userDenylist ?? ['root'];
    this.stateDir = opts.stateDir ?? join(tmpdir(), 'nomadts-exec');
    this.bwrapPath = opts.bwrapPath;
    this.cgroupManager = opts.cgroups;
    this.cgroupParent = opts.cgroupParent;
    this.pollIntervalMs = opts.pollIntervalMs ?? 1000;
  }

  async fingerprint(): Promise<DriverInfo> {
    const problem = await this.unavailable();
    if (problem !== null) return { detected: false, healthy: false, healthDescription: problem, attributes: {} };
    const cg = this.cgroups();
    return {
      detected: true,
      healthy: true,
      healthDescription: 'healthy',
      attributes: { 'driver.exec.bwrap': this.bwrap()!, 'driver.exec.cgroup_version': String(cg.version), 'driver.exec.cgroup_parent': cg.parent },
    };
  }

  /** Why the driver cannot run tasks here, or null. Runs one throwaway sandbox to prove namespaces work. */
  private async unavailable(): Promise<string | null> {
    const uid = process.getuid?.() ?? -1;
    if (uid !== 0) return `exec needs the agent to run as root (it runs as uid ${uid})`;
    const bwrap = this.bwrap();
    if (bwrap === undefined) return 'bubblewrap (bwrap) is not installed: install the Debian package "bubblewrap"';
    try {
      this.cgroups().prepare();
    } catch (e) {
      return `cgroups: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (findOnPath('setpriv') === undefined) return 'setpriv (util-linux) is not installed';
    const probe = await new Promise<string | null>((resolve) => {
      const child = spawn(bwrap, ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.once('error', (e) => resolve(e.message));
      child.once('close', (code) => resolve(code === 0 ? null : err.trim() || `exit code ${code}`));
    });
    return probe === null ? null : `cannot create PID/mount/IPC/UTS namespaces with bwrap: ${probe}`;
  }

  validateConfig(config: Record<string, unknown>): NomadError[] {
    const c = new ConfigChecker(this.name, config, CONFIG_KEYS);
    c.string('command', true);
    c.stringArray('args');
    return c.errors;
  }

  async start(cfg: TaskConfig): Promise<TaskHandle> {
    const errors = this.validateConfig(cfg.config);
    if (errors.length > 0) throw errors.length === 1 ? errors[0]! : new MultiError(errors);
    if (this.tasks.has(cfg.id)) throw new NomadError('conflict', `exec: task ${cfg.id} is already running`);
    if (!existsSync(cfg.dir) || !statSync(cfg.dir).isDirectory()) {
      throw new NomadError('invalid_argument', `exec: task directory ${cfg.dir} does not exist`, { field: 'dir' });
    }
    const bwrap = this.bwrap();
    if (bwrap === undefined) throw new NomadError('unavailable', 'exec: bubblewrap (bwrap) is not installed on this client');
    const command = cfg.config['command'] as string;
    const args = (cfg.config['args'] as string[] | undefined) ?? [];
    const userName = cfg.user === '' ? this.defaultUser : cfg.user;
    const { uid, gid } = lookupUser(userName);
    const denied = this.userDenylist.find((u) => u === userName || (/^\d+$/.test(u) ? Number(u) === uid : u === userNameOf(uid)));
    if (denied !== undefined) {
      throw new NomadError('invalid_argument', `exec: user ${JSON.stringify(userName)} is not allowed on this client (client option ${ExecClientOptions.userDenylist} lists ${JSON.stringify(denied)})`, { field: 'user' });
    }

    const shared = allocSharedDirOf(cfg.dir);
    const plan = planSandbox(cfg.dir, existsSync(shared) ? shared : null, this.chrootEnv, existsSync);
    const env = taskEnv(cfg.env);
    const resolved = resolveInSandbox(plan, command, env['PATH'] ?? DefaultTaskPath);
    if (resolved === undefined) {
      throw new NomadError('invalid_argument', `exec: config.command ${JSON.stringify(command)} is not an executable file inside the task's chroot (searched ${command.includes('/') ? 'that path' : `PATH ${env['PATH']}`}; the chroot holds ${chrootSummary(plan)} and the task directory)`, { field: 'config.command' });
    }
    const setpriv = resolveInSandbox(plan, 'setpriv', DefaultTaskPath);
    if (setpriv === undefined) {
      throw new NomadError('unavailable', `exec: setpriv (util-linux) is not inside the task's chroot (${chrootSummary(plan)}): add its directory to the client option ${ExecClientOptions.chrootEnv}`, { field: ExecClientOptions.chrootEnv });
    }

    const cgroups = this.cgroups();
    const cgName = cgroupName(cfg.id);
    const memMB = cfg.resources.memoryMaxMB > 0 ? Math.max(cfg.resources.memoryMaxMB, cfg.resources.memoryMB) : cfg.resources.memoryMB;
    const cgroup = cgroups.create(cgName, {
      memoryBytes: Math.max(0, memMB) * 1024 * 1024,
      memorySoftBytes: cfg.resources.memoryMaxMB > 0 ? Math.max(0, cfg.resources.memoryMB) * 1024 * 1024 : 0,
      cpuShares: Math.max(2, cfg.resources.cpu),
    });
    try {
      return await this.launch(cfg, bwrap, plan, env, [...setprivArgv(setpriv, uid, gid), resolved, ...args], uid, gid, cgroups, cgroup);
    } catch (e) {
      await cgroups.destroy(cgroup).catch(() => undefined);
      rmSync(join(this.stateDir, `${cgName}.status`), { force: true });
      throw e;
    }
  }

  private async launch(
    cfg: TaskConfig, bwrap: string, plan: SandboxPlan, env: Record<string, string>, argv: string[],
    uid: number, gid: number, cgroups: CgroupManager, cgroup: TaskCgroup,
  ): Promise<TaskHandle> {
    // The task's own directories belong to its user (as Nomad's allocdir does for chrooted drivers).
    if (uid !== 0) {
      for (const d of ['local', 'secrets', 'tmp']) {
        const p = join(cfg.dir, d);
        if (existsSync(p)) chownSync(p, uid, gid);
      }
    }
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const statusFile = join(this.stateDir, `${cgroupName(cfg.id)}.status`);
    mkdirSync(dirname(cfg.stdoutPath), { recursive: true });
    mkdirSync(dirname(cfg.stderrPath), { recursive: true });
    const out = openSync(cfg.stdoutPath, 'a');
    const err = openSync(cfg.stderrPath, 'a');
    const status = openSync(statusFile, 'w', 0o600);
    const bargs = bwrapArgs({ plan, hostname: sandboxHostname(cfg.name), env, argv, infoFd: 3, blockFd: 4, statusFd: 5 });
    let child: ChildProcess;
    try {
      child = spawn(bwrap, bargs, { cwd: '/', env: { PATH: process.env['PATH'] ?? DefaultTaskPath }, stdio: ['ignore', out, err, 'pipe', 'pipe', status], detached: true });
    } finally {
      closeSync(out);
      closeSync(err);
      closeSync(status);
    }
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    const early: { exit: { code: number | null; signal: NodeJS.Signals | null } | null } = { exit: null };
    child.once('exit', (code, signal) => {
      const t = this.tasks.get(cfg.id);
      if (t !== undefined && t.child === child) this.finish(t, this.exitResult(code, signal, t.cgroup));
      else early.exit = { code, signal };
    });
    const info = child.stdio[3] as Readable;
    const block = child.stdio[4] as Writable;
    // bwrap may close its ends at any time (it exits, or is done with them): that is not an error.
    info.on('error', () => undefined);
    block.on('error', () => undefined);
    let initPid: number;
    try {
      initPid = await readInitPid(child, info);
      cgroups.addProcess(cgroup, initPid);
    } catch (e) {
      try { child.kill('SIGKILL'); } catch { /* gone */ }
      info.destroy();
      block.destroy();
      const tail = early.exit !== null ? ` (bwrap exited with code ${early.exit.code}; see the task's stderr log ${cfg.stderrPath})` : '';
      throw new NomadError('internal', `exec: cannot start task ${cfg.name}: ${e instanceof Error ? e.message : String(e)}${tail}`);
    }
    // Failures to signal a process that has gone are not errors of the task.
    child.on('error', () => undefined);
    const bwrapPid = child.pid!;
    // Read while bwrap surely lives (it is blocked): a restarted agent tells it from a reused pid by this.
    const bwrapStart = readProcStat(bwrapPid)?.startTime ?? 0;
    // Let the sandbox go on: the init forks the command inside the cgroup. The rest of the
    // info document is drained, not cut off (bwrap would die of SIGPIPE writing it).
    block.end('x');
    info.resume();
    const handle: TaskHandle = {
      taskId: cfg.id,
      driver: this.name,
      config: cfg,
      startedAt: this.clock.now(),
      state: { bwrapPid, bwrapStart, initPid, statusFile, cgroup: JSON.stringify(cgroup) },
    };
    const task: ExecTask = {
      cfg, handle, bwrapPid, bwrapStart, initPid, statusFile, cgroup, child,
      completedAt: 0, exit: null, exited, resolveExit, poll: null, lastCpu: null,
    };
    this.tasks.set(cfg.id, task);
    if (early.exit !== null) this.finish(task, this.exitResult(early.exit.code, early.exit.signal, cgroup));
    return handle;
  }

  async wait(taskId: string): Promise<ExitResult> {
    return this.get(taskId).exited;
  }

  async stop(taskId: string, timeoutMs: number, signal: string): Promise<void> {
    const t = this.get(taskId);
    const sig = requireSignal('exec', signal, 'kill_signal', 'SIGINT');
    if (t.exit !== null) return;
    this.signalTask(t, sig);
    const escalate = this.clock.setTimer(Math.max(0, timeoutMs), () => this.killAll(t));
    try {
      await t.exited;
    } finally {
      escalate.cancel();
    }
  }

  async signal(taskId: string, signal: string): Promise<void> {
    const t = this.get(taskId);
    const sig = requireSignal('exec', signal, 'signal');
    if (t.exit !== null) throw new NomadError('conflict', `exec: task ${taskId} has exited; there is no process to signal`);
    this.signalTask(t, sig);
  }

  async destroy(taskId: string): Promise<void> {
    const t = this.get(taskId);
    if (t.exit === null) {
      this.killAll(t);
      await t.exited;
    }
    t.poll?.cancel();
    await this.cgroups().destroy(t.cgroup);
    rmSync(t.statusFile, { force: true });
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
      driverAttributes: { pid: String(t.bwrapPid), init_pid: String(t.initPid), cgroup: Object.values(t.cgroup.dirs)[0] ?? '' },
    };
  }

  async stats(taskId: string): Promise<TaskUsage> {
    const t = this.get(taskId);
    if (t.exit !== null) throw new NomadError('not_found', `exec: task ${taskId} has exited; no usage to sample`);
    const cg = this.cgroups();
    const u = cg.usage(t.cgroup);
    const pids = cg.procs(t.cgroup).filter((p) => p !== t.initPid).sort((a, b) => a - b);
    const now = this.clock.now();
    let cpuPercent = 0;
    if (t.lastCpu !== null && now > t.lastCpu.at) cpuPercent = Math.max(0, ((u.cpuTotalMs - t.lastCpu.ms) / (now - t.lastCpu.at)) * 100);
    t.lastCpu = { at: now, ms: u.cpuTotalMs };
    return { timestamp: now, pids, rssBytes: u.rssBytes, cpuUserMs: u.cpuUserMs, cpuSystemMs: u.cpuSystemMs, cpuPercent };
  }

  /**
   * Reattaches to a task started by an earlier agent. A task still running is polled until
   * it exits; one that exited meanwhile is recovered as exited with the status bwrap wrote.
   * Refuses a handle whose bwrap is gone without a recorded status, or whose pid was reused.
   */
  async recover(handle: TaskHandle): Promise<void> {
    if (handle.driver !== this.name) throw new NomadError('invalid_argument', `exec: cannot recover a handle of driver ${JSON.stringify(handle.driver)}`);
    if (this.tasks.has(handle.taskId)) return;
    const s = handle.state;
    const bwrapPid = s['bwrapPid'];
    const bwrapStart = s['bwrapStart'];
    const initPid = s['initPid'];
    const statusFile = s['statusFile'];
    const cgroupText = s['cgroup'];
    if (typeof bwrapPid !== 'number' || typeof bwrapStart !== 'number' || typeof initPid !== 'number' || typeof statusFile !== 'string' || typeof cgroupText !== 'string' || bwrapPid <= 0) {
      throw new NomadError('invalid_argument', `exec: cannot recover task ${handle.taskId}: handle has no valid bwrapPid/bwrapStart/initPid/statusFile/cgroup`);
    }
    const cgroup = parseTaskCgroup(cgroupText);
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    const task: ExecTask = {
      cfg: handle.config, handle, bwrapPid, bwrapStart, initPid, statusFile, cgroup, child: null,
      completedAt: 0, exit: null, exited, resolveExit, poll: null, lastCpu: null,
    };
    const alive = (): boolean => {
      const st = readProcStat(bwrapPid);
      return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTime === bwrapStart;
    };
    if (!alive()) {
      const code = readStatusExit(statusFile);
      if (code === undefined) {
        throw new NomadError('not_found', `exec: cannot recover task ${handle.taskId}: process ${bwrapPid} is gone and ${statusFile} records no exit status`);
      }
      this.tasks.set(handle.taskId, task);
      this.finish(task, this.exitResult(code, null, cgroup));
      return;
    }
    this.tasks.set(handle.taskId, task);
    const check = (): void => {
      if (alive()) {
        task.poll = this.clock.setTimer(this.pollIntervalMs, check);
        return;
      }
      const code = readStatusExit(statusFile);
      this.finish(task, code === undefined
        ? { exitCode: -1, signal: null, oomKilled: this.oomKilled(cgroup), err: `exit status unknown: ${statusFile} records none` }
        : this.exitResult(code, null, cgroup));
    };
    task.poll = this.clock.setTimer(this.pollIntervalMs, check);
  }

  private exitResult(code: number | null, signal: NodeJS.Signals | null, cgroup: TaskCgroup): ExitResult {
    const oomKilled = this.oomKilled(cgroup);
    if (signal !== null) {
      const n = osConstants.signals[signal] as number | undefined;
      return { exitCode: n === undefined ? -1 : 128 + n, signal, oomKilled, err: null };
    }
    const c = code ?? -1;
    // bwrap's init reports a command killed by signal N as 128 + N (as a shell does).
    const byNumber = c > 128 ? signalName(c - 128) : null;
    return { exitCode: c, signal: byNumber, oomKilled, err: null };
  }

  private oomKilled(cgroup: TaskCgroup): boolean {
    try {
      return this.cgroups().oomKills(cgroup) > 0;
    } catch {
      return false;
    }
  }

  private finish(t: ExecTask, result: ExitResult): void {
    if (t.exit !== null) return;
    t.exit = result;
    t.completedAt = this.clock.now();
    t.poll?.cancel();
    t.poll = null;
    // Nothing the task forked outlives it (the namespace is gone with its init; this is for safety).
    this.killAll(t);
    t.resolveExit(result);
  }

  /** `signal` to every task process except the namespace's init (which forwards nothing). */
  private signalTask(t: ExecTask, signal: NodeJS.Signals): void {
    for (const p of this.cgroups().procs(t.cgroup)) {
      if (p === t.initPid) continue;
      try { process.kill(p, signal); } catch { /* gone */ }
    }
  }

  private killAll(t: ExecTask): void {
    // SIGKILL to the init takes down the whole PID namespace.
    const st = readProcStat(t.initPid);
    if (st !== undefined && st.ppid === t.bwrapPid) {
      try { process.kill(t.initPid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const p of this.cgroups().procs(t.cgroup)) {
      try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  private get(taskId: string): ExecTask {
    const t = this.tasks.get(taskId);
    if (t === undefined) throw new NomadError('not_found', `exec: no task ${JSON.stringify(taskId)}`);
    return t;
  }

  private cgroups(): CgroupManager {
    this.cgroupManager ??= detectCgroups(this.cgroupParent !== undefined ? { parent: this.cgroupParent } : {});
    return this.cgroupManager;
  }

  private bwrap(): string | undefined {
    if (this.bwrapPath !== undefined) return existsSync(this.bwrapPath) ? this.bwrapPath : undefined;
    return findOnPath('bwrap');
  }
}

/** The task's environment inside the chroot: directory variables point at the in-task paths. */
function taskEnv(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { PATH: DefaultTaskPath, ...env };
  if (out['NOMAD_ALLOC_DIR'] !== undefined) out['NOMAD_ALLOC_DIR'] = InTask.alloc;
  if (out['NOMAD_TASK_DIR'] !== undefined) out['NOMAD_TASK_DIR'] = InTask.local;
  if (out['NOMAD_SECRETS_DIR'] !== undefined) out['NOMAD_SECRETS_DIR'] = InTask.secrets;
  return out;
}

/** A cgroup / file name from a task id (`<alloc>/<task>/<attempt>` → `<alloc>.<task>.<attempt>`). */
function cgroupName(taskId: string): string {
  return taskId.replace(/\//g, '.').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

function chrootSummary(plan: SandboxPlan): string {
  const ro = plan.mounts.filter((m) => m.readOnly).map((m) => m.dest);
  return ro.length === 0 ? 'no host directories' : ro.join(', ');
}

/** Reads bwrap's info JSON (`{"child-pid": N, ...}`) from its info pipe. */
function readInitPid(child: ChildProcess, info: Readable): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let text = '';
    const done = (e: Error | null, pid?: number): void => {
      info.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (e !== null) reject(e);
      else resolve(pid!);
    };
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (m !== null) done(null, Number(m[1]));
    };
    const onExit = (code: number | null, signal: string | null): void => done(new Error(`bwrap exited before the sandbox was ready (code ${code}, signal ${signal})`));
    const onError = (e: Error): void => done(new Error(`cannot run bwrap: ${e.message}`));
    info.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** The exit code bwrap recorded in its JSON status file (`{"exit-code": N}`), if any. */
export function readStatusExit(statusFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(statusFile, 'utf8');
  } catch {
    return undefined;
  }
  const m = /"exit-code"\s*:\s*(-?\d+)/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? DefaultTaskPath).split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}


function signalName(n: number): NodeJS.Signals | null {
  for (const [name, num] of Object.entries(osConstants.signals)) {
    if (num === n) return name as NodeJS.Signals;
  }
  return null;
}

/** The passwd name of `uid`, or undefined. */
function userNameOf(uid: number): string | undefined {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[2] === String(uid) && f[0] !== undefined) return f[0];
  }
  return undefined;
}

/** A user name (from the host's /etc/passwd, which the default chroot shares) or a numeric uid to {uid, gid}. */
function lookupUser(user: string): { uid: number; gid: number } {
  const numeric = /^\d+$/.test(user);
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // fall through to not found
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if ((numeric ? f[2] === user : f[0] === user) && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  // A numeric uid without a passwd entry runs with the group of the same number.
  if (numeric) return { uid: Number(user), gid: Number(user) };
  throw new NomadError('invalid_argument', `exec: user ${JSON.stringify(user)} does not exist on this host`, { field: 'user' });
}
