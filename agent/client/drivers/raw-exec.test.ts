import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import { RawExecDriver } from './index.js';
import type { TaskConfig, TaskHandle } from './index.js';
import { processAlive, processGroupMembers } from './proc.js';

let dir: string;
let drivers: RawExecDriver[] = [];
let started: { d: RawExecDriver; id: string }[] = [];
let seq = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nomadts-rawexec-'));
});

afterEach(async () => {
  for (const { d, id } of started) {
    try { await d.destroy(id); } catch { /* already destroyed */ }
  }
  started = [];
  drivers = [];
  rmSync(dir, { recursive: true, force: true });
});

function driver(enabled = true, pollIntervalMs = 20): RawExecDriver {
  const d = new RawExecDriver({ enabled, pollIntervalMs });
  drivers.push(d);
  return d;
}

function task(config: Record<string, unknown>, env: Record<string, string> = {}): TaskConfig {
  const id = `alloc-1/web/${seq++}`;
  return {
    id, name: 'web', allocId: 'alloc-1', config, env, dir,
    stdoutPath: join(dir, 'logs', `${seq}.stdout`), stderrPath: join(dir, 'logs', `${seq}.stderr`),
    user: '', resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
  };
}

async function start(d: RawExecDriver, cfg: TaskConfig): Promise<TaskHandle> {
  const h = await d.start(cfg);
  started.push({ d, id: cfg.id });
  return h;
}

