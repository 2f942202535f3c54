/**
 * The server's control plane wired together in one process: a log feeding the
 * FSM, the eval broker, the plan applier and the scheduler workers. The log here
 * is a local, single-server, in-memory one that assigns increasing indexes;
 * the Raft issue replaces it with a replicated log behind the same `apply`.
 *
 * Leader duties (broker enqueue of new evals, plan applier) run here; the
 * schedulers only decide and the plan applier is the one writer of allocations.
 */
import type { Clock, Rng } from '../core/lib/index.js';
import { NomadError, uuid } from '../core/lib/index.js';
import { CancelReaper, EvalBroker, FailedEvalReaper } from '../core/broker/index.js';
import type { BrokerStats, CancelReaperStats } from '../core/broker/index.js';
import { BlockedEvals } from '../core/blocked/index.js';
import type { BlockedEvalsStats } from '../core/blocked/index.js';
import { drainStep } from '../core/drainer/index.js';
import type { DrainActions } from '../core/drainer/index.js';
import type { HeartbeatTimers } from '../core/heartbeat/index.js';
import { PlanApplier, planResultCommand } from '../core/plan/index.js';
import type { PlanApplierStats } from '../core/plan/index.js';
import { newScheduler } from '../core/scheduler/index.js';
import type { FsmCommand, StateSnapshot } from '../core/state/index.js';
import { EventBuffer, Fsm } from '../core/state/index.js';
import type { DrainStrategy, Evaluation, EvalTrigger, Job, Node, Plan, PlanResult } from '../core/structs/index.js';
import { allocClientTerminal, allocTerminalStatus, isSystemType, newEvaluation } from '../core/structs/index.js';
import type { EvalDelivery, WorkerStats, WorkerStep } from '../core/worker/index.js';
import { Worker } from '../core/worker/index.js';
import { OpsEventBus } from '../core/ops/index.js';
import type { OpsPayload } from '../core/ops/index.js';
import { brokerStatsPayload, emitEvalEnqueued, emitPlanApplied, emitWorkerStep, startStatusTicker } from './ops.js';

/** How a write reaches the log (cluster mode; a one-server log ignores it). */
export interface ApplyOptions {
  /**
   * Propose only if this server is the Raft leader; never forwarded. For the leader's duties
   * (plan commits, heartbeat expiries, drainer, reapers): their decisions were made against this
   * server's state as leader, and a deposed leader must not commit them through the next one.
   */
  leaderOnly?: boolean;
}

const LeaderDuty: ApplyOptions = { leaderOnly: true };

export interface ServerOptions {
  clock: Clock;
  rng: Rng;
  /** Scheduler workers (Nomad defaults to one per core). */
  workers?: number;
  /**
   * Let each worker give the event loop a turn (setImmediate) after every evaluation
   * (default true), so RPCs, heartbeats and timers are served during a backlog of
   * ready evaluations. False runs evaluations back to back (as before).
   */
  workerYield?: boolean;
  eventBufferSize?: number;
  /**
   * Deep-freeze every object the FSM stores, so code that mutates shared state
   * throws at once. Tests turn it on; production leaves it off (about 30% of
   * apply time, measured by the state module).
   */
  freezeObjects?: boolean;
  /** Observability: every worker step (dequeued, plan submitted, acked, ...). */
  onWorkerStep?(step: WorkerStep): void;
  onPlanApplied?(plan: Plan, result: PlanResult, rejections: Record<string, string>): void;
  /** This server's name in the Raft view and the console (default `server-1`). */
  name?: string;
  /** Operational events held for slow readers of the event stream (default 8192). */
  opsBufferSize?: number;
  /** How often broker depths and the Raft view are put on the ops bus (default 1000 ms; 0 = never). */
  statusIntervalMs?: number;
  /** Broker load shedding of superseded evaluations (default on). */
  loadShedding?: boolean;
  /** The cancel reaper's timer period (default 5 s); it also runs right after acks. */
  reaperIntervalMs?: number;
  /** How often the drainer looks at draining nodes (default 1 s). */
  drainTickMs?: number;
  /**
   * Cluster mode (agent/server/cluster.ts): writes go to this replicated log instead of the local
   * one; it resolves with the command's index once applied here, and the log's state machine
   * applies every committed command through applyCommitted().
   */
  replicate?: (cmd: FsmCommand, opts?: ApplyOptions) => Promise<number>;
  /**
   * Cluster mode: this server's view of the Raft cluster for the console (role, term, leader,
   * commit and applied index, each peer's match index and lag). Without it the server reports
   * itself as the leader of a one-server log.
   */
  raftView?: () => RaftView;
}

