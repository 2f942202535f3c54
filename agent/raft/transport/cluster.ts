/**
 * ClusterService (proto/nomadts/v1/raft.proto): what one server asks of another, and what the
 * operator's CLI asks of a server. `Apply` (a follower forwarding a write to the leader) is for
 * server certificates only; the Raft view and leadership/membership operations are also open to
 * cli certificates (operator raft ...). Domain types in, domain types out: the wire stays here.
 */
import * as grpc from '@grpc/grpc-js';
import { NomadError } from '../../core/lib/index.js';
import type { Role } from '../../tls/index.js';
import { verifyPeer } from '../../tls/index.js';
import type { ErrorCode } from '../../core/lib/index.js';
import { clientChannel, ErrorCodeKey, ErrorFieldKey, fromServiceError } from '../../rpc/index.js';
import type { ClientTlsOptions } from '../../rpc/index.js';
import type { Evaluation, Plan, PlanResult } from '../../core/structs/index.js';
import * as pb from '../../../proto/index.js';
import { MaxRestoreBytes, sha256Hex } from './snapshot-file.js';

export interface ClusterPeer {
  id: string;
  address: string;
  voter: boolean;
  leader: boolean;
  matchIndex: number;
  lag: number;
  /** Replication state on the leader (probe, replicate, snapshot); '' when unknown. */
  state: string;
  recentActive: boolean;
}

export interface ClusterRaftStatus {
  id: string;
  role: string;
  term: number;
  leader: string;
  commit: number;
  applied: number;
  lastIndex: number;
  peers: ClusterPeer[];
  /** This server's log storage since it started: fsyncs, and entries made durable (entries per fsync = their ratio). */
  storageSyncs: number;
  storageEntries: number;
}

/** A server as gossip sees it (issue 6; agent/gossip's Member without its protocol counters). */
export interface ClusterMember {
  name: string;
  /** Gossip (serf) host:port. */
  address: string;
  status: string;
  tags: Record<string, string>;
}

export interface ClusterHandlers {
  /** Propose an encoded command on this server (the leader); resolves with its index once applied. */
  apply(command: Uint8Array): Promise<number>;
  raftStatus(): Promise<ClusterRaftStatus>;
  /** Returns the new leader's id. */
  transferLeadership(peerId: string): Promise<string>;
  removePeer(peerId: string): Promise<number>;
  addPeer(peerId: string, address: string, voter: boolean): Promise<number>;
  /** The state machine's image at a linearizable read point, and the applied index it is at. */
  snapshotSave(): Promise<{ index: number; data: Uint8Array }>;
  // Gossip membership (issue 6); a server without gossip answers unavailable.
  members?: () => Promise<ClusterMember[]>;
  /** Returns how many addresses answered. */
  join?: (addresses: readonly string[]) => Promise<number>;
  forceLeave?: (name: string) => Promise<void>;
  // Scheduler workers on every server (issue 5 §4): the leader's broker and plan applier, asked by
  // followers' workers. A server that is not the leader throws `unavailable` naming the leader.
  /** Long poll for an evaluation; `signal` aborts when the caller goes away. Null: nothing within the timeout. */
  evalDequeue?: (req: { schedulerTypes: string[]; timeoutMs: number; workerId: string }, signal: AbortSignal) => Promise<RemoteEvalDelivery | null>;
  evalAck?: (evalId: string, token: string) => Promise<void>;
  evalNack?: (evalId: string, token: string) => Promise<void>;
  planSubmit?: (plan: Plan) => Promise<PlanResult>;
  /** A worker's evaluation writes under its delivery (`evalId`, `token`): refused when the token is not outstanding. Returns the commit index. */
  evalUpdate?: (evals: Evaluation[], delivery: { evalId: string; token: string }) => Promise<number>;
  /**
   * operator snapshot restore: a state image whose size and SHA-256 the service checked; the
   * handler checks what it holds, then has the leader commit it. Absent: answered unavailable.
   */
  snapshotRestore?: (image: Uint8Array) => Promise<SnapshotRestoreResult>;
}

/** An evaluation handed to a (remote) worker: its token, and the index its state must reach first. */
export interface RemoteEvalDelivery {
  eval: Evaluation;
  token: string;
  waitIndex: number;
}

