/**
 * The public API over gRPC with mutual TLS: the adapter between grpc-js and the transport-
 * independent handlers of agent/service. Every call is authenticated by its peer certificate
 * (verifyPeer: this cluster's CA, this region, a role allowed for the method) before its
 * request is decoded; a NomadError becomes the matching gRPC status with the human message,
 * and its code and field ride along in the trailers so the API client can rebuild it.
 */
import * as grpc from '@grpc/grpc-js';
import type { ErrorCode, Rng } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { Clock } from '../core/lib/index.js';
import type { Server } from '../server/index.js';
import type { Allocation, NodeResourceUsage } from '../core/structs/index.js';
import type { QueryOptions as DomainQuery, ReadConsistency } from '../service/index.js';
import { ApiService } from '../service/index.js';
import type { Role } from '../tls/index.js';
import { verifyPeer } from '../tls/index.js';
import { SystemClock, systemRng } from '../runtime/index.js';
import * as pb from '../../proto/index.js';
import {
  ChannelOptions,
  ErrorCodeKey,
  ErrorFieldKey,
  allocMetricToProto,
  allocToProto,
  eligibilityCodec,
  evalStatusCodec,
  evalToProto,
  eventToProto,
  opsEventToProto,
  opsFilterFromProto,
  jobFromProto,
  jobToProto,
  missingField,
  nodeToProto,
  nodeUsageToProto,
  planAnnotationsToProto,
  schedulerConfigFromProto,
  schedulerConfigToProto,
  topicFilterFromProto,
} from '../rpc/index.js';

/** Who may call what: every agent role may read; writes are for operators (cli) and servers. */
export const ReadRoles: readonly Role[] = ['cli', 'client', 'server'];
export const WriteRoles: readonly Role[] = ['cli', 'server'];

/** The server also closes connections idle for 10 minutes (longer than the longest blocking query). */
const ServerOptions: grpc.ServerOptions = {
  ...ChannelOptions,
  'grpc.max_connection_idle_ms': 660_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 30_000,
};

const StatusOf: Record<ErrorCode, grpc.status> = {
  not_found: grpc.status.NOT_FOUND,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  validation: grpc.status.INVALID_ARGUMENT,
  parse: grpc.status.INVALID_ARGUMENT,
  too_large: grpc.status.INVALID_ARGUMENT,
  too_deep: grpc.status.INVALID_ARGUMENT,
  conflict: grpc.status.FAILED_PRECONDITION,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  unavailable: grpc.status.UNAVAILABLE,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  internal: grpc.status.INTERNAL,
};

/** A thrown value as a gRPC error: a NomadError keeps its message, code and field. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (err instanceof NomadError) {
    metadata.set(ErrorCodeKey, err.code);
    if (err.field !== undefined) metadata.set(ErrorFieldKey, err.field);
    return { code: StatusOf[err.code], details: err.message, metadata };
  }
  metadata.set(ErrorCodeKey, 'internal');
  return { code: grpc.status.INTERNAL, details: `internal error: ${err instanceof Error ? err.message : String(err)}`, metadata };
}

export interface RpcServerTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface StartRpcServerOptions {
  server: Server;
  tls: RpcServerTls;
  region: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** The time certificates are checked at (default the wall clock). */
  now?: () => Date;
  /** The handlers; default an ApiService over `server` with `clock` and `rng`. */
  service?: ApiService;
  clock?: Clock;
  rng?: Rng;
  /** Adds further services (e.g. agent/rpc addClientService) to the same listener before it binds. */
  addServices?: (srv: grpc.Server) => void;
  /** Task logs of the allocations this agent's own client runs (AllocService.Logs); none: no logs here. */
  logs?: AllocLogSource;
  /** Signals and restarts of the tasks this agent's own client runs (AllocService.Signal/Restart); none: refused. */
  tasks?: AllocTaskControl;
  /** The clients' usage reports (NodeService.Usage); none: no node has reported. */
  usage?: UsageSource;
  /** A cluster server's linearizable reads (for the default ApiService); none: reads are local. */
  consistency?: ReadConsistency;
}

