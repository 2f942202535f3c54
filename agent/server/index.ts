export { Server } from './server.js';
export type { ApplyOptions, ServerOptions, RegisterJobResult, EvalTypeCounters, LeadershipOptions } from './server.js';
export { parseServerConfig } from './config.js';
export type { ServerAgentConfig } from './config.js';
export { startClusterServer, encodeCommand, decodeCommand, encodeRestore, EntryTag, MaxRestorePadding } from './cluster.js';
export type { ClusterServer, ClusterServerOptions } from './cluster.js';
export { Leadership } from './leader.js';
export type { LeadershipOptions as ClusterLeadershipOptions } from './leader.js';
// issue 6: gossip membership of cluster servers.
export { Membership } from './membership.js';
export type { MembershipOptions, RaftMembershipHooks, ServerMember } from './membership.js';
