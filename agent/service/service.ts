/**
 * The public API's handlers, independent of any transport: domain values in, domain values
 * out, NomadErrors for everything a caller did wrong. The gRPC adapter (agent/rpc/server.ts)
 * and a later HTTP API both call these, so the behaviour (blocking queries, check-and-set,
 * the dry-run plan) lives in one place. Reads come from immutable snapshots; writes go
 * through the Server (and so through the log and the FSM).
 */
import type { Clock, Rng } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { StateSnapshot } from '../core/state/index.js';
import type { DesiredUpdates } from '../core/scheduler/index.js';
import type {
  AllocMetric,
  Allocation,
  Evaluation,
  EvalStatus,
  Job,
  Node,
  SchedulerConfiguration,
  SchedulingEligibility,
  TableName,
} from '../core/structs/index.js';
import { validateJob } from '../jobspec/index.js';
import type { Server } from '../server/index.js';
import { dryRunPlan } from './plan.js';

/** Nomad's default and ceiling for a blocking query's wait. */
export const DefaultMaxQueryTimeMs = 300_000;
export const MaxQueryTimeMs = 600_000;

/** Options of every read: the namespace and, for a blocking query, the index to wait past. */
export interface QueryOptions {
  /** '' or undefined = "default"; '*' = every namespace (list calls). */
  namespace?: string;
  /** Blocking query: answer once the tables read have an index greater than this (0 = now). */
  index?: number;
  /** Longest wait for a blocking query (default 5 minutes, at most 10). */
  waitMs?: number;
  /** List calls: only ids starting with this prefix. */
  prefix?: string;
  /**
   * Answer from this server's own state, however far behind the leader it is (Nomad's
   * AllowStale). Default false: on a cluster server a read first takes a linearizable read
   * point (Raft ReadIndex, confirmed by a quorum) and waits until this server has applied it.
   */
  stale?: boolean;
}

/**
 * How a clustered server makes reads linearizable (agent/server/cluster.ts wires Raft in); a
 * single dev server has none: its own state is the only state.
 */
export interface ReadConsistency {
  /** Resolves once this server has applied the leader's commit index as of a quorum-confirmed moment after the call. */
  readPoint(): Promise<number>;
  /** Whether this server knows a leader (QueryMeta.known_leader). */
  knownLeader(): boolean;
  /** Ms since this server last heard from the leader: 0 on the leader, -1 never (QueryMeta.last_contact_ms). */
  lastContactMs(): number;
}

/** A read's answer and the state index it reflects (pass it back as `index` to block). */
export interface QueryResult<T> {
  index: number;
  value: T;
}

export interface RegisterJobOptions {
  /** Check-and-set: register only if the stored job's jobModifyIndex equals `jobModifyIndex` (0 = must not exist). */
  enforceIndex?: boolean;
  jobModifyIndex?: number;
}

export interface RegisterJobReply {
  evalId: string;
  jobModifyIndex: number;
  index: number;
  warnings: string[];
}

export interface WriteReply {
  index: number;
  evalId: string;
}

export interface NodeUpdateReply {
  index: number;
  evalIds: string[];
  nodeModifyIndex: number;
}

/** A drain request (Nomad's DrainSpec): null cancels the drain. */
export interface DrainSpec {
  /** ms: > 0 a deadline, 0 no deadline, -1 force (stop everything now). */
  deadlineMs: number;
  ignoreSystemJobs: boolean;
}

export interface PlanJobReply {
  /** Per task group: what the scheduler would do. */
  annotations: Record<string, DesiredUpdates>;
  /** Per task group: why placements would fail. */
  failedTgAllocs: Record<string, AllocMetric>;
  /** Pass back with enforceIndex to register exactly what was planned. */
  jobModifyIndex: number;
  /** Evaluations the dry run would create (follow-ups, blocked evals). */
  createdEvals: Evaluation[];
  /** Allocations the plan would place, per node (new ones only). */
  placements: Record<string, number>;
  /** The state index the plan was computed on. */
  index: number;
  warnings: string[];
}

