/**
 * The failed-evaluation reaper (nomad/leader.go reapFailedEvaluations): an evaluation that
 * reached the broker's delivery limit sits in the `_failed` queue and keeps its job's slot. The
 * leader takes it from there, writes it as `failed` ("evaluation reached delivery limit (N)")
 * together with a follow-up evaluation of the same job that waits a while before it is
 * scheduled (`failed-follow-up`, a baseline delay plus a random part, 1 min + up to 5 min as
 * Nomad's defaults), then acks it, freeing the job's slot. A write that fails (leadership lost)
 * nacks it (it stays in state as it was; the broker hands it out again, or the next leader's
 * broker takes it up) and the reaper pauses before it takes the next one.
 */
import type { Clock, Rng } from '../lib/index.js';
import { NomadError, uuid } from '../lib/index.js';
import type { Evaluation } from '../structs/index.js';
import { newEvaluation } from '../structs/index.js';
import { FAILED_QUEUE } from './eval-broker.js';
import type { EvalDelivery } from './eval-broker.js';

export const FailedFollowUpBaselineMs = 60_000;
export const FailedFollowUpRangeMs = 5 * 60_000;

export interface FailedEvalReaperOptions {
  clock: Clock;
  rng: Rng;
  /** The broker's dequeue, asked for the `_failed` queue. */
  dequeue(types: readonly string[], timeoutMs: number, opts: { signal: AbortSignal }): Promise<EvalDelivery | null>;
  ack(evalId: string, token: string): void;
  nack(evalId: string, token: string): void;
  /** One state write of the failed evaluation and its follow-up. */
  write(evals: Evaluation[]): Promise<unknown>;
  /** The broker's delivery limit, for the description. */
  deliveryLimit: number;
  baselineDelayMs?: number;
  delayRangeMs?: number;
  /** Pause after a failed write before taking the next failed evaluation (default 1 s). */
  retryDelayMs?: number;
}

export interface FailedEvalReaperStats {
  /** Evaluations written as failed (each with a follow-up). */
  reaped: number;
  failedWrites: number;
}

/** The failed evaluation as written, and its follow-up waiting `waitMs` (pure). */
export function failedWithFollowUp(ev: Evaluation, now: number, waitMs: number, followUpId: string, deliveryLimit: number): [Evaluation, Evaluation] {
  const followUp = newEvaluation({
    id: followUpId,
    namespace: ev.namespace,
    priority: ev.priority,
    type: ev.type,
    triggeredBy: 'failed-follow-up',
    jobId: ev.jobId,
    jobModifyIndex: ev.jobModifyIndex,
    status: 'pending',
    statusDescription: `follow-up of failed evaluation ${ev.id}`,
    waitUntil: now + waitMs,
    previousEval: ev.id,
    createTime: now,
    modifyTime: now,
  });
  const failed: Evaluation = {
    ...ev,
    status: 'failed',
    statusDescription: `evaluation reached delivery limit (${deliveryLimit})`,
    nextEval: followUpId,
    modifyTime: now,
  };
  return [failed, followUp];
}

export class FailedEvalReaper {
  private readonly opts: FailedEvalReaperOptions;
  private readonly baselineMs: number;
  private readonly rangeMs: number;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly counters: FailedEvalReaperStats = { reaped: 0, failedWrites: 0 };

  constructor(opts: FailedEvalReaperOptions) {
    this.opts = opts;
    this.baselineMs = opts.baselineDelayMs ?? FailedFollowUpBaselineMs;
    this.rangeMs = opts.delayRangeMs ?? FailedFollowUpRangeMs;
    for (const [field, v] of [['baselineDelayMs', this.baselineMs], ['delayRangeMs', this.rangeMs]] as const) {
      if (!Number.isFinite(v) || v < 0) throw new NomadError('invalid_argument', `failed-eval reaper: ${field} must be a number of ms ≥ 0, got ${v}`, { field });
    }
  }

  start(): void {
    if (this.abort !== undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal);
  }

  /** Stop taking failed evaluations; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.abort?.abort();
    this.abort = undefined;
    await this.loop;
    this.loop = undefined;
  }

  stats(): FailedEvalReaperStats {
    return { ...this.counters };
  }

  private pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimer(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        timer.cancel();
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const d = await this.opts.dequeue([FAILED_QUEUE], 0, { signal });
      if (d === null) continue;
      const now = this.opts.clock.now();
      const wait = this.baselineMs + (this.rangeMs > 0 ? Math.floor(this.opts.rng.next() * this.rangeMs) : 0);
      const evals = failedWithFollowUp(d.eval, now, wait, uuid(this.opts.rng), this.opts.deliveryLimit);
      try {
        await this.opts.write(evals);
        this.counters.reaped++;
        this.opts.ack(d.eval.id, d.token);
      } catch {
        this.counters.failedWrites++;
        try {
          this.opts.nack(d.eval.id, d.token);
        } catch {
          // the broker was disabled meanwhile (leadership lost): the eval stays in state for the next leader
        }
        await this.pause(this.opts.retryDelayMs ?? 1_000, signal);
      }
    }
  }
}
