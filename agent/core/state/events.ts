/**
 * The state change stream (Nomad's event broker, `nomad/stream/event_buffer.go`, in spirit):
 * every FSM apply publishes the objects it changed. The buffer is a bounded ring: a slow
 * subscriber never makes it grow; it falls behind and is told which index to resume from.
 * Everything is synchronous; `next()` returns a promise only so a subscriber can wait.
 *
 * A write may publish its events lazily (`publishLazy`): the ring holds the write's
 * index and a builder, and the events are built the first time a reader reaches
 * them (then shared by every reader). A write nobody reads before it leaves the
 * ring costs one small record, whatever its size; a subscriber that joins later
 * with an older `fromIndex` still gets every held event, in order.
 */
import type {
  Allocation,
  Deployment,
  Evaluation,
  Job,
  Node,
  PeriodicLaunch,
  SchedulerConfiguration,
} from '../structs/index.js';

export const EventTopics = ['Job', 'Node', 'Allocation', 'Evaluation', 'Deployment', 'SchedulerConfig'] as const;
export type EventTopic = (typeof EventTopics)[number];

export type StateEventType =
  | 'JobRegistered'
  | 'JobDeregistered'
  | 'JobPeriodicLaunch'
  | 'NodeRegistration'
  | 'NodeDeregistration'
  | 'NodeStatusUpdate'
  | 'NodeEligibility'
  | 'NodeDrain'
  | 'AllocationUpdated'
  | 'AllocationUpdateDesiredStatus'
  | 'AllocationDeleted'
  | 'PlanResult'
  | 'EvaluationUpdated'
  | 'EvaluationDeleted'
  | 'DeploymentUpdate'
  | 'DeploymentStatusUpdate'
  | 'SchedulerConfigUpdated';

export type StateEventPayload = Job | Node | Allocation | Evaluation | Deployment | PeriodicLaunch | SchedulerConfiguration;

export interface StateEvent {
  topic: EventTopic;
  type: StateEventType;
  /** The object's id (job id for jobs and periodic launches). */
  key: string;
  /** Other keys a subscriber may filter on: job id, eval id, deployment id, node id. */
  filterKeys: string[];
  namespace: string;
  index: number;
  /** The object after the change (before it, for deletions). Shared and frozen. */
  payload: StateEventPayload;
}

/** topic → keys to match (key or any filter key), or '*' for all. No topics = everything. */
export type TopicFilter = Partial<Record<EventTopic, readonly string[] | '*'>>;

export type SubscriptionResult =
  | { kind: 'events'; events: StateEvent[] }
  /** Events after `fromIndex` fell out of the buffer: re-read state at >= resumeFrom, then carry on. */
  | { kind: 'lost'; resumeFrom: number }
  | { kind: 'closed' };

export interface Subscription {
  /** The next batch of matching events with index > the cursor; waits while there are none. */
  next(): Promise<SubscriptionResult>;
  close(): void;
}

interface SubscriptionState {
  /** Sequence number of the next event to look at. */
  cursor: number;
  filter: TopicFilter | undefined;
  closed: boolean;
  waiter: ((r: SubscriptionResult) => void) | undefined;
}

/** The events of one write, not built yet: every ring slot of the write points here until it is. */
class LazyBatch {
  constructor(
    readonly index: number,
    readonly count: number,
    /** Sequence number of the batch's first event. */
    readonly firstSeq: number,
    readonly build: () => readonly StateEvent[],
  ) {}
}

type Slot = StateEvent | LazyBatch;

export class EventBuffer {
  private readonly ring: (Slot | undefined)[];
  /** Sequence number of the oldest event still held. */
  private head = 0;
  /** Sequence number the next published event gets. */
  private tail = 0;
  /** Highest index of an event pushed out of the ring (or wiped by reset). */
  private droppedThrough = 0;
  private readonly subs = new Set<SubscriptionState>();

  constructor(readonly capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event buffer capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<Slot | undefined>(capacity);
  }

  /** Number of events held. */
  size(): number {
    return this.tail - this.head;
  }

  /** Index of the newest event published (0 when none). */
  lastIndex(): number {
    return this.tail === this.head ? this.droppedThrough : this.indexAt(this.tail - 1);
  }

  publish(events: readonly StateEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.push(e);
    this.wake();
  }

