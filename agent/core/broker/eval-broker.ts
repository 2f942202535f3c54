/**
 * The evaluation broker (nomad/eval_broker.go). It lives on the leader only and
 * hands evaluations to scheduler workers:
 *
 * - Ready queues per scheduler type (service, batch, system, sysbatch and the
 *   internal `_failed`), each a heap ordered by priority (higher first), then age
 *   (createIndex, then enqueue order).
 * - At-least-once delivery: a dequeued eval is unacked under a fresh token until
 *   `ack`/`nack`; if neither comes within the nack timeout it is nacked for the
 *   worker. A nacked eval is re-enqueued after a delay, and after `deliveryLimit`
 *   deliveries it goes to the `_failed` queue for the failed-eval reaper.
 * - One eval in flight per job: per (namespace, jobId) at most one eval holds the
 *   job's slot (ready, unacked, failed or waiting out a nack delay); others wait
 *   in the job's pending heap. When the slot's eval is acked, the newest pending
 *   eval becomes ready and every older one is superseded: it moves to the
 *   cancelable list, drained by `cancelable()` for a reaper (Nomad 1.4.3 load
 *   shedding).
 * - Delayed evals (`waitUntil` in the future, and nack re-enqueue delays) sit in
 *   one time-ordered heap behind a single clock timer, re-armed as its top changes.
 *
 * The broker is synchronous and deterministic: time only from the injected Clock,
 * randomness (tokens, ties between queues) only from the injected Rng. A blocked
 * `dequeue` is served at the moment work arrives (the eval is marked unacked and
 * its nack timer started then); its promise resolves on the next microtask.
 * Evaluations are stored by reference and never mutated.
 */
import type { Clock, Rng, TimerHandle } from '../lib/index.js';
import { NomadError, uuid } from '../lib/index.js';
import type { Evaluation } from '../structs/index.js';
import { jobKey } from '../structs/index.js';
import { BinaryHeap } from './heap.js';

/** The queue evals go to once they reach the delivery limit. */
export const FAILED_QUEUE = '_failed';

/** Batch size Nomad uses for one raft write of eval IDs (structs.MaxUUIDsPerWriteRequest). */
export const DEFAULT_CANCELABLE_BATCH = 700;

export interface EvalBrokerOptions {
  clock: Clock;
  rng: Rng;
  /** An unacked eval is nacked after this long (reset by `outstandingReset`). */
  nackTimeoutMs?: number;
  /** Re-enqueue delay after the first nack. */
  initialNackDelayMs?: number;
  /** Re-enqueue delay after the n-th nack (n ≥ 2) is (n − 1) × this. */
  subsequentNackDelayMs?: number;
  /** Deliveries after which a nacked eval goes to the `_failed` queue. */
  deliveryLimit?: number;
  /**
   * Load shedding (Nomad 1.4.3, default on): when a job's eval is acked, its newest
   * pending eval becomes ready and every older one is superseded (cancelable). Off:
   * pending evals become ready one by one, oldest first, and every one is scheduled.
   */
  loadShedding?: boolean;
  /** Called (synchronously) after every ack with how many evals it superseded, so a reaper can wake. */
  afterAck?: (superseded: number) => void;
}

/** Where a known eval is. Exactly one at any time; acked or reaped evals are no longer known. */
export type EvalLocation = 'ready' | 'unacked' | 'pending' | 'delayed' | 'failed' | 'cancelable';

/** What `enqueue` did with an eval. */
export type EnqueueOutcome = 'ready' | 'pending' | 'delayed' | 'duplicate' | 'disabled';

export interface EvalDelivery {
  eval: Evaluation;
  token: string;
}

export interface DequeueOptions {
  /** Abort the wait: the promise resolves with null. */
  signal?: AbortSignal;
}

/** Gauges: how many evals are in each place right now. */
export interface BrokerCounts {
  ready: number;
  unacked: number;
  pending: number;
  delayed: number;
  /** In the `_failed` queue, waiting for the failed-eval reaper. */
  failed: number;
  /** Superseded, waiting for the cancel reaper. */
  cancelable: number;
}

