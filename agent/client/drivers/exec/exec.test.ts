import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiError, NomadError } from '../../../core/lib/index.js';
import { detectCgroups, listChildren, parseTaskCgroup } from '../../cgroups/index.js';
import { AllocDir } from '../../taskrunner/index.js';
import { ExecDriver, execOptionsFromClient } from './index.js';
// eslint-disable-next-line no-restricted-imports
import type { TaskConfig, TaskHandle } from '../driver.js';
// eslint-disable-next-line no-restricted-imports
import { processAlive } from '../proc.js';

const isRoot = process.getuid?.() === 0;
const hasBwrap = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'].some((p) => existsSync(p));
const canRun = isRoot && hasBwrap;
if (!canRun) {
  console.warn(`exec driver tests skipped: they need root and bubblewrap (root: ${isRoot}, bwrap: ${hasBwrap}); CI runs as root with the Debian package bubblewrap`);
}

let root: string;
let allocDir: AllocDir;
let started: { d: ExecDriver; id: string }[] = [];
let seq = 0;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'nomadts-exec-'));
  allocDir = new AllocDir(join(root, 'data'), `alloc-${seq}`);
  await allocDir.build(['web']);
});

afterEach(async () => {
  for (const { d, id } of started) {
    try { await d.destroy(id); } catch { /* already destroyed */ }
  }
  started = [];
  rmSync(root, { recursive: true, force: true });
});

function driver(pollIntervalMs = 20): ExecDriver {
  return new ExecDriver({ stateDir: join(root, 'state'), pollIntervalMs });
}

