import { describe, it, expect } from 'vitest';
import { NomadError, SeededRng, VirtualClock } from '../lib/index.js';
import { EvalBroker, FAILED_QUEUE } from './index.js';
import type { EvalDelivery } from './index.js';
import { mkEval, newBroker, settle } from './test-helpers.js';

const ALL = ['service', 'batch', 'system', 'sysbatch'];

function take(broker: EvalBroker, types: string[] = ALL): EvalDelivery {
  const d = broker.tryDequeue(types);
  if (d === null) throw new Error('expected a ready eval');
  return d;
}

function drainIds(broker: EvalBroker, types: string[] = ALL): string[] {
  const ids: string[] = [];
  for (let d = broker.tryDequeue(types); d !== null; d = broker.tryDequeue(types)) {
    ids.push(d.eval.id);
    broker.ack(d.eval.id, d.token);
  }
  return ids;
}

function expectSound(broker: EvalBroker): void {
  expect(broker.checkInvariants()).toEqual([]);
}

describe('EvalBroker ordering', () => {
  it('hands out higher priority first, then older by createIndex, then enqueue order', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('low', { priority: 10, createIndex: 1 }));
    broker.enqueue(mkEval('high-new', { priority: 90, createIndex: 30 }));
    broker.enqueue(mkEval('high-old', { priority: 90, createIndex: 20 }));
    broker.enqueue(mkEval('mid-b', { priority: 50, createIndex: 5 }));
    broker.enqueue(mkEval('mid-a', { priority: 50, createIndex: 5 }));
    expectSound(broker);
    expect(drainIds(broker)).toEqual(['high-old', 'high-new', 'mid-b', 'mid-a', 'low']);
    expectSound(broker);
  });

  it('keeps a ready queue per scheduler type', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('s1', { type: 'service', priority: 90 }));
    broker.enqueue(mkEval('b1', { type: 'batch', priority: 10 }));
    broker.enqueue(mkEval('sys1', { type: 'system' }));
    expect(broker.tryDequeue(['batch'])?.eval.id).toBe('b1');
    expect(broker.tryDequeue(['batch'])).toBeNull();
    expect(broker.tryDequeue(['sysbatch'])).toBeNull();
    expect(broker.tryDequeue(['system', 'sysbatch'])?.eval.id).toBe('sys1');
    expect(broker.tryDequeue(['batch', 'service'])?.eval.id).toBe('s1');
    const stats = broker.stats();
    expect(stats.byType.service).toMatchObject({ ready: 0, unacked: 1 });
    expect(stats.byType.batch).toMatchObject({ ready: 0, unacked: 1 });
    expect(stats.total.unacked).toBe(3);
  });

  it('across queues takes the highest priority, then the older head', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('b', { type: 'batch', priority: 50, createIndex: 2 }));
    broker.enqueue(mkEval('s', { type: 'service', priority: 50, createIndex: 3 }));
    broker.enqueue(mkEval('sys', { type: 'system', priority: 70, createIndex: 9 }));
    expect(drainIds(broker)).toEqual(['sys', 'b', 's']);
  });

  it('breaks exact ties between queues with the seeded rng, the same way for the same seed', () => {
    const run = (seed: number): string[] => {
      const { broker } = newBroker({}, seed);
      const order: string[] = [];
      for (let round = 0; round < 40; round++) {
        broker.enqueue(mkEval(`s${round}`, { type: 'service', createIndex: 1000 + round }));
        broker.enqueue(mkEval(`b${round}`, { type: 'batch', createIndex: 1000 + round }));
        const d = take(broker);
        order.push(d.eval.type);
        broker.ack(d.eval.id, d.token);
        drainIds(broker);
      }
      return order;
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    // Both queues win sometimes: the choice is random, not fixed.
    expect(a).toContain('service');
    expect(a).toContain('batch');
  });

  it('enqueueAll lets a blocked worker see the whole batch and take its highest priority', async () => {
    const { broker } = newBroker();
    const waiting = broker.dequeue(['service'], 0);
    broker.enqueueAll([mkEval('a', { priority: 20 }), mkEval('b', { priority: 80 }), mkEval('c', { priority: 50 })]);
    expect((await waiting)?.eval.id).toBe('b');
  });
});