/** Where NodeService.Usage reads: the servers' in-memory usage table (agent/service UsageTable). */
export interface UsageSource {
  get(nodeId: string): NodeResourceUsage | undefined;
  list(): NodeResourceUsage[];
}

/**
 * Where AllocService.Signal and Restart act: the task runners of the nodes this agent runs a
 * client for (agent/dev wires its alloc runners). Remote nodes come later.
 */
export interface AllocTaskControl {
  /** Whether this agent runs the client of `nodeId`. */
  servesNode(nodeId: string): boolean;
  /** Signal `task`, or every running task when ''. */
  signal(allocId: string, task: string, signal: string): Promise<void>;
  /** Restart `task` in place, or every running task when ''. */
  restart(allocId: string, task: string): Promise<void>;
}

export type AllocLogStream = 'stdout' | 'stderr';

export interface AllocLogReadOptions {
  /** Bytes from the origin (default 0). */
  offset?: number;
  /** `start` (default) or `end` (offset counts back from the end). */
  origin?: 'start' | 'end';
  /** Keep yielding new bytes until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * Where AllocService.Logs reads from: the task logs of the allocations of the nodes this agent
 * runs a client for (agent/dev wires its alloc runners' log directories). Remote nodes come later.
 */
export interface AllocLogSource {
  /** Whether this agent runs the client of `nodeId` (so has its allocations' logs). */
  servesNode(nodeId: string): boolean;
  read(allocId: string, task: string, stream: AllocLogStream, opts: AllocLogReadOptions): AsyncGenerator<Buffer>;
}

export interface RpcServerHandle {
  port: number;
  service: ApiService;
  /** Stop accepting calls, end the open ones, release the port. */
  close(): Promise<void>;
}

interface Peer {
  role: Role;
  region: string;
}

type Handler<Req, Res> = (req: Req, peer: Peer) => Promise<Res>;

export async function startRpcServer(opts: StartRpcServerOptions): Promise<RpcServerHandle> {
  const now = opts.now ?? ((): Date => new Date());
  const service =
    opts.service ??
    new ApiService({ server: opts.server, clock: opts.clock ?? new SystemClock(), rng: opts.rng ?? systemRng().rng, region: opts.region, ...(opts.consistency !== undefined ? { consistency: opts.consistency } : {}) });
  const { caPem, certPem, keyPem } = opts.tls;

  const authenticate = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, roles: readonly Role[]): Peer => {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) throw new PeerRefused(grpc.status.UNAUTHENTICATED, 'no client certificate: the API needs mutual TLS');
    const v = verifyPeer({ caPem, certPem: cert.raw, now: now(), allowedRoles: roles, region: opts.region });
    if (!v.ok) throw new PeerRefused(grpc.status.PERMISSION_DENIED, v.reason);
    return { role: v.role, region: v.region };
  };

  const unary = <Req, Res>(roles: readonly Role[], handler: Handler<Req, Res>): grpc.handleUnaryCall<Req, Res> => {
    return (call, callback) => {
      let peer: Peer;
      try {
        peer = authenticate(call, roles);
      } catch (err) {
        callback(err instanceof PeerRefused ? { code: err.status, details: err.message } : toServiceError(err));
        return;
      }
      handler(call.request, peer).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
    };
  };

  const q = (o: pb.QueryOptions | undefined): DomainQuery => ({
    namespace: o?.namespace ?? '',
    index: o?.minQueryIndex ?? 0,
    waitMs: o?.maxQueryTimeMs ?? 0,
    ...(o !== undefined && o.prefix !== '' ? { prefix: o.prefix } : {}),
    ...(o?.allowStale === true ? { stale: true } : {}),
  });
  // known_leader and last_contact_ms are this server's Raft view as it answers.
  const meta = (index: number): pb.QueryMeta => ({ index, lastContactMs: service.lastContactMs(), knownLeader: service.knownLeader(), nextToken: '' });
  const writeNs = (w: pb.WriteOptions | undefined): string => w?.namespace ?? '';
  const requireJob = (job: pb.Job | undefined): pb.Job => {
    if (job === undefined) throw missingField('request', 'job');
    return job;
  };

  const jobs: pb.JobServiceServer = {
    register: unary<pb.RegisterJobRequest, pb.RegisterJobResponse>(WriteRoles, async (req) => {
      const job = jobFromProto(requireJob(req.job));
      const r = await service.registerJob(job, { enforceIndex: req.enforceIndex, jobModifyIndex: req.jobModifyIndex });
      return { meta: { index: r.index }, evalId: r.evalId, evalCreateIndex: r.evalId === '' ? 0 : r.index, jobModifyIndex: r.jobModifyIndex, warnings: r.warnings };
    }),
    deregister: unary<pb.DeregisterJobRequest, pb.DeregisterJobResponse>(WriteRoles, async (req) => {
      const r = await service.deregisterJob(writeNs(req.write), req.jobId, req.purge);
      return { meta: { index: r.index }, evalId: r.evalId, evalCreateIndex: r.index, jobModifyIndex: r.index };
    }),
    get: unary<pb.GetJobRequest, pb.GetJobResponse>(ReadRoles, async (req) => {
      const r = await service.getJob(req.query?.namespace ?? '', req.jobId, q(req.query));
      return { meta: meta(r.index), job: jobToProto(r.value) };
    }),
    list: unary<pb.ListJobsRequest, pb.ListJobsResponse>(ReadRoles, async (req) => {
      const r = await service.listJobs(q(req.query));
      return { meta: meta(r.index), jobs: r.value.map((j) => jobToProto(j)) };
    }),
    plan: unary<pb.PlanJobRequest, pb.PlanJobResponse>(ReadRoles, async (req) => {
      const r = await service.planJob(jobFromProto(requireJob(req.job)));
      const failed: Record<string, pb.AllocMetric> = {};
      for (const [g, m] of Object.entries(r.failedTgAllocs)) failed[g] = allocMetricToProto(m);
      return {
        meta: meta(r.index),
        annotations: planAnnotationsToProto(r.annotations),
        failedTgAllocs: failed,
        jobModifyIndex: r.jobModifyIndex,
        createdEvals: r.createdEvals.map((e) => evalToProto(e)),
        nextPeriodicLaunchMs: 0,
        warnings: r.warnings,
      };
    }),
    versions: unary<pb.GetJobVersionsRequest, pb.GetJobVersionsResponse>(ReadRoles, async (req) => {
      const r = await service.jobVersions(req.query?.namespace ?? '', req.jobId, q(req.query));
      return { meta: meta(r.index), versions: r.value.map((j) => jobToProto(j)) };
    }),
  };

  const nodes: pb.NodeServiceServer = {
    list: unary<pb.ListNodesRequest, pb.ListNodesResponse>(ReadRoles, async (req) => {
      const r = await service.listNodes(q(req.query));
      return { meta: meta(r.index), nodes: r.value.map((n) => nodeToProto(n)) };
    }),
    get: unary<pb.GetNodeRequest, pb.GetNodeResponse>(ReadRoles, async (req) => {
      const r = await service.getNode(req.nodeId, q(req.query));
      return { meta: meta(r.index), node: nodeToProto(r.value) };
    }),
    updateEligibility: unary<pb.UpdateNodeEligibilityRequest, pb.UpdateNodeEligibilityResponse>(WriteRoles, async (req) => {
      const eligibility = eligibilityCodec.decode(req.eligibility, 'request', 'eligibility');
      const r = await service.updateEligibility(req.nodeId, eligibility);
      return { update: { meta: { index: r.index }, evalIds: r.evalIds, evalCreateIndex: r.evalIds.length > 0 ? r.index : 0, nodeModifyIndex: r.nodeModifyIndex } };
    }),
    usage: unary<pb.NodeUsageRequest, pb.NodeUsageResponse>(ReadRoles, async (req) => {
      const src = opts.usage;
      if (req.nodeId === '') return { nodes: (src?.list() ?? []).map((n) => nodeUsageToProto(n)) };
      // A known node that has not reported yet has no usage; an unknown one is an error.
      await service.getNode(req.nodeId, {});
      const one = src?.get(req.nodeId);
      return { nodes: one === undefined ? [] : [nodeUsageToProto(one)] };
    }),
    updateDrain: unary<pb.UpdateNodeDrainRequest, pb.UpdateNodeDrainResponse>(WriteRoles, async (req) => {
      const spec = req.drainSpec === undefined ? null : { deadlineMs: req.drainSpec.deadlineMs, ignoreSystemJobs: req.drainSpec.ignoreSystemJobs };
      const r = await service.updateDrain(req.nodeId, spec, req.markEligible);
      return { update: { meta: { index: r.index }, evalIds: r.evalIds, evalCreateIndex: r.evalIds.length > 0 ? r.index : 0, nodeModifyIndex: r.nodeModifyIndex } };
    }),
  };

  const allocs: pb.AllocServiceServer = {
    get: unary<pb.GetAllocRequest, pb.GetAllocResponse>(ReadRoles, async (req) => {
      const r = await service.getAlloc(req.allocId, q(req.query));
      return { meta: meta(r.index), alloc: allocToProto(r.value) };
    }),
    list: unary<pb.ListAllocsRequest, pb.ListAllocsResponse>(ReadRoles, async (req) => {
      const r = await service.listAllocs({ jobId: req.jobId, nodeId: req.nodeId }, q(req.query));
      return { meta: meta(r.index), allocs: r.value.map((a) => allocToProto(a)) };
    }),
    stop: unary<pb.StopAllocRequest, pb.StopAllocResponse>(WriteRoles, async (req) => {
      const r = await service.stopAlloc(req.allocId);
      return { meta: { index: r.index }, evalId: r.evalId };
    }),
    logs: (call: grpc.ServerWritableStream<pb.AllocLogsRequest, pb.AllocLogsChunk>) => {
      try {
        authenticate(call, ReadRoles);
      } catch (err) {
        call.emit('error', Object.assign(new Error(err instanceof Error ? err.message : String(err)), err instanceof PeerRefused ? { code: err.status, details: err.message } : toServiceError(err)));
        return;
      }
      void streamLogs(service, opts.logs, call);
    },
    signal: unary<pb.SignalAllocRequest, pb.SignalAllocResponse>(WriteRoles, async (req) => {
      const alloc = await localAlloc(service, opts.tasks, req.allocId, req.task, 'signalled');
      // Nomad's default signal for alloc signal.
      await opts.tasks!.signal(alloc.id, req.task, req.signal === '' ? 'SIGKILL' : req.signal);
      return {};
    }),
    restart: unary<pb.RestartAllocRequest, pb.RestartAllocResponse>(WriteRoles, async (req) => {
      const alloc = await localAlloc(service, opts.tasks, req.allocId, req.task, 'restarted');
      await opts.tasks!.restart(alloc.id, req.task);
      return {};
    }),
  };

  const evals: pb.EvalServiceServer = {
    get: unary<pb.GetEvalRequest, pb.GetEvalResponse>(ReadRoles, async (req) => {
      const r = await service.getEval(req.evalId, q(req.query));
      return { meta: meta(r.index), eval: evalToProto(r.value) };
    }),
    list: unary<pb.ListEvalsRequest, pb.ListEvalsResponse>(ReadRoles, async (req) => {
      const status = req.status === pb.EvalStatus.EVAL_STATUS_UNSPECIFIED ? undefined : evalStatusCodec.decode(req.status, 'request', 'status');
      const r = await service.listEvals({ jobId: req.jobId, ...(status !== undefined ? { status } : {}) }, q(req.query));
      return { meta: meta(r.index), evals: r.value.map((e) => evalToProto(e)) };
    }),
  };

  const operator: pb.OperatorServiceServer = {
    schedulerGetConfig: unary<pb.SchedulerGetConfigRequest, pb.SchedulerGetConfigResponse>(ReadRoles, async (req) => {
      const r = await service.getSchedulerConfig(q(req.query));
      return { meta: meta(r.index), config: schedulerConfigToProto(r.value) };
    }),
    schedulerSetConfig: unary<pb.SchedulerSetConfigRequest, pb.SchedulerSetConfigResponse>(WriteRoles, async (req) => {
      if (req.config === undefined) throw missingField('request', 'config');
      const r = await service.setSchedulerConfig(schedulerConfigFromProto(req.config), req.cas);
      return { meta: { index: r.index }, updated: r.updated };
    }),
  };

  const agent: pb.AgentServiceServer = {
    self: unary<pb.AgentSelfRequest, pb.AgentSelfResponse>(ReadRoles, async () => service.agentSelf()),
    status: unary<pb.AgentStatusRequest, pb.AgentStatusResponse>(ReadRoles, async () => service.agentStatus()),
  };

  const events: pb.EventServiceServer = {
    subscribe: (call: grpc.ServerWritableStream<pb.SubscribeRequest, pb.SubscribeResponse>) => {
      try {
        authenticate(call, ReadRoles);
      } catch (err) {
        // emit('error'), not destroy(): grpc-js sends a status only for an emitted error.
        call.emit('error', Object.assign(new Error(err instanceof Error ? err.message : String(err)), err instanceof PeerRefused ? { code: err.status, details: err.message } : toServiceError(err)));
        return;
      }
      void streamEvents(opts.server, call);
    },
  };

  const srv = new grpc.Server(ServerOptions);
  srv.addService(pb.JobServiceService, jobs);
  srv.addService(pb.NodeServiceService, nodes);
  srv.addService(pb.AllocServiceService, allocs);
  srv.addService(pb.EvalServiceService, evals);
  srv.addService(pb.OperatorServiceService, operator);
  srv.addService(pb.AgentServiceService, agent);
  srv.addService(pb.EventServiceService, events);
  opts.addServices?.(srv);

  const creds = withNoDelay(grpc.ServerCredentials.createSsl(Buffer.from(caPem), [{ cert_chain: Buffer.from(certPem), private_key: Buffer.from(keyPem) }], true));
  const host = opts.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    srv.bindAsync(`${host}:${opts.port ?? 0}`, creds, (err, p) => (err !== null ? reject(err) : resolve(p)));
  });
  service.setRpcAddr(`${host}:${port}`);

  return {
    port,
    service,
    close: () =>
      new Promise<void>((resolve) => {
        // Open blocking queries would hold a graceful shutdown for minutes: end them now.
        srv.forceShutdown();
        resolve();
      }),
  };
}

