/**
 * The public API's client side over gRPC with mutual TLS: one channel per service client,
 * promise-returning calls with domain values in and out (the wire types stop here), and
 * every failure a NomadError carrying the server's message. agent/api wraps this for the CLI.
 */
import * as grpc from '@grpc/grpc-js';
import type { ErrorCode } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { AllocMetric, Allocation, EvalStatus, Evaluation, Job, Node, NodeResourceUsage, SchedulerConfiguration, SchedulingEligibility } from '../core/structs/index.js';
import type { StateEvent, TopicFilter } from '../core/state/index.js';
import type { OpsEvent, OpsFilter } from '../core/ops/index.js';
import type {
  AgentSelf,
  AgentStatus,
  NodeUpdateReply,
  PlanJobReply,
  QueryOptions,
  QueryResult,
  RegisterJobOptions,
  RegisterJobReply,
  WriteReply,
} from '../service/index.js';
import * as pb from '../../proto/index.js';
import { allocFromProto, allocMetricFromProto } from './alloc.js';
import { evalFromProto, evalStatusCodec } from './eval.js';
import { eventFromProto, opsEventFromProto, opsFilterToProto, topicFilterToProto } from './event.js';
import { jobFromProto, jobToProto } from './job.js';
import { eligibilityCodec, nodeFromProto } from './node.js';
import { schedulerConfigFromProto, schedulerConfigToProto } from './operator.js';
import { planAnnotationsFromProto } from './plan.js';
import { nodeUsageFromProto } from './usage.js';
import { clientChannel, ErrorCodeKey, ErrorFieldKey } from './options.js';

export interface RpcClientOptions {
  /** host:port of a server's RPC listener. */
  address: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** The name the server's certificate must carry (default `server.<region>.nomadts`). */
  serverName?: string;
  /** Default `global`. */
  region?: string;
  /** Deadline of a call that does not block (default 30 s). */
  timeoutMs?: number;
  /** Reads may be answered from the server's own state without a read point (default false; a query's own `stale` wins). */
  stale?: boolean;
}

/** One event-stream batch (or a notice that events were lost: re-read state at resumeFrom). */
/**
 * One frame of the event stream. `lostResumeFrom` > 0: state events after the
 * requested index fell out of the server's buffer (re-read state at >= it);
 * `opsLost` > 0: this reader fell behind the operational-event buffer by that
 * many events and carries on at `opsResumeFrom`; `heartbeat`: nothing happened.
 */
export interface EventBatch {
  index: number;
  events: StateEvent[];
  ops: OpsEvent[];
  lostResumeFrom: number;
  opsLost: number;
  opsResumeFrom: number;
  heartbeat: boolean;
}

export interface SubscribeOptions {
  index?: number;
  /** State topics; with neither `topics` nor `ops`, everything is sent. */
  topics?: TopicFilter;
  /** Operational topics (Broker, Plan, Raft, Member, Drain). */
  ops?: OpsFilter;
  /** Operational events after this sequence number, if still held (0 = from now). */
  opsFromSeq?: number;
  namespace?: string;
  heartbeatMs?: number;
  signal?: AbortSignal;
}

const CodeOf: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.INVALID_ARGUMENT]: 'invalid_argument',
  [grpc.status.FAILED_PRECONDITION]: 'conflict',
  [grpc.status.DEADLINE_EXCEEDED]: 'timeout',
  [grpc.status.PERMISSION_DENIED]: 'permission_denied',
  [grpc.status.UNAUTHENTICATED]: 'permission_denied',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.RESOURCE_EXHAUSTED]: 'resource_exhausted',
};

const KnownCodes: ReadonlySet<string> = new Set<ErrorCode>([
  'parse', 'validation', 'too_large', 'too_deep', 'not_found', 'conflict', 'invalid_argument', 'timeout', 'permission_denied', 'unavailable', 'resource_exhausted', 'internal',
]);

/** A gRPC failure as the NomadError the server raised (its code and field come back in the trailers). */
export function fromServiceError(err: grpc.ServiceError, address: string): NomadError {
  const sent = err.metadata?.get(ErrorCodeKey)[0];
  const field = err.metadata?.get(ErrorFieldKey)[0];
  const code: ErrorCode = typeof sent === 'string' && KnownCodes.has(sent) ? (sent as ErrorCode) : (CodeOf[err.code] ?? 'internal');
  const details = err.details === '' ? grpc.status[err.code] : err.details;
  const message = err.code === grpc.status.UNAVAILABLE ? `cannot reach the server at ${address}: ${details}` : details;
  return new NomadError(code, message, typeof field === 'string' ? { field } : {});
}