export interface RaftView {
  role: string;
  term: number;
  leader: string;
  /** The leader's RPC address, when known (the console follows the leader). */
  leaderAddr?: string;
  commitIndex: number;
  appliedIndex: number;
  peers: { id: string; matchIndex: number; lag: number; voter: boolean }[];
}

/** Evaluation counters per scheduler type (the console's storm view). */
export interface EvalTypeCounters {
  /** Enqueued into the broker (new, unblocked and restored evaluations). */
  created: number;
  /** Handed to a scheduler worker. */
  processed: number;
  /** Written as canceled by the cancel reaper (superseded, duplicate blocked). */
  cancelled: number;
  blocked: number;
  unblocked: number;
}

export interface LeadershipOptions {
  /** Restart every live node's heartbeat timer. */
  resetHeartbeats?: boolean;
  /** With resetHeartbeats: the long failover TTL (this server just took over). */
  failover?: boolean;
}

export interface RegisterJobResult {
  index: number;
  evalId: string;
  jobModifyIndex: number;
  version: number;
}

export class Server {
  readonly fsm: Fsm;
  readonly events: EventBuffer;
  readonly broker: EvalBroker;
  readonly planApplier: PlanApplier;
  readonly workers: Worker[];
  /** Operational events (broker, plans, Raft) for the event stream and the console. */
  readonly ops: OpsEventBus;
  readonly blocked: BlockedEvals;
  readonly reaper: CancelReaper;
  /** Evaluations at the delivery limit: written as failed with a delayed follow-up (leader only). */
  readonly failedReaper: FailedEvalReaper;
  /** The heartbeat timers, once the client RPC service attached them (useHeartbeats). */
  heartbeats: HeartbeatTimers | undefined;
  private readonly clock: Clock;
  private readonly statusIntervalMs: number;
  readonly serverId: string;
  private statusTicker: { stop(): void } | undefined;
  private readonly rng: Rng;
  private readonly drainTickMs: number;
  private lastIndex = 0;
  private running = false;
  private leader = false;
  private readonly draining = new Set<string>();
  private drainTimer: ReturnType<Clock['setTimer']> | undefined;
  private drainWrites = 0;
  private readonly replicate: ((cmd: FsmCommand, opts?: ApplyOptions) => Promise<number>) | undefined;
  private readonly raftView: (() => RaftView) | undefined;
  /** Issue 5 §4: a cluster server's workers run beside the Server (scheduler-workers.ts); their figures for stats(). */
  workerStats: (() => WorkerStats[]) | undefined;

