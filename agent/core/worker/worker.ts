/**
 * A scheduler worker (nomad/worker.go): dequeue an evaluation from the broker,
 * wait until local state has caught up with it, run the scheduler for its type on
 * a snapshot, submit the plan through the Planner, then ack — or nack on failure
 * so the broker redelivers it. Many workers run side by side; the plan applier
 * serialises their plans.
 */
import type { Clock, Rng } from '../lib/index.js';
import type { Evaluation, JobType, Plan, PlanResult, Planner, StateReader } from '../structs/index.js';

/** What a scheduler needs from the world: a snapshot, a planner, randomness, the time. */
export interface SchedulerDeps {
  state: StateReader;
  planner: Planner;
  rng: Rng;
  now: number;
}

/** A scheduler decides; it never writes (nomad scheduler.Scheduler). */
export interface Scheduler {
  process(evaluation: Evaluation): Promise<void>;
}

export type SchedulerFactory = (type: JobType, deps: SchedulerDeps) => Scheduler;

export interface WorkerBroker {
  /**
   * `waitIndex` (issue 5 §4, a broker on another server): the index this server's state must reach
   * before scheduling, when more than the evaluation's modifyIndex (Nomad's Eval.Dequeue WaitIndex).
   */
  dequeue(schedulerTypes: string[], timeoutMs: number, opts?: { signal?: AbortSignal }): Promise<{ eval: Evaluation; token: string; waitIndex?: number } | null>;
  /** A broker on another server answers asynchronously (issue 5 §4); the worker awaits either. */
  ack(evalId: string, token: string): void | Promise<void>;
  nack(evalId: string, token: string): void | Promise<void>;
}

/** The evaluation a worker is processing and the broker token it was delivered under. */
export interface EvalDelivery {
  evalId: string;
  token: string;
}

export interface WorkerDeps {
  id: string;
  broker: WorkerBroker;
  /** Resolve with a snapshot whose index is at least `index` (rejects after `timeoutMs`). */
  waitForIndex(index: number, timeoutMs: number): Promise<StateReader>;
  submitPlan(plan: Plan): Promise<PlanResult>;
  /**
   * Write evaluations (status updates, follow-ups, blocked evals) through the FSM, under the
   * delivery being processed: refused (nothing written) when its token is no longer outstanding
   * (Nomad's Eval.Update / Eval.Create check), and its nack timer restarts when it is.
   */
  upsertEvals(evals: Evaluation[], delivery: EvalDelivery): Promise<number>;
  schedulers: SchedulerFactory;
  clock: Clock;
  rng: Rng;
  schedulerTypes?: JobType[];
  dequeueTimeoutMs?: number;
  stateTimeoutMs?: number;
  /** Observability hook: each step of an evaluation's life in this worker. */
  onStep?(step: WorkerStep): void;
  /**
   * Called after each evaluation, before dequeuing the next: the server resolves it
   * on the next turn of the event loop, so a backlog of ready evaluations (which the
   * broker hands over without waiting) does not keep RPCs, heartbeats and timers
   * waiting until the backlog is gone. Absent: evaluations run back to back.
   */
  yieldToLoop?(): Promise<void>;
}

export type WorkerStep =
  | { kind: 'dequeued'; workerId: string; evalId: string; at: number }
  | { kind: 'plan-submitted'; workerId: string; evalId: string; at: number; placements: number; stops: number }
  | { kind: 'plan-result'; workerId: string; evalId: string; at: number; rejectedNodes: number; refreshIndex: number }
  | { kind: 'acked'; workerId: string; evalId: string; at: number }
  | { kind: 'nacked'; workerId: string; evalId: string; at: number; error: string };

export interface WorkerStats {
  processed: number;
  acked: number;
  nacked: number;
  plansSubmitted: number;
}

export class Worker {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private readonly counters: WorkerStats = { processed: 0, acked: 0, nacked: 0, plansSubmitted: 0 };

  constructor(private readonly deps: WorkerDeps) {}

  start(): void {
    if (this.loop !== null) return;
    this.stopped = false;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stop after the current evaluation; resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    const loop = this.loop;
    this.loop = null;
    if (loop !== null) await loop;
  }

  stats(): WorkerStats {
    return { ...this.counters };
  }

  private async run(signal: AbortSignal): Promise<void> {
    const types = this.deps.schedulerTypes ?? ['service', 'batch', 'system', 'sysbatch'];
    const timeout = this.deps.dequeueTimeoutMs ?? 500;
    while (!this.stopped) {
      const item = await this.deps.broker.dequeue(types, timeout, { signal });
      if (item === null) continue;
      await this.processOne(item.eval, item.token, item.waitIndex);
      if (this.deps.yieldToLoop !== undefined) await this.deps.yieldToLoop();
    }
  }

  /** Run one evaluation to ack or nack. Exposed for tests that drive a worker step by step. */
  async processOne(evaluation: Evaluation, token: string, waitIndex = 0): Promise<void> {
    const { deps } = this;
    const step = (s: WorkerStep) => deps.onStep?.(s);
    step({ kind: 'dequeued', workerId: deps.id, evalId: evaluation.id, at: deps.clock.now() });
    this.counters.processed++;
    try {
      const state = await deps.waitForIndex(Math.max(evaluation.modifyIndex, waitIndex), deps.stateTimeoutMs ?? 5_000);
      const planner = this.planner(evaluation, token, step);
      const scheduler = deps.schedulers(evaluation.type, { state, planner, rng: deps.rng, now: deps.clock.now() });
      await scheduler.process(evaluation);
      await deps.broker.ack(evaluation.id, token);
      this.counters.acked++;
      step({ kind: 'acked', workerId: deps.id, evalId: evaluation.id, at: deps.clock.now() });
    } catch (err) {
      this.counters.nacked++;
      const message = err instanceof Error ? err.message : String(err);
      step({ kind: 'nacked', workerId: deps.id, evalId: evaluation.id, at: deps.clock.now(), error: message });
      try {
        await deps.broker.nack(evaluation.id, token);
      } catch {
        // The eval's token expired meanwhile (nack timeout): the broker already redelivered it.
      }
    }
  }

  private planner(evaluation: Evaluation, token: string, step: (s: WorkerStep) => void): Planner {
    const { deps } = this;
    const delivery: EvalDelivery = { evalId: evaluation.id, token };
    return {
      submitPlan: async (plan) => {
        plan.evalToken = token;
        this.counters.plansSubmitted++;
        step({
          kind: 'plan-submitted',
          workerId: deps.id,
          evalId: evaluation.id,
          at: deps.clock.now(),
          placements: countAllocs(plan.nodeAllocation),
          stops: countAllocs(plan.nodeUpdate),
        });
        const result = await deps.submitPlan(plan);
        step({ kind: 'plan-result', workerId: deps.id, evalId: evaluation.id, at: deps.clock.now(), rejectedNodes: result.rejectedNodes.length, refreshIndex: result.refreshIndex });
        if (result.refreshIndex > 0) {
          const refreshedState = await deps.waitForIndex(result.refreshIndex, deps.stateTimeoutMs ?? 5_000);
          return { result, refreshedState };
        }
        return { result, refreshedState: null };
      },
      updateEval: async (e) => {
        await deps.upsertEvals([e], delivery);
      },
      createEval: async (e) => {
        await deps.upsertEvals([e], delivery);
      },
      reblockEval: async (e) => {
        await deps.upsertEvals([e], delivery);
      },
    };
  }
}

function countAllocs(byNode: Record<string, unknown[]>): number {
  let n = 0;
  for (const list of Object.values(byNode)) n += list.length;
  return n;
}
