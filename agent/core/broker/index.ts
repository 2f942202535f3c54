/** The evaluation broker: leader-only queues of evaluations for scheduler workers. */
export { EvalBroker, FAILED_QUEUE, DEFAULT_CANCELABLE_BATCH } from './eval-broker.js';
export type {
  EvalBrokerOptions,
  EvalLocation,
  EnqueueOutcome,
  EvalDelivery,
  DequeueOptions,
  BrokerCounts,
  BrokerCounters,
  BrokerStats,
} from './eval-broker.js';
