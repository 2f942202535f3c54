/**
 * The cancel reaper (nomad/leader.go reapCancelableEvaluations): evaluations the
 * broker superseded (and duplicate blocked evaluations) are written as `canceled`,
 * up to `batchSize` per state write. It runs on a timer and right after acks: a
 * full batch is written at once; a partial batch waits for the timer, or goes out
 * at once when the broker has nothing more in flight (no more acks will add to it).
 * Writes are serialised; the reaper never holds more than one write in flight.
 */
import type { Clock, TimerHandle } from '../lib/index.js';
import { NomadError } from '../lib/index.js';
import type { Evaluation } from '../structs/index.js';
import { DEFAULT_CANCELABLE_BATCH } from './eval-broker.js';

export interface CancelReaperOptions {
  clock: Clock;
  /** Remove and return up to `max` evaluations to cancel (the broker's `cancelable`, blocked duplicates). */
  take(max: number): Evaluation[];
  /** How many are waiting to be taken. */
  waiting(): number;
  /** True while acks may still add to the cancelable set (evals ready, in flight or pending). */
  busy(): boolean;
  /** One state write marking every given evaluation canceled. */
  write(evals: Evaluation[]): Promise<unknown>;
  /** Timer period (default 5 s). */
  intervalMs?: number;
  batchSize?: number;
}

export interface CancelReaperStats {
  /** State writes spent on cancellation. */
  writes: number;
  /** Evaluations written as canceled. */
  canceled: number;
  /** Writes that failed (the evaluations stay in state as they were; the next leader's broker sheds them again). */
  failedWrites: number;
}

export const CANCELED_DESCRIPTION = 'canceled after more recent eval was processed';

export class CancelReaper {
  private readonly opts: CancelReaperOptions;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private timer: TimerHandle | undefined;
  private soon: TimerHandle | undefined;
  private running = false;
  private writing = false;
  private again = false;
  private readonly counters: CancelReaperStats = { writes: 0, canceled: 0, failedWrites: 0 };

  constructor(opts: CancelReaperOptions) {
    this.opts = opts;
    this.intervalMs = opts.intervalMs ?? 5_000;
    this.batchSize = opts.batchSize ?? DEFAULT_CANCELABLE_BATCH;
    if (!Number.isFinite(this.intervalMs) || this.intervalMs <= 0) {
      throw new NomadError('invalid_argument', `cancel reaper: intervalMs must be a positive number of ms, got ${this.intervalMs}`, { field: 'intervalMs' });
    }
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new NomadError('invalid_argument', `cancel reaper: batchSize must be an integer ≥ 1, got ${this.batchSize}`, { field: 'batchSize' });
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.soon?.cancel();
    this.soon = undefined;
  }

  stats(): CancelReaperStats {
    return { ...this.counters };
  }

  /** Wake after an ack: a full batch (or anything, once the broker is quiet) is written right away. */
  notify(): void {
    if (!this.running || this.soon !== undefined) return;
    const n = this.opts.waiting();
    if (n === 0) return;
    if (n < this.batchSize && this.opts.busy()) return;
    this.soon = this.opts.clock.setTimer(0, () => {
      this.soon = undefined;
      void this.reap(this.opts.busy());
    });
  }

  /** Write what is waiting now: full batches only when `fullOnly`, else everything. */
  async reap(fullOnly = false): Promise<void> {
    if (this.writing) {
      this.again = true;
      return;
    }
    this.writing = true;
    try {
      for (;;) {
        const n = this.opts.waiting();
        if (n === 0 || (fullOnly && n < this.batchSize)) break;
        const batch = this.opts.take(this.batchSize);
        if (batch.length === 0) break;
        const now = this.opts.clock.now();
        const canceled = batch.map((e): Evaluation => ({ ...e, status: 'canceled', statusDescription: CANCELED_DESCRIPTION, modifyTime: now }));
        try {
          await this.opts.write(canceled);
          this.counters.writes++;
          this.counters.canceled += canceled.length;
        } catch {
          this.counters.failedWrites++;
          break;
        }
      }
    } finally {
      this.writing = false;
    }
    if (this.again) {
      this.again = false;
      this.notify();
    }
  }

  private arm(): void {
    this.timer = this.opts.clock.setTimer(this.intervalMs, () => {
      if (!this.running) return;
      void this.reap(false).finally(() => {
        if (this.running) this.arm();
      });
    });
  }
}
