/**
 * The client agent's end of ClientService: domain values in and out, failures as NomadErrors
 * (code and field rebuilt from the trailers, as RpcApiClient does).
 */
import * as grpc from '@grpc/grpc-js';
import type { ClientAllocUpdate } from '../core/state/index.js';
import type { AllocResourceUsage, Node } from '../core/structs/index.js';
import type { ClientHeartbeatReply, ClientRegisterReply, NodeAllocsUpdate } from '../service/index.js';
import * as pb from '../../proto/index.js';
import { allocClientUpdateToProto, allocFromProto } from './alloc.js';
import type { RpcClientOptions } from './client.js';
import { fromServiceError } from './client.js';
import { nodeToProto } from './node.js';
import { allocUsageToProto } from './usage.js';
import { clientChannel } from './options.js';

type Unary<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

const NoWrite: pb.WriteOptions = { region: '', namespace: '', idempotencyToken: '' };

export class ClientRpcClient {
  readonly address: string;
  private readonly client: pb.ClientServiceClient;
  private readonly timeoutMs: number;

  constructor(opts: RpcClientOptions) {
    this.address = opts.address;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    const { creds, options } = clientChannel(opts);
    this.client = new pb.ClientServiceClient(opts.address, creds, options);
  }

  close(): void {
    this.client.close();
  }

  async register(node: Node): Promise<ClientRegisterReply> {
    const res = await this.call<pb.ClientRegisterRequest, pb.ClientRegisterResponse>('register', { write: NoWrite, node: nodeToProto(node) });
    return { index: res.meta?.index ?? 0, nodeModifyIndex: res.nodeModifyIndex, heartbeatTtlMs: res.heartbeatTtlMs };
  }

  async heartbeat(nodeId: string): Promise<ClientHeartbeatReply> {
    const res = await this.call<pb.ClientHeartbeatRequest, pb.ClientHeartbeatResponse>('heartbeat', {
      write: NoWrite,
      nodeId,
      status: pb.NodeStatus.NODE_STATUS_READY,
    });
    return { index: res.meta?.index ?? 0, nodeModifyIndex: res.nodeModifyIndex, heartbeatTtlMs: res.heartbeatTtlMs };
  }

  async updateAllocs(nodeId: string, updates: readonly ClientAllocUpdate[]): Promise<{ index: number }> {
    const res = await this.call<pb.UpdateAllocsRequest, pb.UpdateAllocsResponse>('updateAllocs', {
      write: NoWrite,
      nodeId,
      updates: updates.map((u, i) => allocClientUpdateToProto(u, `updates[${i}]`)),
    });
    return { index: res.meta?.index ?? 0 };
  }

  /** The resource usage of the node's running tasks (replaces its previous report on the server). */
  async updateUsage(nodeId: string, allocs: readonly AllocResourceUsage[]): Promise<void> {
    await this.call<pb.UpdateUsageRequest, pb.UpdateUsageResponse>('updateUsage', { nodeId, allocs: allocs.map(allocUsageToProto) });
  }

  /** The node's allocations as they change, until `signal` aborts (then it returns quietly) or the stream fails (it throws). */
  async *watchAllocations(nodeId: string, opts: { minIndex?: number; known?: Record<string, number>; signal?: AbortSignal } = {}): AsyncGenerator<NodeAllocsUpdate> {
    const stream = this.client.watchAllocations({ nodeId, minIndex: opts.minIndex ?? 0, known: { ...(opts.known ?? {}) } });
    const abort = (): void => stream.cancel();
    if (opts.signal?.aborted === true) stream.cancel();
    opts.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const raw of stream as AsyncIterable<pb.WatchAllocationsResponse>) {
        yield { index: raw.index, allocModifyIndex: { ...raw.allocModifyIndex }, changed: raw.changed.map((a, i) => allocFromProto(a, `changed[${i}]`)) };
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

  private call<Req, Res>(method: string, req: Req): Promise<Res> {
    const deadline = new Date(Date.now() + this.timeoutMs);
    const fn = (this.client as unknown as Record<string, Unary<Req, Res>>)[method]!.bind(this.client);
    return new Promise<Res>((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline }, (err, res) => (err !== null ? reject(fromServiceError(err, this.address)) : resolve(res)));
    });
  }
}
