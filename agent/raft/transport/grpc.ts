/**
 * Raft between servers over gRPC with mutual TLS (RaftService.Stream of
 * proto/nomadts/v1/raft.proto). Each server keeps one outgoing bidi stream per peer: it writes
 * batches of messages and the peer acknowledges them once handed to its Raft node (every
 * `ackEvery` batches, or 20 ms after one arrived), so at most `window` batches are in flight; beyond that, messages wait in a bounded queue and the
 * newest are dropped when it is full (Raft retransmits). A stream that fails is reopened after a
 * back-off; what it had in flight is lost, as on any lossy network. Only a certificate with role
 * `server` of this region may open a stream (agent/tls verifyPeer).
 */
import * as grpc from '@grpc/grpc-js';
import type { Message, ServerId } from '../core/index.js';
import { clientChannel, ChannelOptions } from '../../rpc/index.js';
import { verifyPeer } from '../../tls/index.js';
import * as pb from '../../../proto/index.js';
import { messageFromProto, messageToProto } from './convert.js';
import type { MessageHandler, Transport, TransportStats } from './transport.js';
import { raftTrace, raftTraceOn } from './trace.js';

export interface GrpcTransportOptions {
  id: ServerId;
  tls: { caPem: string; certPem: string; keyPem: string };
  region: string;
  /** Batches in flight per peer before the sender waits for acknowledgements (default 32). */
  window?: number;
  /** Batches received before the receiver acknowledges them (default 8; at the latest after 20 ms).
   * Keep it below the senders' window. */
  ackEvery?: number;
  /** Messages queued per peer beyond the window; the newest are dropped past it (default 4096). */
  maxQueue?: number;
  /** Messages per batch (default 256) and entry/chunk bytes per batch (default 4 MiB). */
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  /** The time peer certificates are checked at (default the wall clock). */
  now?: () => Date;
  /** Diagnostics (stream refused, peer unreachable). */
  log?: (line: string) => void;
}

/** Bytes of payload a message carries (entries' data, snapshot chunks): what fills a batch. */
function payloadBytes(m: Message): number {
  if (m.type === 'app') {
    let n = 0;
    for (const e of m.entries) n += e.data.byteLength + 24;
    return n;
  }
  return m.type === 'snap' ? m.chunk.byteLength : 0;
}

function traceMsg(dir: string, m: Message): void {
  if (m.type === 'app' && m.entries.length > 0) raftTrace(`${dir}-app`, m.entries[m.entries.length - 1]!.index);
  else if (m.type === 'app') raftTrace(`${dir}-app0`, m.commit);
  else if (m.type === 'app-resp') raftTrace(`${dir}-resp`, m.index);
}

/** The longest a received batch waits for its acknowledgement. */
const AckDelayMs = 20;

