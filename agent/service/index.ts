/**
 * agent/service: the public API's handlers over a Server, independent of the transport.
 * The gRPC adapter (agent/rpc) and any later HTTP API serve these same handlers.
 */
export { ApiService, DefaultMaxQueryTimeMs, MaxQueryTimeMs } from './service.js';
export type {
  AgentSelf,
  AgentStatus,
  ApiServiceOptions,
  NodeUpdateReply,
  DrainSpec,
  PlanJobReply,
  QueryOptions,
  ReadConsistency,
  QueryResult,
  RegisterJobOptions,
  RegisterJobReply,
  WriteReply,
} from './service.js';
export { annotate } from './plan.js';
export { UsageTable } from './usage.js';
export {
  ClientRpcService,
  HeartbeatGraceMs,
  MaxHeartbeatsPerSecond,
  MinHeartbeatTtlMs,
  heartbeatTtlMs,
  rateScaledIntervalMs,
} from './client-rpc.js';
export type {
  ClientHeartbeatReply,
  ClientRegisterReply,
  ClientRpcServiceOptions,
  NodeAllocsUpdate,
  WatchAllocationsOptions,
} from './client-rpc.js';
