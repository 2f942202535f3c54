/**
 * The gossip protocol's pure core: SWIM + Lifeguard membership over injected Clock, Rng and
 * Transport. No I/O, no wall clock, no ambient randomness (eslint-enforced).
 */
export { Memberlist } from './memberlist.js';
export type { GossipStats, MemberlistDeps } from './memberlist.js';
export { DEFAULT_CONFIG, TAG, resolveConfig, serverTags } from './types.js';
export type { Member, MemberEvent, MemberStatus, MemberlistConfig, PushPullState, Tags } from './types.js';
export type { DropReason, OpenResult, Sealer, Transport, TransportHandlers } from './transport.js';
export { suspicionTimeout, suspicionTotal, Suspicion } from './suspicion.js';
export { BroadcastQueue, retransmitLimit } from './broadcast.js';
export { Awareness } from './awareness.js';
export { decodePacket, decodeStream, encodeMessage, encodeStream, framePacket, FORMAT_JSON_V1 } from './codec.js';
