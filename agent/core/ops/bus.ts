/**
 * Operational events: what the machinery is doing, as opposed to what the state
 * is. The state event buffer (agent/core/state EventBuffer) carries the changes
 * the FSM made at a log index; this bus carries live facts that are not in the
 * log and have no index: the broker enqueuing or a worker dequeuing an
 * evaluation, a plan submitted and applied, Raft role and term, gossip
 * membership, drain progress. Nomad's event stream has none of these; `nomadts
 * top` is built on them.
 *
 * Each event gets a sequence number from the bus (1, 2, ...) and the time of the
 * injected clock. The bus is a bounded ring: a subscriber that falls more than
 * `capacity` events behind is told how many it lost and where it resumes, and
 * the server never grows without bound for a slow reader.
 */
import type { Clock } from '../lib/index.js';

export const OpsTopics = ['Broker', 'Plan', 'Raft', 'Member', 'Drain'] as const;
export type OpsTopic = (typeof OpsTopics)[number];

export function isOpsTopic(s: string): s is OpsTopic {
  return (OpsTopics as readonly string[]).includes(s);
}

/** A JSON-safe payload: numbers, strings, booleans, arrays and plain objects. */
export type OpsValue = string | number | boolean | null | OpsValue[] | { [k: string]: OpsValue };
export type OpsPayload = Record<string, OpsValue>;

export interface OpsEvent {
  topic: OpsTopic;
  /** What happened, e.g. `EvalEnqueued`, `EvalDequeued`, `PlanApplied`, `RaftStatus`. */
  type: string;
  /** The subject: an evaluation id, a server id, a node id. */
  key: string;
  /** Position on this bus (1, 2, ...); resets when the server restarts. */
  seq: number;
  /** Milliseconds since the epoch, from the injected clock. */
  time: number;
  payload: OpsPayload;
}

/** What emitters see: fire and forget. */
export interface OpsSink {
  emit(topic: OpsTopic, type: string, key: string, payload: OpsPayload): void;
}

/** A sink that drops everything (for servers without observers, and tests). */
export const discardOps: OpsSink = { emit: () => undefined };

/** topic → keys to match, or '*' for every key. No entry for a topic = not wanted. */
export type OpsFilter = Partial<Record<OpsTopic, readonly string[] | '*'>>;

export type OpsPoll =
  | { kind: 'events'; events: OpsEvent[] }
  /**
   * `lost` events fell out of the ring before this reader saw them (counted before the
   * reader's filter: the ones it wanted are at most this many); reading resumes at `resumeFrom`.
   */
  | { kind: 'lost'; lost: number; resumeFrom: number }
  | { kind: 'closed' };

export interface OpsSubscription {
  /** The next batch of matching events; waits while there are none. */
  next(): Promise<OpsPoll>;
  close(): void;
}

interface Reader {
  /** Sequence number of the next event this reader wants. */
  cursor: number;
  filter: OpsFilter | undefined;
  closed: boolean;
  waiter: ((r: OpsPoll) => void) | undefined;
}

export interface OpsEventBusOptions {
  clock: Clock;
  /** Events held for readers that lag (default 8192). */
  capacity?: number;
  /** Largest batch handed to one `next()` (default 512). */
  maxBatch?: number;
}

export class OpsEventBus implements OpsSink {
  private readonly ring: (OpsEvent | undefined)[];
  private readonly capacity: number;
  private readonly maxBatch: number;
  private readonly clock: Clock;
  /** Sequence number the next event gets. */
  private nextSeq = 1;
  private readonly readers = new Set<Reader>();
  /** Emitted events per topic since start (for the console's counters). */
  private readonly emitted = new Map<OpsTopic, number>();

  constructor(opts: OpsEventBusOptions) {
    this.clock = opts.clock;
    this.capacity = opts.capacity ?? 8192;
    this.maxBatch = opts.maxBatch ?? 512;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new RangeError(`ops event capacity must be a positive integer, got ${this.capacity}`);
    this.ring = new Array<OpsEvent | undefined>(this.capacity);
  }

  /** Sequence number of the newest event (0 when none). */
  lastSeq(): number {
    return this.nextSeq - 1;
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.emitted);
  }

  emit(topic: OpsTopic, type: string, key: string, payload: OpsPayload): void {
    const e: OpsEvent = { topic, type, key, seq: this.nextSeq, time: this.clock.now(), payload };
    this.ring[this.nextSeq % this.capacity] = e;
    this.nextSeq++;
    this.emitted.set(topic, (this.emitted.get(topic) ?? 0) + 1);
    for (const r of this.readers) {
      if (r.waiter === undefined) continue;
      const out = this.poll(r);
      if (out !== undefined) {
        const w = r.waiter;
        r.waiter = undefined;
        w(out);
      }
    }
  }

  /**
   * Read events after `fromSeq` (0 = only new ones from now on; a number within
   * the ring replays from there) matching `filter` (undefined = every topic).
   */
  subscribe(opts: { fromSeq?: number; filter?: OpsFilter } = {}): OpsSubscription {
    const from = opts.fromSeq ?? 0;
    if (!Number.isInteger(from) || from < 0) throw new RangeError(`fromSeq must be a non-negative integer, got ${from}`);
    const reader: Reader = {
      cursor: from === 0 ? this.nextSeq : Math.min(from + 1, this.nextSeq),
      filter: opts.filter,
      closed: false,
      waiter: undefined,
    };
    this.readers.add(reader);
    return {
      next: () => {
        const ready = this.poll(reader);
        if (ready !== undefined) return Promise.resolve(ready);
        return new Promise<OpsPoll>((resolve) => {
          reader.waiter = resolve;
        });
      },
      close: () => {
        if (reader.closed) return;
        reader.closed = true;
        this.readers.delete(reader);
        const w = reader.waiter;
        reader.waiter = undefined;
        w?.({ kind: 'closed' });
      },
    };
  }

  /** Number of live subscriptions. */
  subscribers(): number {
    return this.readers.size;
  }

  private poll(r: Reader): OpsPoll | undefined {
    if (r.closed) return { kind: 'closed' };
    const oldest = Math.max(1, this.nextSeq - this.capacity);
    if (r.cursor < oldest) {
      const lost = oldest - r.cursor;
      r.cursor = oldest;
      return { kind: 'lost', lost, resumeFrom: oldest };
    }
    const out: OpsEvent[] = [];
    while (r.cursor < this.nextSeq && out.length < this.maxBatch) {
      const e = this.ring[r.cursor % this.capacity]!;
      r.cursor++;
      if (matches(r.filter, e)) out.push(e);
    }
    return out.length > 0 ? { kind: 'events', events: out } : undefined;
  }
}

function matches(filter: OpsFilter | undefined, e: OpsEvent): boolean {
  if (filter === undefined) return true;
  const keys = filter[e.topic];
  if (keys === undefined) return false;
  return keys === '*' || keys.includes(e.key);
}
