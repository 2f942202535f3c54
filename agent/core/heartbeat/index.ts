/** Server-side heartbeat timers: TTLs scaled to the node count, stagger, grace, failover TTL. */
export {
  HeartbeatTimers,
  heartbeatTtlMs,
  rateScaledIntervalMs,
  MinHeartbeatTtlMs,
  MaxHeartbeatsPerSecond,
  HeartbeatGraceMs,
  FailoverHeartbeatTtlMs,
} from './heartbeat.js';
export type { HeartbeatTimersOptions, HeartbeatStats } from './heartbeat.js';