describe('EvalBroker blocking dequeue', () => {
  it('blocks until an eval of an asked type arrives', async () => {
    const { broker } = newBroker();
    let got: EvalDelivery | null | undefined;
    void broker.dequeue(['batch'], 0).then((d) => (got = d));
    broker.enqueue(mkEval('s', { type: 'service' }));
    await settle();
    expect(got).toBeUndefined();
    expect(broker.stats().waiters).toBe(1);
    broker.enqueue(mkEval('b', { type: 'batch' }));
    await settle();
    expect(got?.eval.id).toBe('b');
    expect(broker.outstanding('b')).toBe(got?.token);
    expect(broker.stats().waiters).toBe(0);
  });

  it('resolves null when the timeout passes on the clock, not before', async () => {
    const { broker, clock } = newBroker();
    let got: EvalDelivery | null | undefined;
    void broker.dequeue(['service'], 500).then((d) => (got = d));
    clock.advance(499);
    await settle();
    expect(got).toBeUndefined();
    clock.advance(1);
    await settle();
    expect(got).toBeNull();
    expect(broker.stats().counters.dequeueTimeouts).toBe(1);
    // A later eval is not handed to the timed-out waiter.
    broker.enqueue(mkEval('late'));
    expect(broker.state('late')).toBe('ready');
  });

  it('a timeout of 0 waits forever', async () => {
    const { broker, clock } = newBroker();
    let got: EvalDelivery | null | undefined;
    void broker.dequeue(['service'], 0).then((d) => (got = d));
    clock.advance(365 * 24 * 3600 * 1000);
    await settle();
    expect(got).toBeUndefined();
    broker.enqueue(mkEval('x'));
    await settle();
    expect(got?.eval.id).toBe('x');
  });

  it('serves blocked dequeues first come, first served', async () => {
    const { broker } = newBroker();
    const order: string[] = [];
    const w1 = broker.dequeue(['service', 'batch'], 0).then((d) => order.push(`w1:${d?.eval.id}`));
    const w2 = broker.dequeue(['service'], 0).then((d) => order.push(`w2:${d?.eval.id}`));
    const w3 = broker.dequeue(['batch'], 0).then((d) => order.push(`w3:${d?.eval.id}`));
    broker.enqueue(mkEval('s1'));
    broker.enqueue(mkEval('b1', { type: 'batch' }));
    broker.enqueue(mkEval('s2'));
    await Promise.all([w1, w2, w3]);
    expect(order.sort()).toEqual(['w1:s1', 'w2:s2', 'w3:b1']);
  });

  it('an aborted dequeue resolves null and takes nothing', async () => {
    const { broker } = newBroker();
    const ac = new AbortController();
    const p = broker.dequeue(['service'], 0, { signal: ac.signal });
    ac.abort();
    expect(await p).toBeNull();
    broker.enqueue(mkEval('x'));
    expect(broker.state('x')).toBe('ready');
    expect(await broker.dequeue(['service'], 0, { signal: ac.signal })).toBeNull();
  });

  it('refuses bad dequeue arguments', async () => {
    const { broker } = newBroker();
    await expect(broker.dequeue([], 0)).rejects.toThrow(/at least one scheduler type/);
    await expect(broker.dequeue([''], 0)).rejects.toThrow(/empty type/);
    await expect(broker.dequeue(['service'], -1)).rejects.toBeInstanceOf(NomadError);
    await expect(broker.dequeue(['service'], Number.NaN)).rejects.toThrow(/timeoutMs/);
    expect(() => broker.tryDequeue([])).toThrow(NomadError);
  });
});