export interface AgentSelf {
  name: string;
  region: string;
  datacenter: string;
  version: string;
  server: boolean;
  client: boolean;
  nodeId: string;
  rpcAddr: string;
  stats: Record<string, string>;
}

export interface AgentStatus {
  leader: string;
  peers: string[];
  index: number;
}

export interface ApiServiceOptions {
  server: Server;
  clock: Clock;
  rng: Rng;
  region: string;
  /** Agent name (default `server-1`). */
  name?: string;
  datacenter?: string;
  version?: string;
  /** host:port of this agent's RPC listener, once known (see setRpcAddr). */
  rpcAddr?: string;
  /** Linearizable reads on a cluster server (default: none, every read is local). */
  consistency?: ReadConsistency;
}

const DEFAULT_NAMESPACE = 'default';

function ns(namespace: string | undefined): string {
  return namespace === undefined || namespace === '' ? DEFAULT_NAMESPACE : namespace;
}

function checkId(id: string, field: string): void {
  if (typeof id !== 'string' || id === '') throw new NomadError('invalid_argument', `${field} is required`, { field });
}

export class ApiService {
  private readonly server: Server;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly self: AgentSelf;
  private readonly consistency: ReadConsistency | undefined;

  constructor(opts: ApiServiceOptions) {
    this.server = opts.server;
    this.consistency = opts.consistency;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.self = {
      name: opts.name ?? 'server-1',
      region: opts.region,
      datacenter: opts.datacenter ?? 'dc1',
      version: opts.version ?? '0.1.0',
      server: true,
      client: false,
      nodeId: '',
      rpcAddr: opts.rpcAddr ?? '',
      stats: {},
    };
  }

  /** Whether the answers' server knows a cluster leader (always true on a single dev server). */
  knownLeader(): boolean {
    return this.consistency?.knownLeader() ?? true;
  }

  /** Ms since the answers' server last heard from the leader (0 on the leader and on a single dev server; -1 never). */
  lastContactMs(): number {
    return this.consistency?.lastContactMs() ?? 0;
  }

  /** Set once the RPC listener has its port. */
  setRpcAddr(addr: string): void {
    this.self.rpcAddr = addr;
  }

  // ---- Jobs ----------------------------------------------------------------------

  async registerJob(job: Job, opts: RegisterJobOptions = {}): Promise<RegisterJobReply> {
    validateJob(job);
    if (opts.enforceIndex === true) {
      const want = opts.jobModifyIndex ?? 0;
      const current = this.server.state().jobByID(job.namespace, job.id);
      const have = current?.jobModifyIndex ?? 0;
      if (have !== want) {
        const why = current === undefined ? 'the job does not exist' : `its job modify index is ${have}`;
        throw new NomadError('conflict', `enforcing job modify index ${want}: ${why}`, { field: 'jobModifyIndex' });
      }
    }
    const r = await this.server.registerJob(job);
    return { evalId: r.evalId, jobModifyIndex: r.jobModifyIndex, index: r.index, warnings: [] };
  }

  async deregisterJob(namespace: string, jobId: string, purge: boolean): Promise<WriteReply> {
    checkId(jobId, 'jobId');
    return this.server.deregisterJob(ns(namespace), jobId, purge);
  }

  async getJob(namespace: string, jobId: string, q: QueryOptions = {}): Promise<QueryResult<Job>> {
    checkId(jobId, 'jobId');
    const { snap, index } = await this.read(['jobs'], q);
    const job = snap.jobByID(ns(namespace), jobId);
    if (job === undefined) throw new NomadError('not_found', `job "${jobId}" not found in namespace "${ns(namespace)}"`, { field: 'jobId' });
    return { index, value: job };
  }

