/**
 * The Raft core's contract: log entries, persistent state, messages, the Ready batch and the
 * storage the core reads from. The core (raft.ts, rawnode.ts) is a pure state machine: the
 * driver (agent/raft/node) persists `Ready.entries`/`hardState`/`snapshot`, then sends
 * `Ready.messages`, then applies `Ready.committedEntries`, then calls `advance(ready)`.
 *
 * Server ids are strings; '' means "none" (no vote, no known leader).
 */

export type ServerId = string;

/** '' = none. */
export const NONE: ServerId = '';

export type EntryType = 'normal' | 'conf-change' | 'noop';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** A 'normal' entry's command; a 'conf-change' entry holds encodeConfChange(cc); 'noop' is empty. */
  readonly data: Uint8Array;
}

/** What must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** The candidate voted for in `term`; '' = none. */
  readonly vote: ServerId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly ServerId[];
  /** Non-voting members: replicated to, never counted in a quorum, never campaign. */
  readonly learners: readonly ServerId[];
  /** Learners added by an 'add-voter' change: the leader promotes each (proposes 'add-voter')
   * once its match index is within `learnerPromotionLag` of the leader's last index. Part of the
   * membership so a new leader carries on. Absent = none. */
  readonly promoting?: readonly ServerId[];
}

export interface SnapshotMeta {
  /** The last log index the snapshot covers. */
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's image (opaque to the core). */
  readonly data: Uint8Array;
}

export type ConfChangeType = 'add-voter' | 'add-learner' | 'remove';

/**
 * A single-server membership change. 'add-voter' of a server that is not yet a member first adds
 * it as a learner (listed in ConfState.promoting); the leader promotes it when it has caught up.
 * 'add-voter' of an existing learner promotes it directly. 'remove' removes a voter or learner.
 */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly id: ServerId;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

/** Volatile state the driver may want to react to (leader changes). */
export interface SoftState {
  /** '' = unknown. */
  readonly leader: ServerId;
  readonly role: Role;
}

/** A linearizable read point: once `applied >= index`, serve the read identified by `ctx`. */
export interface ReadState {
  readonly index: number;
  readonly ctx: string;
}

interface MessageBase {
  readonly from: ServerId;
  readonly to: ServerId;
  /** The sender's term (for 'prevote', the term it would campaign at). */
  readonly term: number;
}

/** AppendEntries: entries follow (index, logTerm), the leader's commit piggybacks. */
export interface AppMessage extends MessageBase {
  readonly type: 'app';
  /** Index and term of the entry immediately preceding `entries`. */
  readonly index: number;
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppRespMessage extends MessageBase {
  readonly type: 'app-resp';
  /** On success: the last index now matching the leader's log. On reject: the rejected `index`. */
  readonly index: number;
  readonly reject: boolean;
  /** On reject: a hint for where the follower's log may match (its last index, or an earlier
   * index whose term is <= `logTerm`), so the leader can skip back quickly. */
  readonly rejectHint: number;
  /** On reject: the follower's term at `rejectHint`. */
  readonly logTerm: number;
}

export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'prevote';
  /** The candidate's last log index and term. */
  readonly index: number;
  readonly logTerm: number;
  /** Set when a leadership transfer caused this campaign: voters ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteRespMessage extends MessageBase {
  readonly type: 'vote-resp' | 'prevote-resp';
  readonly reject: boolean;
}

export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  /** min(leader commit, the follower's match index): never ahead of what the follower has. */
  readonly commit: number;
  /** A ReadIndex round's context, '' when none. */
  readonly ctx: string;
}

export interface HeartbeatRespMessage extends MessageBase {
  readonly type: 'heartbeat-resp';
  readonly ctx: string;
}

/** One chunk of InstallSnapshot. Chunks of one snapshot share `meta`; `offset` is the chunk's
 * byte position in the snapshot data, `done` marks the last chunk. */
export interface SnapMessage extends MessageBase {
  readonly type: 'snap';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly chunk: Uint8Array;
  readonly done: boolean;
}

/** Acknowledges snapshot chunks: `offset` is the next byte the follower expects. A finished
 * snapshot is acknowledged with an 'app-resp' at the snapshot's index instead. */
export interface SnapRespMessage extends MessageBase {
  readonly type: 'snap-resp';
  readonly index: number;
  readonly offset: number;
  readonly reject: boolean;
}

/** Leader → transfer target: campaign now, ignoring the election timer. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeout-now';
}

/** Follower → leader: a ReadIndex request on behalf of the follower's client. */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'read-index';
  readonly ctx: string;
}

/** Leader → follower: the read point for `ctx` (`reject` when the leader could not serve it). */
export interface ReadIndexRespMessage extends MessageBase {
  readonly type: 'read-index-resp';
  readonly ctx: string;
  readonly index: number;
  readonly reject: boolean;
}

/** Follower → leader: please transfer leadership to `target`. */
export interface TransferLeaderMessage extends MessageBase {
  readonly type: 'transfer-leader';
  readonly target: ServerId;
}

export type Message =
  | AppMessage
  | AppRespMessage
  | VoteMessage
  | VoteRespMessage
  | HeartbeatMessage
  | HeartbeatRespMessage
  | SnapMessage
  | SnapRespMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexRespMessage
  | TransferLeaderMessage;

export type MessageType = Message['type'];

/**
 * One batch of work for the driver. Order: persist `snapshot`, `entries`, `hardState` (fsync when
 * `mustSync`), then send `messages`, then apply `committedEntries` (after restoring `snapshot`
 * into the state machine if present), then `advance(ready)`.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  /** New log entries to append (they may overwrite a conflicting suffix from their first index). */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader, to persist and restore. */
  readonly snapshot?: Snapshot;
  readonly messages: readonly Message[];
  /** Committed entries to apply, in order. */
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** True when `entries`, `hardState.term/vote` or `snapshot` changed: fsync before sending. */
  readonly mustSync: boolean;
}