describe('EvalBroker ack and nack', () => {
  it('ack with a wrong token or for an unknown eval is refused and changes nothing', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('a'));
    broker.enqueue(mkEval('b'));
    const d = take(broker);
    const before = broker.stats();
    expect(() => broker.ack(d.eval.id, 'not-the-token')).toThrow(/token "not-the-token" does not match/);
    expect(() => broker.nack(d.eval.id, 'not-the-token')).toThrow(NomadError);
    expect(() => broker.outstandingReset(d.eval.id, 'nope')).toThrow(/does not match/);
    expect(() => broker.ack('ghost', d.token)).toThrow(/does not know it/);
    expect(() => broker.ack('b', d.token)).toThrow(/it is ready, not outstanding/);
    try {
      broker.ack(d.eval.id, 'x');
    } catch (err) {
      expect((err as NomadError).code).toBe('conflict');
    }
    expect(broker.stats()).toEqual(before);
    expect(broker.outstanding(d.eval.id)).toBe(d.token);
    broker.ack(d.eval.id, d.token);
    expect(broker.outstanding(d.eval.id)).toBeUndefined();
    expect(broker.state(d.eval.id)).toBeUndefined();
    expect(() => broker.ack(d.eval.id, d.token)).toThrow(/does not know it/);
    expect(broker.stats().counters.acked).toBe(1);
    expectSound(broker);
  });

  it('re-enqueues after initialNackDelay on the first nack and (n-1) × subsequentNackDelay after', () => {
    const { broker, clock } = newBroker({ initialNackDelayMs: 1_000, subsequentNackDelayMs: 20_000, deliveryLimit: 5 });
    broker.enqueue(mkEval('e'));
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = take(broker);
      broker.nack(d.eval.id, d.token);
      expect(broker.state('e')).toBe('delayed');
      const start = clock.now();
      clock.advanceTo(clock.nextAt()! - 1);
      expect(broker.state('e')).toBe('delayed');
      clock.advance(1);
      expect(broker.state('e')).toBe('ready');
      delays.push(clock.now() - start);
      expectSound(broker);
    }
    expect(delays).toEqual([1_000, 20_000, 40_000, 60_000]);
    expect(broker.deliveries('e')).toBe(4);
  });

  it('after deliveryLimit deliveries a nacked eval goes to the _failed queue', () => {
    const { broker, clock } = newBroker({ deliveryLimit: 3 });
    broker.enqueue(mkEval('e', { jobId: 'j' }));
    broker.enqueue(mkEval('next', { jobId: 'j' }));
    for (let i = 0; i < 3; i++) {
      clock.runAll();
      const d = take(broker);
      broker.nack(d.eval.id, d.token);
    }
    expect(broker.state('e')).toBe('failed');
    expect(broker.tryDequeue(ALL)).toBeNull();
    const stats = broker.stats();
    expect(stats.total.failed).toBe(1);
    expect(stats.byType.service?.failed).toBe(1);
    expect(stats.counters.deliveryLimitFailed).toBe(1);
    expect(stats.counters.nacked).toBe(3);
    // The failed eval still holds its job's slot until the reaper acks it.
    expect(broker.state('next')).toBe('pending');
    const f = take(broker, [FAILED_QUEUE]);
    expect(f.eval.id).toBe('e');
    // A nack by the reaper puts it straight back in _failed, not counted twice.
    broker.nack(f.eval.id, f.token);
    expect(broker.state('e')).toBe('failed');
    expect(broker.stats().counters.deliveryLimitFailed).toBe(1);
    const f2 = take(broker, [FAILED_QUEUE]);
    broker.ack(f2.eval.id, f2.token);
    expect(broker.state('next')).toBe('ready');
    expectSound(broker);
  });

  it('a nack timeout nacks the eval and it is redelivered under a new token', () => {
    const { broker, clock } = newBroker({ nackTimeoutMs: 60_000, initialNackDelayMs: 1_000 });
    broker.enqueue(mkEval('e'));
    const first = take(broker);
    clock.advance(59_999);
    expect(broker.outstanding('e')).toBe(first.token);
    clock.advance(1);
    expect(broker.outstanding('e')).toBeUndefined();
    expect(broker.state('e')).toBe('delayed');
    expect(broker.stats().counters).toMatchObject({ nacked: 1, nackTimeouts: 1 });
    clock.advance(1_000);
    const second = take(broker);
    expect(second.eval.id).toBe('e');
    expect(second.token).not.toBe(first.token);
    expect(() => broker.ack('e', first.token)).toThrow(/does not match/);
    broker.ack('e', second.token);
    expect(broker.state('e')).toBeUndefined();
  });

  it('outstandingReset restarts the nack timer', () => {
    const { broker, clock } = newBroker({ nackTimeoutMs: 60_000 });
    broker.enqueue(mkEval('e'));
    const d = take(broker);
    clock.advance(50_000);
    broker.outstandingReset('e', d.token);
    clock.advance(59_999);
    expect(broker.outstanding('e')).toBe(d.token);
    clock.advance(1);
    expect(broker.outstanding('e')).toBeUndefined();
    expect(() => broker.outstandingReset('e', d.token)).toThrow(/not outstanding/);
  });
});

