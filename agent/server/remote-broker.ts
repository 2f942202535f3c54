/**
 * Scheduler workers on every server (issue 5 §4), as Nomad's nomad/worker.go: a worker asks the
 * leader's eval broker for work (Eval.Dequeue), waits until its *own* server's state has applied
 * the index the leader names, schedules on that local snapshot, sends its plan to the leader's plan
 * applier (Plan.Submit) and acks or nacks there. On the leader the broker and the plan applier are
 * called directly; on a follower over ClusterService (EvalDequeue, EvalAck, EvalNack, PlanSubmit).
 *
 * A `SchedulerLink` is one such leader. `RoutedWorkerBroker` is the worker's broker: each dequeue
 * goes to whichever link `route()` names now (so a follower's worker moves to a new leader by
 * itself), and an evaluation's ack, nack and plan go back to the link that handed it out — a new
 * leader would refuse its token anyway, and rebuilds the evaluation from state for redelivery.
 * It never throws from `dequeue` (a worker's loop must survive a leader going away): it waits a
 * little and answers null.
 */
import type { Clock } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { EvalBroker } from '../core/broker/index.js';
import type { PlanApplier } from '../core/plan/index.js';
import type { Evaluation, Plan, PlanResult, StateReader } from '../core/structs/index.js';
import type { EvalDelivery, WorkerBroker } from '../core/worker/index.js';
import type { ClusterClient, ClusterHandlers, RemoteEvalDelivery } from '../raft/transport/index.js';
import { emitWorkerStep } from './ops.js';
import type { Server } from './server.js';

/** The leader's broker and plan applier, as one worker uses them. */
export interface SchedulerLink {
  /** Whose broker this is (a server id; the leader's own workers see their own id). */
  readonly leader: string;
  dequeue(types: string[], timeoutMs: number, workerId: string, signal?: AbortSignal): Promise<RemoteEvalDelivery | null>;
  ack(evalId: string, token: string): Promise<void>;
  nack(evalId: string, token: string): Promise<void>;
  submitPlan(plan: Plan): Promise<PlanResult>;
  /** Evaluation writes under the delivery (refused when its token is no longer outstanding); the commit index. */
  updateEvals(evals: Evaluation[], delivery: EvalDelivery): Promise<number>;
}

/**
 * The index a worker on another server waits for before scheduling `e` (Nomad's getWaitIndex): the
 * highest modify index of the job's evaluations in the leader's state. Applying a plan bumps its
 * evaluation's modify index (the FSM's ApplyPlanResults), so an evaluation redelivered after its
 * worker or the old leader died between plan and status write waits until its plan is visible,
 * and is not placed twice; a job's next evaluation waits for the previous one's writes.
 */
export function jobWaitIndex(state: StateReader, e: Evaluation): number {
  let max = e.modifyIndex;
  for (const o of state.evalsByJob(e.namespace, e.jobId)) if (o.modifyIndex > max) max = o.modifyIndex;
  return max;
}

/**
 * The leader's own broker and plan applier. Its workers read the state that applied every write the
 * broker knows of, so they wait for the evaluation's own index only (waitIndex 0).
 */
export function localSchedulerLink(o: { leader: string; broker: EvalBroker; planApplier: PlanApplier; updateEvals: (evals: Evaluation[], delivery: EvalDelivery) => Promise<number> }): SchedulerLink {
  return {
    leader: o.leader,
    dequeue: async (types, timeoutMs, _workerId, signal) => {
      const d = await o.broker.dequeue(types, timeoutMs, signal === undefined ? {} : { signal });
      return d === null ? null : { eval: d.eval, token: d.token, waitIndex: 0 };
    },
    ack: async (evalId, token) => o.broker.ack(evalId, token),
    nack: async (evalId, token) => o.broker.nack(evalId, token),
    submitPlan: (plan) => o.planApplier.submit(plan),
    updateEvals: (evals, delivery) => o.updateEvals(evals, delivery),
  };
}

/** The leader's broker and plan applier over ClusterService. */
export function remoteSchedulerLink(leader: string, client: Pick<ClusterClient, 'evalDequeue' | 'evalAck' | 'evalNack' | 'planSubmit' | 'evalUpdate'>, planTimeoutMs = 30_000): SchedulerLink {
  return {
    leader,
    dequeue: (types, timeoutMs, workerId, signal) => client.evalDequeue(types, timeoutMs, workerId, signal),
    ack: (evalId, token) => client.evalAck(evalId, token),
    nack: (evalId, token) => client.evalNack(evalId, token),
    // Never retried: a plan the leader may have committed is not sent twice. A failure nacks the
    // evaluation; its redelivery waits for the job's allocations (jobWaitIndex) and sees the plan.
    submitPlan: (plan) => client.planSubmit(plan, planTimeoutMs),
    updateEvals: (evals, delivery) => client.evalUpdate(evals, delivery),
  };
}

/**
 * The leader's side of ClusterService's worker calls (Nomad's Eval.Dequeue, Eval.Ack, Eval.Nack,
 * Plan.Submit): the server's own broker and plan applier. `leaderOnly` throws (`unavailable`,
 * naming the leader) unless this server holds the leader's duties now. A remote worker's dequeue,
 * ack and nack are put on this server's ops bus under the worker's id (`s2/worker-0`), so the
 * leader's event stream shows which server's worker took each evaluation.
 */
