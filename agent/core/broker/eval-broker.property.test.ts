/**
 * Random sequences of broker operations on a virtual clock. After every step:
 * the broker's structures agree with each other, no job has two evals in flight,
 * and every accepted eval is in exactly one place until it is acked or reaped.
 * At the end, draining everything accounts for every accepted eval. The same
 * commands and seed give the same trace.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { NomadError, SeededRng, VirtualClock } from '../lib/index.js';
import type { EvalLocation, EvalDelivery } from './index.js';
import { EvalBroker, FAILED_QUEUE } from './index.js';
import { mkEval } from './test-helpers.js';

type Cmd =
  | { kind: 'enqueue'; job: number; priority: number; type: 'service' | 'batch'; waitMs: number }
  | { kind: 'enqueueAll'; jobs: number[] }
  | { kind: 'duplicate'; pick: number }
  | { kind: 'tryDequeue'; types: string[] }
  | { kind: 'dequeue'; types: string[]; timeoutMs: number }
  | { kind: 'ack'; pick: number }
  | { kind: 'nack'; pick: number }
  | { kind: 'reset'; pick: number }
  | { kind: 'badToken'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'reap'; max: number }
  | { kind: 'pause' }
  | { kind: 'resume' };

const TYPES = ['service', 'batch'] as const;
const NACK_TIMEOUT = 10_000;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), job: fc.nat(4), priority: fc.constantFrom(20, 50, 80), type: fc.constantFrom(...TYPES), waitMs: fc.oneof(fc.constant(0), fc.nat(8_000)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('enqueueAll' as const), jobs: fc.array(fc.nat(4), { maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('tryDequeue' as const), types: fc.subarray(['service', 'batch', FAILED_QUEUE], { minLength: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dequeue' as const), types: fc.subarray(['service', 'batch', FAILED_QUEUE], { minLength: 1 }), timeoutMs: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.integer({ min: 1, max: 5_000 }) }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('ack' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('nack' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reset' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('badToken' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 6_000 }), fc.integer({ min: 0, max: 25_000 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reap' as const), max: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const) }) },
);

interface Held {
  id: string;
  job: string;
  token: string;
  /** Nack deadline when the delivery time is known exactly (tryDequeue), else undefined. */
  deadline: number | undefined;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(cmds: Cmd[], seed: number): Promise<string[]> {
  const clock = new VirtualClock();
  const broker = new EvalBroker({ clock, rng: new SeededRng(seed), nackTimeoutMs: NACK_TIMEOUT, initialNackDelayMs: 1_000, subsequentNackDelayMs: 3_000, deliveryLimit: 3 });
  broker.setEnabled(true);
  const trace: string[] = [];
  const accepted = new Map<string, ReturnType<typeof mkEval>>();
  const gone = new Set<string>();
  let held: Held[] = [];
  let nextId = 0;
  let index = 1;
  let prevCounters = broker.stats().counters;

  const newEval = (job: number, priority = 50, type: 'service' | 'batch' = 'service', waitMs = 0): ReturnType<typeof mkEval> => {
    const id = `e${nextId++}`;
    const i = index++;
    return mkEval(id, { jobId: `job${job}`, priority, type, waitUntil: waitMs === 0 ? 0 : clock.now() + waitMs, createIndex: i, modifyIndex: i });
  };
  const record = (e: ReturnType<typeof mkEval>, outcome: string): void => {
    trace.push(`enqueue ${e.id} ${outcome}`);
    if (outcome !== 'duplicate') {
      accepted.set(e.id, e);
      gone.delete(e.id);
    }
  };
  const hold = (d: EvalDelivery | null, deadline: number | undefined, via: string): void => {
    trace.push(`${via} ${d === null ? 'null' : `${d.eval.id} ${d.token}`}`);
    if (d !== null) held.push({ id: d.eval.id, job: d.eval.jobId, token: d.token, deadline });
  };
  const pick = <T>(list: T[], n: number): T | undefined => (list.length === 0 ? undefined : list[n % list.length]);

  const check = (): void => {
    expect(broker.checkInvariants()).toEqual([]);
    const stats = broker.stats();
    const counts: Record<EvalLocation, number> = { ready: 0, unacked: 0, pending: 0, delayed: 0, failed: 0, cancelable: 0 };
    const inFlightByJob = new Map<string, string>();
    for (const [id, e] of accepted) {
      const where = broker.state(id);
      if (gone.has(id)) {
        expect(where, `eval ${id} was acked or reaped`).toBeUndefined();
        continue;
      }
      expect(where, `eval ${id} was lost`).toBeDefined();
      counts[where!]++;
      if (where === 'ready' || where === 'unacked' || where === 'failed') {
        expect(inFlightByJob.get(e.jobId), `job ${e.jobId} has two evals in flight`).toBeUndefined();
        inFlightByJob.set(e.jobId, id);
      }
    }
    expect(counts).toEqual(stats.total);
    // Outstanding deliveries: at most one per job.
    const outstandingJobs = new Set<string>();
    for (const h of held) {
      const live = broker.outstanding(h.id) === h.token;
      // Independent prediction from the clock: a delivery whose time we know is still ours iff its
      // nack deadline has not passed (we drop deliveries from `held` once we ack or nack them).
      if (h.deadline !== undefined) expect(live, `delivery of ${h.id}`).toBe(clock.now() < h.deadline);
      if (!live) continue;
      expect(outstandingJobs.has(h.job)).toBe(false);
      outstandingJobs.add(h.job);
    }
    for (const [k, v] of Object.entries(stats.counters)) expect(v).toBeGreaterThanOrEqual(prevCounters[k as keyof typeof prevCounters]);
    prevCounters = stats.counters;
  };

  /** Ack or nack a held delivery; the outcome must match whether its token is still outstanding. */
  const settleHeld = (h: Held, verb: 'ack' | 'nack'): void => {
    const live = broker.outstanding(h.id) === h.token;
    const before = broker.stats();
    try {
      broker[verb](h.id, h.token);
      expect(live).toBe(true);
      trace.push(`${verb} ${h.id} ok`);
      if (verb === 'ack') gone.add(h.id);
    } catch (err) {
      expect(err).toBeInstanceOf(NomadError);
      expect(live).toBe(false);
      expect(broker.stats()).toEqual(before);
      trace.push(`${verb} ${h.id} refused`);
    }
    held = held.filter((x) => x !== h);
  };

  for (const cmd of cmds) {
    switch (cmd.kind) {
      case 'enqueue': {
        const e = newEval(cmd.job, cmd.priority, cmd.type, cmd.waitMs);
        record(e, broker.enqueue(e));
        break;
      }
      case 'enqueueAll': {
        const evals = cmd.jobs.map((j) => newEval(j));
        broker.enqueueAll(evals).forEach((o, i) => record(evals[i]!, o));
        break;
      }
      case 'duplicate': {
        const e = pick([...accepted.values()], cmd.pick);
        if (e === undefined) break;
        const known = broker.state(e.id) !== undefined;
        const outcome = broker.enqueue(e);
        expect(outcome === 'duplicate').toBe(known);
        record(e, outcome);
        break;
      }
      case 'tryDequeue':
        hold(broker.tryDequeue(cmd.types), clock.now() + NACK_TIMEOUT, 'try');
        break;
      case 'dequeue':
        void broker.dequeue(cmd.types, cmd.timeoutMs).then((d) => hold(d, undefined, 'waited'));
        break;
      case 'ack':
      case 'nack': {
        const h = pick(held, cmd.pick);
        if (h !== undefined) settleHeld(h, cmd.kind);
        break;
      }
      case 'reset': {
        // Prefer a live delivery (a worker extending its own eval); else try a stale one.
        const live = held.filter((x) => broker.outstanding(x.id) === x.token);
        const h = pick(live.length > 0 ? live : held, cmd.pick);
        if (h === undefined) break;
        if (broker.outstanding(h.id) === h.token) {
          broker.outstandingReset(h.id, h.token);
          if (h.deadline !== undefined) h.deadline = clock.now() + NACK_TIMEOUT;
        } else {
          expect(() => broker.outstandingReset(h.id, h.token)).toThrow(NomadError);
        }
        break;
      }
      case 'badToken': {
        const h = pick(held, cmd.pick);
        if (h === undefined) break;
        const before = broker.stats();
        expect(() => broker.ack(h.id, `${h.token}-forged`)).toThrow(NomadError);
        expect(broker.stats()).toEqual(before);
        break;
      }
      case 'advance':
        clock.advance(cmd.ms);
        trace.push(`advance ${cmd.ms}`);
        break;
      case 'reap':
        for (const e of broker.cancelable(cmd.max)) {
          gone.add(e.id);
          trace.push(`reaped ${e.id}`);
        }
        break;
      case 'pause':
        broker.pause();
        break;
      case 'resume':
        broker.resume();
        break;
    }
    await flush();
    check();
  }

  // Drain: every accepted eval must end acked or reaped.
  broker.resume();
  for (let round = 0; round < 50; round++) {
    await flush();
    for (const h of [...held]) settleHeld(h, 'ack');
    for (let d = broker.tryDequeue(['service', 'batch', FAILED_QUEUE]); d !== null; d = broker.tryDequeue(['service', 'batch', FAILED_QUEUE])) {
      broker.ack(d.eval.id, d.token);
      gone.add(d.eval.id);
    }
    for (const e of broker.cancelable(1_000)) gone.add(e.id);
    check();
    if ([...accepted.keys()].every((id) => gone.has(id))) break;
    clock.advance(60_000);
  }
  expect([...accepted.keys()].filter((id) => !gone.has(id))).toEqual([]);
  expect(broker.stats().total).toEqual({ ready: 0, unacked: 0, pending: 0, delayed: 0, failed: 0, cancelable: 0 });
  trace.push(JSON.stringify(broker.stats().counters));
  return trace;
}

describe('EvalBroker properties', () => {
  it('never loses an eval, never has two evals of a job in flight, and replays the same trace for the same seed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 100, size: 'max' }), fc.integer(), async (cmds, seed) => {
        const first = await run(cmds, seed);
        const second = await run(cmds, seed);
        expect(second).toEqual(first);
      }),
      { numRuns: 100, seed: 20240611 },
    );
  });
});
