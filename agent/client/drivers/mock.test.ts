import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NomadError, VirtualClock } from '../../core/lib/index.js';
import { MockDriver, canRecover, canStats } from './index.js';
import type { TaskConfig, TaskHandle } from './index.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nomadts-mock-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

let seq = 0;
function task(config: Record<string, unknown>): TaskConfig {
  const id = `a1/t/${seq++}`;
  return {
    id, name: 't', allocId: 'a1', config, env: {}, dir,
    stdoutPath: join(dir, `${seq}.stdout`), stderrPath: join(dir, `${seq}.stderr`), user: '',
    resources: { cpu: 100, memoryMB: 32, memoryMaxMB: 0, cores: 0 },
  };
}

/** Lets promise callbacks run after the virtual clock fired timers. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('mock driver', () => {
  it('runs for run_for on the injected clock and exits with exit_code', async () => {
    const clock = new VirtualClock(1000);
    const d = new MockDriver({ clock });
    const cfg = task({ run_for: '5s', exit_code: 2 });
    const h = await d.start(cfg);
    expect(h.startedAt).toBe(1000);
    let result: unknown = null;
    void d.wait(cfg.id).then((r) => { result = r; });
    clock.advance(4999);
    await settle();
    expect(result).toBeNull();
    expect(d.inspect(cfg.id).state).toBe('running');
    clock.advance(1);
    await settle();
    expect(result).toEqual({ exitCode: 2, signal: null, oomKilled: false, err: null });
    expect(d.inspect(cfg.id)).toMatchObject({ state: 'exited', startedAt: 1000, completedAt: 6000 });
  });

  it('runs until stopped without run_for; exits after kill_after when that fits the timeout', async () => {
    const clock = new VirtualClock(0);
    const d = new MockDriver({ clock });
    const cfg = task({ kill_after: '2s' });
    await d.start(cfg);
    clock.advance(60_000);
    expect(d.inspect(cfg.id).state).toBe('running');
    const stopped = d.stop(cfg.id, 5000, 'SIGTERM');
    clock.advance(1999);
    await settle();
    expect(d.inspect(cfg.id).state).toBe('running');
    clock.advance(1);
    await stopped;
    expect(d.inspect(cfg.id)).toMatchObject({ completedAt: 62_000, exitResult: { signal: 'SIGTERM', exitCode: 143 } });
  });

  it('is killed at the stop timeout when kill_after is longer', async () => {
    const clock = new VirtualClock(0);
    const d = new MockDriver({ clock });
    const cfg = task({ kill_after: '10s' });
    await d.start(cfg);
    const stopped = d.stop(cfg.id, 3000, 'SIGINT');
    clock.advance(3000);
    await stopped;
    expect((await d.wait(cfg.id)).signal).toBe('SIGKILL');
    expect(d.inspect(cfg.id).completedAt).toBe(3000);
    await d.stop(cfg.id, 3000, 'SIGINT'); // already exited: no-op
  });

  it('fails start with start_error and writes stdout_string', async () => {
    const d = new MockDriver({ clock: new VirtualClock() });
    await expect(d.start(task({ start_error: 'no capacity' }))).rejects.toThrow('mock: no capacity');
    const cfg = task({ stdout_string: 'hello\n', run_for: '1s' });
    await d.start(cfg);
    expect(readFileSync(cfg.stdoutPath, 'utf8')).toBe('hello\n');
    await expect(d.start(cfg)).rejects.toThrow(/already running/);
  });

  it('validates its config and names the field', async () => {
    const d = new MockDriver({ clock: new VirtualClock() });
    const fields = (c: Record<string, unknown>): (string | undefined)[] => d.validateConfig(c).map((e) => e.field);
    expect(fields({ run_for: '10s', exit_code: 1, kill_after: 250, stdout_string: 'x', start_error: 'y' })).toEqual([]);
    expect(fields({ run_for: 'soon' })).toEqual(['config.run_for']);
    expect(fields({ run_for: '-1s' })).toEqual(['config.run_for']);
    expect(fields({ exit_code: 'one' })).toEqual(['config.exit_code']);
    expect(fields({ kill_after: true, command: 'x' })).toEqual(['config.command', 'config.kill_after']);
    const e: unknown = await d.start(task({ exit_code: 1.5 })).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(NomadError);
    expect((e as NomadError).field).toBe('config.exit_code');
  });

  it('recovers a task from its handle, keeping the original run_for deadline', async () => {
    const clock = new VirtualClock(0);
    const first = new MockDriver({ clock });
    const cfg = task({ run_for: '10s', exit_code: 4 });
    const h = JSON.parse(JSON.stringify(await first.start(cfg))) as TaskHandle;
    clock.advance(4000);
    const second = new MockDriver({ clock });
    expect(canRecover(second) && canStats(second)).toBe(true);
    await second.recover(h);
    expect(second.inspect(cfg.id).state).toBe('running');
    expect((await second.stats(cfg.id)).rssBytes).toBe(32 * 1024 * 1024);
    clock.advance(6000);
    expect(await second.wait(cfg.id)).toMatchObject({ exitCode: 4 });
    expect(second.inspect(cfg.id).completedAt).toBe(10_000);
    await expect(second.recover({ ...h, driver: 'raw_exec' })).rejects.toThrow(/cannot recover/);
  });

  it('destroys tasks, reports health and refuses unknown tasks', async () => {
    const d = new MockDriver({ clock: new VirtualClock(), name: 'mock2', healthy: false });
    expect(d.name).toBe('mock2');
    expect((await d.fingerprint()).healthy).toBe(false);
    d.setHealthy(true);
    expect((await d.fingerprint()).healthy).toBe(true);
    const cfg = task({});
    await d.start(cfg);
    await d.destroy(cfg.id);
    expect(() => d.inspect(cfg.id)).toThrow(/no task/);
    await expect(d.wait(cfg.id)).rejects.toThrow(/no task/);
    await expect(d.stop('x', 1, 'SIGINT')).rejects.toThrow(/no task/);
    const live = task({});
    await d.start(live);
    await expect(d.stop(live.id, 1, 'SIGBOGUS')).rejects.toThrow(/unknown kill signal/);
  });
});