function task(config: Record<string, unknown>, over: Partial<TaskConfig> = {}): TaskConfig {
  const n = seq++;
  const d = allocDir.taskDir('web');
  return {
    id: `${allocDir.allocId}/web/${n}`, name: 'web', allocId: allocDir.allocId, config,
    env: { NOMAD_TASK_DIR: d.local, NOMAD_ALLOC_DIR: allocDir.sharedDir, NOMAD_SECRETS_DIR: d.secrets, GREETING: 'hello' },
    dir: d.dir,
    stdoutPath: join(allocDir.logDir, `web.stdout.${n}`), stderrPath: join(allocDir.logDir, `web.stderr.${n}`),
    user: '', resources: { cpu: 250, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
    ...over,
  };
}

function sh(script: string): Record<string, unknown> {
  return { command: '/bin/sh', args: ['-c', script] };
}

async function start(d: ExecDriver, cfg: TaskConfig): Promise<TaskHandle> {
  const h = await d.start(cfg);
  started.push({ d, id: cfg.id });
  return h;
}

/** Waits (up to ~5 s) for a condition the system must reach; fails if it never does. */
async function eventually(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

const stdout = (cfg: TaskConfig): string => readFileSync(cfg.stdoutPath, 'utf8');

function taskCgroupDirs(): string[] {
  const cg = detectCgroups();
  const out: string[] = [];
  for (const m of ['memory', 'cpu']) {
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(' - cgroup ') && l.split(' ').pop()!.split(',').includes(m));
    if (line !== undefined) out.push(...listChildren(join(line.split(' ')[4]!, m === 'memory' ? cg.parent : '/nomadts')));
  }
  return out;
}

describe('exec driver', () => {
  it.skipIf(!canRun)('fingerprints healthy as root with bwrap, and names the missing piece otherwise', async () => {
    const ok = await driver().fingerprint();
    expect(ok).toMatchObject({ detected: true, healthy: true });
    expect(ok.attributes['driver.exec.cgroup_version']).toMatch(/^[12]$/);
    const noBwrap = await new ExecDriver({ bwrapPath: join(root, 'no-such-bwrap') }).fingerprint();
    expect(noBwrap).toMatchObject({ detected: false, healthy: false });
    expect(noBwrap.healthDescription).toContain('bubblewrap');
  });

  it.skipIf(!canRun)('runs the task in its own namespaces and chroot, as nobody, with no capabilities', async () => {
    const d = driver();
    const cfg = task(sh([
      'echo "pid=$$"', 'echo "uid=$(id -u) gid=$(id -g)"', 'echo "host=$(hostname)"',
      'ls /root >/dev/null 2>&1 && echo "root=visible" || echo "root=hidden"',
      `ls ${JSON.stringify(root)} >/dev/null 2>&1 && echo "testroot=visible" || echo "testroot=hidden"`,
      'ls /work >/dev/null 2>&1 && echo "work=visible" || echo "work=hidden"',
      'echo "procs=$(ls /proc | grep -c "^[0-9]")"',
      'echo task > /local/out && echo "local=ok"', 'echo shared > /alloc/data/out && echo "alloc=ok"',
      'touch /etc/nope 2>/dev/null && echo "etc=writable" || echo "etc=readonly"',
      'touch /secret-root 2>/dev/null && echo "rootdir=writable" || echo "rootdir=readonly"',
      'grep CapEff /proc/self/status', 'grep CapBnd /proc/self/status',
      'echo "env=$GREETING task_dir=$NOMAD_TASK_DIR alloc_dir=$NOMAD_ALLOC_DIR home=${HOME:-unset}"',
    ].join('; ')));
    await start(d, cfg);
    const exit = await d.wait(cfg.id);
    const out = stdout(cfg);
    expect(exit, readFileSync(cfg.stderrPath, 'utf8')).toEqual({ exitCode: 0, signal: null, oomKilled: false, err: null });
    expect(out).toMatch(/^pid=2$/m);
    expect(out).toContain('uid=65534 gid=65534');
    expect(out).toContain('host=web');
    expect(out).toContain('root=hidden');
    expect(out).toContain('testroot=hidden');
    expect(out).toContain('work=hidden');
    expect(Number(/procs=(\d+)/.exec(out)?.[1])).toBeLessThan(10);
    expect(out).toContain('local=ok');
    expect(out).toContain('alloc=ok');
    expect(out).toContain('etc=readonly');
    expect(out).toContain('rootdir=readonly');
    expect(out).toMatch(/CapEff:\s+0+$/m);
    expect(out).toMatch(/CapBnd:\s+0+$/m);
    expect(out).toContain('env=hello task_dir=/local alloc_dir=/alloc home=unset');
    // What the task wrote is in the host's allocation directory, owned by nobody.
    const local = join(allocDir.taskDir('web').local, 'out');
    expect(readFileSync(local, 'utf8')).toBe('task\n');
    expect(statSync(local).uid).toBe(65534);
    expect(readFileSync(join(allocDir.dataDir, 'out'), 'utf8')).toBe('shared\n');
  });

  it.skipIf(!canRun)('runs a command from the task directory (relative to the chroot\'s /), which reads its secrets', async () => {
    const d = driver();
    const dirs = allocDir.taskDir('web');
    writeFileSync(join(dirs.local, 'hello.sh'), '#!/bin/sh\necho "hello from $0: $(cat /secrets/token)"\n', { mode: 0o755 });
    // As a template renders it (perms 0644 by default); the secrets directory itself is 0700, given to the task's user.
    writeFileSync(join(dirs.secrets, 'token'), 's3cret', { mode: 0o644 });
    const cfg = task({ command: 'local/hello.sh' });
    await start(d, cfg);
    expect(await d.wait(cfg.id)).toMatchObject({ exitCode: 0 });
    expect(stdout(cfg)).toBe('hello from /local/hello.sh: s3cret\n');
  });

  it.skipIf(!canRun)('runs as the task\'s user when it names one', async () => {
    const d = driver();
    const cfg = task(sh('id -u; id -g'), { user: 'daemon' });
    await start(d, cfg);
    expect((await d.wait(cfg.id)).exitCode).toBe(0);
    expect(stdout(cfg)).toBe('1\n1\n');
  });

  it.skipIf(!canRun)('writes the memory limit and cpu shares to the task cgroup, and destroy removes it', async () => {
    const d = driver();
    const cfg = task(sh('echo ready; sleep 30'), { resources: { cpu: 300, memoryMB: 48, memoryMaxMB: 0, cores: 0 } });
    const h = await start(d, cfg);
    expect(await eventually(() => stdout(cfg).includes('ready'))).toBe(true);
    const cg = parseTaskCgroup(String(h.state['cgroup']));
    if (cg.version === 1) {
      expect(readFileSync(join(cg.dirs['memory']!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(48 * 1024 * 1024));
      expect(readFileSync(join(cg.dirs['cpu']!, 'cpu.shares'), 'utf8').trim()).toBe('300');
    } else {
      expect(readFileSync(join(cg.dirs['unified']!, 'memory.max'), 'utf8').trim()).toBe(String(48 * 1024 * 1024));
    }
    // Every task process is in the cgroup; the stats come from it.
    const s1 = await d.stats(cfg.id);
    expect(s1.pids.length).toBeGreaterThanOrEqual(1);
    expect(s1.rssBytes).toBeGreaterThan(0);
    await d.destroy(cfg.id);
    started = [];
    for (const dir of Object.values(cg.dirs)) expect(existsSync(dir)).toBe(false);
    expect(existsSync(String(h.state['statusFile']))).toBe(false);
  });

  it.skipIf(!canRun)('uses memory_max as the hard limit and memory as the soft one', async () => {
    const d = driver();
    const h = await start(d, task(sh('sleep 30'), { resources: { cpu: 100, memoryMB: 32, memoryMaxMB: 96, cores: 0 } }));
    const cg = parseTaskCgroup(String(h.state['cgroup']));
    if (cg.version === 1) {
      expect(readFileSync(join(cg.dirs['memory']!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(96 * 1024 * 1024));
      expect(readFileSync(join(cg.dirs['memory']!, 'memory.soft_limit_in_bytes'), 'utf8').trim()).toBe(String(32 * 1024 * 1024));
    }
  });

  it.skipIf(!canRun)('reports an out-of-memory kill as such', async () => {
    const d = driver();
    // The shell holds 200 MB in a variable; the limit is 32 MB.
    const cfg = task(sh('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'), { resources: { cpu: 100, memoryMB: 32, memoryMaxMB: 0, cores: 0 } });
    await start(d, cfg);
    const exit = await d.wait(cfg.id);
    expect(exit.oomKilled).toBe(true);
    expect(stdout(cfg)).not.toContain('survived');
    // A task that stays under its limit is not reported as OOM-killed.
    const small = task(sh('x=$(head -c 1000000 /dev/zero | tr "\\0" a); echo survived'), { resources: { cpu: 100, memoryMB: 32, memoryMaxMB: 0, cores: 0 } });
    await start(d, small);
    expect(await d.wait(small.id)).toEqual({ exitCode: 0, signal: null, oomKilled: false, err: null });
  });

  it.skipIf(!canRun)('reports exit codes and deaths by signal', async () => {
    const d = driver();
    const a = task(sh('exit 7'));
    await start(d, a);
    expect(await d.wait(a.id)).toEqual({ exitCode: 7, signal: null, oomKilled: false, err: null });
    const b = task(sh('kill -TERM $$'));
    await start(d, b);
    expect(await d.wait(b.id)).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
  });

  it.skipIf(!canRun)('stops with kill_signal, which the task may handle', async () => {
    const d = driver();
    const cfg = task(sh('trap "echo got-term; exit 3" TERM; echo ready; while true; do sleep 0.05; done'));
    await start(d, cfg);
    expect(await eventually(() => stdout(cfg).includes('ready'))).toBe(true);
    await d.stop(cfg.id, 5000, 'SIGTERM');
    expect(d.inspect(cfg.id).exitResult).toMatchObject({ exitCode: 3, signal: null });
    expect(stdout(cfg)).toContain('got-term');
  });

  it.skipIf(!canRun)('kills with SIGKILL after kill_timeout when the task ignores kill_signal', async () => {
    const d = driver();
    const cfg = task(sh('trap "" TERM INT; echo ready; while true; do sleep 0.05; done'));
    const h = await start(d, cfg);
    expect(await eventually(() => stdout(cfg).includes('ready'))).toBe(true);
    await d.stop(cfg.id, 300, 'SIGTERM');
    const st = d.inspect(cfg.id);
    expect(st.state).toBe('exited');
    expect(st.exitResult?.signal).toBe('SIGKILL');
    expect(processAlive(Number(h.state['bwrapPid']))).toBe(false);
    expect(processAlive(Number(h.state['initPid']))).toBe(false);
    await expect(d.stop(cfg.id, 10, 'SIGNOPE')).rejects.toMatchObject({ field: 'kill_signal' });
  });

  it.skipIf(!canRun)('delivers a signal to the running task without stopping it', async () => {
    const d = driver();
    const cfg = task(sh('trap "echo got-usr1" USR1; echo ready; while true; do sleep 0.05; done'));
    await start(d, cfg);
    expect(await eventually(() => stdout(cfg).includes('ready'))).toBe(true);
    await d.signal(cfg.id, 'SIGUSR1');
    expect(await eventually(() => stdout(cfg).includes('got-usr1'))).toBe(true);
    expect(d.inspect(cfg.id).state).toBe('running');
    await expect(d.signal(cfg.id, 'SIGBOGUS')).rejects.toMatchObject({ code: 'invalid_argument', field: 'signal' });
  });

  it.skipIf(!canRun)('recovers a running task after an agent restart and sees its exit', async () => {
    const first = driver();
    const cfg = task(sh('echo ready; while [ ! -e /local/finish ]; do sleep 0.05; done; exit 5'));
    const h = await first.start(cfg);
    expect(await eventually(() => stdout(cfg).includes('ready'))).toBe(true);
    // A restarted agent has only the persisted handle (JSON round-trip).
    const second = driver();
    const handle = JSON.parse(JSON.stringify(h)) as TaskHandle;
    await second.recover(handle);
    started.push({ d: second, id: cfg.id });
    expect(second.inspect(cfg.id).state).toBe('running');
    expect((await second.stats(cfg.id)).pids.length).toBeGreaterThanOrEqual(1);
    await second.recover(handle); // idempotent
    writeFileSync(join(allocDir.taskDir('web').local, 'finish'), '');
    expect(await second.wait(cfg.id)).toEqual({ exitCode: 5, signal: null, oomKilled: false, err: null });
    await first.wait(cfg.id);
  });

  it.skipIf(!canRun)('recovers a task that exited while the agent was down with its real exit status', async () => {
    const first = driver();
    const cfg = task(sh('exit 9'));
    const h = await first.start(cfg);
    await first.wait(cfg.id);
    const second = driver();
    await second.recover(JSON.parse(JSON.stringify(h)) as TaskHandle);
    started.push({ d: second, id: cfg.id });
    expect(await second.wait(cfg.id)).toEqual({ exitCode: 9, signal: null, oomKilled: false, err: null });
  });

  it.skipIf(!canRun)('stops a recovered task with kill_signal then SIGKILL', async () => {
    const first = driver();
    const cfg = task(sh('trap "" TERM; echo ready; while true; do sleep 0.05; done'));
    const h = await first.start(cfg);
    expect(await eventually(() => stdout(cfg).includes('ready'))).toBe(true);
    const second = driver();
    await second.recover(JSON.parse(JSON.stringify(h)) as TaskHandle);
    started.push({ d: second, id: cfg.id });
    await second.stop(cfg.id, 200, 'SIGTERM');
    expect(second.inspect(cfg.id).state).toBe('exited');
    expect(processAlive(Number(h.state['bwrapPid']))).toBe(false);
  });

  it.skipIf(!canRun)('refuses to recover a handle whose process is gone without a recorded exit, or of another driver', async () => {
    const d = driver();
    const h: TaskHandle = {
      taskId: 'gone/web/1', driver: 'exec', config: task(sh('true')), startedAt: 0,
      state: { bwrapPid: 999999, bwrapStart: 1, initPid: 999998, statusFile: join(root, 'nothing.status'), cgroup: JSON.stringify({ version: 1, dirs: { memory: '/nonexistent' } }) },
    };
    await expect(d.recover(h)).rejects.toMatchObject({ code: 'not_found' });
    await expect(d.recover({ ...h, driver: 'raw_exec' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(d.recover({ ...h, state: { bwrapPid: 'x' } })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(() => d.inspect('gone/web/1')).toThrow(NomadError);
  });

  describe('bad configuration: a clear error naming the field, nothing started', () => {
    async function refused(cfg: TaskConfig, field: string): Promise<void> {
      const d = driver();
      const before = taskCgroupDirs();
      const err = await d.start(cfg).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      const fields = err instanceof MultiError ? err.errors.map((e) => e.field) : [(err as NomadError).field];
      expect(fields).toContain(field);
      expect((err as Error).message).toContain(field);
      expect(taskCgroupDirs()).toEqual(before);
      expect(existsSync(cfg.stdoutPath)).toBe(false);
      expect(() => d.inspect(cfg.id)).toThrow(NomadError);
    }

    it.skipIf(!canRun)('an unknown config key', () => refused(task({ command: '/bin/true', image: 'busybox' }), 'config.image'));
    it.skipIf(!canRun)('a missing command', () => refused(task({ args: ['x'] }), 'config.command'));
    it.skipIf(!canRun)('args that are not strings', () => refused(task({ command: '/bin/true', args: [1] }), 'config.args[0]'));
    it.skipIf(!canRun)('a command that is not in the chroot (host path outside it)', () => {
      writeFileSync(join(root, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      return refused(task({ command: join(root, 'tool') }), 'config.command');
    });
    it.skipIf(!canRun)('a command name not found on PATH in the chroot', () => refused(task({ command: 'no-such-command-xyz' }), 'config.command'));
    it.skipIf(!canRun)('an unknown user', () => refused(task({ command: '/bin/true' }, { user: 'no-such-user-xyz' }), 'user'));
    it.skipIf(!canRun)('root, by name or uid, which user.denylist refuses by default', async () => {
      await refused(task({ command: '/bin/true' }, { user: 'root' }), 'user');
      await refused(task({ command: '/bin/true' }, { user: '0' }), 'user');
    });
  });

  it('refuses bad client options, naming the option', () => {
    expect(() => execOptionsFromClient({ 'driver.exec.chroot_env': 'bin' })).toThrow(/driver\.exec\.chroot_env/);
    expect(() => execOptionsFromClient({ 'driver.exec.chroot_env': '/bin:/local' })).toThrow(/would hide \/local/);
    expect(() => execOptionsFromClient({ 'driver.exec.cgroup_parent': 'rel/path' })).toThrow(/driver\.exec\.cgroup_parent/);
    expect(execOptionsFromClient({ 'driver.exec.chroot_env': '/bin, /usr, /opt/tools:/tools' }).chrootEnv).toEqual({ '/bin': '/bin', '/usr': '/usr', '/opt/tools': '/tools' });
    expect(execOptionsFromClient({})).toEqual({});
    expect(execOptionsFromClient({ 'user.denylist': 'root, daemon' }).userDenylist).toEqual(['root', 'daemon']);
  });

  it.skipIf(!canRun)('a configured chroot_env is what the task sees', async () => {
    const d = new ExecDriver({ ...execOptionsFromClient({ 'driver.exec.chroot_env': '/bin,/lib,/lib64,/usr', 'user.denylist': 'admin' }), stateDir: join(root, 'state') });
    const cfg = task(sh('ls /etc >/dev/null 2>&1 && echo etc=visible || echo etc=hidden'), { user: '0' });
    await start(d, cfg);
    expect((await d.wait(cfg.id)).exitCode).toBe(0);
    expect(stdout(cfg)).toContain('etc=hidden');
  });
});
