/**
 * AllocRunner and TaskRunner tests: the mock driver on a VirtualClock (fixed seed) for
 * lifecycle, restart and kill behaviour; raw_exec with real processes and the wall
 * clock for environment, templates and restore after a client restart.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SeededRng, VirtualClock } from '../../core/lib/index.js';
import type { AllocClientStatus, Allocation, Job, Task, TaskState, Template } from '../../core/structs/index.js';
import { mockAlloc, mockJob, mockRestartPolicy, mockTask, mockTaskGroup } from '../../core/testing/index.js';
import { SystemClock } from '../../runtime/index.js';
import type { TaskConfig, TaskDriver, TaskHandle } from '../drivers/index.js';
import { MockDriver, RawExecDriver } from '../drivers/index.js';
import { AllocRunner } from './alloc-runner.js';
import type { AllocRunnerOptions } from './alloc-runner.js';
import type { ClientStatus } from './status.js';
import { taskStateFile } from './persist.js';

// ---- helpers ----

/** Let pending promises and fs callbacks run (no assertion depends on how long this takes). */
/** Alloc runners of the current test (settle waits for them to be idle). */
let active: AllocRunner[] = [];

/**
 * Let the runners finish their own work (fs, driver calls) before virtual time moves:
 * waits until no registered runner is busy, then lets promise chains run out. No
 * assertion depends on how long this takes.
 */
async function settle(rounds = 4): Promise<void> {
  for (let i = 0; i < 20_000 && active.some((a) => a.busy); i++) await new Promise((r) => setTimeout(r, 1));
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
  if (active.some((a) => a.busy)) await settle(rounds);
}

/** Move the virtual clock forward `ms`, firing timers one by one and letting the runners react. */
async function runFor(clock: VirtualClock, ms: number): Promise<void> {
  const target = clock.now() + ms;
  for (;;) {
    await settle();
    const next = clock.nextAt();
    if (next === undefined || next > target) break;
    clock.advanceTo(next);
  }
  clock.advanceTo(target);
  await settle();
}

