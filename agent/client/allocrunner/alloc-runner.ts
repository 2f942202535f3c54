/**
 * The alloc runner, after Nomad's client/allocrunner/alloc_runner.go and its task
 * coordinator: runs one allocation's tasks in lifecycle order.
 *
 *   prestart tasks start first; main tasks wait until every prestart non-sidecar
 *   task has completed successfully and every prestart sidecar is running;
 *   poststart tasks start once every main task has started; poststop tasks start
 *   once every other task is dead.
 *
 * Kill rules, checked on every task state change (Nomad's handleTaskStateUpdates):
 * a failed task kills its siblings (`Sibling Task Failed`); a dead leader kills the
 * others (`Leader Task Dead`); once every main task is dead the tasks still alive
 * (sidecars) are killed (`Main Tasks Dead`). Kills go leader first, then other
 * non-sidecar tasks, then sidecars; poststop tasks are never killed by these rules,
 * they run after.
 *
 * Alloc hooks are one ordered array (`alloc_dir`: build / destroy; `persist`:
 * alloc.json written on prerun and update, removed on destroy; then any extra hooks).
 * prerun stops at the first error (every task is then failed with `Setup Failure`);
 * postrun and destroy run every hook and collect the errors.
 *
 * The allocation's client status is `getClientStatus` over the task states; it and
 * the task states go to `onUpdate` after every task state change.
 */
import { join } from 'node:path';
import type { Clock, Rng } from '../../core/lib/index.js';
import { MultiError, NomadError } from '../../core/lib/index.js';
import type { AllocResourceUsage, Allocation, Node, Task, TaskGroup, TaskResourceUsage, TaskState } from '../../core/structs/index.js';
import type { TaskDriver } from '../drivers/index.js';
import { AllocDir } from '../taskrunner/index.js';
import type { ClientStatus } from './status.js';
import { getClientStatus } from './status.js';
import { AllocFileName, allocStateDir, readPersistedAlloc, removeAllocState, writeJsonAtomic } from './persist.js';
import type { TaskHook } from './task-runner.js';
import { TaskEventType, TaskRunner } from './task-runner.js';

/** An alloc hook (Nomad's RunnerPrerunHook, RunnerPostrunHook, RunnerUpdateHook, ...). */
export interface AllocHook {
  readonly name: string;
  prerun?(ar: AllocRunner): Promise<void>;
  /** After every task is dead. */
  postrun?(ar: AllocRunner): Promise<void>;
  update?(ar: AllocRunner, alloc: Allocation): Promise<void>;
  /** Before the tasks are killed for a stop. */
  preKill?(ar: AllocRunner): Promise<void>;
  destroy?(ar: AllocRunner): Promise<void>;
}

export type AllocUpdateFn = (allocId: string, clientStatus: ClientStatus, taskStates: Record<string, TaskState>) => void;

export interface AllocRunnerOptions {
  alloc: Allocation;
  /** The client's data dir: alloc dirs under `<dataDir>/alloc`, state under `<dataDir>/client/allocs`. */
  dataDir: string;
  /** The driver for a name, or undefined when this client has none. */
  driver: (name: string) => TaskDriver | undefined;
  clock: Clock;
  rng: Rng;
  node?: Node;
  onUpdate: AllocUpdateFn;
  statsIntervalMs?: number;
  /** Extra alloc hooks, after the built-in ones. */
  hooks?: readonly AllocHook[];
  /** Extra task hooks for every task runner. */
  taskHooks?: readonly TaskHook[];
  /**
   * Capture task output through logmon processes (see TaskRunnerOptions.logmon); a function
   * decides per driver (a driver whose logs the agent copies itself, like docker's, is better
   * left writing its files directly: the agent must never block on a FIFO).
   */
  logmon?: boolean | ((driver: string) => boolean);
}

export function allocGroup(alloc: Allocation): TaskGroup {
  const tg = alloc.job.taskGroups.find((g) => g.name === alloc.taskGroup);
  if (tg === undefined) {
    throw new NomadError('not_found', `allocation ${alloc.id}: job "${alloc.job.id}" has no group "${alloc.taskGroup}"`, { field: 'taskGroup' });
  }
  return tg;
}

const allocDirHook: AllocHook = {
  name: 'alloc_dir',
  async prerun(ar) {
    await ar.allocDir.build(ar.taskNames());
  },
  async destroy(ar) {
    await ar.allocDir.destroy();
  },
};

