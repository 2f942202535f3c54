export { Server } from './server.js';
export type { ServerOptions, RegisterJobResult } from './server.js';
export { parseServerConfig } from './config.js';
export type { ServerAgentConfig } from './config.js';
export { startClusterServer, encodeCommand, decodeCommand, EntryTag } from './cluster.js';
export type { ClusterServer, ClusterServerOptions } from './cluster.js';
export { Leadership } from './leader.js';
export type { LeadershipOptions } from './leader.js';