describe('EvalBroker one eval in flight per job', () => {
  it('holds later evals of a job pending until the in-flight one is acked', () => {
    const { broker } = newBroker();
    expect(broker.enqueue(mkEval('j1-a', { jobId: 'j1' }))).toBe('ready');
    expect(broker.enqueue(mkEval('j1-b', { jobId: 'j1' }))).toBe('pending');
    expect(broker.enqueue(mkEval('j2-a', { jobId: 'j2' }))).toBe('ready');
    // Same job ID in another namespace is another job.
    expect(broker.enqueue(mkEval('j1-other-ns', { jobId: 'j1', namespace: 'prod' }))).toBe('ready');
    const d = take(broker, ['service']);
    expect(d.eval.id).toBe('j1-a');
    expect(broker.stats().total).toMatchObject({ ready: 2, unacked: 1, pending: 1 });
    // Nack keeps the slot: the pending eval does not jump ahead.
    broker.nack(d.eval.id, d.token);
    expect(broker.state('j1-b')).toBe('pending');
    expectSound(broker);
  });

  it('promotes the pending eval when the in-flight one is acked', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('a', { jobId: 'j' }));
    broker.enqueue(mkEval('b', { jobId: 'j' }));
    const d = take(broker);
    expect(broker.tryDequeue(ALL)).toBeNull();
    broker.ack(d.eval.id, d.token);
    expect(broker.state('b')).toBe('ready');
    expect(take(broker).eval.id).toBe('b');
    expectSound(broker);
  });

  it('an ack wakes a blocked worker with the promoted eval', async () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('a', { jobId: 'j' }));
    broker.enqueue(mkEval('b', { jobId: 'j' }));
    const d = take(broker);
    const waiting = broker.dequeue(ALL, 0);
    broker.ack(d.eval.id, d.token);
    expect((await waiting)?.eval.id).toBe('b');
  });

  it('sheds load: 100 evals for a job while one is in flight leave one ready (the newest) and 98 cancelable', () => {
    const { broker } = newBroker();
    const ids = Array.from({ length: 100 }, (_, i) => `e${String(i).padStart(3, '0')}`);
    broker.enqueue(mkEval(ids[0]!, { jobId: 'busy', createIndex: 1000, modifyIndex: 1000 }));
    const inFlight = take(broker);
    for (let i = 1; i < 100; i++) broker.enqueue(mkEval(ids[i]!, { jobId: 'busy', createIndex: 1000 + i, modifyIndex: 1000 + i }));
    expect(broker.stats().total).toMatchObject({ pending: 99, unacked: 1, ready: 0 });
    broker.ack(inFlight.eval.id, inFlight.token);
    const stats = broker.stats();
    expect(stats.total).toMatchObject({ ready: 1, pending: 0, cancelable: 98, unacked: 0 });
    expect(stats.counters.superseded).toBe(98);
    expect(broker.state('e099')).toBe('ready');
    expectSound(broker);

    const first = broker.cancelable(50);
    expect(first).toHaveLength(50);
    const rest = broker.cancelable(50);
    expect(rest).toHaveLength(48);
    expect(broker.cancelable(50)).toEqual([]);
    const reaped = [...first, ...rest].map((e) => e.id);
    // Oldest first, each once, never the newest.
    expect(reaped).toEqual(ids.slice(1, 99));
    expect(broker.stats().total.cancelable).toBe(0);
    expect(broker.stats().counters.cancelableReaped).toBe(98);
    expect(broker.state('e001')).toBeUndefined();
    expect(take(broker).eval.id).toBe('e099');
    expectSound(broker);
  });

  it('keeps the newest eval by modifyIndex even when it arrives first or has lower priority', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('head', { jobId: 'j', modifyIndex: 1 }));
    const d = take(broker);
    broker.enqueue(mkEval('newest', { jobId: 'j', modifyIndex: 50, createIndex: 50, priority: 10 }));
    broker.enqueue(mkEval('old-high', { jobId: 'j', modifyIndex: 20, createIndex: 20, priority: 90 }));
    broker.enqueue(mkEval('old', { jobId: 'j', modifyIndex: 30, createIndex: 30 }));
    broker.ack(d.eval.id, d.token);
    expect(broker.state('newest')).toBe('ready');
    expect(broker.cancelable().map((e) => e.id)).toEqual(['old-high', 'old']);
  });

  it('cancelable() defaults to batches of 700 and refuses a bad max', () => {
    const { broker } = newBroker();
    broker.enqueue(mkEval('head', { jobId: 'j' }));
    const d = take(broker);
    for (let i = 0; i < 1000; i++) broker.enqueue(mkEval(`p${i}`, { jobId: 'j' }));
    broker.ack(d.eval.id, d.token);
    expect(broker.cancelable()).toHaveLength(700);
    expect(broker.cancelable()).toHaveLength(299);
    expect(() => broker.cancelable(-1)).toThrow(/non-negative integer/);
    expect(() => broker.cancelable(1.5)).toThrow(NomadError);
    expect(broker.cancelable(0)).toEqual([]);
  });
});

