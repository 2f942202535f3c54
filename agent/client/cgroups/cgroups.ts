/**
 * Linux control groups for isolated tasks (after nomad client/lib/cgroupslib): one cgroup
 * per task, with a hard memory limit, a CPU share (v1 `cpu.shares`) or weight (v2
 * `cpu.weight`), usage counters and the out-of-memory kill counter.
 *
 * Both hierarchies are supported behind one interface. `detectCgroups` reads
 * /proc/self/mountinfo: a v1 hierarchy with the `memory` controller wins (this is what
 * hybrid hosts use for limits); otherwise a cgroup2 mount whose root offers `memory` and
 * `cpu`. Every path is derived from a root given at construction, so the v2 writes are
 * unit-tested against a temporary directory standing in for /sys/fs/cgroup.
 *
 * Where task cgroups live (the parent):
 * - v1: `<the agent's own cgroup in that hierarchy>/nomadts`, so tasks stay inside whatever
 *   limits the agent itself runs under;
 * - v2: `/nomadts.slice` under the root, because v2 forbids enabling controllers for the
 *   children of a cgroup that holds processes (the agent's own).
 * A client option may name another parent (absolute, from the hierarchy root).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';

export type CgroupVersion = 1 | 2;

export interface CgroupLimits {
  /** Hard limit in bytes (0 = none). */
  memoryBytes: number;
  /** Soft limit/reservation in bytes, used when it is below the hard limit (0 = none). */
  memorySoftBytes: number;
  /** CPU in Nomad's MHz units, written as v1 shares (minimum 2) or a v2 weight. */
  cpuShares: number;
}

/** One task's cgroup: on v1 a directory per controller, on v2 a single directory. JSON-safe. */
export interface TaskCgroup {
  version: CgroupVersion;
  /** v1: controller name → directory; v2: `{ unified: dir }`. */
  dirs: Record<string, string>;
}

export interface CgroupUsage {
  /** Resident anonymous memory of the cgroup (v1 `total_rss`, v2 `anon`). */
  rssBytes: number;
  /** Everything charged to the cgroup, page cache included. */
  memoryBytes: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Total CPU time (the precise counter: v1 `cpuacct.usage`, v2 `usage_usec`). */
  cpuTotalMs: number;
}

export interface CgroupManager {
  readonly version: CgroupVersion;
  /** Where task cgroups are created (for messages and fingerprint attributes). */
  readonly parent: string;
  /** Creates the parent and enables its controllers (what `create` needs); throws a clear error when it cannot. */
  prepare(): void;
  /** Creates (or reuses) the cgroup `name` and writes its limits. */
  create(name: string, limits: CgroupLimits): TaskCgroup;
  /** Moves process `pid` into the cgroup (its later children are born there). */
  addProcess(cg: TaskCgroup, pid: number): void;
  /** Pids in the cgroup (empty once every process has gone, or the cgroup was removed). */
  procs(cg: TaskCgroup): number[];
  /** How many times the kernel's OOM killer has killed a process of this cgroup. */
  oomKills(cg: TaskCgroup): number;
  usage(cg: TaskCgroup): CgroupUsage;
  /** Kills what is left in the cgroup and removes it (idempotent). */
  destroy(cg: TaskCgroup): Promise<void>;
}

/** Linux's USER_HZ: cpuacct.stat counts in these ticks. */
const USER_HZ = 100;

/** v1 `cpu.shares` → v2 `cpu.weight`, the conversion runc and Nomad use. */
export function sharesToWeight(shares: number): number {
  const s = Math.max(2, Math.min(262144, Math.round(shares)));
  return Math.max(1, Math.min(10000, 1 + Math.floor(((s - 2) * 9999) / 262142)));
}

/** A cgroup name must be one path segment. */
function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new NomadError('invalid_argument', `cgroup name ${JSON.stringify(name)} must be one path segment`);
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(path: string): number {
  const t = readText(path);
  const n = t === undefined ? NaN : Number(t.trim());
  return Number.isFinite(n) ? n : 0;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events, memory.oom_control). */
