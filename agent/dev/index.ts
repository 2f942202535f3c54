/**
 * agent/dev: the agent wiring at the edge — `nomadts agent -dev` as one call. A Server (leader),
 * the mutual-TLS gRPC listener with the public API and ClientService, a ClientAgent with
 * raw_exec and mock drivers and its alloc runners, and the discovery file the CLI reads.
 */
export { DevDatacenter, startAgent } from './agent.js';
export type { AgentEvent, RunningAgent, StartAgentOptions } from './agent.js';
export { startClientOnlyAgent } from './client-agent.js';
export type { ClientOnlyAgentOptions, RunningClientAgent } from './client-agent.js';
export { configAgentKind, parseClientConfig } from './client-config.js';
export type { ClientAgentConfig } from './client-config.js';
