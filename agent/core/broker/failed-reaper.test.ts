import { describe, expect, it } from 'vitest';
import { NomadError, SeededRng } from '../lib/index.js';
import type { Evaluation } from '../structs/index.js';
import { FAILED_QUEUE } from './eval-broker.js';
import { FailedEvalReaper, failedWithFollowUp } from './failed-reaper.js';
import { mkEval, newBroker, settle } from './test-helpers.js';

/** Deliver and nack `ev` until the broker moves it to `_failed`. */
async function exhaust(broker: ReturnType<typeof newBroker>['broker'], clock: ReturnType<typeof newBroker>['clock'], limit: number): Promise<void> {
  for (let i = 0; i < limit; i++) {
    const d = broker.tryDequeue(['service']);
    expect(d).not.toBeNull();
    broker.nack(d!.eval.id, d!.token);
    if (i < limit - 1) clock.advanceTo(clock.nextAt()!);
  }
  await settle();
}

describe('failed-evaluation reaper', () => {
  it('writes an evaluation at the delivery limit as failed with a delayed follow-up, then frees its job', async () => {
    const { broker, clock } = newBroker({ deliveryLimit: 3, initialNackDelayMs: 10, subsequentNackDelayMs: 10 });
    const ev = mkEval('a', { type: 'service' });
    broker.enqueue(ev);
    // A second evaluation of the same job waits behind the first (one in flight per job).
    const next = mkEval('b', { type: 'service', jobId: ev.jobId });
    broker.enqueue(next);
    await exhaust(broker, clock, 3);
    expect(broker.stats().total.failed).toBe(1);
    expect(broker.tryDequeue(['service'])).toBeNull();

    const written: Evaluation[][] = [];
    const reaper = new FailedEvalReaper({
      clock, rng: new SeededRng(7),
      dequeue: (t, ms, o) => broker.dequeue(t, ms, o),
      ack: (id, tok) => broker.ack(id, tok),
      nack: (id, tok) => broker.nack(id, tok),
      write: async (evals) => { written.push(evals); },
      deliveryLimit: broker.deliveryLimit,
    });
    reaper.start();
    await settle();
    await settle();
    expect(written).toHaveLength(1);
    const [failed, followUp] = written[0]!;
    expect(failed).toMatchObject({ id: ev.id, status: 'failed', statusDescription: 'evaluation reached delivery limit (3)', nextEval: followUp!.id });
    expect(followUp).toMatchObject({ jobId: ev.jobId, namespace: ev.namespace, type: 'service', status: 'pending', triggeredBy: 'failed-follow-up', previousEval: ev.id });
    expect(followUp!.waitUntil - clock.now()).toBeGreaterThanOrEqual(60_000);
    expect(followUp!.waitUntil - clock.now()).toBeLessThan(6 * 60_000);
    expect(reaper.stats()).toEqual({ reaped: 1, failedWrites: 0 });
    // Acked: the job's next evaluation is served now.
    expect(broker.stats().total.failed).toBe(0);
    expect(broker.tryDequeue(['service'])?.eval.id).toBe(next.id);
    await reaper.stop();
  });

  it('nacks when the write fails, so the evaluation stays for the next attempt', async () => {
    const { broker, clock } = newBroker({ deliveryLimit: 1, initialNackDelayMs: 10 });
    broker.enqueue(mkEval('c', { type: 'service' }));
    await exhaust(broker, clock, 1);
    let calls = 0;
    const reaper = new FailedEvalReaper({
      clock, rng: new SeededRng(1),
      dequeue: (t, ms, o) => broker.dequeue(t, ms, o),
      ack: (id, tok) => broker.ack(id, tok),
      nack: (id, tok) => broker.nack(id, tok),
      write: async () => {
        calls++;
        if (calls === 1) throw new NomadError('unavailable', 'not the leader');
      },
      deliveryLimit: 1,
    });
    reaper.start();
    await settle();
    await settle();
    expect(reaper.stats()).toEqual({ reaped: 0, failedWrites: 1 });
    // Nacked past its delivery limit, it is back in the failed queue; the reaper takes it after its pause.
    expect(broker.stats().total.failed).toBe(1);
    clock.advance(1_000);
    await settle();
    await settle();
    expect(reaper.stats()).toEqual({ reaped: 1, failedWrites: 1 });
    await reaper.stop();
  });

  it('refuses negative delays, naming the field', () => {
    const { broker, clock } = newBroker();
    expect(() => new FailedEvalReaper({ clock, rng: new SeededRng(1), dequeue: (t, ms, o) => broker.dequeue(t, ms, o), ack: () => {}, nack: () => {}, write: async () => {}, deliveryLimit: 3, delayRangeMs: -1 })).toThrow(/delayRangeMs must be/);
  });

  it('keeps the follow-up a plain pending evaluation of the same job (pure)', () => {
    const ev = mkEval('d', { type: 'batch', priority: 70 });
    const [f, up] = failedWithFollowUp(ev, 1_000, 90_000, 'next-id', 3);
    expect(f.status).toBe('failed');
    expect(up).toMatchObject({ id: 'next-id', priority: 70, type: 'batch', waitUntil: 91_000, createTime: 1_000 });
    expect(FAILED_QUEUE).toBe('_failed');
  });
});