export function leaderWorkerHandlers(o: { server: Server; clock: Clock; leaderOnly: () => void }): Required<Pick<ClusterHandlers, 'evalDequeue' | 'evalAck' | 'evalNack' | 'planSubmit' | 'evalUpdate'>> {
  const { server, clock, leaderOnly } = o;
  /** Remote deliveries → the worker that holds them. */
  const holders = new Map<string, string>();
  const step = (kind: 'acked' | 'nacked', evalId: string): void => {
    const workerId = holders.get(evalId);
    holders.delete(evalId);
    if (workerId === undefined) return;
    emitWorkerStep(server.ops, kind === 'acked' ? { kind, workerId, evalId, at: clock.now() } : { kind, workerId, evalId, at: clock.now(), error: 'nacked by its worker' });
  };
  return {
    evalDequeue: async (req, signal) => {
      leaderOnly();
      // Nomad's default wait is 1 s; a longer one is capped so a call outlives no leadership by long.
      const timeoutMs = req.timeoutMs > 0 ? Math.min(req.timeoutMs, 30_000) : 1_000;
      const d = await server.broker.dequeue(req.schedulerTypes, timeoutMs, { signal });
      if (d === null) return null;
      if (req.workerId !== '') {
        if (holders.size >= 4_096) holders.delete(holders.keys().next().value!); // deliveries the nack timer took back
        holders.set(d.eval.id, req.workerId);
        emitWorkerStep(server.ops, { kind: 'dequeued', workerId: req.workerId, evalId: d.eval.id, at: clock.now() });
      }
      return { eval: d.eval, token: d.token, waitIndex: jobWaitIndex(server.state(), d.eval) };
    },
    evalAck: async (evalId, token) => {
      leaderOnly();
      server.broker.ack(evalId, token);
      step('acked', evalId);
    },
    evalNack: async (evalId, token) => {
      leaderOnly();
      server.broker.nack(evalId, token);
      step('nacked', evalId);
    },
    planSubmit: async (plan) => {
      leaderOnly();
      // The worker is alive and making progress: its nack timer starts again (Nomad pauses it while
      // the plan is queued). A token that is not outstanding is left to the plan applier to refuse.
      if (plan.evalToken !== '' && server.broker.outstanding(plan.evalId) === plan.evalToken) server.broker.outstandingReset(plan.evalId, plan.evalToken);
      return server.planApplier.submit(plan);
    },
    evalUpdate: async (evals, delivery) => {
      leaderOnly();
      return server.upsertWorkerEvals(evals, delivery);
    },
  };
}

export interface RoutedWorkerBrokerOptions {
  workerId: string;
  /** The leader to ask now; undefined while none is known (or this server is still taking over). */
  route: () => SchedulerLink | undefined;
  clock: Clock;
  /** Pause before asking again after a failed dequeue or while no leader is known (default 250 ms). */
  retryMs?: number;
  /** A dequeue that failed (leader gone, not the leader any more): for the log. */
  onError?: (err: unknown, leader: string) => void;
}

export interface RoutedWorkerBrokerStats {
  /** Evaluations dequeued, by the leader that handed them out. */
  dequeuedFrom: Record<string, number>;
  dequeueErrors: number;
}

export class RoutedWorkerBroker implements WorkerBroker {
  /** Evaluation id → the link that handed it out (until acked or nacked). */
  private readonly outstanding = new Map<string, SchedulerLink>();
  private readonly counters: RoutedWorkerBrokerStats = { dequeuedFrom: {}, dequeueErrors: 0 };

  constructor(private readonly o: RoutedWorkerBrokerOptions) {}

  async dequeue(schedulerTypes: string[], timeoutMs: number, opts: { signal?: AbortSignal } = {}): Promise<{ eval: Evaluation; token: string; waitIndex: number } | null> {
    const link = this.o.route();
    if (link === undefined) {
      await this.pause(opts.signal);
      return null;
    }
    try {
      const d = await link.dequeue(schedulerTypes, timeoutMs, this.o.workerId, opts.signal);
      if (d === null) return null;
      this.outstanding.set(d.eval.id, link);
      this.counters.dequeuedFrom[link.leader] = (this.counters.dequeuedFrom[link.leader] ?? 0) + 1;
      return d;
    } catch (err) {
      this.counters.dequeueErrors++;
      this.o.onError?.(err, link.leader);
      await this.pause(opts.signal);
      return null;
    }
  }

  async ack(evalId: string, token: string): Promise<void> {
    await this.take(evalId, 'ack').ack(evalId, token);
  }

  async nack(evalId: string, token: string): Promise<void> {
    await this.take(evalId, 'nack').nack(evalId, token);
  }

  /** The plan goes to the leader that handed out its evaluation (whose token it carries). */
  submitPlan(plan: Plan): Promise<PlanResult> {
    const link = this.outstanding.get(plan.evalId);
    if (link === undefined) return Promise.reject(new NomadError('conflict', `plan for evaluation ${plan.evalId} refused: this worker holds no delivery of it`, { field: 'evalId' }));
    return link.submitPlan(plan);
  }

  /** Evaluation writes go to the leader that handed out the evaluation (whose token they carry). */
  updateEvals(evals: Evaluation[], delivery: EvalDelivery): Promise<number> {
    const link = this.outstanding.get(delivery.evalId);
    if (link === undefined) return Promise.reject(new NomadError('conflict', `evaluation writes for ${delivery.evalId} refused: this worker holds no delivery of it`, { field: 'evalId' }));
    return link.updateEvals(evals, delivery);
  }

  stats(): RoutedWorkerBrokerStats {
    return { dequeuedFrom: { ...this.counters.dequeuedFrom }, dequeueErrors: this.counters.dequeueErrors };
  }

  private take(evalId: string, verb: string): SchedulerLink {
    const link = this.outstanding.get(evalId);
    if (link === undefined) throw new NomadError('not_found', `cannot ${verb} evaluation ${evalId}: this worker holds no delivery of it`, { field: 'evalId' });
    this.outstanding.delete(evalId);
    return link;
  }

  private pause(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        timer.cancel();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.o.clock.setTimer(this.o.retryMs ?? 250, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
