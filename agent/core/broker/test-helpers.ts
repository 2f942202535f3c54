/** Test fixtures for the broker's own tests (not exported from index.ts). */
import { SeededRng, VirtualClock } from '../lib/index.js';
import type { Evaluation } from '../structs/index.js';
import { EvalBroker } from './eval-broker.js';
import type { EvalBrokerOptions } from './eval-broker.js';

let nextIndex = 1;

/** A pending evaluation; createIndex/modifyIndex grow with each call unless given. */
export function mkEval(id: string, over: Partial<Evaluation> = {}): Evaluation {
  const index = nextIndex++;
  return {
    id,
    namespace: 'default',
    priority: 50,
    type: 'service',
    triggeredBy: 'job-register',
    jobId: `job-${id}`,
    jobModifyIndex: index,
    nodeId: '',
    nodeModifyIndex: 0,
    deploymentId: '',
    status: 'pending',
    statusDescription: '',
    waitUntil: 0,
    nextEval: '',
    previousEval: '',
    blockedEval: '',
    failedTgAllocs: {},
    classEligibility: {},
    escapedComputedClass: false,
    quotaLimitReached: '',
    annotatePlan: false,
    queuedAllocations: {},
    snapshotIndex: 0,
    createIndex: index,
    modifyIndex: index,
    createTime: 0,
    modifyTime: 0,
    ...over,
  };
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