  constructor(opts: ServerOptions) {
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.replicate = opts.replicate;
    this.raftView = opts.raftView;
    this.events = new EventBuffer(opts.eventBufferSize);
    this.ops = new OpsEventBus({ clock: this.clock, ...(opts.opsBufferSize !== undefined ? { capacity: opts.opsBufferSize } : {}) });
    this.statusIntervalMs = opts.statusIntervalMs ?? 1_000;
    this.serverId = opts.name ?? 'server-1';
    this.fsm = new Fsm({ events: this.events, freezeObjects: opts.freezeObjects ?? false });
    this.drainTickMs = opts.drainTickMs ?? 1_000;
    this.blocked = new BlockedEvals();
    this.broker = new EvalBroker({
      clock: this.clock,
      rng: this.rng.fork(),
      loadShedding: opts.loadShedding ?? true,
      afterAck: () => this.reaper.notify(),
    });
    this.reaper = new CancelReaper({
      clock: this.clock,
      ...(opts.reaperIntervalMs !== undefined ? { intervalMs: opts.reaperIntervalMs } : {}),
      waiting: () => this.broker.counts.cancelable + this.blocked.duplicatesWaiting(),
      busy: () => {
        const c = this.broker.counts;
        return c.ready + c.unacked + c.pending > 0;
      },
      take: (max) => {
        const out = this.broker.cancelable(max);
        if (out.length < max) out.push(...this.blocked.takeDuplicates(max - out.length));
        return out;
      },
      write: async (evals) => {
        const index = await this.apply({ type: 'UpsertEvals', evals }, LeaderDuty);
        this.ops.emit('Broker', 'EvalsCancelled', 'reaper', { count: evals.length, index, evalIds: evals.slice(0, 100).map((e) => e.id) });
        return index;
      },
    });
    this.failedReaper = new FailedEvalReaper({
      clock: this.clock,
      rng: this.rng.fork(),
      dequeue: (types, timeoutMs, o) => this.broker.dequeue(types, timeoutMs, o),
      ack: (id, token) => this.broker.ack(id, token),
      nack: (id, token) => this.broker.nack(id, token),
      write: async (evals) => {
        const index = await this.apply({ type: 'UpsertEvals', evals }, LeaderDuty);
        const [failed, followUp] = evals;
        if (failed !== undefined && followUp !== undefined) {
          this.ops.emit('Broker', 'EvalFailed', failed.id, { jobId: failed.jobId, namespace: failed.namespace, type: failed.type, followUp: followUp.id, waitUntil: followUp.waitUntil, index });
        }
        return index;
      },
      deliveryLimit: this.broker.deliveryLimit,
    });
    this.planApplier = new PlanApplier({
      latestState: () => this.fsm.store.snapshot(),
      // Checked against this leader's state: committed only while it leads (never forwarded). In
      // process the command is never encoded: allocations keep their job (no copy each).
      commit: (plan, result) => this.apply(planResultCommand(plan, result, { stripJob: this.replicate !== undefined }), LeaderDuty),
      tokenValid: (evalId, token) => this.broker.outstanding(evalId) === token,
      onApplied: (p: Plan, r: PlanResult, rej: Record<string, string>) => {
        emitPlanApplied(this.ops, p, r, rej);
        opts.onPlanApplied?.(p, r, rej);
      },
    });
    const count = opts.workers ?? 2;
    const yieldToLoop = opts.workerYield === false ? undefined : () => new Promise<void>((resolve) => setImmediate(resolve));
    this.workers = [];
    for (let i = 0; i < count; i++) {
      this.workers.push(
        new Worker({
          id: `worker-${i}`,
          broker: this.broker,
          waitForIndex: (index, timeoutMs) => this.fsm.store.waitForIndex(index, { clock: this.clock, timeoutMs }),
          submitPlan: (plan) => this.planApplier.submit(plan),
          upsertEvals: (evals, delivery) => this.upsertWorkerEvals(evals, delivery),
          schedulers: newScheduler,
          ...(yieldToLoop !== undefined ? { yieldToLoop } : {}),
          clock: this.clock,
          rng: this.rng.fork(),
          onStep: (s: WorkerStep) => {
            emitWorkerStep(this.ops, s);
            opts.onWorkerStep?.(s);
          },
        }),
      );
    }
  }

  /**
   * Take on the leader's duties: enable the broker (rebuilt from state), start the workers.
   * A cluster's new leader passes `{ resetHeartbeats: true, failover: true }`.
   */
  start(opts: LeadershipOptions = {}): void {
    if (this.running) return;
    this.running = true;
    this.establishLeadership(opts);
    for (const w of this.workers) w.start();
    this.startStatus();
  }

  /**
   * Put this server's status on the ops bus every `statusIntervalMs` (and now). A cluster
   * server calls it at start-up, so followers report their Raft view too; a one-server log
   * starts it with the leader's duties.
   */
  startStatus(): void {
    if (this.statusIntervalMs <= 0 || this.statusTicker !== undefined) return;
    this.statusTicker = startStatusTicker(this.clock, this.statusIntervalMs, () => this.emitStatus());
  }

  /** Stop the status reports (the server is going away). */
  stopStatus(): void {
    this.statusTicker?.stop();
    this.statusTicker = undefined;
  }

