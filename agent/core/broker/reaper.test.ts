import { describe, expect, it } from 'vitest';
import type { Evaluation } from '../structs/index.js';
import { CancelReaper } from './reaper.js';
import { mkEval, newBroker, settle } from './test-helpers.js';

/** A broker with `jobs` jobs, each holding `perJob` pending evals behind one in flight. */
function storm(jobs: number, perJob: number, loadShedding = true) {
  const { broker, clock } = newBroker({ loadShedding });
  for (let j = 0; j < jobs; j++) for (let i = 0; i <= perJob; i++) broker.enqueue(mkEval(`j${j}-e${i}`, { jobId: `job-${j}` }));
  return { broker, clock };
}

function reaperFor(broker: ReturnType<typeof newBroker>['broker'], clock: ReturnType<typeof newBroker>['clock'], writes: Evaluation[][]) {
  return new CancelReaper({
    clock,
    take: (max) => broker.cancelable(max),
    waiting: () => broker.counts.cancelable,
    busy: () => broker.counts.ready + broker.counts.unacked + broker.counts.pending > 0,
    write: async (evals) => {
      writes.push(evals);
    },
    intervalMs: 5_000,
    batchSize: 700,
  });
}

async function ackAll(broker: ReturnType<typeof newBroker>['broker'], reaper: CancelReaper, clock: ReturnType<typeof newBroker>['clock']): Promise<number> {
  let processed = 0;
  for (let d = broker.tryDequeue(['service']); d !== null; d = broker.tryDequeue(['service'])) {
    processed++;
    broker.ack(d.eval.id, d.token);
    reaper.notify();
    clock.advance(0);
    await settle();
  }
  return processed;
}

describe('CancelReaper', () => {
  it('cancels superseded evals in full batches of 700, one write each, and the partial rest once the broker is quiet', async () => {
    const { broker, clock } = storm(3, 1_000);
    const writes: Evaluation[][] = [];
    const reaper = reaperFor(broker, clock, writes);
    reaper.start();
    const processed = await ackAll(broker, reaper, clock);
    // Per job: the first eval, then only the newest of the 1,000 pending.
    expect(processed).toBe(6);
    const canceled = writes.flat();
    expect(canceled).toHaveLength(3 * 999);
    expect(new Set(canceled.map((e) => e.id)).size).toBe(3 * 999);
    expect(canceled.every((e) => e.status === 'canceled')).toBe(true);
    expect(writes.length).toBe(Math.ceil((3 * 999) / 700));
    expect(writes.slice(0, -1).every((w) => w.length === 700)).toBe(true);
    // The newest eval of each job was processed, never canceled.
    for (let j = 0; j < 3; j++) expect(canceled.some((e) => e.id === `j${j}-e1000`)).toBe(false);
    expect(reaper.stats()).toEqual({ writes: writes.length, canceled: 2_997, failedWrites: 0 });
    expect(broker.checkInvariants()).toEqual([]);
    reaper.stop();
  });

  it('writes a partial batch on its timer while the broker is still busy', async () => {
    const { broker, clock } = storm(2, 10);
    const writes: Evaluation[][] = [];
    const reaper = reaperFor(broker, clock, writes);
    reaper.start();
    const d = broker.tryDequeue(['service'])!;
    broker.ack(d.eval.id, d.token);
    reaper.notify();
    clock.advance(0);
    await settle();
    expect(writes).toHaveLength(0); // 9 waiting, the broker busy: wait for more
    clock.advance(5_000);
    await settle();
    expect(writes.map((w) => w.length)).toEqual([9]);
    reaper.stop();
  });

  it('without load shedding nothing is superseded and every eval is processed', async () => {
    const { broker, clock } = storm(2, 50, false);
    const writes: Evaluation[][] = [];
    const reaper = reaperFor(broker, clock, writes);
    reaper.start();
    expect(await ackAll(broker, reaper, clock)).toBe(102);
    expect(writes).toHaveLength(0);
    expect(broker.stats().countersByType['service']).toMatchObject({ enqueued: 102, dequeued: 102, acked: 102, superseded: 0 });
    reaper.stop();
  });

  it('counts a failed write and leaves the evals for the next leader', async () => {
    const { broker, clock } = storm(1, 5);
    const reaper = new CancelReaper({
      clock,
      take: (max) => broker.cancelable(max),
      waiting: () => broker.counts.cancelable,
      busy: () => false,
      write: async () => {
        throw new Error('not the leader');
      },
    });
    reaper.start();
    const d = broker.tryDequeue(['service'])!;
    broker.ack(d.eval.id, d.token);
    await reaper.reap();
    expect(reaper.stats()).toEqual({ writes: 0, canceled: 0, failedWrites: 1 });
    reaper.stop();
  });

  it('refuses bad options with the field named', () => {
    const { broker, clock } = newBroker();
    const base = { clock, take: (m: number) => broker.cancelable(m), waiting: () => 0, busy: () => false, write: async () => undefined };
    expect(() => new CancelReaper({ ...base, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => new CancelReaper({ ...base, intervalMs: -1 })).toThrow(/intervalMs/);
  });
});
