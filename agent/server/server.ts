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
import { EvalBroker } from '../core/broker/index.js';
import type { BrokerStats } from '../core/broker/index.js';
import { PlanApplier, planResultCommand } from '../core/plan/index.js';
import type { PlanApplierStats } from '../core/plan/index.js';
import { newScheduler } from '../core/scheduler/index.js';
import type { FsmCommand, StateSnapshot } from '../core/state/index.js';
import { EventBuffer, Fsm } from '../core/state/index.js';
import type { Evaluation, EvalTrigger, Job, Node, Plan, PlanResult } from '../core/structs/index.js';
import { isSystemType, newEvaluation } from '../core/structs/index.js';
import type { WorkerStep } from '../core/worker/index.js';
import { Worker } from '../core/worker/index.js';

export interface ServerOptions {
  clock: Clock;
  rng: Rng;
  /** Scheduler workers (Nomad defaults to one per core). */
  workers?: number;
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
  /**
   * Cluster mode (agent/server/cluster.ts): writes go to this replicated log instead of the local
   * one; it resolves with the command's index once applied here, and the log's state machine
   * applies every committed command through applyCommitted().
   */
  replicate?: (cmd: FsmCommand) => Promise<number>;
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
  private readonly clock: Clock;
  private readonly rng: Rng;
  private lastIndex = 0;
  private running = false;
  private readonly replicate: ((cmd: FsmCommand) => Promise<number>) | undefined;

  constructor(opts: ServerOptions) {
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.replicate = opts.replicate;
    this.events = new EventBuffer(opts.eventBufferSize);
    this.fsm = new Fsm({ events: this.events, freezeObjects: opts.freezeObjects ?? false });
    this.broker = new EvalBroker({ clock: this.clock, rng: this.rng.fork() });
    this.planApplier = new PlanApplier({
      latestState: () => this.fsm.store.snapshot(),
      commit: (plan, result) => this.apply(planResultCommand(plan, result)),
      tokenValid: (evalId, token) => this.broker.outstanding(evalId) === token,
      ...(opts.onPlanApplied !== undefined ? { onApplied: (p: Plan, r: PlanResult, rej: Record<string, string>) => opts.onPlanApplied?.(p, r, rej) } : {}),
    });
    const count = opts.workers ?? 2;
    this.workers = [];
    for (let i = 0; i < count; i++) {
      this.workers.push(
        new Worker({
          id: `worker-${i}`,
          broker: this.broker,
          waitForIndex: (index, timeoutMs) => this.fsm.store.waitForIndex(index, { clock: this.clock, timeoutMs }),
          submitPlan: (plan) => this.planApplier.submit(plan),
          upsertEvals: (evals) => this.apply({ type: 'UpsertEvals', evals }),
          schedulers: newScheduler,
          clock: this.clock,
          rng: this.rng.fork(),
          ...(opts.onWorkerStep !== undefined ? { onStep: (s: WorkerStep) => opts.onWorkerStep?.(s) } : {}),
        }),
      );
    }
  }

  /** Become the leader of this one-server cluster: enable the broker, start the workers. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.broker.setEnabled(true);
    // Re-enqueue evaluations that were pending in state (after a restore).
    const pending = this.state().evals().filter((e) => e.status === 'pending');
    this.broker.enqueueAll(pending);
    for (const w of this.workers) w.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all(this.workers.map((w) => w.stop()));
    this.broker.setEnabled(false);
  }

  state(): StateSnapshot {
    return this.fsm.store.snapshot();
  }

  /**
   * Append a command to the log and apply it. A command the FSM refuses
   * consumes no index and changes nothing.
   */
  async apply(cmd: FsmCommand): Promise<number> {
    if (this.replicate !== undefined) return this.replicate(cmd);
    const index = this.lastIndex + 1;
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
  async updateNodeStatus(nodeId: string, status: Node['status']): Promise<number> {
    const evals = this.nodeEvals(nodeId, 'node-update');
    return this.apply({ type: 'UpdateNodeStatus', nodeId, status, updatedAt: this.clock.now(), evals });
  }

  /** Broker, plan applier and worker figures, for the CLI and console. */
  stats(): { broker: BrokerStats; planApplier: PlanApplierStats; workers: ReturnType<Worker['stats']>[]; index: number } {
    return { broker: this.broker.stats(), planApplier: this.planApplier.stats(), workers: this.workers.map((w) => w.stats()), index: this.lastIndex };
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

  /** Leader duty after every apply: hand newly pending evaluations to the broker. */
  private afterApply(cmd: FsmCommand): void {
    if (!this.running) return;
    const written = evalsIn(cmd);
    if (written.length === 0) return;
    const state = this.state();
    for (const e of written) {
      const stored = state.evalByID(e.id);
      if (stored !== undefined && stored.status === 'pending') this.broker.enqueue(stored);
    }
  }
}

function evalsIn(cmd: FsmCommand): Evaluation[] {
  const out: Evaluation[] = [];
  if ('eval' in cmd && cmd.eval !== undefined) out.push(cmd.eval);
  if ('evals' in cmd && cmd.evals !== undefined) out.push(...cmd.evals);
  return out;
}