describe('EvalBroker wait_until', () => {
  it('holds an eval until its waitUntil, with one timer re-armed for the earliest', () => {
    const { broker, clock } = newBroker();
    const t0 = clock.now();
    expect(broker.enqueue(mkEval('late', { waitUntil: t0 + 10_000 }))).toBe('delayed');
    expect(clock.pending()).toBe(1);
    expect(broker.enqueue(mkEval('soon', { waitUntil: t0 + 2_000 }))).toBe('delayed');
    expect(clock.pending()).toBe(1);
    expect(clock.nextAt()).toBe(t0 + 2_000);
    expect(broker.enqueue(mkEval('past', { waitUntil: t0 - 1 }))).toBe('ready');
    expect(broker.stats().total.delayed).toBe(2);
    clock.advanceTo(t0 + 1_999);
    expect(broker.state('soon')).toBe('delayed');
    clock.advance(1);
    expect(broker.state('soon')).toBe('ready');
    expect(broker.state('late')).toBe('delayed');
    expect(clock.nextAt()).toBe(t0 + 10_000);
    clock.advanceTo(t0 + 10_000);
    expect(broker.state('late')).toBe('ready');
    expect(clock.pending()).toBe(0);
    expectSound(broker);
  });

  it('a due delayed eval still waits its turn behind its job', () => {
    const { broker, clock } = newBroker();
    broker.enqueue(mkEval('now', { jobId: 'j' }));
    broker.enqueue(mkEval('later', { jobId: 'j', waitUntil: clock.now() + 5_000 }));
    const d = take(broker);
    clock.advance(5_000);
    expect(broker.state('later')).toBe('pending');
    broker.ack(d.eval.id, d.token);
    expect(broker.state('later')).toBe('ready');
  });

  it('a delayed eval wakes a blocked worker when due', async () => {
    const { broker, clock } = newBroker();
    let got: EvalDelivery | null | undefined;
    void broker.dequeue(ALL, 0).then((d) => (got = d));
    broker.enqueue(mkEval('w', { waitUntil: clock.now() + 3_000 }));
    await settle();
    expect(got).toBeUndefined();
    clock.advance(3_000);
    await settle();
    expect(got?.eval.id).toBe('w');
  });
});