class PeerStream {
  private client: pb.RaftServiceClient | undefined;
  private call: grpc.ClientDuplexStream<pb.RaftBatch, pb.RaftBatchAck> | undefined;
  private queue: Message[] = [];
  private sentSeq = 0;
  private ackedSeq = 0;
  private retryAt = 0;
  private backoffMs = 50;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly id: ServerId,
    public address: string,
    private readonly t: GrpcTransport,
  ) {}

  enqueue(m: Message): boolean {
    if (this.queue.length >= this.t.maxQueue) return false;
    this.queue.push(m);
    return true;
  }

  flush(): void {
    if (this.closed || this.queue.length === 0) return;
    const call = this.open();
    if (call === undefined) return;
    while (this.queue.length > 0 && this.sentSeq - this.ackedSeq < this.t.window) {
      let n = 0;
      let bytes = 0;
      while (n < this.queue.length && n < this.t.maxBatchMessages && (n === 0 || bytes + payloadBytes(this.queue[n]!) <= this.t.maxBatchBytes)) {
        bytes += payloadBytes(this.queue[n]!);
        n++;
      }
      const batch = this.queue.splice(0, n);
      this.sentSeq++;
      if (raftTraceOn) for (const m of batch) traceMsg('tx', m);
      call.write({ seq: this.sentSeq, messages: batch.map(messageToProto) });
    }
  }

  private channel(): pb.RaftServiceClient {
    if (this.client === undefined) {
      const { creds, options } = clientChannel({ ...this.t.tlsOptions, region: this.t.region });
      this.client = new pb.RaftServiceClient(this.address, creds, options);
    }
    return this.client;
  }

  /**
   * Keep a connection to the peer open even while nothing is sent to it (followers do not talk to
   * each other until an election): a campaign's first message then costs no TCP and TLS handshake,
   * which on a loaded machine took hundreds of milliseconds. Retried every second while the peer
   * is down.
   */
  keepConnected(): void {
    if (this.closed) return;
    const ch = this.channel().getChannel();
    let st: grpc.connectivityState;
    try {
      st = ch.getConnectivityState(true);
    } catch {
      return; // closed meanwhile
    }
    if (st === grpc.connectivityState.SHUTDOWN) return;
    const deadline = st === grpc.connectivityState.READY ? Infinity : Date.now() + 1_000;
    ch.watchConnectivityState(st, deadline, () => this.keepConnected());
  }

  private open(): grpc.ClientDuplexStream<pb.RaftBatch, pb.RaftBatchAck> | undefined {
    if (this.call !== undefined) return this.call;
    if (Date.now() < this.retryAt) {
      this.scheduleRetry();
      return undefined;
    }
    const call = this.channel().stream();
    this.call = call;
    this.sentSeq = 0;
    this.ackedSeq = 0;
    call.on('data', (ack: pb.RaftBatchAck) => {
      if (this.call !== call) return;
      this.backoffMs = 50;
      if (ack.seq > this.ackedSeq) this.ackedSeq = Math.min(ack.seq, this.sentSeq);
      this.flush();
    });
    const fail = (err?: grpc.ServiceError): void => {
      if (this.call !== call) return;
      this.call = undefined;
      const lost = this.sentSeq - this.ackedSeq;
      this.t.connectionLost(this.id);
      if (err !== undefined && !this.closed) this.t.logLine(`raft transport: stream to ${this.id} (${this.address}) failed: ${err.details || err.message}${lost > 0 ? `; ${lost} batches lost` : ''}`);
      this.retryAt = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 1_000);
      if (this.queue.length > 0) this.scheduleRetry();
    };
    call.on('error', (err: grpc.ServiceError) => fail(err));
    call.on('end', () => fail());
    return call;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, Math.max(0, this.retryAt - Date.now()));
  }

  /** Messages waiting beyond the window. */
  queued(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.call?.end();
    this.call?.cancel();
    this.call = undefined;
    this.client?.close();
    this.queue = [];
  }
}

export class GrpcTransport implements Transport {
  readonly id: ServerId;
  readonly region: string;
  readonly window: number;
  readonly ackEvery: number;
  readonly maxQueue: number;
  readonly maxBatchMessages: number;
  readonly maxBatchBytes: number;
  readonly tlsOptions: { caPem: string; certPem: string; keyPem: string };
  private readonly peers = new Map<ServerId, PeerStream>();
  private handler: MessageHandler | undefined;
  private lostHandler: ((peer: ServerId) => void) | undefined;
  private readonly counters: TransportStats = { sent: 0, dropped: 0, received: 0 };
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  private readonly incoming = new Set<grpc.ServerDuplexStream<pb.RaftBatch, pb.RaftBatchAck>>();

  constructor(opts: GrpcTransportOptions) {
    this.id = opts.id;
    this.region = opts.region;
    this.tlsOptions = opts.tls;
    this.window = opts.window ?? 32;
    this.ackEvery = opts.ackEvery ?? 8;
    this.maxQueue = opts.maxQueue ?? 4096;
    this.maxBatchMessages = opts.maxBatchMessages ?? 256;
    this.maxBatchBytes = opts.maxBatchBytes ?? 4 * 1024 * 1024;
    this.now = opts.now ?? ((): Date => new Date());
    this.log = opts.log ?? ((): void => {});
  }

  /** @internal */
  logLine(line: string): void {
    this.log(line);
  }