  /**
   * This server's view for the console: broker depths, and its Raft role. Without a
   * `raftView` (a one-server log, no elections) it is the leader of term 1 while it runs
   * the leader's duties, and its commit and applied index are the last index it applied.
   */
  emitStatus(): void {
    if (this.leader) this.ops.emit('Broker', 'BrokerStats', 'broker', brokerStatsPayload(this.broker.stats()));
    const view: RaftView = this.raftView?.() ?? {
      role: this.leader ? 'leader' : 'follower',
      term: 1,
      leader: this.leader ? this.serverId : '',
      commitIndex: this.lastIndex,
      appliedIndex: this.lastIndex,
      peers: [{ id: this.serverId, matchIndex: this.lastIndex, lag: 0, voter: true }],
    };
    this.ops.emit('Raft', 'RaftStatus', this.serverId, { id: this.serverId, ...view, peers: view.peers.map((p) => ({ ...p })) });
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.raftView === undefined) this.stopStatus();
    await Promise.all(this.workers.map((w) => w.stop()));
    this.revokeLeadership();
    if (this.raftView !== undefined) this.emitStatus(); // a deposed leader says so at once
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /**
   * Leader duties on: the broker and blocked evals are rebuilt from state (pending
   * evaluations enqueued, blocked ones held again), the cancel reaper and drainer run,
   * and optionally every live node's heartbeat timer restarts (failover TTL after a
   * leadership change). The Raft leadership code calls this on winning an election.
   */
  establishLeadership(opts: LeadershipOptions = {}): void {
    if (this.leader) return;
    this.leader = true;
    this.broker.setEnabled(true);
    this.blocked.setEnabled(true);
    const state = this.state();
    // Capacity that changed while nobody held the blocked evals: a node (re)registered or made
    // eligible, an allocation stopped. Blocking a restored eval older than that unblocks it.
    for (const n of state.nodes()) {
      if (n.status === 'ready' && n.schedulingEligibility === 'eligible' && n.drainStrategy === null) this.blocked.noteCapacityChange(n.computedClass, n.modifyIndex);
    }
    for (const a of state.allocs()) {
      if (!allocTerminalStatus(a)) continue;
      const n = state.nodeByID(a.nodeId);
      if (n !== undefined) this.blocked.noteCapacityChange(n.computedClass, a.modifyIndex);
    }
    const pending: Evaluation[] = [];
    for (const e of state.evals()) {
      if (e.status === 'pending') pending.push(e);
      else if (e.status === 'blocked') this.blocked.block(e);
    }
    this.broker.enqueueAll(pending);
    this.reaper.start();
    this.failedReaper.start();
    this.draining.clear();
    for (const n of state.nodes()) if (n.drainStrategy !== null) this.draining.add(n.id);
    this.armDrainTick();
    if (opts.resetHeartbeats === true) this.resetHeartbeatTimers(opts.failover ?? false);
    this.flushUnblocked();
  }

  /** Leader duties off: the broker and blocked evals forget everything (state keeps it), timers stop. */
  revokeLeadership(): void {
    if (!this.leader) return;
    this.leader = false;
    this.broker.setEnabled(false);
    this.blocked.setEnabled(false);
    this.reaper.stop();
    void this.failedReaper.stop();
    this.drainTimer?.cancel();
    this.drainTimer = undefined;
    this.heartbeats?.clearAll();
  }

  /** The client RPC service's heartbeat timers: the server restarts them on leadership changes. */
  useHeartbeats(timers: HeartbeatTimers): void {
    this.heartbeats = timers;
  }

  /**
   * Restart the heartbeat timer of every node not down (Nomad's initializeHeartbeatTimers):
   * with `failover`, each gets the long failover TTL, since its last heartbeat may have gone
   * to the previous leader.
   */
  resetHeartbeatTimers(failover: boolean): void {
    const timers = this.heartbeats;
    if (timers === undefined) return;
    const live: string[] = [];
    for (const n of this.state().nodes()) if (n.status !== 'down') live.push(n.id);
    timers.resetAllTimers(live, failover);
  }

