/** Test fixtures for the broker's own tests (not exported from index.ts; excluded from the build). */
import { SeededRng, VirtualClock } from '../lib/index.js';
import type { Evaluation } from '../structs/index.js';
import { mockEval } from '../testing/index.js';
import { EvalBroker } from './eval-broker.js';
import type { EvalBrokerOptions } from './eval-broker.js';

let nextIndex = 1;

/** A pending evaluation of job `job-<id>`; jobModifyIndex/createIndex/modifyIndex grow with each call unless given. */
export function mkEval(id: string, over: Partial<Evaluation> = {}): Evaluation {
  const index = nextIndex++;
  return mockEval({ id, jobId: `job-${id}`, jobModifyIndex: index, createIndex: index, modifyIndex: index, ...over });
}

export function newBroker(over: Partial<EvalBrokerOptions> = {}, seed = 42): { broker: EvalBroker; clock: VirtualClock } {
  const clock = new VirtualClock();
  const broker = new EvalBroker({ clock, rng: new SeededRng(seed), ...over });
  broker.setEnabled(true);
  return { broker, clock };
}

/** Let resolved promises run their callbacks. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
