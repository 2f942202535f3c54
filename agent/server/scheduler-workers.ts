/**
 * A cluster server's scheduler workers (issue 5 §4). Every server runs `num_schedulers` workers,
 * leader and followers alike, and they keep running across leadership changes: each worker's
 * broker is routed (remote-broker.ts) to the current leader — called directly on the leader, over
 * ClusterService elsewhere. A worker waits for its own server's state to reach the index the
 * leader names, schedules on that snapshot and writes its evaluations through the replicated log.
 *
 * As Nomad's leader does (leader.go pausableWorkers), a leader with other servers beside it pauses
 * 3/4 of its workers (rounded down; never its last one) to leave room for the broker, the plan
 * applier and Raft, and resumes them when it steps down. A lone server runs them all.
 * Worker ids name the server (`s1/worker-0`), so ops events and `nomadts top` show where an
 * evaluation was scheduled.
 */
import type { Clock, Rng } from '../core/lib/index.js';
import type { JobType, StateReader } from '../core/structs/index.js';
import { newScheduler } from '../core/scheduler/index.js';
import type { WorkerStats, WorkerStep } from '../core/worker/index.js';
import { Worker } from '../core/worker/index.js';
import type { RoutedWorkerBrokerStats, SchedulerLink } from './remote-broker.js';
import { RoutedWorkerBroker } from './remote-broker.js';

export interface SchedulerWorkersOptions {
  /** This server's id (worker ids are `<serverId>/worker-<i>`). */
  serverId: string;
  /** How many workers (Nomad's num_schedulers). */
  count: number;
  clock: Clock;
  rng: Rng;
  /** The leader to work for now (undefined while none is known). */
  route: () => SchedulerLink | undefined;
  /** This server's state at or past `index` (rejects after `timeoutMs`). */
  waitForIndex(index: number, timeoutMs: number): Promise<StateReader>;
  /** Whether a leader should pause some workers now (other servers are there to work). */
  othersWork: () => boolean;
  onStep?(step: WorkerStep): void;
  onDequeueError?(err: unknown, leader: string): void;
  schedulerTypes?: JobType[];
  dequeueTimeoutMs?: number;
  stateTimeoutMs?: number;
  retryMs?: number;
}

export interface SchedulerWorkerStats extends WorkerStats, RoutedWorkerBrokerStats {
  id: string;
  running: boolean;
}

/** How many of `n` workers a leader pauses (Nomad: 3n/4 rounded down, none of a single one). */
export function pausedOnLeader(n: number): number {
  return n <= 1 ? 0 : Math.floor((3 * n) / 4);
}

export class SchedulerWorkers {
  private readonly workers: { id: string; worker: Worker; broker: RoutedWorkerBroker; running: boolean }[] = [];
  private started = false;
  private leading = false;
  /** Start/stop transitions, one at a time and in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly o: SchedulerWorkersOptions) {
    for (let i = 0; i < o.count; i++) {
      const id = `${o.serverId}/worker-${i}`;
      const broker = new RoutedWorkerBroker({
        workerId: id,
        route: o.route,
        clock: o.clock,
        ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
        ...(o.onDequeueError !== undefined ? { onError: (err: unknown, leader: string) => o.onDequeueError?.(err, leader) } : {}),
      });
      const worker = new Worker({
        id,
        broker,
        waitForIndex: (index, timeoutMs) => o.waitForIndex(index, timeoutMs),
        submitPlan: (plan) => broker.submitPlan(plan),
        // To the leader that handed the evaluation out, checked against its token there.
        upsertEvals: (evals, delivery) => broker.updateEvals(evals, delivery),
        schedulers: newScheduler,
        clock: o.clock,
        rng: o.rng.fork(),
        ...(o.schedulerTypes !== undefined ? { schedulerTypes: o.schedulerTypes } : {}),
        ...(o.dequeueTimeoutMs !== undefined ? { dequeueTimeoutMs: o.dequeueTimeoutMs } : {}),
        ...(o.stateTimeoutMs !== undefined ? { stateTimeoutMs: o.stateTimeoutMs } : {}),
        ...(o.onStep !== undefined ? { onStep: (s: WorkerStep) => o.onStep?.(s) } : {}),
        // A backlog of ready evaluations must not starve RPCs, Raft and heartbeats on this server.
        yieldToLoop: () => new Promise<void>((resolve) => setImmediate(resolve)),
      });
      this.workers.push({ id, worker, broker, running: false });
    }
  }

  /** Start the workers (those a leader pauses stay stopped). */
  start(): Promise<void> {
    this.started = true;
    return this.reconcile();
  }

  /** This server gained or lost the leader's duties. */
  setLeading(leading: boolean): Promise<void> {
    this.leading = leading;
    return this.reconcile();
  }

  /** Stop every worker after its current evaluation. */
  stop(): Promise<void> {
    this.started = false;
    return this.reconcile();
  }

  /** How many workers run now. */
  running(): number {
    return this.workers.filter((w) => w.running).length;
  }

  stats(): SchedulerWorkerStats[] {
    return this.workers.map((w) => ({ id: w.id, running: w.running, ...w.worker.stats(), ...w.broker.stats() }));
  }

  private reconcile(): Promise<void> {
    this.chain = this.chain.then(async () => {
      const paused = this.leading && this.o.othersWork() ? pausedOnLeader(this.workers.length) : 0;
      const stops: Promise<void>[] = [];
      this.workers.forEach((w, i) => {
        const want = this.started && i >= paused;
        if (want && !w.running) {
          w.worker.start();
          w.running = true;
        } else if (!want && w.running) {
          w.running = false;
          stops.push(w.worker.stop());
        }
      });
      await Promise.all(stops);
    });
    return this.chain;
  }
}
