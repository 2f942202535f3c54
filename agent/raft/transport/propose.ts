/**
 * The pipelined write path (RaftProposeService.Propose of proto/nomadts/v1/raft_propose.proto):
 * one bidi stream carries many writes, for a caller that keeps many in flight. A unary call per
 * write (ClusterService.Apply) costs the server an HTTP/2 stream, headers and trailers, and a
 * certificate check each; here the certificate is checked once per stream, the writes made in
 * one turn of the caller's event loop travel in one message, and the answers settled in one turn
 * of the server's go back in one. Each write is answered with its log index once committed and
 * applied on the server asked (as Apply), or with the NomadError it failed with.
 */
import * as grpc from '@grpc/grpc-js';
import type { ErrorCode } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import { clientChannel, fromServiceError } from '../../rpc/index.js';
import type { ClientTlsOptions } from '../../rpc/index.js';
import { verifyPeer } from '../../tls/index.js';
import * as pb from '../../../proto/index.js';

export interface AddProposeServiceOptions {
  caPem: string;
  region: string;
  /** Propose an encoded command (on the leader, or forwarded); resolves with its index once applied. */
  propose(command: Uint8Array): Promise<number>;
  now?: () => Date;
  log?: (line: string) => void;
}

/**
 * Run `f` once the current burst of callbacks and promise continuations has run (process.nextTick
 * runs after the microtask queue drains): everything proposed or settled in that burst shares one
 * message, without waiting for the event loop's next phase as setImmediate would.
 */
const schedule = (f: () => void): void => process.nextTick(f);

const Codes: ReadonlySet<string> = new Set<ErrorCode>([
  'parse', 'validation', 'too_large', 'too_deep', 'not_found', 'conflict', 'invalid_argument', 'timeout',
  'permission_denied', 'unavailable', 'resource_exhausted', 'internal',
]);

/** Registers RaftProposeService on `srv` (server certificates of this region only). */
export function addProposeService(srv: grpc.Server, o: AddProposeServiceOptions): void {
  const now = o.now ?? ((): Date => new Date());
  const impl: pb.RaftProposeServiceServer = {
    propose: (call) => {
      const cert = call.getAuthContext()?.sslPeerCertificate;
      const verdict = cert === undefined
        ? { ok: false as const, reason: 'no client certificate: the propose service needs mutual TLS' }
        : verifyPeer({ caPem: o.caPem, certPem: cert.raw, now: now(), allowedRoles: ['server'], region: o.region });
      if (!verdict.ok) {
        o.log?.(`raft propose: refused a stream: ${verdict.reason}`);
        call.emit('error', Object.assign(new Error(verdict.reason), { code: cert === undefined ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED, details: verdict.reason }));
        return;
      }
      let out: pb.ProposeResult[] = [];
      let scheduled = false;
      let waiting = 0;
      let ended = false;
      const closed = (): boolean => call.writableEnded || call.destroyed || call.cancelled;
      const flush = (): void => {
        scheduled = false;
        const results = out;
        out = [];
        if (results.length > 0 && !closed()) call.write({ results });
        if (ended && waiting === 0 && !closed()) call.end();
      };
      const answer = (r: pb.ProposeResult): void => {
        waiting--;
        out.push(r);
        if (!scheduled) {
          scheduled = true;
          schedule(flush);
        }
      };
      call.on('data', (batch: pb.ProposeBatch) => {
        for (const item of batch.items) {
          waiting++;
          const id = item.id;
          let p: Promise<number>;
          try {
            p = o.propose(new Uint8Array(item.command.buffer, item.command.byteOffset, item.command.byteLength));
          } catch (err) {
            p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
          }
          p.then(
            (index) => answer({ id, index, errorCode: '', message: '' }),
            (err: unknown) => answer(err instanceof NomadError
              ? { id, index: 0, errorCode: err.code, message: err.message }
              : { id, index: 0, errorCode: 'internal', message: `internal error: ${err instanceof Error ? err.message : String(err)}` }),
          );
        }
      });
      call.on('end', () => {
        ended = true;
        if (waiting === 0 && !scheduled) flush();
      });
      call.on('error', () => { /* the caller went away: its answers are dropped */ });
    },
  };
  srv.addService(pb.RaftProposeServiceService, impl);
}

interface Waiter {
  resolve: (index: number) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A client of one server's RaftProposeService: `propose()` may be called any number of times
 * without waiting; the calls of one event-loop turn share a message. A broken stream fails the
 * writes it carried with `unavailable` (their outcome is unknown) and the next call opens a new one.
 */
export class ProposeClient {
  private readonly client: pb.RaftProposeServiceClient;
  private call: grpc.ClientDuplexStream<pb.ProposeBatch, pb.ProposeResultBatch> | undefined;
  private readonly waiters = new Map<number, Waiter>();
  private outbox: pb.ProposeItem[] = [];
  private scheduled = false;
  private nextId = 1;

  constructor(readonly address: string, tls: ClientTlsOptions, private readonly timeoutMs = 15_000) {
    const { creds, options } = clientChannel(tls);
    this.client = new pb.RaftProposeServiceClient(address, creds, options);
  }

  /** Writes waiting for their answer. */
  inFlight(): number {
    return this.waiters.size;
  }

  propose(command: Uint8Array): Promise<number> {
    const id = this.nextId++;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.waiters.delete(id)) reject(new NomadError('timeout', `no answer from ${this.address} within ${this.timeoutMs} ms; the write's outcome is unknown`));
      }, this.timeoutMs);
      this.waiters.set(id, { resolve, reject, timer });
      this.outbox.push({ id, command: Buffer.from(command.buffer, command.byteOffset, command.byteLength) });
      if (!this.scheduled) {
        this.scheduled = true;
        schedule(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.outbox;
    this.outbox = [];
    if (items.length === 0) return;
    this.open().write({ items });
  }

  private open(): grpc.ClientDuplexStream<pb.ProposeBatch, pb.ProposeResultBatch> {
    if (this.call !== undefined) return this.call;
    const call = this.client.propose();
    this.call = call;
    call.on('data', (batch: pb.ProposeResultBatch) => {
      for (const r of batch.results) {
        const w = this.waiters.get(r.id);
        if (w === undefined) continue;
        this.waiters.delete(r.id);
        clearTimeout(w.timer);
        if (r.errorCode === '') w.resolve(r.index);
        else w.reject(new NomadError(Codes.has(r.errorCode) ? (r.errorCode as ErrorCode) : 'internal', r.message));
      }
    });
    const fail = (err: NomadError): void => {
      if (this.call !== call) return;
      this.call = undefined;
      // Every write still waiting went out on this stream (or a previous broken one).
      for (const w of this.waiters.values()) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      this.waiters.clear();
    };
    call.on('error', (err: grpc.ServiceError) => fail(fromServiceError(err, this.address)));
    call.on('end', () => fail(new NomadError('unavailable', `the server at ${this.address} closed the propose stream; the outcome of writes in flight is unknown`)));
    return call;
  }

  close(): void {
    const call = this.call;
    this.call = undefined;
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new NomadError('unavailable', `propose client for ${this.address} closed; the outcome of writes in flight is unknown`));
    }
    this.waiters.clear();
    call?.cancel();
    this.client.close();
  }
}