  async listJobs(q: QueryOptions = {}): Promise<QueryResult<Job[]>> {
    const { snap, index } = await this.read(['jobs'], q);
    const want = ns(q.namespace);
    const jobs = snap.jobs().filter((j) => (want === '*' || j.namespace === want) && (q.prefix === undefined || j.id.startsWith(q.prefix)));
    jobs.sort((a, b) => (a.namespace === b.namespace ? cmp(a.id, b.id) : cmp(a.namespace, b.namespace)));
    return { index, value: jobs };
  }

  /** Newest first. */
  async jobVersions(namespace: string, jobId: string, q: QueryOptions = {}): Promise<QueryResult<Job[]>> {
    checkId(jobId, 'jobId');
    const { snap, index } = await this.read(['job_versions'], q);
    const versions = snap.jobVersions(ns(namespace), jobId);
    if (versions.length === 0) throw new NomadError('not_found', `job "${jobId}" not found in namespace "${ns(namespace)}"`, { field: 'jobId' });
    versions.sort((a, b) => b.version - a.version);
    return { index, value: versions };
  }

  /** A dry run of the scheduler against the current state: nothing is written. */
  async planJob(job: Job): Promise<PlanJobReply> {
    validateJob(job);
    return dryRunPlan({ state: this.server.state(), job, rng: this.rng.fork(), now: this.clock.now() });
  }

  // ---- Nodes ---------------------------------------------------------------------

  async listNodes(q: QueryOptions = {}): Promise<QueryResult<Node[]>> {
    const { snap, index } = await this.read(['nodes'], q);
    const nodes = snap.nodes().filter((n) => q.prefix === undefined || n.id.startsWith(q.prefix));
    nodes.sort((a, b) => cmp(a.id, b.id));
    return { index, value: nodes };
  }

  async getNode(nodeId: string, q: QueryOptions = {}): Promise<QueryResult<Node>> {
    checkId(nodeId, 'nodeId');
    const { snap, index } = await this.read(['nodes'], q);
    const node = snap.nodeByID(nodeId);
    if (node === undefined) throw new NomadError('not_found', `node "${nodeId}" not found`, { field: 'nodeId' });
    return { index, value: node };
  }

  /** Mark a node (in)eligible; becoming eligible evaluates the jobs that could use it, as Nomad does. */
  async updateEligibility(nodeId: string, eligibility: SchedulingEligibility): Promise<NodeUpdateReply> {
    checkId(nodeId, 'nodeId');
    if (eligibility !== 'eligible' && eligibility !== 'ineligible') {
      throw new NomadError('invalid_argument', `eligibility must be "eligible" or "ineligible", got ${JSON.stringify(eligibility)}`, { field: 'eligibility' });
    }
    const state = this.server.state();
    const node = state.nodeByID(nodeId);
    if (node === undefined) throw new NomadError('not_found', `node "${nodeId}" not found`, { field: 'nodeId' });
    if (eligibility === 'eligible' && node.drainStrategy !== null) {
      throw new NomadError('conflict', `node "${nodeId}" is draining: cancel the drain to make it eligible`, { field: 'eligibility' });
    }
    const evals = eligibility === 'eligible' && node.schedulingEligibility !== 'eligible' ? this.server.nodeEvals(nodeId, 'node-update') : [];
    const index = await this.server.apply({ type: 'UpdateNodeEligibility', nodeId, eligibility, evals });
    return { index, evalIds: evals.map((e) => e.id), nodeModifyIndex: this.server.state().nodeByID(nodeId)?.modifyIndex ?? index };
  }