  send(msgs: readonly Message[]): void {
    const touched = new Set<PeerStream>();
    for (const m of msgs) {
      this.counters.sent++;
      const peer = this.peers.get(m.to);
      if (peer === undefined || !peer.enqueue(m)) {
        this.counters.dropped++;
        continue;
      }
      touched.add(peer);
    }
    for (const p of touched) p.flush();
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  onConnectionLost(handler: (peer: ServerId) => void): void {
    this.lostHandler = handler;
  }

  /** @internal A stream to or from `peer` broke. */
  connectionLost(peer: ServerId): void {
    this.lostHandler?.(peer);
  }

  addPeer(id: ServerId, address: string): void {
    if (id === this.id) return;
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      if (existing.address === address) return;
      existing.close();
    }
    const peer = new PeerStream(id, address, this);
    this.peers.set(id, peer);
    peer.keepConnected();
  }

  removePeer(id: ServerId): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  peerAddress(id: ServerId): string | undefined {
    return this.peers.get(id)?.address;
  }

  stats(): TransportStats & { queued: number } {
    let queued = 0;
    for (const p of this.peers.values()) queued += p.queued();
    return { ...this.counters, queued };
  }

  /** Registers RaftService on `srv` (the server's mutual-TLS listener) so peers reach this transport. */
  addService(srv: grpc.Server): void {
    const impl: pb.RaftServiceServer = {
      stream: (call) => {
        const cert = call.getAuthContext()?.sslPeerCertificate;
        const verdict = cert === undefined
          ? { ok: false as const, reason: 'no client certificate: Raft needs mutual TLS' }
          : verifyPeer({ caPem: this.tlsOptions.caPem, certPem: cert.raw, now: this.now(), allowedRoles: ['server'], region: this.region });
        if (!verdict.ok) {
          this.log(`raft transport: refused a stream: ${verdict.reason}`);
          // emit('error'), not destroy(): grpc-js sends a status only for an emitted error.
          call.emit('error', Object.assign(new Error(verdict.reason), { code: cert === undefined ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, details: verdict.reason }));
          return;
        }
        this.incoming.add(call);
        let ackSeq = 0;
        let ackedSeq = 0;
        let ackTimer: NodeJS.Timeout | undefined;
        const ack = (): void => {
          if (ackTimer !== undefined) clearTimeout(ackTimer);
          ackTimer = undefined;
          if (ackSeq <= ackedSeq || call.writableEnded || call.destroyed) return;
          ackedSeq = ackSeq;
          call.write({ seq: ackSeq });
        };
        /** Who sends on this stream (the `from` of its messages). */
        let sender: ServerId | undefined;
        call.on('data', (batch: pb.RaftBatch) => {
          for (const [i, p] of batch.messages.entries()) {
            let m: Message;
            try {
              m = messageFromProto(p, `batch[${batch.seq}].messages[${i}]`);
            } catch (err) {
              this.counters.dropped++;
              this.log(`raft transport: dropped a malformed message: ${(err as Error).message}`);
              continue;
            }
            if (m.to !== this.id || this.handler === undefined) {
              this.counters.dropped++;
              continue;
            }
            this.counters.received++;
            sender = m.from;
            if (raftTraceOn) traceMsg('rx', m);
            this.handler(m);
          }
          // Acknowledged lazily: every `ackEvery` batches, or `AckDelayMs` after the first one not yet
          // acknowledged. A sender needs acknowledgements only as its window fills, and one per
          // batch cost each side a message per message.
          ackSeq = Math.max(ackSeq, batch.seq);
          if (ackSeq - ackedSeq >= this.ackEvery) ack();
          else if (ackTimer === undefined) ackTimer = setTimeout(ack, AckDelayMs);
        });
        const done = (): void => {
          if (ackTimer !== undefined) clearTimeout(ackTimer);
          ackTimer = undefined;
          if (!this.incoming.delete(call)) return;
          if (!call.writableEnded) call.end();
          if (sender !== undefined) this.connectionLost(sender);
        };
        call.on('end', done);
        call.on('error', done);
        call.on('cancelled', done);
      },
    };
    srv.addService(pb.RaftServiceService, impl);
  }

  async close(): Promise<void> {
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    for (const c of this.incoming) if (!c.writableEnded) c.end();
    this.incoming.clear();
  }
}

/** grpc-js server options for a server's listener that carries Raft (large snapshot chunks fit). */
export const RaftServerOptions: grpc.ServerOptions = { ...ChannelOptions };