  /** A node missed its heartbeat TTL: mark it down (its allocations become lost through the evals). */
  async nodeMissedHeartbeat(nodeId: string): Promise<number | undefined> {
    const node = this.state().nodeByID(nodeId);
    if (node === undefined || node.status === 'down') return undefined;
    return this.updateNodeStatus(nodeId, 'down', LeaderDuty);
  }

  /**
   * Start or end a node's drain. Starting makes the node ineligible; the drainer then
   * migrates its allocations. Ending keeps the node ineligible unless `markEligible`
   * (then its jobs are evaluated, as for eligibility).
   */
  async updateNodeDrain(nodeId: string, strategy: DrainStrategy | null, markEligible: boolean): Promise<{ index: number; evalIds: string[] }> {
    const evals = strategy === null && markEligible ? this.nodeEvals(nodeId, 'node-update') : [];
    const index = await this.apply({ type: 'UpdateNodeDrain', nodeId, drainStrategy: strategy, markEligible, evals });
    return { index, evalIds: evals.map((e) => e.id) };
  }

  state(): StateSnapshot {
    return this.fsm.store.snapshot();
  }

  /**
   * Append a command to the log and apply it. A command the FSM refuses
   * consumes no index and changes nothing.
   */
  async apply(cmd: FsmCommand, opts?: ApplyOptions): Promise<number> {
    if (this.replicate !== undefined) return this.replicate(cmd, opts);
    // After fsm.restore (a snapshot read back at start) the log goes on from the restored index.
    const index = Math.max(this.lastIndex, this.fsm.lastApplied()) + 1;
    this.fsm.apply(index, cmd);
    this.lastIndex = index;
    this.afterApply(cmd);
    return index;
  }

  /** Cluster mode: apply a command the replicated log committed at `index` (every server, in log order). */
  applyCommitted(index: number, cmd: FsmCommand): void {
    this.fsm.apply(index, cmd);
    this.lastIndex = index;
    this.afterApply(cmd);
  }

  /**
   * A scheduler worker's evaluation writes (status, follow-ups, blocked) under the delivery it
   * holds, on the leader (a follower's worker sends them here over ClusterService.EvalUpdate). As
   * Nomad's Eval.Update: the delivery's token must still be outstanding (else nothing is written:
   * the evaluation timed out and went to another worker, whose writes win), and its nack timer
   * restarts (the worker is alive).
   */
  async upsertWorkerEvals(evals: Evaluation[], delivery: EvalDelivery): Promise<number> {
    this.broker.outstandingReset(delivery.evalId, delivery.token);
    return this.apply({ type: 'UpsertEvals', evals: this.stampBlocked(evals) }, LeaderDuty);
  }

  /**
   * Cluster mode: an operator's snapshot restore committed at `index` (every server, in log
   * order). The state becomes the image's (Fsm.restoreAt; a bad image throws and changes
   * nothing). Where the leader duties run, they are rebuilt from the restored state as on a
   * leadership change (Nomad and Consul revoke and re-establish leadership after a restore):
   * the broker and blocked evaluations forget everything and are refilled from state, the
   * drainer and reaper restart, every live node gets a fresh heartbeat timer with the failover
   * TTL; evaluations in flight lose their tokens, so their plans are refused. Returns the index
   * the image was saved at.
   */
  restoreCommitted(index: number, image: Uint8Array): number {
    const from = this.fsm.restoreAt(index, image);
    this.lastIndex = index;
    if (this.leader) {
      this.revokeLeadership();
      this.establishLeadership({ resetHeartbeats: true, failover: true });
    }
    this.ops.emit('Raft', 'SnapshotRestored', this.serverId, { index, snapshotIndex: from });
    return from;
  }

  /** Whether the leader duties (broker, workers, plan applier) run here. */
  isRunning(): boolean {
    return this.running;
  }