/** Poll (real time) until `pred` holds; fails the test with `what` after many rounds. */
async function until(pred: () => boolean, what: string, rounds = 3000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

function tempDataDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nomadts-allocrunner-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function mtask(name: string, patch: Partial<Task> = {}): Task {
  return mockTask({
    name,
    driver: 'mock',
    config: {},
    env: {},
    restart: mockRestartPolicy({ attempts: 2, delay: 1000, interval: 60_000, mode: 'fail' }),
    killTimeout: 5000,
    ...patch,
  });
}

function jobWith(tasks: Task[], type: Job['type'] = 'service'): Job {
  return mockJob({ id: 'j1', type, taskGroups: [mockTaskGroup({ name: 'g', count: 1, tasks })] });
}

let seq = 0;
function allocOf(job: Job): Allocation {
  seq++;
  return mockAlloc(job, { group: 'g', clientStatus: 'pending' }, { id: `alloc-${seq}-0000`, taskStates: {} });
}

/**
 * A MockDriver whose config may differ per start: `perAttempt(attempt)` is merged over
 * the task's config (attempt = the last part of the driver task id).
 */
class ScriptedMockDriver extends MockDriver {
  constructor(clock: VirtualClock, private readonly perAttempt: (task: string, attempt: number) => Record<string, unknown>) {
    super({ clock });
  }

  override async start(cfg: TaskConfig): Promise<TaskHandle> {
    const attempt = Number(cfg.id.split('/').pop());
    return super.start({ ...cfg, config: { ...cfg.config, ...this.perAttempt(cfg.name, attempt) } });
  }
}

interface Harness {
  clock: VirtualClock;
  ar: AllocRunner;
  updates: { status: AllocClientStatus; states: Record<string, TaskState> }[];
  /** Order in which tasks first reached `running`. */
  startOrder: string[];
}

let data: { dir: string; cleanup: () => void };
beforeEach(() => { data = tempDataDir(); active = []; });
afterEach(() => { data.cleanup(); });

function harness(alloc: ReturnType<typeof allocOf>, driver?: (clock: VirtualClock) => TaskDriver): Harness {
  const clock = new VirtualClock();
  const d = driver?.(clock) ?? new MockDriver({ clock });
  const updates: Harness['updates'] = [];
  const startOrder: string[] = [];
  const ar = new AllocRunner({
    alloc,
    dataDir: data.dir,
    driver: (name) => (name === d.name ? d : undefined),
    clock,
    rng: new SeededRng(7),
    statsIntervalMs: 0,
    onUpdate: (_id, s: ClientStatus, states) => {
      updates.push({ status: s.status, states });
      for (const [name, st] of Object.entries(states)) {
        if (st.state === 'running' && !startOrder.includes(name)) startOrder.push(name);
      }
    },
  });
  active.push(ar);
  return { clock, ar, updates, startOrder };
}

const types = (s: TaskState): string[] => s.events.map((e) => e.type);

describe('AllocRunner lifecycle order', () => {
  it('runs prestart to completion, then main, then poststart; keeps the sidecar; poststop after stop', async () => {
    const job = jobWith([
      mtask('post', { lifecycle: { hook: 'poststart', sidecar: false }, config: { run_for: '1s' } }),
      mtask('main', { config: {} }),
      mtask('init', { lifecycle: { hook: 'prestart', sidecar: false }, config: { run_for: '3s' } }),
      mtask('side', { lifecycle: { hook: 'prestart', sidecar: true }, config: {} }),
      mtask('cleanup', { lifecycle: { hook: 'poststop', sidecar: false }, config: { run_for: '2s' } }),
    ]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 1000);
    let st = h.ar.taskStates();
    expect(st['init']!.state).toBe('running');
    expect(st['side']!.state).toBe('running');
    expect(st['main']!.state).toBe('pending');
    expect(st['post']!.state).toBe('pending');
    expect(h.ar.clientStatus().status).toBe('running');

    await runFor(h.clock, 3000);
    st = h.ar.taskStates();
    expect(st['init']).toMatchObject({ state: 'dead', failed: false });
    expect(st['main']!.state).toBe('running');
    expect(st['side']!.state).toBe('running');
    expect(h.startOrder.slice(0, 2).sort()).toEqual(['init', 'side']);
    expect(h.startOrder.slice(2)).toEqual(['main', 'post']);

    await runFor(h.clock, 2000);
    st = h.ar.taskStates();
    expect(st['post']).toMatchObject({ state: 'dead', failed: false });
    expect(st['side']!.state).toBe('running');
    expect(st['cleanup']!.state).toBe('pending');

    const stopped = h.ar.update({ ...h.ar.allocation, desiredStatus: 'stop' });
    await runFor(h.clock, 100);
    st = h.ar.taskStates();
    expect(st['main']!.state).toBe('dead');
    expect(st['side']!.state).toBe('dead');
    expect(st['cleanup']!.state).toBe('running');
    expect(h.ar.clientStatus().status).toBe('running');
    await runFor(h.clock, 2000);
    await stopped;
    st = h.ar.taskStates();
    expect(st['cleanup']).toMatchObject({ state: 'dead', failed: false });
    expect(h.ar.clientStatus().status).toBe('complete');
    expect(h.updates.at(-1)!.status).toBe('complete');
  });

  it('fails the alloc when a prestart task fails, and never starts the main task', async () => {
    const job = jobWith([
      mtask('init', { lifecycle: { hook: 'prestart', sidecar: false }, config: { run_for: '1s', exit_code: 3 }, restart: mockRestartPolicy({ attempts: 0 }) }),
      mtask('main', { config: {} }),
    ]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 2000);
    await h.ar.done;
    const st = h.ar.taskStates();
    expect(st['init']).toMatchObject({ state: 'dead', failed: true });
    expect(types(st['init']!)).toContain('Not Restarting');
    expect(st['main']!.state).toBe('dead');
    expect(st['main']!.startedAt).toBe(0);
    expect(types(st['main']!)).toEqual(['Received', 'Sibling Task Failed', 'Killing', 'Killed']);
    expect(h.ar.clientStatus().status).toBe('failed');
    expect(h.updates.at(-1)!.status).toBe('failed');
  });

  it('batch: once the main task completes, the sidecars (prestart and poststart) are stopped and poststop runs after; the alloc completes', async () => {
    const job = jobWith([
      mtask('main', { config: { run_for: '2s' } }),
      mtask('side', { lifecycle: { hook: 'prestart', sidecar: true }, config: {} }),
      mtask('watch', { lifecycle: { hook: 'poststart', sidecar: true }, config: {} }),
      mtask('cleanup', { lifecycle: { hook: 'poststop', sidecar: false }, config: { run_for: '1s' } }),
    ], 'batch');
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 1000);
    let st = h.ar.taskStates();
    expect(['side', 'main', 'watch'].map((n) => st[n]!.state)).toEqual(['running', 'running', 'running']);
    expect(st['cleanup']!.state).toBe('pending');
    await runFor(h.clock, 1500);
    st = h.ar.taskStates();
    expect(st['main']).toMatchObject({ state: 'dead', failed: false });
    expect(types(st['side']!)).toContain('Main Tasks Dead');
    expect(types(st['watch']!)).toContain('Main Tasks Dead');
    expect(st['side']!.state).toBe('dead');
    expect(st['watch']!.state).toBe('dead');
    expect(st['cleanup']!.state).toBe('running');
    // poststop starts only after every other task is dead.
    expect(st['cleanup']!.startedAt).toBeGreaterThanOrEqual(Math.max(st['side']!.finishedAt, st['watch']!.finishedAt, st['main']!.finishedAt));
    await runFor(h.clock, 1000);
    await h.ar.done;
    expect(h.ar.taskStates()['cleanup']).toMatchObject({ state: 'dead', failed: false });
    expect(h.ar.clientStatus().status).toBe('complete');
  });

  it('a prestart task that fails is restarted per its policy; the main task starts only after it succeeds', async () => {
    const job = jobWith([
      mtask('init', { lifecycle: { hook: 'prestart', sidecar: false }, config: { run_for: '1s' } }),
      mtask('main', { config: {} }),
    ]);
    const h = harness(allocOf(job), (clock) => new ScriptedMockDriver(clock, (task, attempt) => (task === 'init' && attempt === 1 ? { exit_code: 1 } : {})));
    await h.ar.run();
    await runFor(h.clock, 1500);
    let st = h.ar.taskStates();
    expect(st['init']).toMatchObject({ state: 'pending', restarts: 1 });
    expect(st['main']!.state).toBe('pending');
    await runFor(h.clock, 2000);
    st = h.ar.taskStates();
    expect(st['init']).toMatchObject({ state: 'dead', failed: false, restarts: 1 });
    expect(st['main']!.state).toBe('running');
    expect(st['main']!.startedAt).toBeGreaterThanOrEqual(st['init']!.finishedAt);
    expect(h.ar.clientStatus().status).toBe('running');
  });

  it('a prestart sidecar that fails for good fails the alloc before the main task starts', async () => {
    const job = jobWith([
      mtask('side', { lifecycle: { hook: 'prestart', sidecar: true }, config: { start_error: 'no such proxy' }, restart: mockRestartPolicy({ attempts: 0 }) }),
      mtask('main', { config: {} }),
    ]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 100);
    await h.ar.done;
    const st = h.ar.taskStates();
    expect(st['side']).toMatchObject({ state: 'dead', failed: true });
    expect(st['main']!.startedAt).toBe(0);
    expect(h.ar.clientStatus().status).toBe('failed');
  });

  it('fails every task when the driver is missing (unrecoverable validate error)', async () => {
    const job = jobWith([mtask('main', { driver: 'docker' })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 10);
    await h.ar.done;
    const st = h.ar.taskStates()['main']!;
    expect(st).toMatchObject({ state: 'dead', failed: true, restarts: 0 });
    expect(st.events.find((e) => e.type === 'Task Hook Failed')!.message).toContain('driver "docker" is not available');
  });
});

describe('AllocRunner restart policy', () => {
  it('a task that fails twice then keeps running is running with restarts = 2', async () => {
    const job = jobWith([mtask('main')]);
    const h = harness(allocOf(job), (clock) => new ScriptedMockDriver(clock, (_t, n) => (n <= 2 ? { run_for: '1s', exit_code: 1 } : {})));
    await h.ar.run();
    await runFor(h.clock, 10_000);
    const st = h.ar.taskStates()['main']!;
    expect(st).toMatchObject({ state: 'running', failed: false, restarts: 2 });
    expect(types(st).filter((t) => t === 'Restarting')).toHaveLength(2);
    expect(types(st).filter((t) => t === 'Started')).toHaveLength(3);
    expect(h.ar.clientStatus().status).toBe('running');
  });

  it('exceeding attempts in mode fail fails the task and the alloc', async () => {
    const job = jobWith([mtask('main', { config: { run_for: '1s', exit_code: 1 } }), mtask('other')]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 60_000);
    await h.ar.done;
    const st = h.ar.taskStates();
    expect(st['main']).toMatchObject({ state: 'dead', failed: true, restarts: 2 });
    expect(st['main']!.events.at(-1)!.type).toBe('Not Restarting');
    expect(st['main']!.events.at(-1)!.message).toContain('Exceeded allowed attempts 2');
    expect(st['other']).toMatchObject({ state: 'dead', failed: false });
    expect(types(st['other']!)).toContain('Sibling Task Failed');
    expect(h.ar.clientStatus().status).toBe('failed');
  });

  it('restart delay follows the policy: pending during the delay, started again after it', async () => {
    const job = jobWith([mtask('main', { restart: mockRestartPolicy({ attempts: 3, delay: 10_000, interval: 600_000 }) })]);
    const h = harness(allocOf(job), (clock) => new ScriptedMockDriver(clock, (_t, n) => (n === 1 ? { run_for: '1s', exit_code: 2 } : {})));
    await h.ar.run();
    await runFor(h.clock, 1000);
    const st = h.ar.taskStates()['main']!;
    expect(st.state).toBe('pending');
    const restarting = st.events.find((e) => e.type === 'Restarting')!;
    const delay = Number(/in (\d+)ms/.exec(restarting.message)![1]);
    expect(delay).toBeGreaterThanOrEqual(10_000);
    expect(delay).toBeLessThanOrEqual(12_500);
    await runFor(h.clock, delay - 1);
    expect(h.ar.taskStates()['main']!.state).toBe('pending');
    await runFor(h.clock, 1);
    expect(h.ar.taskStates()['main']!.state).toBe('running');
  });
});

describe('AllocRunner user signal and restart (mock driver)', () => {
  it('signals a running task (names normalised), refuses an unknown signal, task or a dead task', async () => {
    const job = jobWith([mtask('main'), mtask('short', { config: { run_for: '1s' } })], 'batch');
    let d!: MockDriver;
    const h = harness(allocOf(job), (clock) => (d = new MockDriver({ clock })));
    await h.ar.run();
    await runFor(h.clock, 10);
    await h.ar.signalTasks('main', 'usr1');
    const handle = h.ar.taskRunner('main')!.handle!;
    expect(d.signalsReceived(handle.taskId)).toEqual(['SIGUSR1']);
    expect(h.ar.taskStates()['main']!.events.at(-1)).toMatchObject({ type: 'Signaling', message: 'Task being sent signal SIGUSR1' });
    await expect(h.ar.signalTasks('main', 'NOPE')).rejects.toThrow('mock: unknown signal "SIGNOPE"');
    await expect(h.ar.signalTasks('nope', 'SIGHUP')).rejects.toThrow('unknown task "nope" in allocation alloc-');
    await runFor(h.clock, 2000);
    expect(h.ar.taskStates()['short']!.state).toBe('dead');
    await expect(h.ar.signalTasks('short', 'SIGHUP')).rejects.toThrow('task "short" is not running (state dead); only a running task can be signalled');
    // '' = the running tasks only: the dead one is skipped.
    await h.ar.signalTasks('', 'SIGHUP');
    expect(d.signalsReceived(handle.taskId)).toEqual(['SIGUSR1', 'SIGHUP']);
  });

  it('restarts in place outside the restart policy (attempts = 0, mode fail): counted, not failed', async () => {
    const job = jobWith([mtask('main', { restart: mockRestartPolicy({ attempts: 0, delay: 1000, interval: 60_000, mode: 'fail' }) })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 10);
    const first = h.ar.taskRunner('main')!.handle!.taskId;
    const done = h.ar.restartTasks('');
    await expect(h.ar.restartTasks('main')).rejects.toThrow('task "main" is already restarting');
    await runFor(h.clock, 10);
    await done;
    await runFor(h.clock, 10);
    const st = h.ar.taskStates()['main']!;
    expect(st).toMatchObject({ state: 'running', failed: false, restarts: 1 });
    expect(types(st).slice(-5)).toEqual(['Restart Signaled', 'Terminated', 'Restarting', 'Task Setup', 'Started']);
    expect(h.ar.taskRunner('main')!.handle!.taskId).not.toBe(first);
    // A second user restart works as well; the policy (no restarts allowed) is never consulted.
    const again = h.ar.restartTasks('main');
    await runFor(h.clock, 10);
    await again;
    await runFor(h.clock, 10);
    expect(h.ar.taskStates()['main']).toMatchObject({ state: 'running', failed: false, restarts: 2 });
    const stopped = h.ar.stop();
    await runFor(h.clock, 10_000);
    await stopped;
    await expect(h.ar.restartTasks('')).rejects.toThrow('has no running task to restart');
  });
});

describe('AllocRunner completion and kills', () => {
  it('a batch task that exits 0 completes the alloc', async () => {
    const job = jobWith([mtask('main', { config: { run_for: '5s', exit_code: 0 } })], 'batch');
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 5000);
    await h.ar.done;
    const st = h.ar.taskStates()['main']!;
    expect(st).toMatchObject({ state: 'dead', failed: false, restarts: 0 });
    expect(types(st)).toEqual(['Received', 'Task Setup', 'Started', 'Terminated']);
    expect(st.events[3]!.message).toBe('Exit Code: 0');
    expect(h.ar.clientStatus().status).toBe('complete');
    expect(h.updates.map((u) => u.status)).toContain('running');
  });

  it("a leader's exit stops its siblings and the sidecar", async () => {
    const job = jobWith([
      mtask('side', { lifecycle: { hook: 'prestart', sidecar: true } }),
      mtask('worker'),
      mtask('leader', { leader: true, config: { run_for: '5s' } }),
    ], 'batch');
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 5000);
    await h.ar.done;
    const st = h.ar.taskStates();
    expect(st['leader']).toMatchObject({ state: 'dead', failed: false });
    expect(types(st['worker']!).slice(-4)).toEqual(['Leader Task Dead', 'Killing', 'Terminated', 'Killed']);
    expect(types(st['side']!)).toContain('Leader Task Dead');
    expect(st['side']!.state).toBe('dead');
    expect(h.ar.clientStatus().status).toBe('complete');
  });

  it('when the main tasks are dead the sidecars are stopped', async () => {
    const job = jobWith([
      mtask('side', { lifecycle: { hook: 'prestart', sidecar: true } }),
      mtask('main', { config: { run_for: '2s' } }),
    ], 'batch');
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 2000);
    await h.ar.done;
    expect(types(h.ar.taskStates()['side']!)).toContain('Main Tasks Dead');
    expect(h.ar.clientStatus().status).toBe('complete');
  });

  it('stop waits for the kill timeout and then force-kills; events in order', async () => {
    const job = jobWith([mtask('main', { killTimeout: 3000, killSignal: 'SIGTERM', config: { kill_after: '10s' } })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 100);
    expect(h.ar.taskStates()['main']!.state).toBe('running');
    const t0 = h.clock.now();
    const stopped = h.ar.stop();
    await runFor(h.clock, 2999);
    expect(h.ar.taskStates()['main']!.state).toBe('running');
    await runFor(h.clock, 1);
    await stopped;
    const st = h.ar.taskStates()['main']!;
    expect(st.state).toBe('dead');
    expect(st.failed).toBe(false);
    expect(st.finishedAt - t0).toBe(3000);
    expect(types(st)).toEqual(['Received', 'Task Setup', 'Started', 'Killing', 'Terminated', 'Killed']);
    expect(st.events[3]!.message).toContain('3000ms');
    expect(st.events[4]!.message).toBe('Exit Code: 137, Signal: SIGKILL');
    expect(h.ar.clientStatus().status).toBe('complete');
  });

  it('a task that honours the signal exits with it before the timeout', async () => {
    const job = jobWith([mtask('main', { killTimeout: 3000, killSignal: 'SIGTERM', config: { kill_after: '1s' } })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 100);
    const stopped = h.ar.stop();
    await runFor(h.clock, 1000);
    await stopped;
    expect(h.ar.taskStates()['main']!.events.at(-2)!.message).toBe('Exit Code: 143, Signal: SIGTERM');
  });

  it('destroy stops the tasks and removes the alloc dir and the persisted state', async () => {
    const job = jobWith([mtask('main')]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 100);
    await h.ar.persisted();
    const file = taskStateFile(data.dir, h.ar.id, 'main');
    expect(existsSync(file)).toBe(true);
    expect(existsSync(h.ar.allocDir.allocDir)).toBe(true);
    const destroyed = h.ar.destroy();
    await runFor(h.clock, 10);
    await destroyed;
    expect(existsSync(h.ar.allocDir.allocDir)).toBe(false);
    expect(existsSync(file)).toBe(false);
    expect(h.ar.clientStatus().status).toBe('complete');
  });
});

describe('AllocRunner updates', () => {
  it('an in-place update keeps the tasks running, applies the new restart policy and persists the alloc', async () => {
    const job = jobWith([mtask('main', { restart: mockRestartPolicy({ attempts: 5, delay: 1000, interval: 600_000 }) })]);
    const h = harness(allocOf(job), (clock) => new ScriptedMockDriver(clock, (_t, n) => (n <= 2 ? { run_for: '1s', exit_code: 1 } : {})));
    await h.ar.run();
    await runFor(h.clock, 100);
    const job2: Job = { ...job, version: 1, taskGroups: job.taskGroups.map((g) => ({ ...g, tasks: g.tasks.map((t) => ({ ...t, restart: mockRestartPolicy({ attempts: 0 }) })) })) };
    await h.ar.update({ ...h.ar.allocation, job: job2 });
    const saved = JSON.parse(readFileSync(join(data.dir, 'client', 'allocs', h.ar.id, 'alloc.json'), 'utf8'));
    expect(saved.job.version).toBe(1);
    await runFor(h.clock, 2000);
    // The first exit happens under the new policy (no restarts): the task fails.
    const st = h.ar.taskStates()['main']!;
    expect(st).toMatchObject({ state: 'dead', failed: true, restarts: 0 });
    expect(st.events.at(-1)!.message).toBe('Policy allows no restarts');
  });

  it('templates are re-rendered on an in-place update: change_mode noop, signal and restart act only on changed output', async () => {
    const tpl = (dest: string, mode: Template['changeMode'], key: string): Template => ({
      data: `value={{ env "NOMAD_META_${key}" }}\n`, sourcePath: '', destPath: dest, changeMode: mode, changeSignal: mode === 'signal' ? 'SIGUSR1' : '',
      envvars: false, perms: '644', leftDelim: '{{', rightDelim: '}}', splay: 0,
    });
    const job: Job = {
      ...jobWith([
        mtask('quiet', { templates: [tpl('local/a.conf', 'noop', 'a')] }),
        mtask('hup', { templates: [tpl('local/b.conf', 'signal', 'b')] }),
        mtask('bounce', { templates: [tpl('local/c.conf', 'restart', 'c')], restart: mockRestartPolicy({ attempts: 0, mode: 'fail' }) }),
      ]),
      meta: { a: '1', b: '1', c: '1' },
    };
    let driver: MockDriver | undefined;
    const h = harness(allocOf(job), (clock) => (driver = new MockDriver({ clock })));
    await h.ar.run();
    await runFor(h.clock, 100);
    const read = (task: string, file: string): string => readFileSync(join(h.ar.allocDir.taskDir(task).local, file), 'utf8');
    expect([read('quiet', 'a.conf'), read('hup', 'b.conf'), read('bounce', 'c.conf')]).toEqual(['value=1\n', 'value=1\n', 'value=1\n']);
    const taskId = (t: string): string => h.ar.taskRunner(t)!.handle!.taskId;
    const bounceId = taskId('bounce');

    // Only meta that no template reads changes: nothing is re-rendered, nothing happens.
    await h.ar.update({ ...h.ar.allocation, job: { ...job, meta: { ...job.meta, other: 'x' } } });
    await runFor(h.clock, 100);
    expect(driver!.signalsReceived(taskId('hup'))).toEqual([]);
    expect(types(h.ar.taskStates()['quiet']!)).not.toContain('Restart Signaled');

    // Every template's input changes.
    await h.ar.update({ ...h.ar.allocation, job: { ...job, meta: { a: '2', b: '2', c: '2' } } });
    await runFor(h.clock, 100);
    expect([read('quiet', 'a.conf'), read('hup', 'b.conf'), read('bounce', 'c.conf')]).toEqual(['value=2\n', 'value=2\n', 'value=2\n']);
    const st = h.ar.taskStates();
    // noop: the file changed, the task was left alone.
    expect(st['quiet']!.state).toBe('running');
    expect(types(st['quiet']!).filter((t) => t === 'Started')).toHaveLength(1);
    expect(types(st['quiet']!)).not.toContain('Signaling');
    // signal: SIGUSR1 sent, still the same run.
    expect(driver!.signalsReceived(taskId('hup'))).toEqual(['SIGUSR1']);
    expect(types(st['hup']!).slice(-2)).toEqual(['Template Rendered', 'Signaling']);
    // restart: in place, not counted against the policy (attempts = 0 and still fine).
    expect(st['bounce']).toMatchObject({ state: 'running', failed: false });
    expect(h.ar.taskRunner('bounce')!.handle!.taskId).not.toBe(bounceId);
    expect(st['bounce']!.events.find((e) => e.type === 'Restart Signaled')!.message).toBe('Template with change_mode restart re-rendered');
  });

  it('evict kills the tasks; a kill during a restart delay ends the task without another start', async () => {
    const job = jobWith([mtask('main', { config: { run_for: '1s', exit_code: 1 } })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 1000);
    expect(h.ar.taskStates()['main']!.state).toBe('pending');
    await h.ar.update({ ...h.ar.allocation, desiredStatus: 'evict' });
    const st = h.ar.taskStates()['main']!;
    expect(st).toMatchObject({ state: 'dead', failed: false, restarts: 1 });
    expect(types(st).slice(-3)).toEqual(['Restarting', 'Killing', 'Killed']);
    expect(h.ar.clientStatus().status).toBe('complete');
  });

  it('keeps only the last 10 events', async () => {
    const job = jobWith([mtask('main', { config: { run_for: '1s', exit_code: 1 }, restart: mockRestartPolicy({ attempts: 10, delay: 100, interval: 600_000 }) })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 60_000);
    const st = h.ar.taskStates()['main']!;
    expect(st.events).toHaveLength(10);
    expect(st.events.at(-1)!.type).toBe('Not Restarting');
    expect(st.restarts).toBe(10);
    const times = st.events.map((e) => e.time);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});

describe('TaskRunner stats sampling', () => {
  it('keeps the latest usage sample while the task runs, and stops sampling after it exits', async () => {
    const job = jobWith([mtask('main', { config: { run_for: '10s' } })], 'batch');
    const clock = new VirtualClock();
    const d = new MockDriver({ clock });
    const ar = new AllocRunner({
      alloc: allocOf(job), dataDir: data.dir, driver: () => d, clock, rng: new SeededRng(3), statsIntervalMs: 1000, onUpdate: () => undefined,
    });
    active.push(ar);
    await ar.run();
    await runFor(clock, 500);
    expect(ar.taskRunner('main')!.latestUsage).toBeNull();
    await runFor(clock, 1000);
    const u = ar.taskRunner('main')!.latestUsage!;
    expect(u.rssBytes).toBe(256 * 1024 * 1024);
    expect(u.timestamp).toBe(clock.now() - 500);
    await runFor(clock, 10_000);
    await ar.done;
    expect(clock.pending()).toBe(0);
  });
});

describe('AllocRunner persist and restore (mock driver)', () => {
  it('persists handle and state after every change; a restored runner reattaches', async () => {
    const job = jobWith([mtask('main', { config: { run_for: '60s' } })]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 1000);
    await h.ar.persisted();
    const saved = JSON.parse(readFileSync(taskStateFile(data.dir, h.ar.id, 'main'), 'utf8'));
    expect(saved.state.state).toBe('running');
    expect(saved.handle.taskId).toBe(`${h.ar.id}/main/1`);
    h.ar.shutdown();

    // A new client process: a fresh driver on the same clock.
    const d2 = new MockDriver({ clock: h.clock });
    const statuses: AllocClientStatus[] = [];
    const ar2 = (await AllocRunner.restore({
      dataDir: data.dir, driver: () => d2, clock: h.clock, rng: new SeededRng(7), statsIntervalMs: 0,
      onUpdate: (_id, s) => statuses.push(s.status),
    }, h.ar.id))!;
    active.push(ar2);
    expect(ar2).toBeDefined();
    await ar2.run();
    await settle();
    expect(d2.inspect(`${h.ar.id}/main/1`).state).toBe('running');
    expect(ar2.taskStates()['main']!.state).toBe('running');
    await runFor(h.clock, 59_000);
    await until(() => ar2.taskStates()['main']!.state !== 'running', 'restored task exits');
    const st = ar2.taskStates()['main']!;
    expect(types(st)).toContain('Terminated');
    expect(types(st).filter((t) => t === 'Started')).toHaveLength(1);
  });

  it('restore of an unknown alloc gives undefined; a corrupt task file is an error naming the file', async () => {
    const clock = new VirtualClock();
    const opts = { dataDir: data.dir, driver: () => undefined, clock, rng: new SeededRng(1), onUpdate: () => undefined };
    expect(await AllocRunner.restore(opts, 'nope-0000')).toBeUndefined();

    const job = jobWith([mtask('main')]);
    const h = harness(allocOf(job));
    await h.ar.run();
    await runFor(h.clock, 10);
    await h.ar.persisted();
    h.ar.shutdown();
    const file = taskStateFile(data.dir, h.ar.id, 'main');
    writeFileSync(file, '{"state": ');
    await expect(AllocRunner.restore(opts, h.ar.id)).rejects.toThrow(file);
  });
});

// ---- raw_exec: real processes ----

const isLinux = process.platform === 'linux';

function tpl(destPath: string, data: string, envvars = false): Template {
  return { data, sourcePath: '', destPath, changeMode: 'noop', changeSignal: '', envvars, perms: '0644', leftDelim: '{{', rightDelim: '}}', splay: 0 };
}

/**
 * Live (non-zombie) process-group leaders whose command line contains `marker`: one per
 * task copy (a shell's short-lived fork before exec shares its group and is not counted).
 */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (cmd.includes(marker) && state !== 'Z' && Number(pgrp) === Number(e)) out.push(Number(e));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

let runners: AllocRunner[] = [];
beforeEach(() => { runners = []; });
afterEach(async () => {
  for (const r of runners) await r.stop().catch(() => undefined);
});

function options(driver: RawExecDriver): Omit<AllocRunnerOptions, 'alloc'> {
  return {
    dataDir: data.dir,
    driver: (n) => (n === 'raw_exec' ? driver : undefined),
    clock: new SystemClock(),
    rng: new SeededRng(11),
    statsIntervalMs: 0,
    onUpdate: () => undefined,
  };
}

function rawDriver(): RawExecDriver {
  return new RawExecDriver({ enabled: true, clock: new SystemClock(), pollIntervalMs: 20 });
}

describe.skipIf(!isLinux)('AllocRunner with raw_exec', () => {
  it('the task sees NOMAD_ALLOC_ID, its task dir and template output (file and env)', async () => {
    const job = jobWith([mtask('app', {
      driver: 'raw_exec',
      config: { command: '/bin/sh', args: ['-c', 'echo $NOMAD_ALLOC_ID > $NOMAD_TASK_DIR/id; cat $NOMAD_TASK_DIR/conf.txt > $NOMAD_TASK_DIR/seen; echo "$FROM_TPL" >> $NOMAD_TASK_DIR/seen; sleep 30'] },
      templates: [tpl('local/conf.txt', 'task={{ env "NOMAD_TASK_NAME" }}\n'), tpl('local/vars.env', 'FROM_TPL=from-template\n', true)],
      killTimeout: 2000,
    })]);
    const alloc = allocOf(job);
    const ar = new AllocRunner({ ...options(rawDriver()), alloc });
    runners.push(ar);
    await ar.run();
    const local = ar.allocDir.taskDir('app').local;
    await until(() => existsSync(join(local, 'seen')) && readFileSync(join(local, 'seen'), 'utf8').includes('\n'), 'task writes its files');
    await until(() => readFileSync(join(local, 'seen'), 'utf8').split('\n').length >= 3, 'both lines written');
    expect(readFileSync(join(local, 'id'), 'utf8').trim()).toBe(alloc.id);
    expect(readFileSync(join(local, 'seen'), 'utf8')).toBe('task=app\nfrom-template\n');
    const st = ar.taskStates()['app']!;
    expect(st.events.map((e) => e.type)).toEqual(['Received', 'Task Setup', 'Template Rendered', 'Started']);
    await ar.stop();
    expect(ar.taskStates()['app']!.state).toBe('dead');
    expect(ar.clientStatus().status).toBe('complete');
  });

  it('restore reattaches to the same process (no second copy); stop then kills it', async () => {
    const marker = `nomadts-restore-${process.pid}-a`;
    const job = jobWith([mtask('app', { driver: 'raw_exec', config: { command: '/bin/sh', args: ['-c', `sleep 30; echo ${marker}`] }, killTimeout: 2000 })]);
    const ar = new AllocRunner({ ...options(rawDriver()), alloc: allocOf(job) });
    await ar.run();
    await until(() => ar.taskStates()['app']!.state === 'running', 'task running');
    await ar.persisted();
    const pid = ar.taskRunner('app')!.handle!.state['pid'] as number;
    expect(alive(pid)).toBe(true);
    ar.shutdown(); // the runner object goes away; the process stays

    const ar2 = (await AllocRunner.restore(options(rawDriver()), ar.id))!;
    runners.push(ar2);
    await ar2.run();
    await until(() => ar2.taskRunner('app')!.handle !== null, 'reattached');
    expect(ar2.taskRunner('app')!.handle!.state['pid']).toBe(pid);
    expect(ar2.taskStates()['app']!.state).toBe('running');
    expect(processesWith(marker)).toEqual([pid]);
    expect(ar2.taskStates()['app']!.events.filter((e) => e.type === 'Started')).toHaveLength(1);

    await ar2.stop();
    expect(alive(pid)).toBe(false);
    expect(processesWith(marker)).toEqual([]);
    const types = ar2.taskStates()['app']!.events.map((e) => e.type);
    expect(types.slice(-3)).toEqual(['Killing', 'Terminated', 'Killed']);
  });

  it('a persisted pid that has died counts as a failed exit: the restart policy starts a new process', async () => {
    const marker = `nomadts-restore-${process.pid}-b`;
    const job = jobWith([mtask('app', {
      driver: 'raw_exec',
      config: { command: '/bin/sh', args: ['-c', `sleep 30; echo ${marker}`] },
      killTimeout: 2000,
      restart: mockRestartPolicy({ attempts: 2, delay: 50, interval: 60_000, mode: 'fail' }),
    })]);
    const ar = new AllocRunner({ ...options(rawDriver()), alloc: allocOf(job) });
    await ar.run();
    await until(() => ar.taskStates()['app']!.state === 'running', 'task running');
    await ar.persisted();
    const pid = ar.taskRunner('app')!.handle!.state['pid'] as number;
    ar.shutdown();
    process.kill(-pid, 'SIGKILL');
    await until(() => !alive(pid), 'process gone');

    const ar2 = (await AllocRunner.restore(options(rawDriver()), ar.id))!;
    runners.push(ar2);
    await ar2.run();
    await until(() => ar2.taskStates()['app']!.state === 'running' && ar2.taskRunner('app')!.handle !== null, 'restarted');
    const st = ar2.taskStates()['app']!;
    expect(st.restarts).toBe(1);
    const types = st.events.map((e) => e.type);
    expect(types.slice(-4)).toEqual(['Terminated', 'Restarting', 'Task Setup', 'Started']);
    expect(st.events.find((e) => e.message.startsWith('Task lost'))!.message).toContain('is gone');
    const newPid = ar2.taskRunner('app')!.handle!.state['pid'] as number;
    expect(newPid).not.toBe(pid);
    expect(processesWith(marker)).toEqual([newPid]);
    expect(ar2.taskRunner('app')!.handle!.taskId.endsWith('/2')).toBe(true);
  });
  it('a task that exited while the client was down: its real exit code goes to the restart policy', async () => {
    const marker = `nomadts-restore-${process.pid}-c`;
    const flag = join(data.dir, 'exit-now');
    // Exits 3 once the flag file appears (while no agent watches), then runs on after a restart.
    const job = jobWith([mtask('app', {
      driver: 'raw_exec',
      config: { command: '/bin/sh', args: ['-c', `while [ ! -e ${flag} ]; do sleep 0.05; done; if [ ! -e ${flag}.done ]; then touch ${flag}.done; exit 3; fi; sleep 30; echo ${marker}`] },
      killTimeout: 2000,
      restart: mockRestartPolicy({ attempts: 2, delay: 50, interval: 60_000, mode: 'fail' }),
    })]);
    const ar = new AllocRunner({ ...options(rawDriver()), alloc: allocOf(job) });
    await ar.run();
    await until(() => ar.taskStates()['app']!.state === 'running', 'task running');
    await ar.persisted();
    const pid = ar.taskRunner('app')!.handle!.state['pid'] as number;
    ar.shutdown();
    writeFileSync(flag, '');
    await until(() => !alive(pid), 'task exited while no runner watched');

    const ar2 = (await AllocRunner.restore(options(rawDriver()), ar.id))!;
    runners.push(ar2);
    await ar2.run();
    await until(() => ar2.taskStates()['app']!.state === 'running' && ar2.taskRunner('app')!.handle !== null, 'restarted by policy');
    const st = ar2.taskStates()['app']!;
    expect(st.restarts).toBe(1);
    expect(st.events.map((e) => e.type).slice(-4)).toEqual(['Terminated', 'Restarting', 'Task Setup', 'Started']);
    expect(st.events.find((e) => e.type === 'Terminated')!.message).toBe('Exit Code: 3');
    expect(processesWith(marker)).toHaveLength(1);
  });

  it('destroy of a restored runner that never ran stops the processes the earlier client left', async () => {
    const marker = `nomadts-restore-${process.pid}-d`;
    const job = jobWith([
      mtask('app', { driver: 'raw_exec', config: { command: '/bin/sh', args: ['-c', `sleep 30; echo ${marker}`] }, killTimeout: 2000 }),
      mtask('after', { driver: 'raw_exec', config: { command: '/bin/sh', args: ['-c', `echo ${marker}-post > post.txt`] }, lifecycle: { hook: 'poststop', sidecar: false } }),
    ]);
    const ar = new AllocRunner({ ...options(rawDriver()), alloc: allocOf(job) });
    await ar.run();
    await until(() => ar.taskStates()['app']!.state === 'running', 'task running');
    await ar.persisted();
    const pid = ar.taskRunner('app')!.handle!.state['pid'] as number;
    ar.shutdown();

    const ar2 = (await AllocRunner.restore(options(rawDriver()), ar.id))!;
    await ar2.destroy();
    expect(alive(pid)).toBe(false);
    expect(processesWith(marker)).toEqual([]);
    const st = ar2.taskStates();
    expect(st['app']!.events.map((e) => e.type).slice(-3)).toEqual(['Killing', 'Terminated', 'Killed']);
    // The orphan's poststop task is not started.
    expect(st['after']!.events.map((e) => e.type)).not.toContain('Started');
    expect(existsSync(join(data.dir, 'client', 'allocs', ar.id))).toBe(false);
  });
  it('lifecycle with real processes: prestart output is there for main, poststop runs after main exits', async () => {
    const job = jobWith([
      mtask('cleanup', { driver: 'raw_exec', lifecycle: { hook: 'poststop', sidecar: false }, config: { command: '/bin/sh', args: ['-c', 'cat "$NOMAD_ALLOC_DIR"/data/main.txt > "$NOMAD_ALLOC_DIR"/data/cleanup.txt'] } }),
      mtask('main', { driver: 'raw_exec', config: { command: '/bin/sh', args: ['-c', 'cat "$NOMAD_ALLOC_DIR"/data/init.txt > "$NOMAD_ALLOC_DIR"/data/main.txt; echo main >> "$NOMAD_ALLOC_DIR"/data/main.txt'] } }),
      mtask('init', { driver: 'raw_exec', lifecycle: { hook: 'prestart', sidecar: false }, config: { command: '/bin/sh', args: ['-c', 'sleep 0.2; echo init > "$NOMAD_ALLOC_DIR"/data/init.txt'] } }),
    ], 'batch');
    const ar = new AllocRunner({ ...options(rawDriver()), alloc: allocOf(job) });
    runners.push(ar);
    await ar.run();
    await ar.done;
    expect(ar.clientStatus().status).toBe('complete');
    expect(readFileSync(join(ar.allocDir.sharedDir, 'data', 'cleanup.txt'), 'utf8')).toBe('init\nmain\n');
  });
  it('logmon: a chatty task rotates to max_files; rotation goes on while no client runs, and after restore', async () => {
    const job = jobWith([mtask('chatty', {
      driver: 'raw_exec',
      config: { command: '/bin/sh', args: ['-c', 'i=0; while :; do echo "line $i ................................................................................"; i=$((i+1)); sleep 0.005; done'] },
      logs: { maxFiles: 3, maxFileSizeMB: 0.002, disabled: false },
      killTimeout: 2000,
    })]);
    const opts = { ...options(rawDriver()), logmon: true };
    const ar = new AllocRunner({ ...opts, alloc: allocOf(job) });
    await ar.run();
    const logDir = ar.allocDir.logDir;
    const indexes = (): number[] => readdirSync(logDir).filter((n) => /^chatty\.stdout\.\d+$/.test(n)).map((n) => Number(n.split('.').pop())).sort((a, b) => a - b);
    await until(() => (indexes().at(-1) ?? 0) >= 4, 'rotation past the fourth file');
    // logmon opens the next file, then prunes the oldest (as Nomad's rotator): read once settled.
    await until(() => indexes().length === 3, 'the old files pruned to max_files');
    await ar.persisted();
    const logmon = ar.taskRunner('chatty')!.logmon!;
    expect(alive(logmon.pid)).toBe(true);
    ar.shutdown();

    // No runner now: logmon keeps rotating on its own.
    const atShutdown = indexes().at(-1)!;
    await until(() => indexes().at(-1)! >= atShutdown + 3, 'rotation while no client runs');
    // logmon opens the next file, then prunes the oldest (as Nomad's rotator): read once settled.
    await until(() => indexes().length === 3, 'the old files pruned to max_files');

    const ar2 = (await AllocRunner.restore(opts, ar.id))!;
    runners.push(ar2);
    await ar2.run();
    await until(() => ar2.taskRunner('chatty')!.handle !== null, 'reattached');
    expect(ar2.taskRunner('chatty')!.logmon).toEqual(logmon);
    const atRestore = indexes().at(-1)!;
    await until(() => indexes().at(-1)! >= atRestore + 2, 'rotation after restore');
    // logmon opens the next file, then prunes the oldest (as Nomad's rotator): read once settled.
    await until(() => indexes().length === 3, 'the old files pruned to max_files');
    await ar2.stop();
    // Done for good: logmon drains and exits; the newest file ends with a whole line.
    await until(() => !alive(logmon.pid), 'logmon to exit');
    const newest = readFileSync(join(logDir, `chatty.stdout.${indexes().at(-1)!}`), 'utf8');
    expect(newest.length).toBeGreaterThan(0);
  });
});
