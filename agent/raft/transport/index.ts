/**
 * agent/raft/transport: carrying the Raft core's messages between servers. `Transport` is what
 * the node driver uses (send / onMessage); GrpcTransport speaks RaftService over mutual TLS
 * (server certificates of this region only, a bounded window of batches per peer), MemoryNetwork
 * is an in-memory network with partitions and loss for tests. Wire conversion: convert.ts.
 */
export type { Transport, TransportStats, MessageHandler } from './transport.js';
export { GrpcTransport, RaftServerOptions } from './grpc.js';
export type { GrpcTransportOptions } from './grpc.js';
export { MemoryNetwork, MemoryTransport } from './memory.js';
export type { MemoryNetworkOptions } from './memory.js';
export { messageToProto, messageFromProto, entryToProto, entryFromProto } from './convert.js';
export { addClusterService, ClusterClient } from './cluster.js';
export type { ClusterHandlers, ClusterMember, ClusterPeer, ClusterRaftStatus, AddClusterServiceOptions } from './cluster.js';
export type { RemoteEvalDelivery } from './cluster.js'; // issue 5 §4: workers on every server
export { decodeSnapshotFile, encodeSnapshotFile, MaxRestoreBytes, SnapshotFileFormat, SnapshotFileVersion } from './snapshot-file.js';
export type { SnapshotFileInfo } from './snapshot-file.js';
export type { SnapshotRestoreResult } from './cluster.js';
export { addProposeService, ProposeClient } from './propose.js';
export type { AddProposeServiceOptions } from './propose.js';
export { raftTrace, raftTraceOn } from './trace.js';