const persistAllocHook: AllocHook = {
  name: 'persist',
  async prerun(ar) {
    await ar.persistAlloc();
  },
  async update(ar) {
    await ar.persistAlloc();
  },
  async destroy(ar) {
    await removeAllocState(ar.dataDir, ar.id);
  },
};

export class AllocRunner {
  readonly id: string;
  readonly allocDir: AllocDir;
  readonly dataDir: string;
  private alloc: Allocation;
  private readonly opts: AllocRunnerOptions;
  private readonly hooks: AllocHook[];
  private readonly runners: TaskRunner[] = [];
  private readonly byName = new Map<string, TaskRunner>();
  private running = false;
  /** Alloc hook calls under way (prerun, update, preKill). */
  private hookOps = 0;
  private killing = false;
  private stopping = false;
  private destroyed = false;
  private postrunDone = false;
  private resolveDone!: () => void;
  /** Resolves once every task is dead and the postrun hooks ran. */
  readonly done: Promise<void>;
  /** Errors from postrun/destroy hooks (collected, not thrown at the tasks). */
  readonly hookErrors: NomadError[] = [];

  constructor(opts: AllocRunnerOptions) {
    this.opts = opts;
    this.alloc = opts.alloc;
    this.id = opts.alloc.id;
    this.dataDir = opts.dataDir;
    this.allocDir = new AllocDir(opts.dataDir, opts.alloc.id);
    this.hooks = [allocDirHook, persistAllocHook, ...(opts.hooks ?? [])];
    this.done = new Promise((res) => { this.resolveDone = res; });
    for (const task of allocGroup(opts.alloc).tasks) {
      const tr = new TaskRunner({
        alloc: opts.alloc,
        task,
        allocDir: this.allocDir,
        driver: opts.driver(task.driver),
        clock: opts.clock,
        rng: opts.rng,
        dataDir: opts.dataDir,
        ...(opts.node === undefined ? {} : { node: opts.node }),
        ...(opts.statsIntervalMs === undefined ? {} : { statsIntervalMs: opts.statsIntervalMs }),
        onStateChange: () => this.taskStateChanged(),
        ...(opts.taskHooks === undefined ? {} : { hooks: opts.taskHooks }),
        ...(opts.logmon === undefined ? {} : { logmon: typeof opts.logmon === 'function' ? opts.logmon(task.driver) : opts.logmon }),
      });
      this.runners.push(tr);
      this.byName.set(task.name, tr);
    }
  }

  /** Re-create the runner of a persisted allocation (then `run()` it). Undefined when nothing was persisted. */
  static async restore(opts: Omit<AllocRunnerOptions, 'alloc'>, allocId: string): Promise<AllocRunner | undefined> {
    const alloc = await readPersistedAlloc(opts.dataDir, allocId);
    if (alloc === undefined) return undefined;
    const ar = new AllocRunner({ ...opts, alloc });
    for (const tr of ar.runners) await tr.restore();
    return ar;
  }

  get allocation(): Allocation {
    return this.alloc;
  }

  taskNames(): string[] {
    return this.runners.map((r) => r.name);
  }

  taskRunner(name: string): TaskRunner | undefined {
    return this.byName.get(name);
  }

  /**
   * Signal one task (`task` named) or every running task (`task` ''; Nomad's alloc signal).
   * An unknown task name lists the group's tasks; none running is a `conflict`.
   */
  async signalTasks(task: string, signal: string): Promise<void> {
    for (const tr of this.targets(task, 'signal')) await tr.signal(signal);
  }

  /**
   * Restart one task (`task` named) or every running task (`task` '') in place, outside the
   * restart policy (Nomad's alloc restart). Resolves once the old processes have exited.
   */
  async restartTasks(task: string): Promise<void> {
    await Promise.all(this.targets(task, 'restart').map((tr) => tr.restart()));
  }

  /** The named task's runner, or (for '') the running ones; errors a person can act on. */
  private targets(task: string, what: string): TaskRunner[] {
    if (task !== '') {
      const tr = this.byName.get(task);
      if (tr === undefined) throw new NomadError('not_found', `unknown task ${JSON.stringify(task)} in allocation ${this.id}; its tasks: ${this.taskNames().join(', ')}`, { field: 'task' });
      return [tr];
    }
    const running = this.runners.filter((r) => r.state().state === 'running');
    if (running.length === 0) throw new NomadError('conflict', `allocation ${this.id} has no running task to ${what}`, { field: 'alloc_id' });
    return running;
  }