export interface SnapshotRestoreResult {
  /** The log index the restore was committed at. */
  index: number;
  /** The index the image was saved at. */
  snapshotIndex: number;
}

export interface AddClusterServiceOptions {
  caPem: string;
  region: string;
  handlers: ClusterHandlers;
  now?: () => Date;
}

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

/** A thrown value as a gRPC status; a NomadError keeps its code and field in the trailers (as agent/rpc-server does;
 * not imported from there: agent/rpc-server depends on agent/server, which depends on this module). */
function toStatus(err: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (err instanceof NomadError) {
    metadata.set(ErrorCodeKey, err.code);
    if (err.field !== undefined) metadata.set(ErrorFieldKey, err.field);
    return { code: StatusOf[err.code], details: err.message, metadata };
  }
  metadata.set(ErrorCodeKey, 'internal');
  return { code: grpc.status.INTERNAL, details: `internal error: ${err instanceof Error ? err.message : String(err)}`, metadata };
}

const ServerOnly: readonly Role[] = ['server'];

function need<F>(f: F | undefined, what = 'gossip'): F {
  if (f === undefined) throw new NomadError('unavailable', `this server runs no ${what}`);
  return f;
}
const Operators: readonly Role[] = ['cli', 'server'];

export function addClusterService(srv: grpc.Server, o: AddClusterServiceOptions): void {
  const now = o.now ?? ((): Date => new Date());
  // Checking a certificate (parse, signature, names) costs milliseconds of CPU; a server
  // forwarding writes calls many times a second with the same one. A verdict is kept for a
  // minute per (certificate, roles), so expiry is still noticed within a minute.
  const cache = new Map<string, { verdict: ReturnType<typeof verifyPeer>; until: number }>();
  const verified = (raw: Buffer, roles: readonly Role[]): ReturnType<typeof verifyPeer> => {
    const key = `${roles.join(',')}|${raw.toString('base64')}`;
    const t = now();
    const hit = cache.get(key);
    if (hit !== undefined && hit.until > t.getTime()) return hit.verdict;
    const verdict = verifyPeer({ caPem: o.caPem, certPem: raw, now: t, allowedRoles: roles, region: o.region });
    if (cache.size >= 256) cache.delete(cache.keys().next().value!);
    cache.set(key, { verdict, until: t.getTime() + 60_000 });
    return verdict;
  };
  const unary = <Req, Res>(roles: readonly Role[], handler: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> => (call, callback) => {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) {
      callback({ code: grpc.status.UNAUTHENTICATED, details: 'no client certificate: the cluster service needs mutual TLS' });
      return;
    }
    const v = verified(cert.raw, roles);
    if (!v.ok) {
      callback({ code: grpc.status.PERMISSION_DENIED, details: v.reason });
      return;
    }
    handler(call.request).then((res) => callback(null, res), (err: unknown) => callback(toStatus(err)));
  };
  const h = o.handlers;
  const impl: pb.ClusterServiceServer = {
    apply: unary<pb.ClusterApplyRequest, pb.ClusterApplyResponse>(ServerOnly, async (req) => ({ index: await h.apply(req.command) })),
    raftStatus: unary<pb.RaftStatusRequest, pb.RaftStatusResponse>(Operators, async () => h.raftStatus()),
    transferLeadership: unary<pb.TransferLeadershipRequest, pb.TransferLeadershipResponse>(Operators, async (req) => ({ leader: await h.transferLeadership(req.peerId) })),
    removePeer: unary<pb.RemovePeerRequest, pb.RemovePeerResponse>(Operators, async (req) => {
      if (req.peerId === '') throw new NomadError('invalid_argument', 'peer_id is required', { field: 'peer_id' });
      return { index: await h.removePeer(req.peerId) };
    }),
    addPeer: unary<pb.AddPeerRequest, pb.AddPeerResponse>(Operators, async (req) => {
      if (req.peerId === '') throw new NomadError('invalid_argument', 'peer_id is required', { field: 'peer_id' });
      return { index: await h.addPeer(req.peerId, req.address, req.voter) };
    }),
    // issue 6: gossip membership.
    members: unary<pb.MembersRequest, pb.MembersResponse>(Operators, async () => ({ members: await need(h.members)() })),
    join: unary<pb.JoinRequest, pb.JoinResponse>(Operators, async (req) => {
      if (req.addresses.length === 0) throw new NomadError('invalid_argument', 'at least one address is required', { field: 'addresses' });
      return { joined: await need(h.join)(req.addresses) };
    }),
    forceLeave: unary<pb.ForceLeaveRequest, pb.ForceLeaveResponse>(Operators, async (req) => {
      if (req.name === '') throw new NomadError('invalid_argument', 'name is required', { field: 'name' });
      await need(h.forceLeave)(req.name);
      return {};
    }),
    snapshotSave: () => undefined, // set below (a server-streaming call)
    // Scheduler workers on every server (issue 5 §4). EvalDequeue is set below (it watches its call).
    evalDequeue: () => undefined,
    evalAck: unary<pb.EvalAckRequest, pb.EvalAckResponse>(ServerOnly, async (req) => {
      await need(h.evalAck, 'eval broker')(requireEvalRef(req).evalId, req.token);
      return {};
    }),
    evalNack: unary<pb.EvalAckRequest, pb.EvalAckResponse>(ServerOnly, async (req) => {
      await need(h.evalNack, 'eval broker')(requireEvalRef(req).evalId, req.token);
      return {};
    }),
    planSubmit: unary<pb.PlanSubmitRequest, pb.PlanSubmitResponse>(ServerOnly, async (req) => {
      const plan = parseJson<Plan>(req.planJson, 'plan_json');
      if (typeof plan.evalId !== 'string' || plan.evalId === '') throw new NomadError('invalid_argument', 'plan_json: evalId is required', { field: 'plan_json.evalId' });
      const result = await need(h.planSubmit, 'plan applier')(plan);
      return { resultJson: Buffer.from(JSON.stringify(result), 'utf8') };
    }),
    evalUpdate: unary<pb.EvalUpdateRequest, pb.EvalUpdateResponse>(ServerOnly, async (req) => {
      if (req.evalId === '') throw new NomadError('invalid_argument', 'eval_id is required', { field: 'eval_id' });
      const evals = parseJson<{ evals?: unknown }>(req.evalsJson, 'evals_json').evals as Evaluation[];
      if (!Array.isArray(evals) || evals.some((e) => typeof e !== 'object' || e === null || typeof e.id !== 'string' || e.id === '')) {
        throw new NomadError('invalid_argument', 'evals_json: an array of evaluations, each with an id, is required', { field: 'evals_json' });
      }
      const index = await need(h.evalUpdate, 'eval broker')(evals, { evalId: req.evalId, token: req.token });
      return { index };
    }),
    snapshotRestore: () => undefined, // set below (a client-streaming call)
  };
  impl.evalDequeue = (call: grpc.ServerUnaryCall<pb.EvalDequeueRequest, pb.EvalDequeueResponse>, callback: grpc.sendUnaryData<pb.EvalDequeueResponse>): void => {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) return callback({ code: grpc.status.UNAUTHENTICATED, details: 'no client certificate: the cluster service needs mutual TLS' });
    const v = verified(cert.raw, ServerOnly);
    if (!v.ok) return callback({ code: grpc.status.PERMISSION_DENIED, details: v.reason });
    const req = call.request;
    const gone = new AbortController();
    call.on('cancelled', () => gone.abort());
    const run = async (): Promise<pb.EvalDequeueResponse> => {
      if (req.schedulerTypes.length === 0) throw new NomadError('invalid_argument', 'scheduler_types: at least one scheduler type is required', { field: 'scheduler_types' });
      const d = await need(h.evalDequeue, 'eval broker')({ schedulerTypes: req.schedulerTypes, timeoutMs: req.timeoutMs, workerId: req.workerId }, gone.signal);
      if (d === null) return { found: false, evalJson: Buffer.alloc(0), token: '', waitIndex: 0 };
      if (call.cancelled) {
        // The worker went away as the evaluation was handed to it: give it back at once rather
        // than leave it to the nack timer.
        void h.evalNack?.(d.eval.id, d.token).catch(() => undefined);
        throw new NomadError('unavailable', 'the dequeuing worker went away');
      }
      return { found: true, evalJson: Buffer.from(JSON.stringify(d.eval), 'utf8'), token: d.token, waitIndex: d.waitIndex };
    };
    run().then((res) => callback(null, res), (err: unknown) => callback(toStatus(err)));
  };
  impl.snapshotSave = (call: grpc.ServerWritableStream<pb.SnapshotSaveRequest, pb.SnapshotChunk>): void => {
    const fail = (status: Partial<grpc.StatusObject>): void => {
      call.emit('error', Object.assign(new Error(status.details ?? 'refused'), status));
    };
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) return fail({ code: grpc.status.UNAUTHENTICATED, details: 'no client certificate: the cluster service needs mutual TLS' });
    const v = verified(cert.raw, Operators);
    if (!v.ok) return fail({ code: grpc.status.PERMISSION_DENIED, details: v.reason });
    h.snapshotSave().then((snap) => {
      const chunk = 1 << 20;
      const bytes = Buffer.from(snap.data.buffer, snap.data.byteOffset, snap.data.byteLength);
      // At least one chunk, so the index arrives even for an empty image.
      for (let off = 0; off === 0 || off < bytes.length; off += chunk) call.write({ index: snap.index, data: bytes.subarray(off, off + chunk) });
      call.end();
    }, (err: unknown) => fail(toStatus(err)));
  };
  // operator snapshot restore (a client stream): the chunks must add up to the size and SHA-256
  // the first one announced, within MaxRestoreBytes, before the handler sees anything.
  impl.snapshotRestore = (call: grpc.ServerReadableStream<pb.SnapshotRestoreChunk, pb.SnapshotRestoreResponse>, callback: grpc.sendUnaryData<pb.SnapshotRestoreResponse>): void => {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) return callback({ code: grpc.status.UNAUTHENTICATED, details: 'no client certificate: the cluster service needs mutual TLS' });
    const v = verified(cert.raw, Operators);
    if (!v.ok) return callback({ code: grpc.status.PERMISSION_DENIED, details: v.reason });
    let size = -1;
    let sha256 = '';
    let received = 0;
    const parts: Buffer[] = [];
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      callback(toStatus(err));
      call.destroy();
    };
    call.on('data', (c: pb.SnapshotRestoreChunk) => {
      if (failed) return;
      try {
        if (size < 0) {
          size = c.size;
          sha256 = c.sha256;
          if (!Number.isSafeInteger(size) || size <= 0) throw new NomadError('invalid_argument', `snapshot size ${size} is not a byte count (an empty state image cannot be restored)`, { field: 'size' });
          if (size > MaxRestoreBytes) throw new NomadError('too_large', `the state image is ${size} bytes; a restore takes at most ${MaxRestoreBytes} bytes (${MaxRestoreBytes / (1 << 20)} MiB: it travels as one Raft log entry)`, { field: 'size' });
          if (!/^[0-9a-f]{64}$/.test(sha256)) throw new NomadError('invalid_argument', 'sha256 must be the image\'s SHA-256 in lower-case hex', { field: 'sha256' });
        }
        received += c.data.byteLength;
        if (received > size) throw new NomadError('invalid_argument', `more than the announced ${size} bytes arrived`, { field: 'data' });
        parts.push(c.data);
      } catch (err) {
        fail(err);
      }
    });
    call.on('error', (err: unknown) => fail(err));
    call.on('end', () => {
      if (failed) return;
      if (size < 0) return fail(new NomadError('invalid_argument', 'no snapshot data arrived', { field: 'data' }));
      if (received !== size) return fail(new NomadError('invalid_argument', `the state image was cut short in transit: ${received} of ${size} bytes arrived`, { field: 'data' }));
      const image = Buffer.concat(parts, size);
      const got = sha256Hex(image);
      if (got !== sha256) return fail(new NomadError('invalid_argument', `checksum mismatch: the image hashes to ${got}, not the announced ${sha256}`, { field: 'sha256' }));
      if (h.snapshotRestore === undefined) return fail(new NomadError('unavailable', 'this server cannot restore snapshots'));
      h.snapshotRestore(image).then((r) => callback(null, r), (err: unknown) => {
        failed = true;
        callback(toStatus(err));
      });
    });
  };
  srv.addService(pb.ClusterServiceService, impl);
}