/** Monotonic counters since the broker was created (they survive flushes). */
export interface BrokerCounters {
  /** Evals accepted by enqueue (duplicates and disabled-broker enqueues not counted). */
  enqueued: number;
  duplicatesIgnored: number;
  dequeued: number;
  acked: number;
  /** Nacks, explicit and by nack timeout. */
  nacked: number;
  /** Nacks caused by the nack timer expiring. */
  nackTimeouts: number;
  /** Evals moved to `_failed` for reaching the delivery limit. */
  deliveryLimitFailed: number;
  /** Pending evals superseded by a newer eval of their job (moved to cancelable). */
  superseded: number;
  /** Evals handed to the reaper by `cancelable()`. */
  cancelableReaped: number;
  /** `dequeue` calls that ended by their timeout with nothing. */
  dequeueTimeouts: number;
}

/** Per scheduler type counters (the console's eval storm view). */
export interface BrokerTypeCounters {
  enqueued: number;
  dequeued: number;
  acked: number;
  superseded: number;
  cancelableReaped: number;
}

function emptyTypeCounters(): BrokerTypeCounters {
  return { enqueued: 0, dequeued: 0, acked: 0, superseded: 0, cancelableReaped: 0 };
}

export interface BrokerStats {
  enabled: boolean;
  paused: boolean;
  /** `dequeue` calls currently blocked. */
  waiters: number;
  total: BrokerCounts;
  /** Keyed by the eval's scheduler type (an eval in `_failed` counts as `failed` under its own type). */
  byType: Record<string, BrokerCounts>;
  counters: BrokerCounters;
  /** Monotonic counters per scheduler type (survive flushes). */
  countersByType: Record<string, BrokerTypeCounters>;
  loadShedding: boolean;
}

interface Tracked {
  readonly eval: Evaluation;
  /** Enqueue order: the last tie-break for age. */
  readonly seq: number;
  /** The job slot key, or undefined for evals with no job. */
  readonly job: string | undefined;
  location: EvalLocation | undefined;
  /** The ready queue it sits in or was dequeued from. */
  queue: string;
  dequeues: number;
  token: string;
  nackTimer: TimerHandle | undefined;
  /** When a delayed eval becomes due. */
  readyAt: number;
}

interface Waiter {
  readonly types: readonly string[];
  readonly resolve: (d: EvalDelivery | null) => void;
  timer: TimerHandle | undefined;
  detach: (() => void) | undefined;
}

function emptyCounts(): BrokerCounts {
  return { ready: 0, unacked: 0, pending: 0, delayed: 0, failed: 0, cancelable: 0 };
}

/** Ready order: higher priority first, then older (createIndex, then enqueue order). */
function readyBefore(a: Tracked, b: Tracked): boolean {
  if (a.eval.priority !== b.eval.priority) return a.eval.priority > b.eval.priority;
  if (a.eval.createIndex !== b.eval.createIndex) return a.eval.createIndex < b.eval.createIndex;
  return a.seq < b.seq;
}

/** Newer first (modifyIndex, then createIndex, then enqueue order): the pending heap's top is the one kept. */
function newerBefore(a: Tracked, b: Tracked): boolean {
  if (a.eval.modifyIndex !== b.eval.modifyIndex) return a.eval.modifyIndex > b.eval.modifyIndex;
  if (a.eval.createIndex !== b.eval.createIndex) return a.eval.createIndex > b.eval.createIndex;
  return a.seq > b.seq;
}

function olderBefore(a: Tracked, b: Tracked): boolean {
  return newerBefore(b, a);
}

function dueBefore(a: Tracked, b: Tracked): boolean {
  return a.readyAt !== b.readyAt ? a.readyAt < b.readyAt : a.seq < b.seq;
}

function checkDuration(name: string, v: number, allowZero: boolean): void {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new NomadError('invalid_argument', `eval broker: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} finite number of ms, got ${v}`, { field: name });
  }
}

export class EvalBroker {
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly nackTimeoutMs: number;
  private readonly initialNackDelayMs: number;
  private readonly subsequentNackDelayMs: number;
  readonly deliveryLimit: number;
  private readonly loadShedding: boolean;
  private readonly afterAck: ((superseded: number) => void) | undefined;

