/**
 * The allocation directory, laid out as Nomad's client/allocdir does:
 *
 *   <dataDir>/alloc/<allocId>/
 *     alloc/{data,logs,tmp}        shared by every task of the allocation
 *     <task>/{local,secrets,tmp}   one per task; secrets is 0700
 *
 * Every path a job spec names (template source/destination, artifact destination)
 * is resolved through `taskPath`, which refuses anything that leaves the
 * allocation directory: `..` segments, absolute paths, and symlinks whose real
 * target lies outside (checked with realpath on the longest existing prefix, so a
 * destination that does not exist yet is still checked through its parents).
 */
import { chmod, lstat, mkdir, realpath, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { NomadError } from '../../core/lib/index.js';

export const SharedAllocName = 'alloc';
export const SharedDirs = ['data', 'logs', 'tmp'] as const;
export const TaskLocalDir = 'local';
export const TaskSecretsDir = 'secrets';
export const TaskTmpDir = 'tmp';

/** Host paths of one task's directories. */
export interface TaskDirPaths {
  /** `<allocDir>/<task>` (the task's working directory). */
  dir: string;
  local: string;
  secrets: string;
  tmp: string;
}

/** Where a resolved path must stay: the whole allocation directory or one task's directory. */
export type PathScope = 'alloc' | 'task';

export class AllocDir {
  /** The client's data dir (`<dataDir>`). */
  readonly root: string;
  /** `<dataDir>/alloc/<allocId>` */
  readonly allocDir: string;
  /** `<allocDir>/alloc` (shared between tasks) */
  readonly sharedDir: string;
  readonly dataDir: string;
  readonly logDir: string;
  readonly sharedTmpDir: string;

  constructor(dataDir: string, readonly allocId: string) {
    checkName('allocation id', allocId);
    this.root = resolve(dataDir);
    this.allocDir = resolve(dataDir, 'alloc', allocId);
    this.sharedDir = join(this.allocDir, SharedAllocName);
    this.dataDir = join(this.sharedDir, 'data');
    this.logDir = join(this.sharedDir, 'logs');
    this.sharedTmpDir = join(this.sharedDir, 'tmp');
  }

  /** Host paths of `task`'s directories (they exist after `build`). */
  taskDir(task: string): TaskDirPaths {
    checkName('task name', task);
    const dir = join(this.allocDir, task);
    return { dir, local: join(dir, TaskLocalDir), secrets: join(dir, TaskSecretsDir), tmp: join(dir, TaskTmpDir) };
  }

  /**
   * Create the shared directory and one directory per task. Idempotent: a client
   * that restarts rebuilds over what is there (modes are re-applied).
   */
  async build(tasks: readonly string[]): Promise<void> {
    await mkdirMode(this.allocDir, 0o755);
    await mkdirMode(this.sharedDir, 0o755);
    await mkdirMode(this.dataDir, 0o777);
    await mkdirMode(this.logDir, 0o777);
    await mkdirMode(this.sharedTmpDir, 0o1777);
    for (const task of tasks) {
      const d = this.taskDir(task);
      await mkdirMode(d.dir, 0o755);
      await mkdirMode(d.local, 0o777);
      await mkdirMode(d.secrets, 0o700);
      await mkdirMode(d.tmp, 0o1777);
    }
  }

  /** Remove the allocation directory and everything in it. */
  async destroy(): Promise<void> {
    await rm(this.allocDir, { recursive: true, force: true });
  }

  /**
   * Resolve `rel` (relative to the task directory) to a host path, refusing paths
   * that escape the allocation directory (scope `alloc`, the default) or the task
   * directory (scope `task`).
   */
  async taskPath(task: string, rel: string, scope: PathScope = 'alloc'): Promise<string> {
    const base = this.taskDir(task).dir;
    const root = scope === 'task' ? base : this.allocDir;
    const what = scope === 'task' ? `the task directory of "${task}"` : 'the allocation directory';
    if (rel.includes('\0')) throw escapeError(rel, what, 'it contains a NUL byte');
    if (isAbsolute(rel)) throw escapeError(rel, what, 'absolute paths are not allowed');
    const target = resolve(base, rel);
    if (!inside(root, target)) throw escapeError(rel, what, 'it leaves it through ".."');
    // Symlinks: the real location of the longest existing prefix must stay inside the real root.
    const realRoot = await realpath(root).catch(() => root);
    const existing = await longestExistingPrefix(target, root);
    const real = await realpath(existing).catch(() => existing);
    const rest = relative(existing, target);
    const realTarget = rest === '' ? real : join(real, rest);
    if (!inside(realRoot, realTarget)) throw escapeError(rel, what, `it resolves through a symlink to ${realTarget}`);
    return target;
  }
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}

async function longestExistingPrefix(target: string, stopAt: string): Promise<string> {
  let p = target;
  for (;;) {
    try {
      await lstat(p);
      return p;
    } catch {
      if (p === stopAt || resolve(p, '..') === p) return p;
      p = resolve(p, '..');
    }
  }
}

function escapeError(path: string, what: string, why: string): NomadError {
  return new NomadError('invalid_argument', `path "${path}" escapes ${what}: ${why}`, { field: path });
}

function checkName(what: string, name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new NomadError('invalid_argument', `${what} "${name}" cannot name a directory`, { field: what });
  }
  if (what === 'task name' && name === SharedAllocName) {
    throw new NomadError('invalid_argument', `task name "${name}" collides with the shared allocation directory`, { field: what });
  }
}

async function mkdirMode(path: string, mode: number): Promise<void> {
  await mkdir(path, { recursive: true });
  // mkdir's mode is masked by the umask; chmod sets exactly what Nomad sets.
  await chmod(path, mode);
}