  /**
   * Start (spec) or cancel (null) a node's drain, as Nomad's Node.UpdateDrain: starting
   * makes the node ineligible and the leader's drainer migrates its allocations;
   * cancelling keeps it ineligible unless `markEligible` (then its jobs are evaluated).
   */
  async updateDrain(nodeId: string, spec: DrainSpec | null, markEligible: boolean): Promise<NodeUpdateReply> {
    checkId(nodeId, 'nodeId');
    if (spec !== null) {
      if (typeof spec !== 'object') throw new NomadError('invalid_argument', 'drain spec must be an object or null', { field: 'drainSpec' });
      const d = spec.deadlineMs;
      if (!Number.isSafeInteger(d) || d < -1) {
        throw new NomadError('invalid_argument', `drain deadline must be a whole number of ms (> 0 a deadline, 0 none, -1 force), got ${String(d)}`, { field: 'drainSpec.deadlineMs' });
      }
      if (typeof spec.ignoreSystemJobs !== 'boolean') throw new NomadError('invalid_argument', 'drainSpec.ignoreSystemJobs must be a boolean', { field: 'drainSpec.ignoreSystemJobs' });
    }
    if (typeof markEligible !== 'boolean') throw new NomadError('invalid_argument', 'markEligible must be a boolean', { field: 'markEligible' });
    const node = this.server.state().nodeByID(nodeId);
    if (node === undefined) throw new NomadError('not_found', `node "${nodeId}" not found`, { field: 'nodeId' });
    const now = this.clock.now();
    const strategy =
      spec === null
        ? null
        : {
            deadline: spec.deadlineMs,
            ignoreSystemJobs: spec.ignoreSystemJobs,
            // Nomad: a restarted drain keeps no memory of the old one; the deadline counts from now.
            startedAt: now,
            forceDeadline: spec.deadlineMs > 0 ? now + spec.deadlineMs : spec.deadlineMs < 0 ? now : 0,
          };
    const { index, evalIds } = await this.server.updateNodeDrain(nodeId, strategy, markEligible);
    return { index, evalIds, nodeModifyIndex: this.server.state().nodeByID(nodeId)?.modifyIndex ?? index };
  }

  // ---- Allocations ---------------------------------------------------------------

  async getAlloc(allocId: string, q: QueryOptions = {}): Promise<QueryResult<Allocation>> {
    checkId(allocId, 'allocId');
    const { snap, index } = await this.read(['allocs'], q);
    const alloc = snap.allocByID(allocId);
    if (alloc === undefined) throw new NomadError('not_found', `allocation "${allocId}" not found`, { field: 'allocId' });
    return { index, value: alloc };
  }

  /** Allocations of one job, of one node, or all (filters combine). */
  async listAllocs(filter: { jobId?: string; nodeId?: string } = {}, q: QueryOptions = {}): Promise<QueryResult<Allocation[]>> {
    const { snap, index } = await this.read(['allocs'], q);
    const want = ns(q.namespace);
    const jobId = filter.jobId ?? '';
    const nodeId = filter.nodeId ?? '';
    let allocs: Allocation[];
    if (jobId !== '' && want !== '*') allocs = snap.allocsByJob(want, jobId);
    else if (nodeId !== '') allocs = snap.allocsByNode(nodeId);
    else allocs = snap.allocs();
    allocs = allocs.filter(
      (a) =>
        (want === '*' || a.namespace === want) &&
        (jobId === '' || a.jobId === jobId) &&
        (nodeId === '' || a.nodeId === nodeId) &&
        (q.prefix === undefined || a.id.startsWith(q.prefix)),
    );
    allocs.sort((a, b) => cmp(a.id, b.id));
    return { index, value: allocs };
  }

  /** Stop an allocation: mark it for migration and evaluate its job, which replaces it (Nomad's alloc stop). */
  async stopAlloc(allocId: string): Promise<WriteReply> {
    checkId(allocId, 'allocId');
    const state = this.server.state();
    const alloc = state.allocByID(allocId);
    if (alloc === undefined) throw new NomadError('not_found', `allocation "${allocId}" not found`, { field: 'allocId' });
    const job = state.jobByID(alloc.namespace, alloc.jobId) ?? alloc.job;
    const ev = this.server.newEval(job, 'alloc-stop');
    const index = await this.server.apply({ type: 'UpdateAllocDesiredTransition', transitions: [{ allocId, transition: { migrate: true } }], evals: [ev] });
    return { index, evalId: ev.id };
  }