function requireEvalRef(req: pb.EvalAckRequest): pb.EvalAckRequest {
  if (req.evalId === '') throw new NomadError('invalid_argument', 'eval_id is required', { field: 'eval_id' });
  if (req.token === '') throw new NomadError('invalid_argument', 'token is required', { field: 'token' });
  return req;
}

function parseJson<T>(bytes: Uint8Array, field: string): T {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new NomadError('invalid_argument', `${field}: not JSON (${err instanceof Error ? err.message : String(err)})`, { field });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new NomadError('invalid_argument', `${field}: must be a JSON object`, { field });
  return v as T;
}

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

/** A client of one server's ClusterService. */
export class ClusterClient {
  private readonly client: pb.ClusterServiceClient;

  constructor(readonly address: string, tls: ClientTlsOptions, private readonly timeoutMs = 15_000) {
    const { creds, options } = clientChannel(tls);
    this.client = new pb.ClusterServiceClient(address, creds, options);
  }

  private call<Req, Res>(name: 'apply' | 'raftStatus' | 'transferLeadership' | 'removePeer' | 'addPeer' | 'members' | 'join' | 'forceLeave' | 'evalAck' | 'evalNack' | 'planSubmit' | 'evalUpdate', req: Req, timeoutMs = this.timeoutMs): Promise<Res> {
    const method = (this.client[name] as (...a: unknown[]) => unknown).bind(this.client) as unknown as Unary<Req, Res>;
    return new Promise((resolve, reject) => {
      method(req, new grpc.Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        if (err !== null) reject(fromServiceError(err, this.address));
        else resolve(res);
      });
    });
  }

  async apply(command: Uint8Array): Promise<number> {
    const r = await this.call<pb.ClusterApplyRequest, pb.ClusterApplyResponse>('apply', { command: Buffer.from(command.buffer, command.byteOffset, command.byteLength) });
    return r.index;
  }

  async raftStatus(timeoutMs?: number): Promise<ClusterRaftStatus> {
    return this.call<pb.RaftStatusRequest, pb.RaftStatusResponse>('raftStatus', {}, timeoutMs);
  }

  async transferLeadership(peerId: string): Promise<string> {
    return (await this.call<pb.TransferLeadershipRequest, pb.TransferLeadershipResponse>('transferLeadership', { peerId })).leader;
  }

  async removePeer(peerId: string): Promise<number> {
    return (await this.call<pb.RemovePeerRequest, pb.RemovePeerResponse>('removePeer', { peerId })).index;
  }

  async addPeer(peerId: string, address: string, voter: boolean): Promise<number> {
    return (await this.call<pb.AddPeerRequest, pb.AddPeerResponse>('addPeer', { peerId, address, voter })).index;
  }

  // issue 6: gossip membership.
  async members(): Promise<ClusterMember[]> {
    return (await this.call<pb.MembersRequest, pb.MembersResponse>('members', {})).members;
  }

  async join(addresses: readonly string[]): Promise<number> {
    return (await this.call<pb.JoinRequest, pb.JoinResponse>('join', { addresses: [...addresses] })).joined;
  }

  async forceLeave(name: string): Promise<void> {
    await this.call<pb.ForceLeaveRequest, pb.ForceLeaveResponse>('forceLeave', { name });
  }

  // Scheduler workers on every server (issue 5 §4).
  /**
   * Wait up to `timeoutMs` on the leader for an evaluation of `schedulerTypes`. Null when the wait
   * ended with nothing, or `signal` aborted (the call is cancelled; the leader gives back an
   * evaluation it handed out as the call went away).
   */
  evalDequeue(schedulerTypes: string[], timeoutMs: number, workerId: string, signal?: AbortSignal): Promise<RemoteEvalDelivery | null> {
    if (signal?.aborted === true) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      const req: pb.EvalDequeueRequest = { schedulerTypes, timeoutMs, workerId };
      // The leader holds the call for up to timeoutMs; the deadline leaves room for the answer.
      const call = this.client.evalDequeue(req, new grpc.Metadata(), { deadline: new Date(Date.now() + timeoutMs + 5_000) }, (err, res) => {
        signal?.removeEventListener('abort', onAbort);
        if (err !== null) {
          if (signal?.aborted === true) resolve(null);
          else reject(fromServiceError(err, this.address));
          return;
        }
        if (!res.found) return resolve(null);
        try {
          resolve({ eval: parseJson<Evaluation>(res.evalJson, 'eval_json'), token: res.token, waitIndex: res.waitIndex });
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
      const onAbort = (): void => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async evalAck(evalId: string, token: string): Promise<void> {
    await this.call<pb.EvalAckRequest, pb.EvalAckResponse>('evalAck', { evalId, token });
  }

  async evalNack(evalId: string, token: string): Promise<void> {
    await this.call<pb.EvalAckRequest, pb.EvalAckResponse>('evalNack', { evalId, token });
  }

  /** A worker's evaluation writes on the leader, under the delivery it holds; the commit index. */
  async evalUpdate(evals: Evaluation[], delivery: { evalId: string; token: string }): Promise<number> {
    const r = await this.call<pb.EvalUpdateRequest, pb.EvalUpdateResponse>('evalUpdate', { evalsJson: Buffer.from(JSON.stringify({ evals }), 'utf8'), evalId: delivery.evalId, token: delivery.token });
    return r.index;
  }

  /** Submit a plan to the leader's plan applier; the result carries a refresh index when part was refused. */
  async planSubmit(plan: Plan, timeoutMs?: number): Promise<PlanResult> {
    const r = await this.call<pb.PlanSubmitRequest, pb.PlanSubmitResponse>('planSubmit', { planJson: Buffer.from(JSON.stringify(plan), 'utf8') }, timeoutMs);
    return parseJson<PlanResult>(r.resultJson, 'result_json');
  }

  /** The state image as of a linearizable read point on the server asked, reassembled from its chunks. */
  snapshotSave(timeoutMs = 120_000): Promise<{ index: number; data: Buffer }> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let index = 0;
      const stream = this.client.snapshotSave({}, { deadline: new Date(Date.now() + timeoutMs) });
      stream.on('data', (c: pb.SnapshotChunk) => {
        index = c.index;
        parts.push(c.data);
      });
      stream.on('error', (err: grpc.ServiceError) => reject(err.code === grpc.status.UNIMPLEMENTED ? notACluster(this.address, 'snapshot save') : fromServiceError(err, this.address)));
      stream.on('end', () => resolve({ index, data: Buffer.concat(parts) }));
    });
  }

  /**
   * operator snapshot restore: send a state image (checked by the caller, e.g. decodeSnapshotFile)
   * in 1 MiB chunks, the first announcing its size and SHA-256; resolves once the restore is
   * committed and applied on the server asked (default deadline 10 minutes: moving a fresh
   * cluster's log past the image's index can take minutes).
   */
  snapshotRestore(image: Uint8Array, timeoutMs = 600_000): Promise<SnapshotRestoreResult> {
    return new Promise((resolve, reject) => {
      const stream = this.client.snapshotRestore({ deadline: new Date(Date.now() + timeoutMs) }, (err: grpc.ServiceError | null, res?: pb.SnapshotRestoreResponse) => {
        if (err !== null) reject(err.code === grpc.status.UNIMPLEMENTED ? notACluster(this.address, 'snapshot restore') : fromServiceError(err, this.address));
        else resolve({ index: res!.index, snapshotIndex: res!.snapshotIndex });
      });
      const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
      const sha256 = sha256Hex(bytes);
      const chunk = 1 << 20;
      for (let off = 0; off === 0 || off < bytes.length; off += chunk) {
        stream.write(off === 0 ? { size: bytes.length, sha256, data: bytes.subarray(0, chunk) } : { size: 0, sha256: '', data: bytes.subarray(off, off + chunk) });
      }
      stream.end();
    });
  }

  close(): void {
    this.client.close();
  }
}

/** What a dev agent (`agent -dev`: one server, no cluster Raft, no ClusterService) answers. */
function notACluster(address: string, what: string): NomadError {
  return new NomadError('conflict', `the agent at ${address} is not a cluster server (a dev agent, \`agent -dev\`, runs no Raft cluster): operator ${what} needs a server started with \`agent -config\``);
}
