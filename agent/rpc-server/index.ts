/**
 * agent/rpc-server: the gRPC servers of an agent. The public API (startRpcServer: agent/service
 * ApiService behind mutual TLS) and the client agents' ClientService on the same listener
 * (addClientService, startAgentRpcServer). Wire conversions come from agent/rpc; this module is
 * kept apart from it so the API client (and the CLI) never load the server side.
 */
export { startRpcServer, toServiceError, withNoDelay, ReadRoles, WriteRoles } from './server.js';
export type { AllocLogReadOptions, AllocLogSource, AllocTaskControl, AllocLogStream, UsageSource, StartRpcServerOptions, RpcServerHandle, RpcServerTls } from './server.js';
export { addClientService, startAgentRpcServer, ClientRoles } from './client-server.js';
export type { AddClientServiceOptions } from './client-server.js';
