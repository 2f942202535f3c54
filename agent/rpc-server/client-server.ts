/**
 * ClientService over gRPC: the client agents' RPCs (register, heartbeat, the allocation watch,
 * status reports) served by agent/service ClientRpcService on the same mutual-TLS listener as
 * the public API. Only `client` and `server` certificates may call it; an operator's `cli`
 * certificate is refused with PERMISSION_DENIED before its request is decoded.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientRpcService } from '../service/index.js';
import type { Role } from '../tls/index.js';
import { verifyPeer } from '../tls/index.js';
import * as pb from '../../proto/index.js';
import { allocClientUpdateFromProto, allocToProto, allocUsageFromProto, missingField, nodeFromProto } from '../rpc/index.js';
import type { RpcServerHandle, StartRpcServerOptions } from './server.js';
import { startRpcServer, toServiceError } from './server.js';

/** Who may speak for a node: client agents, and servers (forwarding). */
export const ClientRoles: readonly Role[] = ['client', 'server'];

export interface AddClientServiceOptions {
  service: ClientRpcService;
  /** The cluster CA every peer certificate must chain to. */
  caPem: string;
  region: string;
  /** The time certificates are checked at (default the wall clock). */
  now?: () => Date;
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/** Add ClientService to a grpc.Server (pass as startRpcServer's `addServices`). */
export function addClientService(srv: grpc.Server, opts: AddClientServiceOptions): void {
  const now = opts.now ?? ((): Date => new Date());
  const service = opts.service;

  /** The refusal as a gRPC status, or null when the peer may call. */
  const refuse = (call: AnyCall): Partial<grpc.StatusObject> | null => {
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) return { code: grpc.status.UNAUTHENTICATED, details: 'no client certificate: ClientService needs mutual TLS' };
    const v = verifyPeer({ caPem: opts.caPem, certPem: cert.raw, now: now(), allowedRoles: ClientRoles, region: opts.region });
    return v.ok ? null : { code: grpc.status.PERMISSION_DENIED, details: v.reason };
  };

  const unary = <Req, Res>(handler: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> => {
    return (call, callback) => {
      const refused = refuse(call);
      if (refused !== null) {
        callback(refused);
        return;
      }
      let pending: Promise<Res>;
      try {
        pending = handler(call.request);
      } catch (err) {
        callback(toServiceError(err));
        return;
      }
      pending.then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
    };
  };

  const impl: pb.ClientServiceServer = {
    register: unary<pb.ClientRegisterRequest, pb.ClientRegisterResponse>(async (req) => {
      if (req.node === undefined) throw missingField('request', 'node');
      const r = await service.register(nodeFromProto(req.node));
      return { meta: { index: r.index }, nodeModifyIndex: r.nodeModifyIndex, evalIds: [], evalCreateIndex: 0, heartbeatTtlMs: r.heartbeatTtlMs, leaderRpcAddr: '', servers: [] };
    }),
    heartbeat: unary<pb.ClientHeartbeatRequest, pb.ClientHeartbeatResponse>(async (req) => {
      const r = await service.heartbeat(req.nodeId);
      return { meta: { index: r.index }, nodeModifyIndex: r.nodeModifyIndex, evalIds: [], heartbeatTtlMs: r.heartbeatTtlMs, leaderRpcAddr: '', servers: [] };
    }),
    updateAllocs: unary<pb.UpdateAllocsRequest, pb.UpdateAllocsResponse>(async (req) => {
      const updates = req.updates.map((u, i) => allocClientUpdateFromProto(u, `updates[${i}]`));
      const r = await service.updateAllocs(req.nodeId, updates);
      return { meta: { index: r.index } };
    }),
    updateUsage: unary<pb.UpdateUsageRequest, pb.UpdateUsageResponse>(async (req) => {
      await service.updateUsage(req.nodeId, req.allocs.map((a, i) => allocUsageFromProto(a, `allocs[${i}]`)));
      return {};
    }),
    watchAllocations: (call: grpc.ServerWritableStream<pb.WatchAllocationsRequest, pb.WatchAllocationsResponse>) => {
      const refused = refuse(call);
      if (refused !== null) {
        // 'error' (not destroy) makes grpc-js end the call with this status.
        call.emit('error', Object.assign(new Error(refused.details ?? 'refused'), refused));
        return;
      }
      void streamAllocations(service, call);
    },
  };
  srv.addService(pb.ClientServiceService, impl);
}

/** startRpcServer with ClientService on the same listener. */
export function startAgentRpcServer(opts: StartRpcServerOptions & { clientService: ClientRpcService }): Promise<RpcServerHandle> {
  const { clientService, ...rest } = opts;
  return startRpcServer({
    usage: clientService.usage,
    ...rest,
    addServices: (srv) => {
      addClientService(srv, { service: clientService, caPem: opts.tls.caPem, region: opts.region, ...(opts.now !== undefined ? { now: opts.now } : {}) });
      opts.addServices?.(srv);
    },
  });
}

async function streamAllocations(service: ClientRpcService, call: grpc.ServerWritableStream<pb.WatchAllocationsRequest, pb.WatchAllocationsResponse>): Promise<void> {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  call.on('close', () => abort.abort());
  try {
    const watch = service.watchAllocations(call.request.nodeId, { minIndex: call.request.minIndex, known: { ...call.request.known }, signal: abort.signal });
    for await (const u of watch) {
      if (abort.signal.aborted) break;
      call.write({ index: u.index, allocModifyIndex: u.allocModifyIndex, changed: u.changed.map((a) => allocToProto(a)) });
    }
    if (!abort.signal.aborted) call.end();
  } catch (err) {
    if (!abort.signal.aborted) call.emit('error', Object.assign(new Error('watch refused'), toServiceError(err)));
  }
}
