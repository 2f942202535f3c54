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
  BrokerTypeCounters,
} from './eval-broker.js';
export { CancelReaper, CANCELED_DESCRIPTION } from './reaper.js';
export type { CancelReaperOptions, CancelReaperStats } from './reaper.js';
export { FailedEvalReaper, failedWithFollowUp, FailedFollowUpBaselineMs, FailedFollowUpRangeMs } from './failed-reaper.js';
export type { FailedEvalReaperOptions, FailedEvalReaperStats } from './failed-reaper.js';