  /**
   * Publish the `count` events of the write at `index` without building them:
   * `build` runs when a reader first reaches one of them (at most once) and must
   * return exactly `count` events, all at `index`.
   */
  publishLazy(index: number, count: number, build: () => readonly StateEvent[]): void {
    if (count === 0) return;
    const batch = new LazyBatch(index, count, this.tail, build);
    for (let i = 0; i < count; i++) this.push(batch);
    this.wake();
  }

  private push(slot: Slot): void {
    if (this.tail - this.head === this.capacity) {
      this.droppedThrough = this.indexAt(this.head);
      this.ring[this.head % this.capacity] = undefined;
      this.head++;
    }
    this.ring[this.tail % this.capacity] = slot;
    this.tail++;
  }

  private wake(): void {
    for (const s of this.subs) {
      if (s.waiter === undefined) continue;
      const r = this.poll(s);
      if (r !== undefined) {
        const w = s.waiter;
        s.waiter = undefined;
        w(r);
      }
    }
  }

  /**
   * Forget everything (after a snapshot restore): subscribers are told they lost
   * events up to `index` and resume after it.
   */
  reset(index: number): void {
    this.ring.fill(undefined);
    this.head = this.tail;
    this.droppedThrough = Math.max(this.droppedThrough, index);
    for (const s of this.subs) {
      s.cursor = this.head - 1; // everyone lost what happened up to the restored index
      if (s.waiter === undefined) continue;
      const r = this.poll(s);
      if (r !== undefined) {
        const w = s.waiter;
        s.waiter = undefined;
        w(r);
      }
    }
  }

  subscribe(opts: { fromIndex: number; topics?: TopicFilter }): Subscription {
    const state: SubscriptionState = { cursor: this.seqAfter(opts.fromIndex), filter: opts.topics, closed: false, waiter: undefined };
    // Asked for events older than the buffer holds: the first next() reports the loss.
    if (opts.fromIndex < this.droppedThrough) state.cursor = this.head - 1;
    this.subs.add(state);
    return {
      next: () => {
        if (state.waiter !== undefined) return Promise.reject(new Error('subscription: next() called while a previous next() is still waiting'));
        const r = this.poll(state);
        if (r !== undefined) return Promise.resolve(r);
        return new Promise<SubscriptionResult>((resolve) => {
          state.waiter = resolve;
        });
      },
      close: () => {
        if (state.closed) return;
        state.closed = true;
        this.subs.delete(state);
        const w = state.waiter;
        state.waiter = undefined;
        w?.({ kind: 'closed' });
      },
    };
  }

  /** The event at `seq` (a held one), building its write's events if they are still lazy. */
  private at(seq: number): StateEvent {
    const slot = this.ring[seq % this.capacity]!;
    if (!(slot instanceof LazyBatch)) return slot;
    const events = slot.build();
    if (events.length !== slot.count) throw new Error(`event buffer: the write at index ${slot.index} built ${events.length} events, not ${slot.count}`);
    // Fill every slot of the batch still held (the oldest may have left the ring).
    for (let i = 0; i < slot.count; i++) {
      const q = slot.firstSeq + i;
      if (q >= this.head && q < this.tail) this.ring[q % this.capacity] = events[i];
    }
    return events[seq - slot.firstSeq]!;
  }

  /** The log index of the event at `seq`, without building it. */
  private indexAt(seq: number): number {
    return this.ring[seq % this.capacity]!.index;
  }

  /** The sequence number of the first held event with index > `index`. */
  private seqAfter(index: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.indexAt(mid) <= index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** What a subscriber gets now, or undefined if it has to wait. */
  private poll(s: SubscriptionState): SubscriptionResult | undefined {
    if (s.closed) return { kind: 'closed' };
    if (s.cursor < this.head) {
      s.cursor = this.seqAfter(this.droppedThrough);
      return { kind: 'lost', resumeFrom: this.droppedThrough };
    }
    const out: StateEvent[] = [];
    for (; s.cursor < this.tail; s.cursor++) {
      const e = this.at(s.cursor);
      if (matches(s.filter, e)) out.push(e);
    }
    return out.length === 0 ? undefined : { kind: 'events', events: out };
  }
}

function matches(filter: TopicFilter | undefined, e: StateEvent): boolean {
  if (filter === undefined) return true;
  const keys = filter[e.topic];
  if (keys === undefined) return false;
  if (keys === '*') return true;
  return keys.includes(e.key) || e.filterKeys.some((k) => keys.includes(k));
}