  /** Register (or update) a job and create its evaluation in the same write. */
  async registerJob(job: Job): Promise<RegisterJobResult> {
    const launchesChildren = job.periodic !== null || job.parameterized !== null;
    const ev = launchesChildren ? undefined : this.newEval(job, 'job-register');
    const index = await this.apply({ type: 'UpsertJob', job: { ...job, submitTime: this.clock.now() }, ...(ev !== undefined ? { eval: ev } : {}) });
    const stored = this.state().jobByID(job.namespace, job.id);
    if (stored === undefined) throw new NomadError('internal', `job ${job.id} missing after registration`);
    return { index, evalId: ev?.id ?? '', jobModifyIndex: stored.jobModifyIndex, version: stored.version };
  }

  /** Stop a job (or purge it) and evaluate it so its allocations stop. */
  async deregisterJob(namespace: string, jobId: string, purge: boolean): Promise<{ index: number; evalId: string }> {
    const job = this.state().jobByID(namespace, jobId);
    if (job === undefined) throw new NomadError('not_found', `job "${jobId}" not found in namespace "${namespace}"`);
    const ev = this.newEval(job, 'job-deregister');
    const index = await this.apply({ type: 'DeregisterJob', namespace, jobId, purge, submitTime: this.clock.now(), eval: ev });
    return { index, evalId: ev.id };
  }

  /** Register a node; evaluates the system jobs (and the jobs it already runs) as Nomad does. */
  async registerNode(node: Node): Promise<number> {
    const index = await this.apply({ type: 'UpsertNode', node });
    const evals = this.nodeEvals(node.id, 'node-update');
    if (evals.length > 0) await this.apply({ type: 'UpsertEvals', evals });
    return index;
  }

  /** Change a node's status (e.g. down); evaluates every job with allocations there, and system jobs. */
  async updateNodeStatus(nodeId: string, status: Node['status'], opts?: ApplyOptions): Promise<number> {
    const evals = this.nodeEvals(nodeId, 'node-update');
    return this.apply({ type: 'UpdateNodeStatus', nodeId, status, updatedAt: this.clock.now(), evals }, opts);
  }

  /** Broker, plan applier and worker figures, for the CLI and console. */
  stats(): {
    broker: BrokerStats;
    planApplier: PlanApplierStats;
    workers: ReturnType<Worker['stats']>[];
    index: number;
    blocked: BlockedEvalsStats;
    reaper: CancelReaperStats;
    evals: Record<string, EvalTypeCounters>;
    drain: { draining: number; writes: number };
  } {
    const broker = this.broker.stats();
    const blocked = this.blocked.stats();
    return {
      broker,
      planApplier: this.planApplier.stats(),
      workers: this.workerStats?.() ?? this.workers.map((w) => w.stats()),
      index: this.lastIndex,
      blocked,
      reaper: this.reaper.stats(),
      evals: evalCounters(broker, blocked),
      drain: { draining: this.draining.size, writes: this.drainWrites },
    };
  }

  /**
   * True when no evaluation is ready, in flight or pending and no plan is queued.
   * Evaluations delayed (wait_until, nack back-off) are not counted: they are work for later.
   */
  idle(): boolean {
    const b = this.broker.stats().total;
    return b.ready === 0 && b.unacked === 0 && b.pending === 0 && this.planApplier.stats().queueDepth === 0;
  }

  /** A new pending evaluation of `job` (not yet written). */
  newEval(job: Job, trigger: EvalTrigger, nodeId = ''): Evaluation {
    const now = this.clock.now();
    return newEvaluation({
      id: uuid(this.rng),
      namespace: job.namespace,
      priority: job.priority,
      type: job.type,
      triggeredBy: trigger,
      jobId: job.id,
      jobModifyIndex: job.jobModifyIndex,
      nodeId,
      createTime: now,
      modifyTime: now,
    });
  }

  /** One eval per job touched by a node change: system jobs, and jobs with live allocations on the node. */
  nodeEvals(nodeId: string, trigger: EvalTrigger): Evaluation[] {
    const state = this.state();
    const jobs = new Map<string, Job>();
    for (const job of state.jobs()) {
      if (isSystemType(job.type) && !job.stop && job.periodic === null && job.parameterized === null) jobs.set(`${job.namespace}/${job.id}`, job);
    }
    for (const a of state.allocsByNode(nodeId)) {
      const job = state.jobByID(a.namespace, a.jobId);
      if (job !== undefined) jobs.set(`${job.namespace}/${job.id}`, job);
    }
    return [...jobs.values()].map((job) => this.newEval(job, trigger, nodeId));
  }