/**
 * grpc-js accepts connections without TCP_NODELAY, so a reply written in pieces (headers, message,
 * trailers) waits for Nagle and the peer's delayed ACK (~40 ms on Linux): every unary call and
 * every Raft acknowledgement paid it. The credentials' constructor options reach node:tls's
 * server, which takes `noDelay`.
 */
export function withNoDelay(creds: grpc.ServerCredentials): grpc.ServerCredentials {
  const c = creds as unknown as { _getConstructorOptions(): object | null };
  const options = c._getConstructorOptions();
  if (options !== null) c._getConstructorOptions = () => ({ ...options, noDelay: true });
  return creds;
}

class PeerRefused extends Error {
  constructor(
    readonly status: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** The request's stream and origin, checked (empty = the default). */
function logRequest(req: pb.AllocLogsRequest): { stream: AllocLogStream; origin: 'start' | 'end' } {
  const stream = req.stream === '' ? 'stdout' : req.stream;
  if (stream !== 'stdout' && stream !== 'stderr') {
    throw new NomadError('invalid_argument', `log stream must be "stdout" or "stderr", got ${JSON.stringify(req.stream)}`, { field: 'stream' });
  }
  const origin = req.origin === '' ? 'start' : req.origin;
  if (origin !== 'start' && origin !== 'end') {
    throw new NomadError('invalid_argument', `log origin must be "start" or "end", got ${JSON.stringify(req.origin)}`, { field: 'origin' });
  }
  if (!Number.isSafeInteger(req.offset) || req.offset < 0) {
    throw new NomadError('invalid_argument', `log offset must be a non-negative integer, got ${req.offset}`, { field: 'offset' });
  }
  return { stream, origin };
}

/**
 * The allocation of a Signal or Restart: it must exist, `task` (when given) be one of its
 * group's, and its node be run by this agent.
 */
async function localAlloc(service: ApiService, control: AllocTaskControl | undefined, allocId: string, task: string, what: string): Promise<Allocation> {
  if (allocId === '') throw missingField('request', 'alloc_id');
  const alloc = (await service.getAlloc(allocId, { namespace: '', index: 0, waitMs: 0 })).value;
  const tasks = alloc.job.taskGroups.find((g) => g.name === alloc.taskGroup)?.tasks.map((t) => t.name) ?? [];
  if (task !== '' && !tasks.includes(task)) {
    throw new NomadError('not_found', `unknown task ${JSON.stringify(task)} in allocation ${alloc.id}; its tasks: ${tasks.join(', ')}`, { field: 'task' });
  }
  if (control === undefined || !control.servesNode(alloc.nodeId)) {
    throw new NomadError('not_found', `tasks of allocation ${alloc.id} run on node ${alloc.nodeId} (${alloc.nodeName}), which this agent does not run, so they cannot be ${what} here`, { field: 'alloc_id' });
  }
  return alloc;
}

/**
 * AllocService.Logs: the allocation must exist, the task be one of its group's, and its node
 * be run by this agent; then the log's bytes until its end (or, following, until the caller
 * goes away).
 */
async function streamLogs(service: ApiService, source: AllocLogSource | undefined, call: grpc.ServerWritableStream<pb.AllocLogsRequest, pb.AllocLogsChunk>): Promise<void> {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  call.on('close', () => abort.abort());
  const req = call.request;
  try {
    const { stream, origin } = logRequest(req);
    if (req.allocId === '') throw missingField('request', 'alloc_id');
    const alloc = (await service.getAlloc(req.allocId, { namespace: '', index: 0, waitMs: 0 })).value;
    const tasks = alloc.job.taskGroups.find((g) => g.name === alloc.taskGroup)?.tasks.map((t) => t.name) ?? [];
    if (!tasks.includes(req.task)) {
      const what = req.task === '' ? 'no task given' : `unknown task ${JSON.stringify(req.task)}`;
      throw new NomadError('not_found', `${what} in allocation ${alloc.id}; its tasks: ${tasks.join(', ')}`, { field: 'task' });
    }
    if (source === undefined || !source.servesNode(alloc.nodeId)) {
      throw new NomadError('not_found', `logs of allocation ${alloc.id} are on node ${alloc.nodeId} (${alloc.nodeName}), which this agent does not run`, { field: 'alloc_id' });
    }
    let sent = 0;
    const file = `${req.task}.${stream}`;
    for await (const data of source.read(alloc.id, req.task, stream, { offset: req.offset, origin, follow: req.follow, signal: abort.signal })) {
      if (abort.signal.aborted) break;
      const more = call.write({ data, file, offset: sent });
      sent += data.length;
      // Respect the caller's pace: wait for the transport to drain before reading on.
      if (!more) await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          abort.signal.removeEventListener('abort', done);
          resolve();
        };
        call.on('drain', done);
        abort.signal.addEventListener('abort', done, { once: true });
      });
    }
    if (!abort.signal.aborted) call.end();
  } catch (err) {
    if (!abort.signal.aborted) call.emit('error', Object.assign(new Error('logs refused'), toServiceError(err)));
  }
}

