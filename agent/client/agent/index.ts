/**
 * The client agent's connection loop: fingerprint → register → heartbeat at the server's TTL →
 * watch the node's allocations → batched status reports. The alloc runner sits behind onAllocs.
 */
export { ClientAgent, AllocStatusChangeDelayMs, AllocSyncIntervalMs, DefaultUsageIntervalMs } from './agent.js';
export type { ClientAgentOptions, ClientAgentRpc, ClientAgentStatus } from './agent.js';
