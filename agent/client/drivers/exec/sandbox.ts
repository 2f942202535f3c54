/**
 * The exec driver's sandbox plan: which host paths appear where inside the task's
 * chroot, where the task's command and `setpriv` are found in it, and the bubblewrap
 * command line that assembles it all. Kept apart from process handling so the plan is
 * easy to read and to test.
 *
 * The layout follows Nomad's exec driver: the task directory is the root of the
 * chroot (so `local/`, `secrets/` and `tmp/` appear as /local, /secrets and /tmp), the
 * allocation's shared directory is bound at /alloc, and each `chroot_env` entry is a
 * read-only bind mount of a host path. /proc and /dev are fresh for the task's own
 * PID namespace.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { NomadError } from '../../../core/lib/index.js';

/** Nomad's default `chroot_env` (host path → path in the task), minus what this host lacks at run time. */
export const DefaultChrootEnv: Readonly<Record<string, string>> = {
  '/bin': '/bin',
  '/etc': '/etc',
  '/lib': '/lib',
  '/lib32': '/lib32',
  '/lib64': '/lib64',
  '/run/resolvconf': '/run/resolvconf',
  '/sbin': '/sbin',
  '/usr': '/usr',
};

/** The PATH a task gets when its environment has none (Debian's default for a login shell, plus sbin). */
export const DefaultTaskPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where the allocation's shared directory and the task's directories appear inside the chroot. */
export const InTask = { alloc: '/alloc', local: '/local', secrets: '/secrets', tmp: '/tmp' } as const;

export interface Mount {
  /** Host path. */
  src: string;
  /** Path inside the chroot. */
  dest: string;
  readOnly: boolean;
}

export interface SandboxPlan {
  /** Host directory that becomes / of the chroot (the task directory). */
  root: string;
  mounts: Mount[];
}

/** Host paths to mount: the task directory as root, /alloc, then every chroot_env entry that exists. */
export function planSandbox(taskDir: string, allocSharedDir: string | null, chrootEnv: Readonly<Record<string, string>>, exists: (p: string) => boolean): SandboxPlan {
  const mounts: Mount[] = [];
  for (const [src, dest] of Object.entries(chrootEnv).sort((a, b) => a[1].localeCompare(b[1]))) {
    if (exists(src)) mounts.push({ src, dest, readOnly: true });
  }
  if (allocSharedDir !== null) mounts.push({ src: allocSharedDir, dest: InTask.alloc, readOnly: false });
  return { root: taskDir, mounts };
}

/** The host path behind an in-task absolute path: the deepest mount that covers it, else the root. */
export function hostPathOf(plan: SandboxPlan, inTask: string): string {
  const p = posix.normalize(inTask);
  let best: Mount | undefined;
  for (const m of plan.mounts) {
    if (p === m.dest || p.startsWith(m.dest.endsWith('/') ? m.dest : m.dest + '/')) {
      if (best === undefined || m.dest.length > best.dest.length) best = m;
    }
  }
  if (best === undefined) return join(plan.root, p);
  return join(best.src, p.slice(best.dest.length));
}

function isExecutableFile(hostPath: string): boolean {
  try {
    if (!statSync(hostPath).isFile()) return false;
    accessSync(hostPath, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds `command` inside the chroot, as the task would: a name without a slash through
 * PATH, a relative path from the chroot's / (the task directory), an absolute path as is.
 * Returns the in-task absolute path, or undefined when no executable file is there.
 */
export function resolveInSandbox(plan: SandboxPlan, command: string, path: string, isExecutable: (hostPath: string) => boolean = isExecutableFile): string | undefined {
  const candidates: string[] = [];
  if (command.includes('/')) {
    candidates.push(isAbsolute(command) ? posix.normalize(command) : posix.join('/', command));
  } else {
    for (const dir of path.split(':')) {
      if (dir.startsWith('/')) candidates.push(posix.join(dir, command));
    }
  }
  for (const c of candidates) {
    // A path that climbs out with '..' still ends inside the chroot: normalise it as the kernel would.
    if (isExecutable(hostPathOf(plan, c))) return c;
  }
  return undefined;
}

export interface BwrapArgsInput {
  plan: SandboxPlan;
  hostname: string;
  env: Record<string, string>;
  /** The in-task argv: setpriv and its options, then the command and its arguments. */
  argv: string[];
  infoFd: number;
  blockFd: number;
  statusFd: number;
}

/** The bubblewrap command line (without the `bwrap` itself). */
export function bwrapArgs(input: BwrapArgsInput): string[] {
  const a: string[] = [
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', input.hostname,
    // Its own session: the task cannot reach the agent's terminal (TIOCSTI) and leads its process group.
    '--new-session',
    '--bind', input.plan.root, '/',
  ];
  for (const m of input.plan.mounts) a.push(m.readOnly ? '--ro-bind' : '--bind', m.src, m.dest);
  a.push('--proc', '/proc', '--dev', '/dev', '--chdir', '/', '--clearenv');
  for (const [k, v] of Object.entries(input.env).sort((x, y) => x[0].localeCompare(y[0]))) a.push('--setenv', k, v);
  a.push('--info-fd', String(input.infoFd), '--block-fd', String(input.blockFd), '--json-status-fd', String(input.statusFd), '--');
  return [...a, ...input.argv];
}

/** setpriv (util-linux) as the last step before the command: the user, no groups, no capabilities. */
export function setprivArgv(setprivPath: string, uid: number, gid: number): string[] {
  const out = [setprivPath];
  if (uid !== 0 || gid !== 0) out.push(`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups');
  out.push('--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', '--');
  return out;
}

/** A valid UTS hostname from a task name (letters, digits and '-', at most 63). */
export function sandboxHostname(taskName: string): string {
  const h = taskName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 63).replace(/-+$/, '');
  return h === '' ? 'task' : h;
}

/**
 * Parses a client option `driver.exec.chroot_env`: comma-separated `host[:in-task]`
 * entries (e.g. `/bin,/etc,/usr,/opt/tools:/tools`); both sides absolute.
 */
export function parseChrootEnv(text: string, field = 'driver.exec.chroot_env'): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (entries.length === 0) throw new NomadError('validation', `${field} must list at least one host path`, { field });
  for (const e of entries) {
    const i = e.indexOf(':');
    const src = i < 0 ? e : e.slice(0, i);
    const dest = i < 0 ? e : e.slice(i + 1);
    if (!isAbsolute(src) || !isAbsolute(dest)) throw new NomadError('validation', `${field}: entry ${JSON.stringify(e)} must be host[:in-task] with absolute paths`, { field });
    const d = posix.normalize(dest);
    if (d === '/' || Object.values(InTask).some((t) => d === t || d.startsWith(t + '/')) || d === '/proc' || d === '/dev') {
      throw new NomadError('validation', `${field}: entry ${JSON.stringify(e)} would hide ${d}, which the driver mounts itself`, { field });
    }
    out[posix.normalize(src)] = d;
  }
  return out;
}

/** The allocation's shared directory next to a task directory (`<allocDir>/<task>` → `<allocDir>/alloc`). */
export function allocSharedDirOf(taskDir: string): string {
  return join(dirname(taskDir), 'alloc');
}