  // ---- Evaluations ---------------------------------------------------------------

  async getEval(evalId: string, q: QueryOptions = {}): Promise<QueryResult<Evaluation>> {
    checkId(evalId, 'evalId');
    const { snap, index } = await this.read(['evals'], q);
    const ev = snap.evalByID(evalId);
    if (ev === undefined) throw new NomadError('not_found', `evaluation "${evalId}" not found`, { field: 'evalId' });
    return { index, value: ev };
  }

  async listEvals(filter: { jobId?: string; status?: EvalStatus } = {}, q: QueryOptions = {}): Promise<QueryResult<Evaluation[]>> {
    const { snap, index } = await this.read(['evals'], q);
    const want = ns(q.namespace);
    const jobId = filter.jobId ?? '';
    const source = jobId !== '' && want !== '*' ? snap.evalsByJob(want, jobId) : snap.evals();
    const evals = source.filter(
      (e) =>
        (want === '*' || e.namespace === want) &&
        (jobId === '' || e.jobId === jobId) &&
        (filter.status === undefined || e.status === filter.status) &&
        (q.prefix === undefined || e.id.startsWith(q.prefix)),
    );
    evals.sort((a, b) => a.createIndex - b.createIndex || cmp(a.id, b.id));
    return { index, value: evals };
  }

  // ---- Operator and agent --------------------------------------------------------

  async getSchedulerConfig(q: QueryOptions = {}): Promise<QueryResult<SchedulerConfiguration>> {
    const { snap, index } = await this.read(['scheduler_config'], q);
    return { index, value: snap.schedulerConfig() };
  }

  /** With `cas`, writes only if config.modifyIndex equals the stored one; `updated` says whether it did. */
  async setSchedulerConfig(config: SchedulerConfiguration, cas: boolean): Promise<{ index: number; updated: boolean }> {
    const index = await this.server.apply({ type: 'SetSchedulerConfig', config, ...(cas ? { cas: config.modifyIndex } : {}) });
    return { index, updated: this.server.state().schedulerConfig().modifyIndex === index };
  }

  agentSelf(): AgentSelf {
    const s = this.server.stats();
    return {
      ...this.self,
      stats: {
        'raft.applied_index': String(s.index),
        'broker.total_ready': String(s.broker.total.ready),
        'broker.total_unacked': String(s.broker.total.unacked),
        'broker.total_pending': String(s.broker.total.pending),
        'plan.queue_depth': String(s.planApplier.queueDepth),
        workers: String(s.workers.length),
      },
    };
  }

  agentStatus(): AgentStatus {
    return { leader: this.self.rpcAddr, peers: this.self.rpcAddr === '' ? [] : [this.self.rpcAddr], index: this.server.state().index };
  }

  // ---- internals -----------------------------------------------------------------

  /**
   * A snapshot for a read of `tables`: at once, or (blocking query, `q.index` > 0) once one
   * of the tables has changed past `q.index` or the wait runs out. The answer's index is the
   * highest index of those tables, as Nomad's.
   */
  private async read(tables: readonly TableName[], q: QueryOptions): Promise<{ snap: StateSnapshot; index: number }> {
    const min = q.index ?? 0;
    if (!Number.isSafeInteger(min) || min < 0) throw new NomadError('invalid_argument', `index must be a whole number ≥ 0, got ${min}`, { field: 'index' });
    const wait = q.waitMs === undefined || q.waitMs <= 0 ? DefaultMaxQueryTimeMs : Math.min(q.waitMs, MaxQueryTimeMs);
    if (q.stale !== true && this.consistency !== undefined) await this.consistency.readPoint();
    const snap = min === 0 ? this.server.state() : await this.server.fsm.store.blockingQuery(tables, min, { clock: this.clock, timeoutMs: wait });
    let index = 0;
    for (const t of tables) index = Math.max(index, snap.tableIndex(t));
    return { snap, index: Math.max(index, 1) };
  }

}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