/** A read answer's view of the cluster (QueryMeta without the index). */
export interface ReadMeta {
  knownLeader: boolean;
  /** 0 on the leader, -1 when the server never heard from one. */
  lastContactMs: number;
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

/** Query options as the wire's; a blocking query's deadline covers its wait. */
function queryToProto(q: QueryOptions = {}, stale = false): pb.QueryOptions {
  return {
    region: '',
    namespace: q.namespace ?? '',
    minQueryIndex: q.index ?? 0,
    maxQueryTimeMs: q.waitMs ?? 0,
    allowStale: q.stale ?? stale,
    prefix: q.prefix ?? '',
    perPage: 0,
    nextToken: '',
  };
}

function writeOpts(namespace = ''): pb.WriteOptions {
  return { region: '', namespace, idempotencyToken: '' };
}

export class RpcApiClient {
  readonly address: string;
  private readonly jobs: pb.JobServiceClient;
  private readonly nodes: pb.NodeServiceClient;
  private readonly allocs: pb.AllocServiceClient;
  private readonly evals: pb.EvalServiceClient;
  private readonly operator: pb.OperatorServiceClient;
  private readonly agent: pb.AgentServiceClient;
  private readonly events: pb.EventServiceClient;
  private readonly timeoutMs: number;
  private readonly stale: boolean;
  private queryMeta: ReadMeta | undefined;

  constructor(opts: RpcClientOptions) {
    this.address = opts.address;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.stale = opts.stale ?? false;
    const channel = clientChannel(opts);
    const creds = channel.creds;
    // One TCP connection shared by every service client of this address.
    const options: grpc.ChannelOptions = { ...channel.options, 'grpc.use_local_subchannel_pool': 0 };
    this.jobs = new pb.JobServiceClient(opts.address, creds, options);
    const channelOverride = this.jobs.getChannel();
    const shared = { ...options, channelOverride };
    this.nodes = new pb.NodeServiceClient(opts.address, creds, shared);
    this.allocs = new pb.AllocServiceClient(opts.address, creds, shared);
    this.evals = new pb.EvalServiceClient(opts.address, creds, shared);
    this.operator = new pb.OperatorServiceClient(opts.address, creds, shared);
    this.agent = new pb.AgentServiceClient(opts.address, creds, shared);
    this.events = new pb.EventServiceClient(opts.address, creds, shared);
  }

  close(): void {
    this.jobs.close();
  }

  // ---- Jobs ----------------------------------------------------------------------

  async registerJob(job: Job, opts: RegisterJobOptions = {}): Promise<RegisterJobReply> {
    const res = await this.call<pb.RegisterJobRequest, pb.RegisterJobResponse>(this.jobs, 'register', {
      write: writeOpts(job.namespace),
      job: jobToProto(job),
      enforceIndex: opts.enforceIndex ?? false,
      jobModifyIndex: opts.jobModifyIndex ?? 0,
      preserveCounts: false,
      evalPriority: 0,
    });
    return { evalId: res.evalId, jobModifyIndex: res.jobModifyIndex, index: res.meta?.index ?? 0, warnings: res.warnings };
  }

  async deregisterJob(namespace: string, jobId: string, purge: boolean): Promise<WriteReply> {
    const res = await this.call<pb.DeregisterJobRequest, pb.DeregisterJobResponse>(this.jobs, 'deregister', { write: writeOpts(namespace), jobId, purge, evalPriority: 0 });
    return { index: res.meta?.index ?? 0, evalId: res.evalId };
  }

  async getJob(namespace: string, jobId: string, q: QueryOptions = {}): Promise<QueryResult<Job>> {
    const res = await this.call<pb.GetJobRequest, pb.GetJobResponse>(this.jobs, 'get', { query: queryToProto({ ...q, namespace }, this.stale), jobId }, q);
    return { index: res.meta?.index ?? 0, value: jobFromProto(this.need(res.job, 'job')) };
  }

  async listJobs(q: QueryOptions = {}): Promise<QueryResult<Job[]>> {
    const res = await this.call<pb.ListJobsRequest, pb.ListJobsResponse>(this.jobs, 'list', { query: queryToProto(q, this.stale) }, q);
    return { index: res.meta?.index ?? 0, value: res.jobs.map((j) => jobFromProto(j)) };
  }

