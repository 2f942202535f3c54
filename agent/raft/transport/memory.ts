/**
 * An in-memory network of Raft transports for tests: messages are delivered asynchronously (one
 * scheduled delivery per send batch, in order per sender), and the network can drop messages
 * between chosen servers (partitions) or by a predicate (loss).
 */
import type { Message, ServerId } from '../core/index.js';
import type { MessageHandler, Transport, TransportStats } from './transport.js';

export interface MemoryNetworkOptions {
  /** How a delivery is deferred (default setImmediate); a test's scheduler makes it deterministic. */
  schedule?: (fn: () => void) => void;
}

export class MemoryNetwork {
  private readonly transports = new Map<ServerId, MemoryTransport>();
  private readonly cut = new Set<string>();
  private drop: ((m: Message) => boolean) | undefined;
  readonly schedule: (fn: () => void) => void;

  constructor(opts: MemoryNetworkOptions = {}) {
    this.schedule = opts.schedule ?? ((fn) => { setImmediate(fn); });
  }

  /** The transport of server `id` (created on first use, and anew after close(): a restart). */
  transport(id: ServerId): MemoryTransport {
    let t = this.transports.get(id);
    if (t === undefined || t.closed) {
      t = new MemoryTransport(id, this);
      this.transports.set(id, t);
    }
    return t;
  }

  /** Drop every message between `a` and `b`, both ways, until heal(). */
  partition(a: ServerId, b: ServerId): void {
    this.cut.add(`${a}\u0000${b}`);
    this.cut.add(`${b}\u0000${a}`);
  }

  /** Cut `id` off from every other server. */
  isolate(id: ServerId): void {
    for (const other of this.transports.keys()) if (other !== id) this.partition(id, other);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Drop each message for which `pred` answers true (undefined: drop none). */
  setDrop(pred: ((m: Message) => boolean) | undefined): void {
    this.drop = pred;
  }

  /** @internal */
  deliverable(m: Message): MemoryTransport | undefined {
    if (this.cut.has(`${m.from}\u0000${m.to}`)) return undefined;
    if (this.drop?.(m) === true) return undefined;
    const t = this.transports.get(m.to);
    return t === undefined || t.closed ? undefined : t;
  }
}

export class MemoryTransport implements Transport {
  private handler: MessageHandler | undefined;
  private readonly peers = new Set<ServerId>();
  private readonly counters: TransportStats = { sent: 0, dropped: 0, received: 0 };
  closed = false;

  constructor(
    readonly id: ServerId,
    private readonly net: MemoryNetwork,
  ) {}

  send(msgs: readonly Message[]): void {
    if (this.closed || msgs.length === 0) return;
    const batch = [...msgs];
    this.counters.sent += batch.length;
    this.net.schedule(() => {
      for (const m of batch) {
        const to = this.peers.has(m.to) && !this.closed ? this.net.deliverable(m) : undefined;
        if (to === undefined) this.counters.dropped++;
        else to.receive(m);
      }
    });
  }

  /** @internal */
  receive(m: Message): void {
    if (this.handler === undefined) return;
    this.counters.received++;
    this.handler(m);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  addPeer(id: ServerId, _address = ''): void {
    this.peers.add(id);
  }

  removePeer(id: ServerId): void {
    this.peers.delete(id);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
