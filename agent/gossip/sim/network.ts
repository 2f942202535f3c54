/**
 * A simulated network on a VirtualClock (memberlist's mock transport, grown a fault model):
 * packets are lost with probability `loss` and delayed uniformly in [minDelayMs, maxDelayMs];
 * streams are reliable (TCP) but take two delays, are refused by a stopped member and hang
 * across a partition (the caller's timeout fires). Partitions split members into groups that
 * cannot reach each other. Everything random comes from the seeded Rng, so a seed replays exactly.
 */
import type { Rng, VirtualClock } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { Transport, TransportHandlers } from '../core/index.js';

export interface SimNetworkOptions {
  clock: VirtualClock;
  rng: Rng;
  /** Probability a packet is lost, in [0, 1). */
  loss?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface SimCounters {
  packets: number;
  packetsLost: number;
  packetsBlocked: number;
  streams: number;
  bytes: number;
}

export class SimNetwork {
  readonly clock: VirtualClock;
  private readonly rng: Rng;
  loss: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly endpoints = new Map<string, SimTransport>();
  private groupOf: Map<string, number> | undefined;
  readonly counters: SimCounters = { packets: 0, packetsLost: 0, packetsBlocked: 0, streams: 0, bytes: 0 };
  /** Packets sent, by sender address. */
  readonly sentBy = new Map<string, number>();

  constructor(o: SimNetworkOptions) {
    const loss = o.loss ?? 0;
    if (!(loss >= 0 && loss < 1)) throw new NomadError('invalid_argument', `loss must be in [0, 1), got ${loss}`, { field: 'loss' });
    this.clock = o.clock;
    this.rng = o.rng;
    this.loss = loss;
    this.minDelay = o.minDelayMs ?? 1;
    this.maxDelay = o.maxDelayMs ?? 5;
    if (!(this.minDelay >= 0 && this.maxDelay >= this.minDelay)) throw new NomadError('invalid_argument', 'need 0 ≤ minDelayMs ≤ maxDelayMs', { field: 'minDelayMs' });
  }

  /** A transport at `addr`; the address must be free (a stopped member's address may be reused). */
  transport(addr: string): Transport {
    const old = this.endpoints.get(addr);
    if (old !== undefined && !old.closed) throw new NomadError('conflict', `address ${addr} is in use`, { field: 'addr' });
    const t = new SimTransport(this, addr);
    this.endpoints.set(addr, t);
    return t;
  }

  /** Split the network: members in different groups cannot reach each other. Unlisted addresses form their own group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.groupOf = new Map();
    groups.forEach((g, i) => { for (const a of g) this.groupOf!.set(a, i); });
  }

  heal(): void {
    this.groupOf = undefined;
  }

  reachable(a: string, b: string): boolean {
    if (this.groupOf === undefined) return true;
    return (this.groupOf.get(a) ?? -1) === (this.groupOf.get(b) ?? -1);
  }

  private delay(): number {
    return this.minDelay + this.rng.next() * (this.maxDelay - this.minDelay);
  }

  /** @internal */
  deliverPacket(from: string, to: string, data: Uint8Array): void {
    this.counters.packets++;
    this.counters.bytes += data.length;
    this.sentBy.set(from, (this.sentBy.get(from) ?? 0) + 1);
    if (!this.reachable(from, to)) { this.counters.packetsBlocked++; return; }
    if (this.loss > 0 && this.rng.next() < this.loss) { this.counters.packetsLost++; return; }
    const copy = new Uint8Array(data);
    this.clock.setTimer(this.delay(), () => {
      const dst = this.endpoints.get(to);
      if (dst !== undefined && !dst.closed) dst.handlers?.packet(from, copy);
    });
  }

  /** @internal */
  deliverStream(from: string, to: string, data: Uint8Array, done: (r: Uint8Array | Error) => void): void {
    this.counters.streams++;
    this.counters.bytes += data.length;
    if (!this.reachable(from, to)) return; // SYNs vanish; the caller's timeout fires
    const copy = new Uint8Array(data);
    this.clock.setTimer(this.delay(), () => {
      const dst = this.endpoints.get(to);
      if (dst === undefined || dst.closed || dst.handlers === undefined) {
        this.clock.setTimer(this.delay(), () => done(new Error(`connection refused by ${to}`)));
        return;
      }
      dst.handlers.stream(from, copy, (reply) => {
        this.counters.bytes += reply.length;
        const r = new Uint8Array(reply);
        this.clock.setTimer(this.delay(), () => {
          if (this.reachable(from, to)) done(r);
        });
      });
    });
  }
}

class SimTransport implements Transport {
  handlers: TransportHandlers | undefined;
  closed = false;

  constructor(private readonly net: SimNetwork, readonly addr: string) {}

  listen(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  sendPacket(to: string, data: Uint8Array): void {
    if (!this.closed) this.net.deliverPacket(this.addr, to, data);
  }

  request(to: string, data: Uint8Array, _timeoutMs: number, done: (result: Uint8Array | Error) => void): void {
    if (this.closed) { done(new Error('transport closed')); return; }
    this.net.deliverStream(this.addr, to, data, (r) => { if (!this.closed) done(r); });
  }

  close(): void {
    this.closed = true;
    this.handlers = undefined;
  }
}