  async jobVersions(namespace: string, jobId: string, q: QueryOptions = {}): Promise<QueryResult<Job[]>> {
    const res = await this.call<pb.GetJobVersionsRequest, pb.GetJobVersionsResponse>(this.jobs, 'versions', { query: queryToProto({ ...q, namespace }, this.stale), jobId }, q);
    return { index: res.meta?.index ?? 0, value: res.versions.map((j) => jobFromProto(j)) };
  }

  async planJob(job: Job): Promise<PlanJobReply> {
    const res = await this.call<pb.PlanJobRequest, pb.PlanJobResponse>(this.jobs, 'plan', { write: writeOpts(job.namespace), job: jobToProto(job), diff: false });
    const failedTgAllocs: Record<string, AllocMetric> = {};
    for (const [g, m] of Object.entries(res.failedTgAllocs)) failedTgAllocs[g] = allocMetricFromProto(m);
    const annotations = res.annotations === undefined ? {} : planAnnotationsFromProto(res.annotations);
    return {
      annotations,
      failedTgAllocs,
      jobModifyIndex: res.jobModifyIndex,
      createdEvals: res.createdEvals.map((e) => evalFromProto(e)),
      // The wire carries counts per group, not per node: placements are summed per group here.
      placements: Object.fromEntries(Object.entries(annotations).map(([g, u]) => [g, u.place + u.destructiveUpdate + u.canary + u.migrate + u.rescheduleNow])),
      index: res.meta?.index ?? 0,
      warnings: res.warnings,
    };
  }

  // ---- Nodes ---------------------------------------------------------------------

  async listNodes(q: QueryOptions = {}): Promise<QueryResult<Node[]>> {
    const res = await this.call<pb.ListNodesRequest, pb.ListNodesResponse>(this.nodes, 'list', { query: queryToProto(q, this.stale) }, q);
    return { index: res.meta?.index ?? 0, value: res.nodes.map((n) => nodeFromProto(n)) };
  }

  async getNode(nodeId: string, q: QueryOptions = {}): Promise<QueryResult<Node>> {
    const res = await this.call<pb.GetNodeRequest, pb.GetNodeResponse>(this.nodes, 'get', { query: queryToProto(q, this.stale), nodeId }, q);
    return { index: res.meta?.index ?? 0, value: nodeFromProto(this.need(res.node, 'node')) };
  }

  /** The latest resource usage the clients reported: one node's, or (nodeId '') every node's. */
  async nodeUsage(nodeId = ''): Promise<NodeResourceUsage[]> {
    const res = await this.call<pb.NodeUsageRequest, pb.NodeUsageResponse>(this.nodes, 'usage', { nodeId }, {});
    return res.nodes.map((n, i) => nodeUsageFromProto(n, `nodes[${i}]`));
  }

  async updateEligibility(nodeId: string, eligibility: SchedulingEligibility): Promise<NodeUpdateReply> {
    const res = await this.call<pb.UpdateNodeEligibilityRequest, pb.UpdateNodeEligibilityResponse>(this.nodes, 'updateEligibility', {
      write: writeOpts(),
      nodeId,
      eligibility: eligibilityCodec.encode(eligibility, 'request', 'eligibility'),
    });
    const u = res.update;
    return { index: u?.meta?.index ?? 0, evalIds: u?.evalIds ?? [], nodeModifyIndex: u?.nodeModifyIndex ?? 0 };
  }

  /** Start a drain (spec: deadlineMs > 0, 0 none, -1 force) or cancel it (null; markEligible makes the node eligible again). */
  async updateDrain(nodeId: string, spec: { deadlineMs: number; ignoreSystemJobs: boolean } | null, markEligible = false): Promise<NodeUpdateReply> {
    const res = await this.call<pb.UpdateNodeDrainRequest, pb.UpdateNodeDrainResponse>(this.nodes, 'updateDrain', {
      write: writeOpts(),
      nodeId,
      ...(spec !== null ? { drainSpec: { deadlineMs: spec.deadlineMs, ignoreSystemJobs: spec.ignoreSystemJobs } } : {}),
      markEligible,
    });
    const u = res.update;
    return { index: u?.meta?.index ?? 0, evalIds: u?.evalIds ?? [], nodeModifyIndex: u?.nodeModifyIndex ?? 0 };
  }