describe('EvalBroker pause, disable, duplicates, validation', () => {
  it('a paused broker accepts evals but hands none out until resumed', async () => {
    const { broker } = newBroker();
    broker.pause();
    expect(broker.enqueue(mkEval('a'))).toBe('ready');
    expect(broker.tryDequeue(ALL)).toBeNull();
    let got: EvalDelivery | null | undefined;
    void broker.dequeue(ALL, 0).then((d) => (got = d));
    await settle();
    expect(got).toBeUndefined();
    expect(broker.stats()).toMatchObject({ paused: true, waiters: 1 });
    broker.resume();
    await settle();
    expect(got?.eval.id).toBe('a');
  });

  it('disabling flushes everything and cancels its timers; a disabled broker ignores enqueues', async () => {
    const { broker, clock } = newBroker();
    broker.enqueue(mkEval('ready'));
    broker.enqueue(mkEval('inflight', { jobId: 'j' }));
    broker.enqueue(mkEval('pending', { jobId: 'j' }));
    broker.enqueue(mkEval('delayed', { waitUntil: clock.now() + 1_000 }));
    const d = broker.tryDequeue(['service'])!;
    broker.setEnabled(false);
    expect(broker.enabled).toBe(false);
    const stats = broker.stats();
    expect(stats.total).toEqual({ ready: 0, unacked: 0, pending: 0, delayed: 0, failed: 0, cancelable: 0 });
    expect(stats.counters.enqueued).toBe(4);
    expect(clock.pending()).toBe(0);
    expect(() => broker.ack(d.eval.id, d.token)).toThrow(NomadError);
    expect(broker.enqueue(mkEval('ignored'))).toBe('disabled');
    expect(broker.state('ignored')).toBeUndefined();
    // Dequeue waits (until its timeout) rather than spinning.
    let got: EvalDelivery | null | undefined;
    void broker.dequeue(ALL, 100).then((x) => (got = x));
    await settle();
    expect(got).toBeUndefined();
    clock.advance(100);
    await settle();
    expect(got).toBeNull();
    // Enabled again (new leadership), the same IDs can be restored.
    broker.setEnabled(true);
    expect(broker.enqueue(mkEval('ready'))).toBe('ready');
    expectSound(broker);
  });

  it('ignores a duplicate enqueue of a known eval wherever it is', () => {
    const { broker, clock } = newBroker();
    const a = mkEval('a', { jobId: 'j' });
    const b = mkEval('b', { jobId: 'j' });
    const w = mkEval('w', { waitUntil: clock.now() + 1_000 });
    broker.enqueueAll([a, b, w]);
    expect(broker.enqueueAll([a, b, w])).toEqual(['duplicate', 'duplicate', 'duplicate']);
    const d = take(broker);
    expect(broker.enqueue(a)).toBe('duplicate');
    expect(broker.outstanding('a')).toBe(d.token);
    expect(broker.stats().counters).toMatchObject({ enqueued: 3, duplicatesIgnored: 4 });
    expect(broker.stats().total).toMatchObject({ unacked: 1, pending: 1, delayed: 1 });
  });

  it('refuses malformed evals and options with a message naming the field', () => {
    const { broker } = newBroker();
    expect(() => broker.enqueue(mkEval(''))).toThrow(/id must be a non-empty string/);
    expect(() => broker.enqueue(mkEval('p', { priority: Number.NaN }))).toThrow(/priority/);
    expect(() => broker.enqueue(mkEval('w', { waitUntil: Number.POSITIVE_INFINITY }))).toThrow(/waitUntil/);
    // enqueueAll is all or nothing.
    expect(() => broker.enqueueAll([mkEval('fine'), mkEval('')])).toThrow(NomadError);
    expect(broker.state('fine')).toBeUndefined();
    const clock = new VirtualClock();
    const rng = new SeededRng(1);
    expect(() => new EvalBroker({ clock, rng, nackTimeoutMs: 0 })).toThrow(/nackTimeoutMs/);
    expect(() => new EvalBroker({ clock, rng, initialNackDelayMs: -5 })).toThrow(/initialNackDelayMs/);
    expect(() => new EvalBroker({ clock, rng, deliveryLimit: 0 })).toThrow(/deliveryLimit/);
    expect(() => new EvalBroker({ clock, rng, deliveryLimit: 2.5 })).toThrow(/deliveryLimit/);
  });

  it('a new broker starts disabled, like Nomad, until the leader enables it', () => {
    const broker = new EvalBroker({ clock: new VirtualClock(), rng: new SeededRng(1) });
    expect(broker.enabled).toBe(false);
    expect(broker.enqueue(mkEval('x'))).toBe('disabled');
  });
});
