/** Blocked evaluations: leader-only holding of evals that wait for capacity, keyed by computed node class. */
export { BlockedEvals } from './blocked-evals.js';
export type { BlockedEvalsStats, BlockedTypeCounters } from './blocked-evals.js';
