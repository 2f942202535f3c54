/**
 * The RPC adapter layer: the only module that sees the generated protobuf types of
 * package nomadts.v1 (proto/, generated into proto/gen by `npm run proto:gen`). Everything
 * here converts between those wire types and the domain types of agent/core/structs in
 * `xToProto`/`xFromProto` pairs. Conversions are lossless for every domain field; decoding
 * refuses an unknown enum value, a missing required message or id, or malformed bytes with a
 * NomadError (code `invalid_argument`) whose `field` is the domain path of the bad field.
 */
export { jobToProto, jobFromProto } from './job.js';
export { nodeToProto, nodeFromProto } from './node.js';
export {
  allocToProto,
  allocFromProto,
  allocMetricToProto,
  allocMetricFromProto,
  taskStateToProto,
  taskStateFromProto,
  allocClientUpdateToProto,
  allocClientUpdateFromProto,
} from './alloc.js';
export { evalToProto, evalFromProto } from './eval.js';
export { deploymentToProto, deploymentFromProto, deploymentStatusUpdateToProto, deploymentStatusUpdateFromProto } from './deployment.js';
export { schedulerConfigToProto, schedulerConfigFromProto, periodicLaunchToProto, periodicLaunchFromProto } from './operator.js';
export {
  desiredUpdatesToProto,
  desiredUpdatesFromProto,
  planAnnotationsToProto,
  planAnnotationsFromProto,
  summarizePlanResult,
  planResultSummaryToProto,
  planResultSummaryFromProto,
} from './plan.js';
export type { PlanResultSummary } from './plan.js';
export { eventToProto, eventFromProto, topicFilterToProto, topicFilterFromProto } from './event.js';
export {
  decodeWire,
  encodeWire,
  encodeJob,
  decodeJob,
  encodeNode,
  decodeNode,
  encodeAlloc,
  decodeAlloc,
  encodeEval,
  decodeEval,
  encodeDeployment,
  decodeDeployment,
  encodeEvent,
  decodeEvent,
} from './wire.js';
export type { WireCodec } from './wire.js';
export { startRpcServer, toServiceError, ReadRoles, WriteRoles, MaxMessageBytes, ChannelOptions, ErrorCodeKey, ErrorFieldKey } from './server.js';
export type { StartRpcServerOptions, RpcServerHandle, RpcServerTls } from './server.js';
export { RpcApiClient, fromServiceError } from './client.js';
export type { RpcClientOptions, EventBatch } from './client.js';
export { addClientService, startAgentRpcServer, ClientRoles } from './client-server.js';
export type { AddClientServiceOptions } from './client-server.js';
export { ClientRpcClient } from './node-client.js';