  taskStates(): Record<string, TaskState> {
    const out: Record<string, TaskState> = {};
    for (const r of this.runners) out[r.name] = r.state();
    return out;
  }

  /**
   * The latest usage sample of each running task (Nomad's AllocResourceUsage). CPU is also given
   * in MHz of this node: percent of one core × the node's MHz per core.
   */
  resourceUsage(): AllocResourceUsage {
    const node = this.opts.node;
    const mhzPerCore = node !== undefined && node.resources.cpuCores > 0 ? node.resources.cpu / node.resources.cpuCores : 0;
    const tasks: Record<string, TaskResourceUsage> = {};
    for (const r of this.runners) {
      const u = r.latestUsage;
      if (u === null || r.state().state !== 'running') continue;
      tasks[r.name] = {
        timestamp: u.timestamp,
        cpuPercent: u.cpuPercent,
        cpuMhz: (u.cpuPercent / 100) * mhzPerCore,
        cpuTotalMs: u.cpuUserMs + u.cpuSystemMs,
        memoryRssBytes: u.rssBytes,
      };
    }
    return { allocId: this.id, tasks };
  }

  clientStatus(): ClientStatus {
    return getClientStatus(this.taskStates());
  }

  async persistAlloc(): Promise<void> {
    await writeJsonAtomic(join(allocStateDir(this.dataDir, this.id), AllocFileName), this.alloc);
  }

  /** True while the prerun hooks or any task runner's own work (setup, start, recover) is under way. */
  get busy(): boolean {
    return this.hookOps > 0 || this.runners.some((r) => r.busy);
  }

