/**
 * The RPC adapter layer: the only module that sees the generated protobuf types of
 * package nomadts.v1 (proto/, generated into proto/gen by `npm run proto:gen`). Everything
 * here converts between those wire types and the domain types of agent/core/structs in
 * `xToProto`/`xFromProto` pairs. Conversions are lossless for every domain field; decoding
 * refuses an unknown enum value, a missing required message or id, or malformed bytes with a
 * NomadError (code `invalid_argument`) whose `field` is the domain path of the bad field.
 *
 * This module is the client side (converters, the API and node clients): it loads grpc-js and
 * the generated code but nothing of the server, so the CLI starts fast. The gRPC servers live
 * in agent/rpc-server.
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
export { taskUsageToProto, taskUsageFromProto, allocUsageToProto, allocUsageFromProto, nodeUsageToProto, nodeUsageFromProto } from './usage.js';
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
export { eventToProto, eventFromProto, topicFilterToProto, topicFilterFromProto, opsEventToProto, opsEventFromProto, opsFilterToProto, opsFilterFromProto } from './event.js';
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
// Shared with agent/rpc-server (the only other module that sees the wire types).
export { missingField } from './codec.js';
export { evalStatusCodec } from './eval.js';
export { eligibilityCodec } from './node.js';
export { MaxMessageBytes, ChannelOptions, ErrorCodeKey, ErrorFieldKey, clientChannel } from './options.js';
export type { ClientTlsOptions } from './options.js';
export { RpcApiClient, fromServiceError } from './client.js';
export type { ReadMeta } from './client.js';
export type { RpcClientOptions, EventBatch, SubscribeOptions } from './client.js';
export { ClientRpcClient } from './node-client.js';