  /**
   * Leader duties after every apply: newly pending evaluations to the broker, blocked
   * ones to the blocked set; capacity that appeared unblocks what could use it; drain
   * starts and ends reach the drainer.
   */
  private afterApply(cmd: FsmCommand): void {
    if (!this.leader) return;
    const written = evalsIn(cmd);
    if (written.length > 0) {
      const state = this.state();
      for (const e of written) {
        const stored = state.evalByID(e.id);
        if (stored === undefined) continue;
        if (stored.status === 'pending') {
          if (this.broker.enqueue(stored) !== 'duplicate') emitEvalEnqueued(this.ops, stored);
        }
        else if (stored.status === 'blocked') {
          this.blocked.block(stored);
          this.ops.emit('Broker', 'EvalBlocked', stored.id, { jobId: stored.jobId, namespace: stored.namespace, type: stored.type, reason: stored.statusDescription, classEligibility: Object.keys(stored.classEligibility).length });
        }
        else if (stored.status === 'complete' && Object.keys(stored.failedTgAllocs).length === 0) this.blocked.untrack(stored.namespace, stored.jobId);
      }
    }
    this.capacityChanged(cmd);
    this.flushUnblocked();
  }

  /** Unblock evaluations for the node classes whose capacity this command changed (Nomad's Unblock calls). */
  private capacityChanged(cmd: FsmCommand): void {
    switch (cmd.type) {
      case 'UpsertNode':
      case 'UpdateNodeStatus':
      case 'UpdateNodeEligibility':
      case 'UpdateNodeDrain': {
        const nodeId = cmd.type === 'UpsertNode' ? cmd.node.id : cmd.nodeId;
        const state = this.state();
        const node = state.nodeByID(nodeId);
        if (cmd.type === 'UpdateNodeDrain') {
          if (node?.drainStrategy != null) this.draining.add(nodeId);
          else this.draining.delete(nodeId);
          this.armDrainTick();
        }
        if (node !== undefined && node.status === 'ready' && node.schedulingEligibility === 'eligible' && node.drainStrategy === null) {
          this.blocked.unblock(node.computedClass, state.index);
        }
        return;
      }
      case 'DeregisterJob':
        this.blocked.untrack(cmd.namespace, cmd.jobId);
        return;
      case 'UpdateAllocsFromClient': {
        if (this.blocked.size === 0) return;
        const state = this.state();
        for (const u of cmd.allocs) {
          if (!allocClientTerminal(u)) continue;
          const a = state.allocByID(u.id);
          const node = a === undefined ? undefined : state.nodeByID(a.nodeId);
          if (node !== undefined) this.blocked.unblock(node.computedClass, state.index);
        }
        return;
      }
      case 'ApplyPlanResults': {
        if (cmd.allocsStopped.length === 0 && cmd.allocsPreempted.length === 0) return;
        const state = this.state();
        const seen = new Set<string>();
        for (const a of [...cmd.allocsStopped, ...cmd.allocsPreempted]) {
          if (seen.has(a.nodeId)) continue;
          seen.add(a.nodeId);
          const node = state.nodeByID(a.nodeId);
          if (node !== undefined) this.blocked.unblock(node.computedClass, state.index);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Write unblocked evaluations back as pending (one write); the write enqueues them. */
  private flushUnblocked(): void {
    const unblocked = this.blocked.takeUnblocked();
    if (unblocked.length === 0) return;
    const state = this.state();
    const now = this.clock.now();
    const evals: Evaluation[] = [];
    for (const e of unblocked) {
      const stored = state.evalByID(e.id);
      if (stored === undefined || stored.status !== 'blocked') continue; // canceled meanwhile
      evals.push({ ...stored, status: 'pending', statusDescription: 'unblocked: capacity changed', modifyTime: now });
      this.ops.emit('Broker', 'EvalUnblocked', stored.id, { jobId: stored.jobId, namespace: stored.namespace, type: stored.type, reason: 'capacity changed' });
    }
    if (evals.length > 0) void this.apply({ type: 'UpsertEvals', evals }, LeaderDuty).catch(() => undefined); // lost leadership: the next leader rebuilds the blocked evals
  }

  /**
   * A blocked eval written by a scheduler without a snapshot index gets its parent's
   * modifyIndex: the worker's snapshot was at least that fresh, so unblocks after it
   * are seen as missed (never lost).
   */
  private stampBlocked(evals: Evaluation[]): Evaluation[] {
    let state: StateSnapshot | undefined;
    return evals.map((e) => {
      if (e.status !== 'blocked' || e.snapshotIndex > 0 || e.previousEval === '') return e;
      state ??= this.state();
      const parent = state.evalByID(e.previousEval);
      return parent === undefined ? e : { ...e, snapshotIndex: parent.modifyIndex };
    });
  }

  private armDrainTick(): void {
    if (!this.leader || this.draining.size === 0 || this.drainTimer !== undefined) return;
    this.drainTimer = this.clock.setTimer(this.drainTickMs, () => {
      this.drainTimer = undefined;
      void this.drainTick().finally(() => this.armDrainTick());
    });
  }

  private emitDrainProgress(actions: DrainActions): void {
    for (const e of drainProgressEvents(this.state(), actions)) this.ops.emit('Drain', 'DrainProgress', e.nodeId, e.payload);
  }

  /** One drainer step: mark migrations (with one eval per job), end completed drains. */
  async drainTick(): Promise<void> {
    if (!this.leader || this.draining.size === 0) return;
    const actions = drainStep(this.state(), this.clock.now(), this.draining);
    this.emitDrainProgress(actions);
    if (actions.migrate.length > 0) {
      this.drainWrites++;
      await this.apply({
        type: 'UpdateAllocDesiredTransition',
        transitions: actions.migrate.map((a) => ({ allocId: a.id, transition: { migrate: true } })),
        evals: actions.jobs.map((j) => this.newEval(j, 'node-drain')),
      }, LeaderDuty);
    }
    for (const nodeId of actions.done) {
      this.drainWrites++;
      await this.apply({ type: 'UpdateNodeDrain', nodeId, drainStrategy: null, markEligible: false }, LeaderDuty);
    }
  }
}

/** Drain progress for the console: per draining node, allocations migrated and remaining. */
function drainProgressEvents(state: StateSnapshot, actions: DrainActions): { nodeId: string; payload: OpsPayload }[] {
  const out: { nodeId: string; payload: OpsPayload }[] = [];
  const done = new Set(actions.done);
  for (const p of actions.progress) {
    let migrated = 0;
    for (const a of state.allocsByNode(p.nodeId)) if (a.desiredTransition.migrate && allocTerminalStatus(a)) migrated++;
    const node = state.nodeByID(p.nodeId);
    out.push({ nodeId: p.nodeId, payload: { nodeName: node?.name ?? '', migrated, remaining: p.remaining, deadline: p.deadlineAt ?? 0, pastDeadline: p.pastDeadline, done: done.has(p.nodeId) } });
  }
  return out;
}

function evalCounters(broker: BrokerStats, blocked: BlockedEvalsStats): Record<string, EvalTypeCounters> {
  const out: Record<string, EvalTypeCounters> = {};
  const get = (t: string): EvalTypeCounters => (out[t] ??= { created: 0, processed: 0, cancelled: 0, blocked: 0, unblocked: 0 });
  for (const [t, c] of Object.entries(broker.countersByType)) {
    const o = get(t);
    o.created += c.enqueued;
    o.processed += c.dequeued;
    o.cancelled += c.cancelableReaped;
  }
  for (const [t, c] of Object.entries(blocked.countersByType)) {
    const o = get(t);
    o.blocked += c.blocked;
    o.unblocked += c.unblocked;
    o.cancelled += c.duplicates;
  }
  return out;
}

function evalsIn(cmd: FsmCommand): Evaluation[] {
  const out: Evaluation[] = [];
  if ('eval' in cmd && cmd.eval !== undefined) out.push(cmd.eval);
  if ('evals' in cmd && cmd.evals !== undefined) out.push(...cmd.evals);
  return out;
}