/**
 * EventService.Subscribe: state events from the server's event buffer and
 * operational events from its ops bus, until the caller goes away. Writes wait
 * for the transport to drain, so a slow reader falls behind in the server's
 * bounded buffers (and is told what it lost) instead of growing the server's
 * memory; a quiet stream gets a heartbeat frame every `heartbeat_ms`.
 */
async function streamEvents(server: Server, call: grpc.ServerWritableStream<pb.SubscribeRequest, pb.SubscribeResponse>): Promise<void> {
  const req = call.request;
  let stateSub: ReturnType<Server['events']['subscribe']> | undefined;
  let opsSub: ReturnType<Server['ops']['subscribe']> | undefined;
  try {
    const topics = topicFilterFromProto(req.topics);
    const opsTopics = opsFilterFromProto(req.opsTopics);
    const wantState = topics !== undefined || opsTopics === undefined;
    const wantOps = opsTopics !== undefined || topics === undefined;
    if (req.heartbeatMs < 0) throw new NomadError('invalid_argument', `heartbeat_ms must be >= 0, got ${req.heartbeatMs}`, { field: 'heartbeat_ms' });
    if (wantState) stateSub = server.events.subscribe({ fromIndex: req.index, ...(topics !== undefined ? { topics } : {}) });
    if (wantOps) opsSub = server.ops.subscribe({ fromSeq: req.opsFromSeq, ...(opsTopics !== undefined ? { filter: opsTopics } : {}) });
  } catch (err) {
    stateSub?.close();
    call.emit('error', Object.assign(new Error('subscribe refused'), toServiceError(err)));
    return;
  }
  const namespace = req.namespace === '' ? 'default' : req.namespace;
  let open = true;
  let wrote = false;
  const drained: (() => void)[] = [];
  const wakeAll = (): void => {
    for (const w of drained.splice(0)) w();
  };
  const close = (): void => {
    if (!open) return;
    open = false;
    stateSub?.close();
    opsSub?.close();
    wakeAll();
  };
  call.on('cancelled', close);
  call.on('close', close);
  call.on('error', close);
  call.on('drain', wakeAll);
  const send = async (frame: Partial<pb.SubscribeResponse>): Promise<void> => {
    if (!open) return;
    wrote = true;
    const full: pb.SubscribeResponse = { index: server.events.lastIndex(), events: [], lostResumeFrom: 0, ops: [], heartbeat: false, opsLost: 0, opsResumeFrom: 0, ...frame };
    if (!call.write(full)) await new Promise<void>((resolve) => drained.push(resolve));
  };
  const heartbeatMs = req.heartbeatMs > 0 ? req.heartbeatMs : 10_000;
  const heartbeat = setInterval(() => {
    if (!wrote) void send({ heartbeat: true });
    wrote = false;
  }, heartbeatMs);
  heartbeat.unref();
  const pumpState = async (): Promise<void> => {
    if (stateSub === undefined) return;
    while (open) {
      const r = await stateSub.next();
      if (r.kind === 'closed') break;
      if (r.kind === 'lost') {
        await send({ index: r.resumeFrom, lostResumeFrom: r.resumeFrom });
        continue;
      }
      const wanted = r.events.filter((e) => namespace === '*' || e.namespace === namespace || e.namespace === '');
      if (wanted.length === 0) continue;
      await send({ index: wanted[wanted.length - 1]!.index, events: wanted.map((e) => eventToProto(e)) });
    }
  };
  const pumpOps = async (): Promise<void> => {
    if (opsSub === undefined) return;
    while (open) {
      const r = await opsSub.next();
      if (r.kind === 'closed') break;
      if (r.kind === 'lost') await send({ opsLost: r.lost, opsResumeFrom: r.resumeFrom });
      else await send({ ops: r.events.map((e) => opsEventToProto(e)) });
    }
  };
  try {
    await Promise.all([pumpState(), pumpOps()]);
  } finally {
    clearInterval(heartbeat);
    close();
  }
  call.end();
}
