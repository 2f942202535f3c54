/** agent/raft/core: the pure Raft state machine (no I/O, no clock, no ambient randomness). */
export type {
  ServerId, EntryType, Entry, HardState, ConfState, SnapshotMeta, Snapshot, ConfChangeType, ConfChange,
  Role, SoftState, ReadState, Message, MessageType, AppMessage, AppRespMessage, VoteMessage, VoteRespMessage,
  HeartbeatMessage, HeartbeatRespMessage, SnapMessage, SnapRespMessage, TimeoutNowMessage, ReadIndexMessage,
  ReadIndexRespMessage, TransferLeaderMessage, Ready, LogStorage, ProgressStatus, RaftStatus, RaftConfig,
  ProposeResult, RawNodeApi,
} from './types.js';
export { NONE } from './types.js';
export { MemoryStorage, limitSize } from './storage.js';
export { encodeConfChange, decodeConfChange, applyChange } from './confchange.js';
export type { ConfChangeEntry } from './confchange.js';
export { RawNode } from './rawnode.js';
export { formatEntry, formatMessage } from './format.js';