  // ---- Allocations ---------------------------------------------------------------

  async getAlloc(allocId: string, q: QueryOptions = {}): Promise<QueryResult<Allocation>> {
    const res = await this.call<pb.GetAllocRequest, pb.GetAllocResponse>(this.allocs, 'get', { query: queryToProto(q, this.stale), allocId }, q);
    return { index: res.meta?.index ?? 0, value: allocFromProto(this.need(res.alloc, 'alloc')) };
  }

  async listAllocs(filter: { jobId?: string; nodeId?: string } = {}, q: QueryOptions = {}): Promise<QueryResult<Allocation[]>> {
    const res = await this.call<pb.ListAllocsRequest, pb.ListAllocsResponse>(
      this.allocs,
      'list',
      { query: queryToProto(q, this.stale), jobId: filter.jobId ?? '', nodeId: filter.nodeId ?? '' },
      q,
    );
    return { index: res.meta?.index ?? 0, value: res.allocs.map((a) => allocFromProto(a)) };
  }

  async stopAlloc(allocId: string): Promise<WriteReply> {
    const res = await this.call<pb.StopAllocRequest, pb.StopAllocResponse>(this.allocs, 'stop', { write: writeOpts(), allocId });
    return { index: res.meta?.index ?? 0, evalId: res.evalId };
  }

  /**
   * Send `signal` (e.g. `SIGUSR1`; default SIGKILL, as Nomad) to a task of an allocation, or to
   * its running tasks when `task` is ''. Only the agent whose client runs the allocation can.
   */
  async signalAlloc(allocId: string, task: string, signal: string): Promise<void> {
    await this.call<pb.SignalAllocRequest, pb.SignalAllocResponse>(this.allocs, 'signal', { write: writeOpts(), allocId, task, signal });
  }

  /**
   * Restart a task of an allocation in place (or its running tasks when `task` is ''), outside
   * the restart policy. Resolves once the old processes have exited.
   */
  async restartAlloc(allocId: string, task = ''): Promise<void> {
    await this.call<pb.RestartAllocRequest, pb.RestartAllocResponse>(this.allocs, 'restart', { write: writeOpts(), allocId, task, allTasks: false });
  }

  /**
   * A task's stdout (default) or stderr log: its bytes from `origin` (`start`, or `end` with
   * `offset` counting back) until the end, or with `follow` until `signal` aborts. Only the agent
   * whose client runs the allocation serves its logs.
   */
  async *allocLogs(
    allocId: string,
    task: string,
    opts: { stream?: 'stdout' | 'stderr'; follow?: boolean; origin?: 'start' | 'end'; offset?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<Buffer> {
    const call = this.allocs.logs({ allocId, task, stream: opts.stream ?? 'stdout', follow: opts.follow ?? false, origin: opts.origin ?? 'start', offset: opts.offset ?? 0 });
    const abort = (): void => call.cancel();
    if (opts.signal?.aborted === true) call.cancel();
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const chunk of call as AsyncIterable<pb.AllocLogsChunk>) yield chunk.data;
    } catch (err) {
      const e = err as grpc.ServiceError;
      if (e.code === grpc.status.CANCELLED && opts.signal?.aborted === true) return;
      throw fromServiceError(e, this.address);
    } finally {
      opts.signal?.removeEventListener('abort', abort);
      call.cancel();
    }
  }

  // ---- Evaluations ---------------------------------------------------------------

  async getEval(evalId: string, q: QueryOptions = {}): Promise<QueryResult<Evaluation>> {
    const res = await this.call<pb.GetEvalRequest, pb.GetEvalResponse>(this.evals, 'get', { query: queryToProto(q, this.stale), evalId }, q);
    return { index: res.meta?.index ?? 0, value: evalFromProto(this.need(res.eval, 'eval')) };
  }

  async listEvals(filter: { jobId?: string; status?: EvalStatus } = {}, q: QueryOptions = {}): Promise<QueryResult<Evaluation[]>> {
    const status = filter.status === undefined ? pb.EvalStatus.EVAL_STATUS_UNSPECIFIED : evalStatusCodec.encode(filter.status, 'filter', 'status');
    const res = await this.call<pb.ListEvalsRequest, pb.ListEvalsResponse>(this.evals, 'list', { query: queryToProto(q, this.stale), jobId: filter.jobId ?? '', status }, q);
    return { index: res.meta?.index ?? 0, value: res.evals.map((e) => evalFromProto(e)) };
  }