  private isEnabled = false;
  private isPaused = false;
  private seq = 0;
  /** Every known eval by ID (dedupes enqueue). */
  private evals = new Map<string, Tracked>();
  /** Job key → ID of the eval holding the job's slot. */
  private jobSlots = new Map<string, string>();
  /** Job key → evals waiting for the slot. */
  private pending = new Map<string, BinaryHeap<Tracked>>();
  /** Scheduler type → ready evals. */
  private ready = new Map<string, BinaryHeap<Tracked>>();
  private unacked = new Map<string, Tracked>();
  private delayed = new BinaryHeap<Tracked>(dueBefore);
  private delayTimer: TimerHandle | undefined;
  private delayTimerAt = Number.POSITIVE_INFINITY;
  /** Superseded evals, oldest first from `cancelableHead`. */
  private cancelableList: Tracked[] = [];
  private cancelableHead = 0;
  /** Blocked dequeues, served first-come first-served (Set keeps insertion order). */
  private waiters = new Set<Waiter>();
  /** While > 0, waking waiters is deferred so a batch is seen whole (highest priority first). */
  private batchDepth = 0;

  private total: BrokerCounts = emptyCounts();
  private byType = new Map<string, BrokerCounts>();
  private readonly counters: BrokerCounters = {
    enqueued: 0,
    duplicatesIgnored: 0,
    dequeued: 0,
    acked: 0,
    nacked: 0,
    nackTimeouts: 0,
    deliveryLimitFailed: 0,
    superseded: 0,
    cancelableReaped: 0,
    dequeueTimeouts: 0,
  };
  private readonly typeCounters = new Map<string, BrokerTypeCounters>();

  constructor(opts: EvalBrokerOptions) {
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.nackTimeoutMs = opts.nackTimeoutMs ?? 60_000;
    this.initialNackDelayMs = opts.initialNackDelayMs ?? 1_000;
    this.subsequentNackDelayMs = opts.subsequentNackDelayMs ?? 20_000;
    this.deliveryLimit = opts.deliveryLimit ?? 3;
    this.loadShedding = opts.loadShedding ?? true;
    this.afterAck = opts.afterAck;
    checkDuration('nackTimeoutMs', this.nackTimeoutMs, false);
    checkDuration('initialNackDelayMs', this.initialNackDelayMs, true);
    checkDuration('subsequentNackDelayMs', this.subsequentNackDelayMs, true);
    if (!Number.isInteger(this.deliveryLimit) || this.deliveryLimit < 1) {
      throw new NomadError('invalid_argument', `eval broker: deliveryLimit must be an integer ≥ 1, got ${this.deliveryLimit}`, { field: 'deliveryLimit' });
    }
  }

  /** Live gauges (read-only view, no copy): for cheap checks on the hot path. */
  get counts(): Readonly<BrokerCounts> {
    return this.total;
  }

  // ---- leadership and pausing ------------------------------------------------

  get enabled(): boolean {
    return this.isEnabled;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /**
   * Enable on gaining leadership; disable on losing it. Disabling flushes every
   * eval (ready, unacked, pending, delayed, failed, cancelable) and cancels their
   * timers: the new leader restores them from state. Blocked dequeues stay blocked
   * (until their timeout, or until the broker is enabled again and has work).
   */
  setEnabled(enabled: boolean): void {
    this.isEnabled = enabled;
    if (!enabled) this.flush();
    else this.dispatch();
  }

  /** Keep accepting evals but hand none out (scheduler config `pauseEvalBroker`). */
  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    this.dispatch();
  }

  // ---- enqueue ---------------------------------------------------------------

  /**
   * Enqueue an eval. An eval whose ID the broker already knows (ready, unacked,
   * pending, delayed, failed or cancelable) is ignored, including when it is the
   * same ID as an outstanding eval: Nomad's token-carrying re-enqueue
   * (`EnqueueAll` with a token, requeued on ack) is not modelled. A disabled broker
   * ignores everything (the leader restores evals from state when it enables it).
   */
  enqueue(evaluation: Evaluation): EnqueueOutcome {
    this.batchDepth++;
    try {
      return this.enqueueOne(evaluation);
    } finally {
      this.batchDepth--;
      this.dispatch();
    }
  }

