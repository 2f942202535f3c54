import { describe, expect, it } from 'vitest';
import { StateStore } from '../state/index.js';
import { VirtualClock, SeededRng } from '../lib/index.js';
import { mockEval } from '../testing/index.js';
import type { Evaluation } from '../structs/index.js';
import { Worker } from './worker.js';
import type { WorkerBroker } from './worker.js';

/** A broker with `evals` ready at once (as a backlog is): every dequeue resolves without waiting. */
function backlog(evals: Evaluation[]): WorkerBroker & { acked: string[] } {
  const acked: string[] = [];
  return {
    acked,
    dequeue: (_types, _timeout, opts) => {
      const e = evals.shift();
      if (e !== undefined) return Promise.resolve({ eval: e, token: `t-${e.id}` });
      return new Promise((resolve) => opts?.signal?.addEventListener('abort', () => resolve(null)));
    },
    ack: (id) => {
      acked.push(id);
    },
    nack: () => undefined,
  };
}

function worker(broker: WorkerBroker, processed: string[], yieldToLoop?: () => Promise<void>): Worker {
  const store = new StateStore();
  return new Worker({
    id: 'w1',
    broker,
    waitForIndex: () => Promise.resolve(store.snapshot()),
    submitPlan: () => Promise.reject(new Error('no plans here')),
    upsertEvals: () => Promise.resolve(1),
    schedulers: () => ({
      process: (e) => {
        processed.push(e.id);
        return Promise.resolve();
      },
    }),
    clock: new VirtualClock(0),
    rng: new SeededRng(1),
    ...(yieldToLoop !== undefined ? { yieldToLoop } : {}),
  });
}

const flushMicrotasks = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

describe('Worker', () => {
  it('gives the loop a turn after each evaluation of a backlog, and goes on only when it gets it back', async () => {
    const broker = backlog([mockEval({ id: 'e1' }), mockEval({ id: 'e2' }), mockEval({ id: 'e3' })]);
    const processed: string[] = [];
    const turns: (() => void)[] = [];
    const w = worker(broker, processed, () => new Promise<void>((resolve) => turns.push(resolve)));
    w.start();
    await flushMicrotasks();
    expect([processed, broker.acked, turns.length]).toEqual([['e1'], ['e1'], 1]);
    turns.shift()!();
    await flushMicrotasks();
    expect([processed, broker.acked, turns.length]).toEqual([['e1', 'e2'], ['e1', 'e2'], 1]);
    turns.shift()!();
    await flushMicrotasks();
    expect(processed).toEqual(['e1', 'e2', 'e3']);
    turns.shift()!();
    const stopped = w.stop();
    await stopped;
  });

  it('without a yield, runs the backlog back to back', async () => {
    const broker = backlog([mockEval({ id: 'e1' }), mockEval({ id: 'e2' }), mockEval({ id: 'e3' })]);
    const processed: string[] = [];
    const w = worker(broker, processed);
    w.start();
    await flushMicrotasks();
    expect(processed).toEqual(['e1', 'e2', 'e3']);
    await w.stop();
  });
});