/**
 * The persisted log as the core reads it. Entries in [firstIndex, lastIndex] are readable;
 * firstIndex - 1 is the snapshot's index (its term is still known). Reads are synchronous:
 * a durable implementation keeps an index (and may cache) in memory.
 */
export interface LogStorage {
  /** Persisted hard state and membership (as of the snapshot, or the bootstrap configuration). */
  initialState(): { hardState: HardState; conf: ConfState };
  firstIndex(): number;
  lastIndex(): number;
  /** The term of entry `index`, for firstIndex - 1 <= index <= lastIndex; undefined outside. */
  term(index: number): number | undefined;
  /** Entries in [lo, hi) (firstIndex <= lo <= hi <= lastIndex + 1), stopping once their data
   * exceeds maxBytes (always at least one entry when lo < hi). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The latest snapshot (index 0 and empty data when none). */
  snapshot(): Snapshot;
}

export interface ProgressStatus {
  readonly id: ServerId;
  readonly voter: boolean;
  readonly match: number;
  readonly next: number;
  /** Leader's last index - match. */
  readonly lag: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  /** True when the leader heard from this peer within the last election timeout. */
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: ServerId;
  readonly role: Role;
  readonly term: number;
  readonly vote: ServerId;
  readonly leader: ServerId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  /** Per-peer replication progress (leader only; empty elsewhere). */
  readonly progress: readonly ProgressStatus[];
  /** Set while a leadership transfer is in flight. */
  readonly transferee: ServerId;
}

import type { Rng } from '../../core/lib/index.js';
import type { NomadError } from '../../core/lib/index.js';

export interface RaftConfig {
  readonly id: ServerId;
  readonly storage: LogStorage;
  /** Randomises the election timeout in [electionTick, 2 * electionTick). */
  readonly rng: Rng;
  /** Ticks without hearing from a leader before campaigning (default 10). */
  readonly electionTick?: number;
  /** Ticks between leader heartbeats (default 1). */
  readonly heartbeatTick?: number;
  /** Campaign in a pre-vote round first, so a partitioned server cannot disrupt (default true). */
  readonly preVote?: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down; followers
   * with a live leader ignore vote requests (leader lease) (default true). */
  readonly checkQuorum?: boolean;
  /** Upper bound on the entry bytes in one 'app' message (default 1 MiB; at least one entry). */
  readonly maxSizePerMsg?: number;
  /** Append messages in flight per follower in the replicate state (default 256). */
  readonly maxInflightMsgs?: number;
  /** Proposals appended but not yet committed on the leader; `propose` answers
   * 'resource_exhausted' once this many are pending (default 4096). */
  readonly maxUncommittedEntries?: number;
  /** Snapshot bytes per 'snap' message (default 1 MiB). */
  readonly snapshotChunkSize?: number;
  /** A promoting learner becomes a voter once leader.lastIndex - match <= this (default 16). */
  readonly learnerPromotionLag?: number;
  /** The index the state machine has applied (on restart); default the snapshot's index. */
  readonly applied?: number;
  /**
   * A leader whose commit index moved tells followers that have nothing more to receive only when
   * the driver calls flushCommit() (or with the next append or heartbeat), instead of at once with
   * an empty append each (default false: at once). The driver waits a moment first, so that under
   * steady writes the next append carries the commit index and the empty appends (and their
   * answers) are saved.
   */
  readonly deferCommitBroadcast?: boolean;
}

export interface ProposeResult {
  /** The log index the proposal was appended at; it is applied when an entry with this index
   * and term comes out in committedEntries (a different term there means it was lost). */
  readonly index: number;
  readonly term: number;
}

/** The core's API (implemented by RawNode). Errors are returned as values, never thrown. */
export interface RawNodeApi {
  /** One logical clock tick (the driver ticks every heartbeat interval / heartbeatTick). */
  tick(): void;
  /** Feed a message from a peer (unknown senders and stale terms are dropped). */
  step(m: Message): NomadError | undefined;
  /** Leader only: append a command. 'unavailable' (with the leader's id when known) on a
   * non-leader or during a leadership transfer; 'resource_exhausted' when the queue is full. */
  propose(data: Uint8Array): ProposeResult | NomadError;
  /** Leader only; one change pending at a time ('conflict' while another is uncommitted/unapplied). */
  proposeConfChange(cc: ConfChange): ProposeResult | NomadError;
  /** Hand leadership to `id` (a voter); on a follower the request is forwarded to the leader. */
  transferLeader(id: ServerId): NomadError | undefined;
  /** Ask for a linearizable read point; it comes back as a ReadState with the same ctx. */
  readIndex(ctx: string): NomadError | undefined;
  /** Start an election now (tests, bootstrap of a single server). */
  campaign(): void;
  /** With deferCommitBroadcast: true when followers have a commit index to learn that no message carried yet. */
  commitPending(): boolean;
  /** With deferCommitBroadcast: send the commit index now to the followers that have not had it. */
  flushCommit(): void;
  /** The connection to `id` broke (its process may have died): a follower of `id` campaigns
   * within a few ticks instead of a whole election timeout (Raft.connectionLost). */
  connectionLost(id: ServerId): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(rd: Ready): void;
  /** The snapshot to persist for the state machine's image `data` taken at applied index
   * `index`; the driver stores it and then drops the log up to `index`. */
  compact(index: number, data: Uint8Array): Snapshot | NomadError;
  status(): RaftStatus;
}