  // ---- Operator and agent --------------------------------------------------------

  async getSchedulerConfig(q: QueryOptions = {}): Promise<QueryResult<SchedulerConfiguration>> {
    const res = await this.call<pb.SchedulerGetConfigRequest, pb.SchedulerGetConfigResponse>(this.operator, 'schedulerGetConfig', { query: queryToProto(q, this.stale) }, q);
    return { index: res.meta?.index ?? 0, value: schedulerConfigFromProto(this.need(res.config, 'config')) };
  }

  async setSchedulerConfig(config: SchedulerConfiguration, cas: boolean): Promise<{ index: number; updated: boolean }> {
    const res = await this.call<pb.SchedulerSetConfigRequest, pb.SchedulerSetConfigResponse>(this.operator, 'schedulerSetConfig', {
      write: writeOpts(),
      config: schedulerConfigToProto(config),
      cas,
    });
    return { index: res.meta?.index ?? 0, updated: res.updated };
  }

  async agentSelf(): Promise<AgentSelf> {
    const res = await this.call<pb.AgentSelfRequest, pb.AgentSelfResponse>(this.agent, 'self', {});
    return { ...res, stats: { ...res.stats } };
  }

  async agentStatus(): Promise<AgentStatus> {
    const res = await this.call<pb.AgentStatusRequest, pb.AgentStatusResponse>(this.agent, 'status', {});
    return { leader: res.leader, peers: [...res.peers], index: res.index };
  }

  // ---- Events --------------------------------------------------------------------

  /**
   * The event stream from `index` on: batches until `signal` aborts or the server ends it.
   * A batch with `lostResumeFrom` means events fell out of the server's buffer.
   */
  async *subscribe(opts: SubscribeOptions = {}): AsyncGenerator<EventBatch> {
    const stream = this.events.subscribe({
      topics: topicFilterToProto(opts.topics),
      index: opts.index ?? 0,
      namespace: opts.namespace ?? '',
      opsTopics: opsFilterToProto(opts.ops),
      opsFromSeq: opts.opsFromSeq ?? 0,
      heartbeatMs: opts.heartbeatMs ?? 0,
    });
    const abort = (): void => stream.cancel();
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const raw of stream as AsyncIterable<pb.SubscribeResponse>) {
        yield {
          index: raw.index,
          events: raw.events.map((e) => eventFromProto(e)),
          ops: raw.ops.map((e, i) => opsEventFromProto(e, `ops[${i}]`)),
          lostResumeFrom: raw.lostResumeFrom,
          opsLost: raw.opsLost,
          opsResumeFrom: raw.opsResumeFrom,
          heartbeat: raw.heartbeat,
        };
      }
    } catch (err) {
      const e = err as grpc.ServiceError;
      if (e.code === grpc.status.CANCELLED && opts.signal?.aborted === true) return;
      throw fromServiceError(e, this.address);
    } finally {
      opts.signal?.removeEventListener('abort', abort);
      stream.cancel();
    }
  }

  // ---- internals -----------------------------------------------------------------

  private need<T>(value: T | undefined, field: string): T {
    if (value === undefined) throw new NomadError('internal', `the server's answer has no ${field}`, { field });
    return value;
  }

  /** One unary call; a blocking query's deadline is its wait plus the usual timeout. */
  /**
   * What the server said about its view when it answered the last read (undefined before any):
   * whether it knew a leader, and how long since it heard from it (-stale reads are at most
   * about that old).
   */
  lastReadMeta(): ReadMeta | undefined {
    return this.queryMeta;
  }

  private call<Req, Res>(client: grpc.Client, method: string, req: Req, q?: QueryOptions): Promise<Res> {
    const blocking = q !== undefined && (q.index ?? 0) > 0;
    const waitMs = blocking ? (q.waitMs !== undefined && q.waitMs > 0 ? q.waitMs : 300_000) : 0;
    const deadline = new Date(Date.now() + waitMs + this.timeoutMs);
    const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method]!.bind(client);
    return new Promise<Res>((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline }, (err, res) => {
        if (err !== null) return reject(fromServiceError(err, this.address));
        const meta = (res as { meta?: pb.QueryMeta }).meta;
        if (meta !== undefined && 'knownLeader' in meta) this.queryMeta = { knownLeader: meta.knownLeader, lastContactMs: meta.lastContactMs };
        resolve(res);
      });
    });
  }
}