  /** Resolves once every task runner's state is on disk. */
  async persisted(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.persisted()));
  }

  /** Run the prerun hooks, then the tasks in lifecycle order. */
  async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const tr of this.runners) {
      if (tr.state().events.length === 0) tr.received();
    }
    for (const hook of this.hooks) {
      if (hook.prerun === undefined) continue;
      this.hookOps++;
      try {
        await hook.prerun(this);
      } catch (e) {
        const msg = `alloc hook "${hook.name}" failed: ${e instanceof Error ? e.message : String(e)}`;
        this.killing = true;
        // Nothing has started: every task fails where it stands, and so does the alloc.
        for (const tr of this.runners) tr.failBeforeStart('Setup Failure', msg);
        this.checkDone();
        return;
      } finally {
        this.hookOps--;
      }
    }
    if (this.alloc.desiredStatus !== 'run') {
      void this.stop();
      return;
    }
    // Restored tasks that were running (or are dead) resume regardless of lifecycle gates.
    for (const tr of this.runners) {
      if (tr.needsReattach || tr.isDead) tr.run();
    }
    this.advance();
  }

  /** The server changed the allocation: stop/evict kills the tasks; otherwise an in-place update. */
  async update(alloc: Allocation): Promise<void> {
    if (alloc.id !== this.id) throw new NomadError('invalid_argument', `update for allocation ${alloc.id} sent to runner of ${this.id}`);
    this.alloc = alloc;
    const tg = allocGroup(alloc);
    // Task update hooks may wait on the clock (template splay) or a restart: not counted as busy.
    await Promise.all(this.runners.map((tr) => {
      const t: Task | undefined = tg.tasks.find((x) => x.name === tr.name);
      return t === undefined ? Promise.resolve() : tr.updateAlloc(alloc, t);
    }));
    const errs: NomadError[] = [];
    for (const hook of this.hooks) {
      if (hook.update === undefined) continue;
      this.hookOps++;
      try {
        await hook.update(this, alloc);
      } catch (e) {
        errs.push(asNomadError(hook.name, e));
      } finally {
        this.hookOps--;
      }
    }
    this.hookErrors.push(...errs);
    if (alloc.desiredStatus === 'stop' || alloc.desiredStatus === 'evict') await this.stop();
  }

  /** Kill every task (leader, others, sidecars), then let poststop tasks run. Resolves when all are dead. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      for (const hook of this.hooks) {
        if (hook.preKill === undefined) continue;
        this.hookOps++;
        try {
          await hook.preKill(this);
        } catch (e) {
          this.hookErrors.push(asNomadError(hook.name, e));
        } finally {
          this.hookOps--;
        }
      }
      await this.killTasks();
      this.advance();
    }
    await this.done;
  }

  /** Stop (if still running), then run every destroy hook: the alloc dir and persisted state go. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    if (!this.running) {
      // Never run (e.g. restored, then found unknown to the server): kill every task where it
      // stands. Restored tasks are reattached and stopped; no lifecycle gate opens, so a
      // poststop task does not start. Every kill begins before `running` lets advance() act.
      this.stopping = true;
      this.killing = true;
      const kills = this.runners.map((tr) => tr.kill());
      this.running = true;
      await Promise.all(kills);
      this.checkDone();
    } else {
      await this.stop();
    }
    await this.done;
    await this.persisted();
    this.destroyed = true;
    const errs: NomadError[] = [];
    for (const hook of this.hooks) {
      if (hook.destroy === undefined) continue;
      try {
        await hook.destroy(this);
      } catch (e) {
        errs.push(asNomadError(hook.name, e));
      }
    }
    if (errs.length > 0) {
      this.hookErrors.push(...errs);
      throw errs.length === 1 ? errs[0]! : new MultiError(errs);
    }
  }

  /** The client is shutting down: stop managing the tasks, leave them running (restore picks them up). */
  shutdown(): void {
    for (const tr of this.runners) tr.shutdown();
  }

  private taskStateChanged(): void {
    if (this.destroyed) return;
    this.opts.onUpdate(this.id, this.clientStatus(), this.taskStates());
    if (this.running) this.advance();
  }

  /** The task coordinator: kill rules, then lifecycle gates. */
  private advance(): void {
    if (!this.running || this.destroyed) return;
    const mains = this.runners.filter((r) => r.lifecycleHook === 'main');
    if (!this.killing) {
      const failed = this.runners.find((r) => r.isDead && r.state().failed);
      const leader = this.runners.find((r) => r.isLeader && r.isDead);
      if (failed !== undefined) {
        void this.killTasks({ type: TaskEventType.SiblingFailed, message: `Task's sibling "${failed.name}" failed` });
      } else if (leader !== undefined) {
        void this.killTasks({ type: TaskEventType.LeaderDead, message: 'Leader Task in Group dead' });
      } else if (mains.length > 0 && mains.every((r) => r.isDead)) {
        void this.killTasks({ type: TaskEventType.MainDead, message: 'Main tasks in the group died' });
      }
    }
    if (!this.killing) {
      const pre = this.runners.filter((r) => r.lifecycleHook === 'prestart');
      for (const r of pre) r.run();
      const preDone = pre.every((r) => (r.isSidecar ? r.state().state === 'running' : r.isDead && !r.state().failed));
      if (preDone) {
        for (const r of mains) r.run();
        if (mains.every((r) => r.state().state !== 'pending' || r.state().restarts > 0)) {
          for (const r of this.runners) if (r.lifecycleHook === 'poststart') r.run();
        }
      }
    }
    const others = this.runners.filter((r) => r.lifecycleHook !== 'poststop');
    if (others.every((r) => r.isDead)) {
      for (const r of this.runners) if (r.lifecycleHook === 'poststop') r.run();
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (this.postrunDone || !this.runners.every((r) => r.isDead)) return;
    this.postrunDone = true;
    void this.postrun();
  }

  private async postrun(): Promise<void> {
    for (const hook of this.hooks) {
      if (hook.postrun === undefined) continue;
      try {
        await hook.postrun(this);
      } catch (e) {
        this.hookErrors.push(asNomadError(hook.name, e));
      }
    }
    this.resolveDone();
  }

  /** Leader first, then the other non-sidecar tasks together, then sidecars; poststop tasks are left to run. */
  private async killTasks(reason?: { type: string; message: string }): Promise<void> {
    this.killing = true;
    const live = (r: TaskRunner): boolean => !r.isDead && r.lifecycleHook !== 'poststop';
    const why = (r: TaskRunner): { type: string; message: string } | undefined => (reason === undefined || r.isDead ? undefined : reason);
    for (const r of this.runners.filter((x) => x.isLeader && live(x))) await r.kill(why(r));
    await Promise.all(this.runners.filter((x) => !x.isLeader && !x.isSidecar && live(x)).map((r) => r.kill(why(r))));
    await Promise.all(this.runners.filter((x) => !x.isLeader && x.isSidecar && live(x)).map((r) => r.kill(why(r))));
  }
}

function asNomadError(hook: string, e: unknown): NomadError {
  return new NomadError('internal', `alloc hook "${hook}": ${e instanceof Error ? e.message : String(e)}`);
}