export function readKeyed(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (readText(path) ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k !== undefined && k !== '' && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

function readProcs(dir: string): number[] {
  const t = readText(join(dir, 'cgroup.procs'));
  if (t === undefined) return [];
  return t.split('\n').filter((l) => /^\d+$/.test(l.trim())).map(Number);
}

function write(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (e) {
    throw new NomadError('internal', `cgroups: cannot write ${JSON.stringify(value)} to ${join(dir, file)}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** SIGKILL every process of a cgroup directory, wait (≤ ~2 s) for it to empty, then remove it. */
async function killAndRemove(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (let i = 0; i < 100; i++) {
    const pids = readProcs(dir);
    if (pids.length === 0) break;
    for (const p of pids) {
      try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < 50; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // A regular directory standing in for cgroupfs (tests) holds ordinary files.
      if (code === 'ENOTEMPTY') {
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      // EBUSY: the kernel has not finished tearing down the last process yet.
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new NomadError('internal', `cgroups: cannot remove ${dir}: it still holds processes`);
}

/** Removes an empty parent directory left behind (best effort: another task may still use it). */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // busy or not empty: still in use
  }
}

export interface CgroupsV1Options {
  /** Controller → mount point of its v1 hierarchy (`memory` and `cpu` required; `cpuacct` for CPU usage). */
  mounts: Record<string, string>;
  /** Controller → parent path from the hierarchy root (e.g. `/process_api/x/nomadts`). */
  parents: Record<string, string>;
}

/** cgroup v1: one directory per controller hierarchy. */
export class CgroupsV1 implements CgroupManager {
  readonly version = 1 as const;
  readonly parent: string;
  private readonly controllers: string[];

  constructor(private readonly opts: CgroupsV1Options) {
    for (const c of ['memory', 'cpu']) {
      if (opts.mounts[c] === undefined) throw new NomadError('unavailable', `cgroups v1: the ${c} controller is not mounted`);
    }
    this.controllers = ['memory', 'cpu', 'cpuacct'].filter((c) => opts.mounts[c] !== undefined);
    this.parent = opts.parents['memory'] ?? '/nomadts';
  }

  private parentDir(c: string): string {
    return join(this.opts.mounts[c]!, this.opts.parents[c] ?? '/nomadts');
  }

  /** v1 needs nothing enabled: check the hierarchies are real (the parent is made by `create`, removed when empty). */
  prepare(): void {
    for (const c of this.controllers) {
      const mount = this.opts.mounts[c]!;
      if (!existsSync(join(mount, 'cgroup.procs'))) throw new NomadError('unavailable', `cgroups v1: ${mount} (${c}) is not a cgroup hierarchy`);
    }
  }

  create(name: string, limits: CgroupLimits): TaskCgroup {
    checkName(name);
    const dirs: Record<string, string> = {};
    for (const c of this.controllers) {
      const dir = join(this.parentDir(c), name);
      mkdirSync(dir, { recursive: true });
      dirs[c] = dir;
    }
    const mem = dirs['memory']!;
    if (limits.memoryBytes > 0) {
      write(mem, 'memory.limit_in_bytes', String(limits.memoryBytes));
      // Swap may not be used to exceed the hard limit (memsw counts memory + swap).
      if (existsSync(join(mem, 'memory.memsw.limit_in_bytes'))) write(mem, 'memory.memsw.limit_in_bytes', String(limits.memoryBytes));
      if (limits.memorySoftBytes > 0 && limits.memorySoftBytes < limits.memoryBytes) {
        write(mem, 'memory.soft_limit_in_bytes', String(limits.memorySoftBytes));
      }
    }
    write(dirs['cpu']!, 'cpu.shares', String(Math.max(2, Math.round(limits.cpuShares))));
    return { version: 1, dirs };
  }

  addProcess(cg: TaskCgroup, pid: number): void {
    // The memory hierarchy last: a process is never charged to a memory cgroup before it has its CPU share.
    const order = Object.keys(cg.dirs).sort((a, b) => (a === 'memory' ? 1 : b === 'memory' ? -1 : 0));
    for (const c of order) write(cg.dirs[c]!, 'cgroup.procs', String(pid));
  }

  procs(cg: TaskCgroup): number[] {
    const mem = cg.dirs['memory'];
    return mem === undefined ? [] : readProcs(mem);
  }

  oomKills(cg: TaskCgroup): number {
    const mem = cg.dirs['memory'];
    return mem === undefined ? 0 : (readKeyed(join(mem, 'memory.oom_control')).get('oom_kill') ?? 0);
  }

  usage(cg: TaskCgroup): CgroupUsage {
    const mem = cg.dirs['memory'] ?? '';
    const stat = readKeyed(join(mem, 'memory.stat'));
    const acct = cg.dirs['cpuacct'];
    const cpuStat = acct === undefined ? new Map<string, number>() : readKeyed(join(acct, 'cpuacct.stat'));
    const user = ((cpuStat.get('user') ?? 0) * 1000) / USER_HZ;
    const sys = ((cpuStat.get('system') ?? 0) * 1000) / USER_HZ;
    const total = acct === undefined ? user + sys : readNumber(join(acct, 'cpuacct.usage')) / 1e6;
    return {
      rssBytes: stat.get('total_rss') ?? stat.get('rss') ?? 0,
      memoryBytes: readNumber(join(mem, 'memory.usage_in_bytes')),
      cpuUserMs: user,
      cpuSystemMs: sys,
      cpuTotalMs: total,
    };
  }

  async destroy(cg: TaskCgroup): Promise<void> {
    // Kill through the memory hierarchy (every task process is there), then remove all.
    const mem = cg.dirs['memory'];
    if (mem !== undefined) await killAndRemove(mem);
    for (const [c, dir] of Object.entries(cg.dirs)) {
      if (c !== 'memory') await killAndRemove(dir);
    }
    // The parents the task was created under (a restarted agent may have another parent).
    for (const dir of Object.values(cg.dirs)) removeIfEmpty(dirname(dir));
  }
}

export interface CgroupsV2Options {
  /** Mount point of the unified hierarchy (normally /sys/fs/cgroup). */
  root: string;
  /** Parent path from the root. Default `/nomadts.slice`. */
  parent?: string;
}

/** cgroup v2: one unified directory; controllers are enabled down the path via cgroup.subtree_control. */
export class CgroupsV2 implements CgroupManager {
  readonly version = 2 as const;
  readonly parent: string;

  constructor(private readonly opts: CgroupsV2Options) {
    this.parent = opts.parent ?? '/nomadts.slice';
  }

  prepare(): void {
    const parentDir = join(this.opts.root, this.parent);
    mkdirSync(parentDir, { recursive: true });
    // Enable memory and cpu for the children of every cgroup from the root to the parent.
    const segments = this.parent.split('/').filter((s) => s !== '');
    let at = this.opts.root;
    for (let i = 0; i <= segments.length; i++) {
      this.enableControllers(at);
      if (i < segments.length) at = join(at, segments[i]!);
    }
  }

  create(name: string, limits: CgroupLimits): TaskCgroup {
    checkName(name);
    this.prepare();
    const dir = join(this.opts.root, this.parent, name);
    mkdirSync(dir, { recursive: true });
    if (limits.memoryBytes > 0) {
      write(dir, 'memory.max', String(limits.memoryBytes));
      if (limits.memorySoftBytes > 0 && limits.memorySoftBytes < limits.memoryBytes) write(dir, 'memory.low', String(limits.memorySoftBytes));
      if (existsSync(join(dir, 'memory.swap.max'))) write(dir, 'memory.swap.max', '0');
    }
    write(dir, 'cpu.weight', String(sharesToWeight(limits.cpuShares)));
    return { version: 2, dirs: { unified: dir } };
  }

  private enableControllers(dir: string): void {
    const available = (readText(join(dir, 'cgroup.controllers')) ?? '').split(/\s+/);
    const enabled = new Set((readText(join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/).filter((s) => s !== ''));
    const want = ['memory', 'cpu'].filter((c) => !enabled.has(c));
    for (const c of want) {
      if (!available.includes(c)) throw new NomadError('unavailable', `cgroups v2: the ${c} controller is not available in ${dir}`);
    }
    if (want.length === 0) return;
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const hint = code === 'EBUSY'
        ? ': it holds processes, and v2 gives controllers only to the children of a cgroup without processes (a container\'s root cgroup?): move them into a leaf cgroup, or name another parent with the client option driver.exec.cgroup_parent'
        : '';
      throw new NomadError('unavailable', `cgroups v2: cannot enable ${want.join(', ')} for the children of ${dir} (${code ?? String(e)})${hint}`);
    }
  }

  addProcess(cg: TaskCgroup, pid: number): void {
    write(this.dir(cg), 'cgroup.procs', String(pid));
  }

  procs(cg: TaskCgroup): number[] {
    return readProcs(this.dir(cg));
  }

  oomKills(cg: TaskCgroup): number {
    return readKeyed(join(this.dir(cg), 'memory.events')).get('oom_kill') ?? 0;
  }

  usage(cg: TaskCgroup): CgroupUsage {
    const dir = this.dir(cg);
    const stat = readKeyed(join(dir, 'memory.stat'));
    const cpu = readKeyed(join(dir, 'cpu.stat'));
    return {
      rssBytes: stat.get('anon') ?? 0,
      memoryBytes: readNumber(join(dir, 'memory.current')),
      cpuUserMs: (cpu.get('user_usec') ?? 0) / 1000,
      cpuSystemMs: (cpu.get('system_usec') ?? 0) / 1000,
      cpuTotalMs: (cpu.get('usage_usec') ?? 0) / 1000,
    };
  }

  async destroy(cg: TaskCgroup): Promise<void> {
    const dir = cg.dirs['unified'];
    if (dir === undefined) return;
    // cgroup.kill (Linux 5.14+) kills the whole subtree atomically; fall back to per-pid kills.
    if (existsSync(join(dir, 'cgroup.kill')) && readProcs(dir).length > 0) {
      try { writeFileSync(join(dir, 'cgroup.kill'), '1'); } catch { /* older kernel or fake root */ }
    }
    await killAndRemove(dir);
    removeIfEmpty(dirname(dir));
  }

  private dir(cg: TaskCgroup): string {
    const d = cg.dirs['unified'];
    if (d === undefined) throw new NomadError('invalid_argument', 'cgroups v2: task cgroup has no unified directory');
    return d;
  }
}

/** A manager for a task cgroup persisted by an earlier agent (the paths are absolute). */
export function parseTaskCgroup(text: string): TaskCgroup {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new NomadError('invalid_argument', `cgroups: persisted cgroup ${JSON.stringify(text)} is not JSON`);
  }
  const o = v as Partial<TaskCgroup> | null;
  if (o === null || typeof o !== 'object' || (o.version !== 1 && o.version !== 2) || typeof o.dirs !== 'object' || o.dirs === null
    || !Object.values(o.dirs).every((d) => typeof d === 'string' && d.startsWith('/'))) {
    throw new NomadError('invalid_argument', `cgroups: persisted cgroup ${JSON.stringify(text)} is not {version, dirs}`);
  }
  return { version: o.version, dirs: { ...o.dirs } };
}

export interface DetectOptions {
  /** Text of /proc/self/mountinfo (default: read it). */
  mountinfo?: string;
  /** Text of /proc/self/cgroup (default: read it). */
  selfCgroup?: string;
  /** Parent for task cgroups, absolute from the hierarchy root (default: see the module comment). */
  parent?: string;
}

interface Mount { point: string; root: string; fstype: string; superOpts: string[] }

function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const root = left[3];
    const point = left[4];
    if (root === undefined || point === undefined) continue;
    out.push({ point: unescapeMount(point), root: unescapeMount(root), fstype: right[0] ?? '', superOpts: (right[2] ?? '').split(',') });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The agent's own cgroup path per v1 controller (and `''` for v2) from /proc/self/cgroup. */
function parseSelfCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (m === null) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}

/**
 * The cgroup manager for this host, or a NomadError saying why there is none (no memory
 * or cpu controller, not mounted, ...). Reads /proc unless given the texts.
 */
export function detectCgroups(opts: DetectOptions = {}): CgroupManager {
  const mountinfo = opts.mountinfo ?? readText('/proc/self/mountinfo') ?? '';
  const selfCg = parseSelfCgroup(opts.selfCgroup ?? readText('/proc/self/cgroup') ?? '');
  const mounts = parseMountinfo(mountinfo);
  const v1: Record<string, string> = {};
  const parents: Record<string, string> = {};
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    for (const c of ['memory', 'cpu', 'cpuacct']) {
      if (!m.superOpts.includes(c) || v1[c] !== undefined) continue;
      v1[c] = m.point;
      if (opts.parent !== undefined) {
        parents[c] = opts.parent;
      } else {
        // The agent's own cgroup, seen from this mount's root (a cgroup namespace may hide a prefix).
        const own = selfCg.get(c) ?? '/';
        const rel = m.root !== '/' && own.startsWith(m.root) ? own.slice(m.root.length) : own;
        parents[c] = join('/', rel, 'nomadts');
      }
    }
  }
  if (v1['memory'] !== undefined) {
    if (v1['cpu'] === undefined) throw new NomadError('unavailable', 'cgroups v1: the memory controller is mounted but cpu is not');
    return new CgroupsV1({ mounts: v1, parents });
  }
  for (const m of mounts) {
    if (m.fstype !== 'cgroup2') continue;
    const controllers = (readText(join(m.point, 'cgroup.controllers')) ?? '').split(/\s+/);
    if (controllers.includes('memory') && controllers.includes('cpu')) {
      return new CgroupsV2({ root: m.point, ...(opts.parent !== undefined ? { parent: opts.parent } : {}) });
    }
  }
  throw new NomadError('unavailable', 'no cgroup hierarchy with the memory and cpu controllers is mounted (neither v1 nor v2)');
}

/** Lists a parent's task cgroups (names), for diagnostics and tests. */
export function listChildren(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