  /** Enqueue several evals as one batch: waiting workers see all of them before choosing. */
  enqueueAll(evaluations: readonly Evaluation[]): EnqueueOutcome[] {
    for (const e of evaluations) validateEval(e); // all or nothing
    this.batchDepth++;
    try {
      return evaluations.map((e) => this.enqueueOne(e));
    } finally {
      this.batchDepth--;
      this.dispatch();
    }
  }

  private enqueueOne(evaluation: Evaluation): EnqueueOutcome {
    validateEval(evaluation);
    if (!this.isEnabled) return 'disabled';
    if (this.evals.has(evaluation.id)) {
      this.counters.duplicatesIgnored++;
      return 'duplicate';
    }
    const rec: Tracked = {
      eval: evaluation,
      seq: this.seq++,
      job: evaluation.jobId === '' ? undefined : jobKey(evaluation.namespace, evaluation.jobId),
      location: undefined,
      queue: evaluation.type,
      dequeues: 0,
      token: '',
      nackTimer: undefined,
      readyAt: 0,
    };
    this.evals.set(evaluation.id, rec);
    this.counters.enqueued++;
    this.typeCount(evaluation.type).enqueued++;
    if (evaluation.waitUntil > this.clock.now()) {
      this.delay(rec, evaluation.waitUntil);
      return 'delayed';
    }
    return this.place(rec, evaluation.type);
  }

  /** Put an eval in a ready queue if it can hold its job's slot, else in the job's pending heap. */
  private place(rec: Tracked, queue: string): 'ready' | 'pending' {
    if (rec.job !== undefined) {
      const holder = this.jobSlots.get(rec.job);
      if (holder === undefined) {
        this.jobSlots.set(rec.job, rec.eval.id);
      } else if (holder !== rec.eval.id) {
        let heap = this.pending.get(rec.job);
        if (heap === undefined) {
          heap = new BinaryHeap<Tracked>(this.loadShedding ? newerBefore : olderBefore);
          this.pending.set(rec.job, heap);
        }
        heap.push(rec);
        this.move(rec, 'pending');
        return 'pending';
      }
    }
    let heap = this.ready.get(queue);
    if (heap === undefined) {
      heap = new BinaryHeap<Tracked>(readyBefore);
      this.ready.set(queue, heap);
    }
    rec.queue = queue;
    heap.push(rec);
    this.move(rec, queue === FAILED_QUEUE ? 'failed' : 'ready');
    this.dispatch();
    return 'ready';
  }

  // ---- dequeue ---------------------------------------------------------------