/** Waits (up to ~5 s) for a condition that the system must reach; fails if it never does. */
async function eventually(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** Does process `pid` ignore signal number `sig` (from /proc/<pid>/status SigIgn)? */
function ignores(pid: number, sig: number): boolean {
  try {
    const m = /^SigIgn:\s+([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && (BigInt(`0x${m[1]!}`) & (1n << BigInt(sig - 1))) !== 0n;
  } catch {
    return false;
  }
}

async function rejection(p: Promise<unknown>): Promise<NomadError> {
  const e: unknown = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(NomadError);
  return e as NomadError;
}

describe('raw_exec driver', () => {
  it('runs a command, appends its stdout to the file and reports its exit code', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'echo hi; echo oops >&2; exit 3'] });
    await start(d, cfg);
    const res = await d.wait(cfg.id);
    expect(res).toEqual({ exitCode: 3, signal: null, oomKilled: false, err: null });
    expect(readFileSync(cfg.stdoutPath, 'utf8')).toBe('hi\n');
    expect(readFileSync(cfg.stderrPath, 'utf8')).toBe('oops\n');
    const st = d.inspect(cfg.id);
    expect(st.state).toBe('exited');
    expect(st.exitResult?.exitCode).toBe(3);
  });

  it('gives the task only its own env plus PATH, and runs it in the task dir', async () => {
    process.env['NOMADTS_AGENT_SECRET'] = 'leaked';
    try {
      const d = driver();
      const cfg = task({ command: 'sh', args: ['-c', 'echo "[$NOMADTS_AGENT_SECRET][$FOO][$(pwd)]"'] }, { FOO: 'bar' });
      await start(d, cfg);
      expect((await d.wait(cfg.id)).exitCode).toBe(0);
      expect(readFileSync(cfg.stdoutPath, 'utf8')).toBe(`[][bar][${dir}]\n`);
    } finally {
      delete process.env['NOMADTS_AGENT_SECRET'];
    }
  });

  it('stops a task with its kill signal', async () => {
    const d = driver();
    const cfg = task({ command: 'sleep', args: ['60'] });
    await start(d, cfg);
    expect(d.inspect(cfg.id).state).toBe('running');
    await d.stop(cfg.id, 5000, 'SIGINT');
    const res = await d.wait(cfg.id);
    expect(res.signal).toBe('SIGINT');
    expect(res.exitCode).toBe(130);
    expect(d.inspect(cfg.id).state).toBe('exited');
  });

  it('escalates to SIGKILL after kill_timeout when the task ignores the signal', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', "trap '' INT; sleep 60"] });
    const h = await start(d, cfg);
    // Let the task's shell (under the driver's supervisor, the group leader) install its trap.
    const taskPid = (): number | undefined => processGroupMembers(h.state['pgid'] as number).find((m) => m.pid !== h.state['pid'])?.pid;
    expect(await eventually(() => { const p = taskPid(); return p !== undefined && ignores(p, 2); })).toBe(true);
    await d.stop(cfg.id, 300, 'SIGINT');
    const res = await d.wait(cfg.id);
    expect(res.signal).toBe('SIGKILL');
    expect(res.exitCode).toBe(137);
  });

  it('kills what the task forked when the task is stopped (process group)', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', "(trap '' TERM; sleep 60) & echo $! > child.pid; wait"] });
    const h = await start(d, cfg);
    const pidFile = join(dir, 'child.pid');
    expect(await eventually(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '')).toBe(true);
    const child = Number(readFileSync(pidFile, 'utf8').trim());
    expect(await eventually(() => ignores(child, 15))).toBe(true);
    await d.stop(cfg.id, 2000, 'SIGTERM');
    expect(await eventually(() => !processAlive(child))).toBe(true);
    expect(await eventually(() => processGroupMembers(h.state['pgid'] as number).length === 0)).toBe(true);
  });

  it('kills what the task forked when the task exits on its own', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'sleep 60 & echo $! > child.pid'] });
    await start(d, cfg);
    expect((await d.wait(cfg.id)).exitCode).toBe(0);
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8').trim());
    expect(child).toBeGreaterThan(0);
    expect(await eventually(() => !processAlive(child))).toBe(true);
  });

  it('samples the RSS and CPU of a running task', async () => {
    const d = driver();
    const cfg = task({ command: 'sleep', args: ['60'] });
    const h = await start(d, cfg);
    const usage = await d.stats(cfg.id);
    expect(usage.pids[0]).toBe(h.state['pid']);
    expect(usage.rssBytes).toBeGreaterThan(0);
    expect(usage.cpuUserMs).toBeGreaterThanOrEqual(0);
    await d.stop(cfg.id, 1000, 'SIGTERM');
    await expect(d.stats(cfg.id)).rejects.toThrow(/has exited/);
  });

  it('a restarted agent recovers a live task instead of starting a second copy', async () => {
    const first = driver();
    const cfg = task({ command: 'sleep', args: ['60'] });
    const h = await start(first, cfg);
    const persisted = JSON.parse(JSON.stringify(h)) as TaskHandle;

    const second = driver();
    await second.recover(persisted);
    started.push({ d: second, id: cfg.id });
    expect(second.inspect(cfg.id).state).toBe('running');
    expect(second.inspect(cfg.id).driverAttributes['pid']).toBe(String(h.state['pid']));
    expect((await second.stats(cfg.id)).rssBytes).toBeGreaterThan(0);
    await second.recover(persisted); // idempotent
    await second.stop(cfg.id, 2000, 'SIGTERM');
    // The supervisor recorded how the task ended, though this agent is not its parent.
    const res = await second.wait(cfg.id);
    expect(res).toEqual({ exitCode: 143, signal: 'SIGTERM', oomKilled: false, err: null });
    expect(processAlive(h.state['pid'] as number)).toBe(false);
  });

  it('a task that ended while the agent was down is recovered as exited, with its exit code', async () => {
    const first = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'exit 3'] });
    const h = await start(first, cfg);
    const persisted = JSON.parse(JSON.stringify(h)) as TaskHandle;
    expect(await eventually(() => !processAlive(h.state['pid'] as number))).toBe(true);
    const second = driver();
    await second.recover(persisted);
    started.push({ d: second, id: cfg.id });
    expect(second.inspect(cfg.id).state).toBe('exited');
    expect(await second.wait(cfg.id)).toEqual({ exitCode: 3, signal: null, oomKilled: false, err: null });
    // destroy forgets the task and its recorded status: a later recover finds nothing.
    await second.destroy(cfg.id);
    const e = await rejection(driver().recover(persisted));
    expect(e.code).toBe('not_found');
    expect(e.message).toMatch(/gone and left no exit status/);
  });

  it('refuses to recover a dead pid or a pid reused by another process', async () => {
    const d = driver();
    const done = task({ command: 'true' });
    const deadHandle = await start(d, done);
    await d.wait(done.id);
    await d.destroy(done.id);
    const other = driver();
    const e1 = await rejection(other.recover({ ...deadHandle, taskId: 'gone' }));
    expect(e1.code).toBe('not_found');
    expect(e1.message).toMatch(/is gone/);

    const live = task({ command: 'sleep', args: ['60'] });
    const h = await start(d, live);
    const reused: TaskHandle = { ...h, taskId: 'reused', state: { ...h.state, startTime: (h.state['startTime'] as number) + 1 } };
    const e2 = await rejection(other.recover(reused));
    expect(e2.code).toBe('conflict');
    expect(e2.message).toMatch(/another process/);
    const e3 = await rejection(other.recover({ ...h, taskId: 'nopid', state: {} }));
    expect(e3.code).toBe('invalid_argument');
    expect(() => other.inspect('reused')).toThrow(/no task/);
  });

  it('is detected but unhealthy when disabled, and refuses to start tasks', async () => {
    const d = driver(false);
    expect(await d.fingerprint()).toEqual({ detected: true, healthy: false, healthDescription: 'disabled', attributes: {} });
    const e = await rejection(d.start(task({ command: 'true' })));
    expect(e.message).toMatch(/disabled.*driver\.raw_exec\.enable/);
    expect((await driver(true).fingerprint()).healthy).toBe(true);
  });

  it('validates its config and names the field', async () => {
    const d = driver();
    const fields = (c: Record<string, unknown>): (string | undefined)[] => d.validateConfig(c).map((e) => e.field);
    expect(fields({ command: 'sleep', args: ['1'] })).toEqual([]);
    expect(fields({})).toEqual(['config.command']);
    expect(fields({ command: '' })).toEqual(['config.command']);
    expect(fields({ command: 42 })).toEqual(['config.command']);
    expect(fields({ command: 'x', args: 'a b' })).toEqual(['config.args']);
    expect(fields({ command: 'x', args: ['a', 2] })).toEqual(['config.args[1]']);
    expect(fields({ command: 'x', image: 'redis' })).toEqual(['config.image']);
    const e = await rejection(d.start(task({ args: ['1'] })));
    expect(e.field).toBe('config.command');
    expect(e.message).toMatch(/raw_exec: config\.command is required/);
  });

  it('reports a command that cannot be executed against config.command', async () => {
    const d = driver();
    const e = await rejection(d.start(task({ command: 'no-such-binary-nomadts' })));
    expect(e.field).toBe('config.command');
    expect(e.message).toMatch(/ENOENT/);
  });

  it('refuses unknown tasks and unknown signals', async () => {
    const d = driver();
    expect(() => d.inspect('nope')).toThrow(/no task "nope"/);
    await expect(d.wait('nope')).rejects.toThrow(/no task/);
    const cfg = task({ command: 'sleep', args: ['60'] });
    await start(d, cfg);
    const e = await rejection(d.stop(cfg.id, 100, 'SIGNOPE'));
    expect(e.field).toBe('kill_signal');
    await d.destroy(cfg.id);
    expect(() => d.inspect(cfg.id)).toThrow(/no task/);
  });
});
