/**
 * agent/api: the typed API client the CLI and console use to talk to a server
 * (gRPC over mutual TLS), configured directly or from NOMADTS_* environment variables.
 */
export { ApiClient, DefaultAddress, optionsFromEnv, parseAddress } from './client.js';
export type { ApiClientOptions } from './client.js';
export { DiscoveryFileName, discoveryFilePath, parseDiscovery, pidAlive, readDiscovery } from './discovery.js';
export type { AgentDiscovery } from './discovery.js';
export type { EventBatch, SubscribeOptions } from '../rpc/index.js';
export type { OpsEvent, OpsFilter, OpsPayload, OpsTopic, OpsValue } from '../core/ops/index.js';
export { OpsTopics, isOpsTopic } from '../core/ops/index.js';
export { EventTopics } from '../core/state/index.js';
export type { EventTopic, StateEvent, TopicFilter } from '../core/state/index.js';
export type { AgentSelf, AgentStatus, NodeUpdateReply, PlanJobReply, QueryOptions, QueryResult, RegisterJobOptions, RegisterJobReply, WriteReply } from '../service/index.js';