  /**
   * Wait for an eval of one of `schedulerTypes` (use `['_failed']` for the
   * failed-eval reaper). Resolves with the eval and its delivery token, or null when
   * `timeoutMs` passes first (0 = wait forever) or `signal` aborts. Waiters are
   * served in arrival order. A paused or disabled broker hands nothing out.
   */
  dequeue(schedulerTypes: readonly string[], timeoutMs: number, opts: DequeueOptions = {}): Promise<EvalDelivery | null> {
    try {
      validateTypes(schedulerTypes);
      checkDuration('timeoutMs', timeoutMs, true);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (opts.signal?.aborted === true) return Promise.resolve(null);
    const now = this.serveable() ? this.scan(schedulerTypes) : null;
    if (now !== null) return Promise.resolve(now);
    return new Promise<EvalDelivery | null>((resolve) => {
      const waiter: Waiter = { types: [...schedulerTypes], resolve, timer: undefined, detach: undefined };
      this.waiters.add(waiter);
      if (timeoutMs > 0) {
        waiter.timer = this.clock.setTimer(timeoutMs, () => {
          if (!this.waiters.delete(waiter)) return;
          waiter.detach?.();
          this.counters.dequeueTimeouts++;
          resolve(null);
        });
      }
      const signal = opts.signal;
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (!this.waiters.delete(waiter)) return;
          waiter.timer?.cancel();
          resolve(null);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
    });
  }

  /** Take an eval now if one of `schedulerTypes` is ready, without waiting. */
  tryDequeue(schedulerTypes: readonly string[]): EvalDelivery | null {
    validateTypes(schedulerTypes);
    return this.serveable() ? this.scan(schedulerTypes) : null;
  }

  private serveable(): boolean {
    return this.isEnabled && !this.isPaused && this.total.ready + this.total.failed > 0;
  }

  /** Serve blocked dequeues, oldest first, while any of them can be served. */
  private dispatch(): void {
    if (this.batchDepth > 0 || this.waiters.size === 0) return;
    for (const waiter of this.waiters) {
      if (!this.serveable()) return;
      const delivery = this.scan(waiter.types);
      if (delivery === null) continue;
      this.waiters.delete(waiter);
      waiter.timer?.cancel();
      waiter.detach?.();
      waiter.resolve(delivery);
    }
  }

  /**
   * Among the heads of the asked ready queues, take the highest priority, then the
   * oldest (createIndex); equal heads in different queues are chosen between at
   * random (Nomad picks randomly among equal priority so no queue starves).
   */
  private scan(types: readonly string[]): EvalDelivery | null {
    let best: Tracked | undefined;
    let ties: string[] = [];
    for (const type of types) {
      const head = this.ready.get(type)?.peek();
      if (head === undefined || ties.includes(type)) continue;
      if (best === undefined || head.eval.priority > best.eval.priority || (head.eval.priority === best.eval.priority && head.eval.createIndex < best.eval.createIndex)) {
        best = head;
        ties = [type];
      } else if (head.eval.priority === best.eval.priority && head.eval.createIndex === best.eval.createIndex) {
        ties.push(type);
      }
    }
    if (ties.length === 0) return null;
    const queue = ties.length === 1 ? ties[0]! : ties[this.rng.int(ties.length)]!;
    return this.deliver(queue);
  }

  private deliver(queue: string): EvalDelivery {
    const rec = this.ready.get(queue)!.pop()!;
    const token = uuid(this.rng);
    rec.token = token;
    rec.dequeues++;
    rec.nackTimer = this.startNackTimer(rec.eval.id, token);
    this.unacked.set(rec.eval.id, rec);
    this.move(rec, 'unacked');
    this.counters.dequeued++;
    this.typeCount(rec.eval.type).dequeued++;
    return { eval: rec.eval, token };
  }

  private startNackTimer(evalId: string, token: string): TimerHandle {
    return this.clock.setTimer(this.nackTimeoutMs, () => {
      const rec = this.unacked.get(evalId);
      if (rec === undefined || rec.token !== token) return;
      this.counters.nackTimeouts++;
      this.nackRecord(rec);
    });
  }

  // ---- outstanding, ack, nack ------------------------------------------------

  /** The token of a delivered, not yet acked or nacked eval. */
  outstanding(evalId: string): string | undefined {
    return this.unacked.get(evalId)?.token;
  }

  /** Restart the nack timer of an outstanding eval (a long plan is in flight). */
  outstandingReset(evalId: string, token: string): void {
    const rec = this.outstandingRecord(evalId, token, 'reset the nack timer of');
    rec.nackTimer?.cancel();
    rec.nackTimer = this.startNackTimer(evalId, token);
  }

  /**
   * The worker finished the eval. Frees the job's slot: the newest pending eval of
   * the job becomes ready and the older pending ones become cancelable.
   */
  ack(evalId: string, token: string): void {
    const rec = this.outstandingRecord(evalId, token, 'ack');
    rec.nackTimer?.cancel();
    rec.nackTimer = undefined;
    this.unacked.delete(evalId);
    this.evals.delete(evalId);
    this.move(rec, undefined);
    this.counters.acked++;
    this.typeCount(rec.eval.type).acked++;
    let superseded = 0;
    if (rec.job !== undefined && this.jobSlots.get(rec.job) === evalId) {
      this.jobSlots.delete(rec.job);
      this.batchDepth++;
      try {
        superseded = this.promotePending(rec.job);
      } finally {
        this.batchDepth--;
      }
    }
    this.dispatch();
    this.afterAck?.(superseded);
  }

  /** The worker failed the eval: redeliver after a delay, or fail it at the delivery limit. */
  nack(evalId: string, token: string): void {
    const rec = this.outstandingRecord(evalId, token, 'nack');
    this.nackRecord(rec);
  }

  private nackRecord(rec: Tracked): void {
    rec.nackTimer?.cancel();
    rec.nackTimer = undefined;
    this.unacked.delete(rec.eval.id);
    this.counters.nacked++;
    if (rec.dequeues >= this.deliveryLimit) {
      if (rec.queue !== FAILED_QUEUE) this.counters.deliveryLimitFailed++;
      this.place(rec, FAILED_QUEUE);
      return;
    }
    const delayMs = this.nackReenqueueDelay(rec.dequeues);
    if (delayMs > 0) this.delay(rec, this.clock.now() + delayMs);
    else this.place(rec, rec.eval.type);
  }

  /** Nomad's nackReenqueueDelay: initial after the first delivery, then (n − 1) × subsequent. */
  private nackReenqueueDelay(dequeues: number): number {
    if (dequeues <= 0) return 0;
    if (dequeues === 1) return this.initialNackDelayMs;
    return (dequeues - 1) * this.subsequentNackDelayMs;
  }

  private outstandingRecord(evalId: string, token: string, verb: string): Tracked {
    const rec = this.unacked.get(evalId);
    if (rec === undefined) {
      const where = this.evals.get(evalId)?.location;
      const why = where === undefined ? 'the broker does not know it (acked, flushed or never enqueued)' : `it is ${where}, not outstanding`;
      throw new NomadError('not_found', `cannot ${verb} evaluation ${evalId}: ${why}`, { field: 'evalId' });
    }
    if (rec.token !== token) {
      throw new NomadError('conflict', `cannot ${verb} evaluation ${evalId}: token ${JSON.stringify(token)} does not match its outstanding delivery (it was redelivered or the token is wrong)`, { field: 'token' });
    }
    return rec;
  }

  /**
   * Load shedding: the newest pending eval takes the slot, every older one is
   * superseded (returns how many). Without shedding the oldest pending eval takes
   * the slot and the rest wait their turn.
   */
  private promotePending(job: string): number {
    const heap = this.pending.get(job);
    if (heap === undefined) return 0;
    if (!this.loadShedding) {
      // The pending heap is ordered oldest first when shedding is off.
      const oldest = heap.pop()!;
      if (heap.size === 0) this.pending.delete(job);
      this.place(oldest, oldest.eval.type);
      return 0;
    }
    this.pending.delete(job);
    const newest = heap.pop()!;
    const older = heap.drain().sort((a, b) => (newerBefore(a, b) ? 1 : newerBefore(b, a) ? -1 : 0));
    for (const rec of older) {
      this.cancelableList.push(rec);
      this.move(rec, 'cancelable');
      this.counters.superseded++;
      this.typeCount(rec.eval.type).superseded++;
    }
    this.place(newest, newest.eval.type);
    return older.length;
  }

  private typeCount(type: string): BrokerTypeCounters {
    let c = this.typeCounters.get(type);
    if (c === undefined) {
      c = emptyTypeCounters();
      this.typeCounters.set(type, c);
    }
    return c;
  }

  // ---- cancelable ------------------------------------------------------------

  /**
   * Remove and return up to `max` superseded evals, oldest first, for the reaper to
   * write as canceled (one state write per batch). The broker forgets them.
   */
  cancelable(max = DEFAULT_CANCELABLE_BATCH): Evaluation[] {
    if (!Number.isInteger(max) || max < 0) {
      throw new NomadError('invalid_argument', `cancelable: max must be a non-negative integer, got ${max}`, { field: 'max' });
    }
    const end = Math.min(this.cancelableList.length, this.cancelableHead + max);
    const out: Evaluation[] = [];
    for (let i = this.cancelableHead; i < end; i++) {
      const rec = this.cancelableList[i]!;
      this.evals.delete(rec.eval.id);
      this.move(rec, undefined);
      this.typeCount(rec.eval.type).cancelableReaped++;
      out.push(rec.eval);
    }
    this.cancelableHead = end;
    if (this.cancelableHead === this.cancelableList.length) {
      this.cancelableList = [];
      this.cancelableHead = 0;
    } else if (this.cancelableHead > 1024 && this.cancelableHead * 2 > this.cancelableList.length) {
      this.cancelableList = this.cancelableList.slice(this.cancelableHead);
      this.cancelableHead = 0;
    }
    this.counters.cancelableReaped += out.length;
    return out;
  }

  // ---- delayed evals ---------------------------------------------------------

  private delay(rec: Tracked, readyAt: number): void {
    rec.readyAt = readyAt;
    this.delayed.push(rec);
    this.move(rec, 'delayed');
    this.armDelayTimer();
  }

  /** One clock timer, for the earliest delayed eval; re-armed when the earliest changes. */
  private armDelayTimer(): void {
    const head = this.delayed.peek();
    const at = head === undefined ? Number.POSITIVE_INFINITY : head.readyAt;
    if (at === this.delayTimerAt) return;
    this.delayTimer?.cancel();
    this.delayTimer = undefined;
    this.delayTimerAt = at;
    if (head === undefined) return;
    this.delayTimer = this.clock.setTimer(at - this.clock.now(), () => this.releaseDue());
  }

  private releaseDue(): void {
    this.delayTimer = undefined;
    this.delayTimerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    this.batchDepth++;
    try {
      for (let head = this.delayed.peek(); head !== undefined && head.readyAt <= now; head = this.delayed.peek()) {
        this.delayed.pop();
        // A nack-delayed eval still holds its job's slot, so place() makes it ready again;
        // a waitUntil eval competes for the slot like a fresh enqueue.
        this.place(head, head.eval.type);
      }
    } finally {
      this.batchDepth--;
    }
    this.armDelayTimer();
    this.dispatch();
  }

  // ---- flush, stats, introspection -------------------------------------------

  private flush(): void {
    for (const rec of this.unacked.values()) rec.nackTimer?.cancel();
    this.delayTimer?.cancel();
    this.delayTimer = undefined;
    this.delayTimerAt = Number.POSITIVE_INFINITY;
    this.evals = new Map();
    this.jobSlots = new Map();
    this.pending = new Map();
    this.ready = new Map();
    this.unacked = new Map();
    this.delayed = new BinaryHeap<Tracked>(dueBefore);
    this.cancelableList = [];
    this.cancelableHead = 0;
    this.total = emptyCounts();
    this.byType = new Map();
  }

  private move(rec: Tracked, to: EvalLocation | undefined): void {
    const from = rec.location;
    if (from === to) return;
    let typeCounts = this.byType.get(rec.eval.type);
    if (typeCounts === undefined) {
      typeCounts = emptyCounts();
      this.byType.set(rec.eval.type, typeCounts);
    }
    if (from !== undefined) {
      this.total[from]--;
      typeCounts[from]--;
    }
    if (to !== undefined) {
      this.total[to]++;
      typeCounts[to]++;
    }
    rec.location = to;
  }

  /** Where the broker holds an eval, or undefined if it does not know it. */
  state(evalId: string): EvalLocation | undefined {
    return this.evals.get(evalId)?.location;
  }

  /** How many times an eval has been delivered (0 if never, or unknown). */
  deliveries(evalId: string): number {
    return this.evals.get(evalId)?.dequeues ?? 0;
  }

  stats(): BrokerStats {
    const byType: Record<string, BrokerCounts> = {};
    for (const [type, counts] of this.byType) byType[type] = { ...counts };
    return {
      enabled: this.isEnabled,
      paused: this.isPaused,
      waiters: this.waiters.size,
      total: { ...this.total },
      byType,
      counters: { ...this.counters },
      countersByType: Object.fromEntries([...this.typeCounters].map(([t, c]) => [t, { ...c }])),
      loadShedding: this.loadShedding,
    };
  }

  /**
   * Walk every structure and report inconsistencies (empty when sound). O(n): for
   * tests and debugging, not the hot path.
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    const counted = emptyCounts();
    const note = (rec: Tracked, where: string, expect: EvalLocation): void => {
      const id = rec.eval.id;
      const prior = seen.get(id);
      if (prior !== undefined) problems.push(`eval ${id} is in ${prior} and in ${where}`);
      seen.set(id, where);
      if (rec.location !== expect) problems.push(`eval ${id} is in ${where} but marked ${String(rec.location)}`);
      if (this.evals.get(id) !== rec) problems.push(`eval ${id} in ${where} is not in the eval index`);
      counted[expect]++;
    };
    for (const [queue, heap] of this.ready) {
      for (const rec of heap.values()) {
        note(rec, `ready queue ${queue}`, queue === FAILED_QUEUE ? 'failed' : 'ready');
        if (rec.queue !== queue) problems.push(`eval ${rec.eval.id} in queue ${queue} records queue ${rec.queue}`);
      }
    }
    for (const [job, heap] of this.pending) {
      if (heap.size === 0) problems.push(`job ${job} has an empty pending heap`);
      if (!this.jobSlots.has(job)) problems.push(`job ${job} has pending evals but nothing holds its slot`);
      for (const rec of heap.values()) {
        note(rec, `pending for ${job}`, 'pending');
        if (rec.job !== job) problems.push(`eval ${rec.eval.id} pending under job ${job} belongs to ${String(rec.job)}`);
      }
    }
    for (const rec of this.unacked.values()) {
      note(rec, 'unacked', 'unacked');
      if (rec.nackTimer === undefined) problems.push(`unacked eval ${rec.eval.id} has no nack timer`);
    }
    for (const rec of this.delayed.values()) note(rec, 'delayed', 'delayed');
    for (let i = this.cancelableHead; i < this.cancelableList.length; i++) note(this.cancelableList[i]!, 'cancelable', 'cancelable');
    if (seen.size !== this.evals.size) problems.push(`eval index has ${this.evals.size} evals but the structures hold ${seen.size}`);
    for (const key of Object.keys(counted) as EvalLocation[]) {
      if (counted[key] !== this.total[key]) problems.push(`stats say ${this.total[key]} ${key} but ${counted[key]} found`);
    }
    const slotHolders = new Map<string, string>();
    for (const rec of this.evals.values()) {
      if (rec.job === undefined) continue;
      const holding = rec.location === 'ready' || rec.location === 'unacked' || rec.location === 'failed';
      if (holding) {
        const other = slotHolders.get(rec.job);
        if (other !== undefined) problems.push(`job ${rec.job} has two evals in flight: ${other} and ${rec.eval.id}`);
        slotHolders.set(rec.job, rec.eval.id);
        if (this.jobSlots.get(rec.job) !== rec.eval.id) problems.push(`eval ${rec.eval.id} is ${rec.location} without holding job ${rec.job}'s slot`);
      }
    }
    for (const [job, id] of this.jobSlots) {
      const loc = this.evals.get(id)?.location;
      if (loc !== 'ready' && loc !== 'unacked' && loc !== 'failed' && loc !== 'delayed') problems.push(`job ${job}'s slot is held by ${id}, which is ${String(loc)}`);
    }
    const head = this.delayed.peek();
    if ((head?.readyAt ?? Number.POSITIVE_INFINITY) !== this.delayTimerAt) problems.push('the delay timer is not armed for the earliest delayed eval');
    return problems;
  }
}

function validateEval(e: Evaluation): void {
  if (typeof e.id !== 'string' || e.id === '') throw new NomadError('invalid_argument', 'enqueue: evaluation id must be a non-empty string', { field: 'id' });
  if (typeof e.type !== 'string' || (e.type as string) === '') throw new NomadError('invalid_argument', `enqueue: evaluation ${e.id}: type must be a non-empty string`, { field: 'type' });
  if (!Number.isFinite(e.priority)) throw new NomadError('invalid_argument', `enqueue: evaluation ${e.id}: priority must be a finite number, got ${e.priority}`, { field: 'priority' });
  if (!Number.isFinite(e.waitUntil)) throw new NomadError('invalid_argument', `enqueue: evaluation ${e.id}: waitUntil must be a finite number of ms (0 = now), got ${e.waitUntil}`, { field: 'waitUntil' });
}

function validateTypes(types: readonly string[]): void {
  if (!Array.isArray(types) || types.length === 0) {
    throw new NomadError('invalid_argument', 'dequeue: schedulerTypes must name at least one scheduler type (e.g. ["service", "batch"])', { field: 'schedulerTypes' });
  }
  for (const t of types) {
    if (typeof t !== 'string' || t === '') throw new NomadError('invalid_argument', 'dequeue: schedulerTypes must not contain an empty type', { field: 'schedulerTypes' });
  }
}
