/**
 * RaftNode: the driver around the pure core (etcd raftexample's loop). It owns the effects:
 * a Clock timer ticks the core; every Ready is handled strictly in order —
 *   1. persist the snapshot, entries and hard state in one storage save (one group-committed
 *      fsync; everything proposed while the previous fsync ran rides in this one),
 *   2. send the messages (after the save: nothing is promised to a peer before it is durable;
 *      only a leader's appends leave earlier, in parallel with its own fsync),
 *   3. restore a received snapshot into the state machine, apply the committed entries and
 *      resolve the proposals waiting for them with their index (or fail them when another
 *      term's entry took their index), serve ReadIndex reads whose index is applied,
 *   4. advance the core;
 * then, when the log has grown past the threshold since the last snapshot, snapshot the state
 * machine and compact.
 *
 * Back-pressure: at most `maxPendingProposals` proposals wait for commit; one more is refused at
 * once with `resource_exhausted` (gRPC RESOURCE_EXHAUSTED). A proposal not committed within
 * `proposalTimeoutMs` fails with `timeout` (gRPC DEADLINE_EXCEEDED) instead of hanging.
 */
import type { Clock, Rng, TimerHandle } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { Entry, HardState, Message, RaftStatus, Ready, ServerId, SoftState } from '../core/index.js';
import { RawNode } from '../core/index.js';
import type { Transport } from '../transport/index.js';
import { raftTrace, raftTraceOn } from '../transport/index.js';
import type { RaftStorage } from './storage.js';

/** The replicated state machine as the driver sees it. */
export interface StateMachine<R = unknown> {
  /** Apply the command of the committed 'normal' entry at `index`; the result goes to its proposer.
   * A thrown error is the proposer's error: the entry still consumed its index, everywhere alike. */
  apply(index: number, data: Uint8Array): R;
  /** The whole state, for a snapshot taken at the last applied index. */
  snapshot(): Uint8Array;
  /** Replace the state with a snapshot's image (taken at `index`). */
  restore(data: Uint8Array, index: number): void;
}

export interface RaftNodeOptions<R> {
  id: ServerId;
  storage: RaftStorage;
  transport: Transport;
  fsm: StateMachine<R>;
  clock: Clock;
  rng: Rng;
  /** Milliseconds per core tick (default 100, Nomad's raft_multiplier 1); heartbeats every tick. */
  tickMs?: number;
  /** Ticks without a leader before an election (default 10: 1-2 s with the randomisation). */
  electionTick?: number;
  /** Proposals waiting for commit before new ones are refused (default 4096). */
  maxPendingProposals?: number;
  /** A proposal not committed within this fails with `timeout` (default 10 s). */
  proposalTimeoutMs?: number;
  /** Snapshot once this many entries were applied since the last snapshot (default 8192). */
  snapshotThreshold?: number;
  /**
   * A leader whose commit index moved tells caught-up followers after this many milliseconds
   * unless an append carried it meanwhile (default 5; 0 = at once, with an empty append each).
   * Under steady writes the next append carries it and the empty appends and their answers are
   * saved; an idle follower learns a commit (and applies it) this much later.
   */
  commitFlushMs?: number;
  /** Called after every Ready with a new leader or role. */
  onSoftState?: (s: SoftState) => void;
  /** Called after each entry is applied (any type), with the applied index. */
  onApplied?: (index: number) => void;
  log?: (line: string) => void;
}

export interface ProposalResult<R> {
  index: number;
  result: R;
}

interface PendingProposal<R> {
  index: number;
  term: number;
  resolve: (r: ProposalResult<R>) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

interface PendingRead {
  resolve: (index: number) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
  /** Set once the core answered with a read point. */
  index?: number;
}

export class RaftNode<R = unknown> {
  readonly id: ServerId;
  private readonly raw: RawNode;
  private readonly storage: RaftStorage;
  private readonly transport: Transport;
  private readonly fsm: StateMachine<R>;
  private readonly clock: Clock;
  private readonly tickMs: number;
  private readonly maxPending: number;
  private readonly proposalTimeoutMs: number;
  private readonly snapshotThreshold: number;
  private readonly opts: RaftNodeOptions<R>;
  private readonly pending = new Map<number, PendingProposal<R>>();
  /** When (clock ms) a message from the leader this server follows last arrived; -1: never. */
  private leaderContactAt = -1;
  private readonly reads = new Map<string, PendingRead>();
  private readSeq = 0;
  private tickTimer: TimerHandle | undefined;
  private commitTimer: TimerHandle | undefined;
  private readonly commitFlushMs: number;
  private processing = false;
  private again = false;
  private stopped = true;
  private appliedIndex: number;
  private snapshotIndex: number;
  private soft: SoftState = { leader: '', role: 'follower' };
  private failure: Error | undefined;
  private idleWaiters: Array<() => void> = [];
  /** A commit-index-only hard state not yet written (it goes with the next save). */
  private unsavedHardState: HardState | undefined;

  constructor(opts: RaftNodeOptions<R>) {
    this.opts = opts;
    this.id = opts.id;
    this.storage = opts.storage;
    this.transport = opts.transport;
    this.fsm = opts.fsm;
    this.clock = opts.clock;
    this.tickMs = opts.tickMs ?? 100;
    this.maxPending = opts.maxPendingProposals ?? 4096;
    this.proposalTimeoutMs = opts.proposalTimeoutMs ?? 10_000;
    this.snapshotThreshold = opts.snapshotThreshold ?? 8192;
    this.commitFlushMs = opts.commitFlushMs ?? 5;
    // The state machine starts from the newest snapshot; committed entries after it are replayed.
    const snap = opts.storage.snapshot();
    if (snap.meta.index > 0) opts.fsm.restore(snap.data, snap.meta.index);
    this.appliedIndex = snap.meta.index;
    this.snapshotIndex = snap.meta.index;
    this.raw = new RawNode({
      id: opts.id,
      storage: opts.storage,
      rng: opts.rng,
      electionTick: opts.electionTick ?? 10,
      heartbeatTick: 1,
      maxUncommittedEntries: this.maxPending,
      applied: snap.meta.index,
      deferCommitBroadcast: this.commitFlushMs > 0,
    });
  }

  /** Start ticking and taking messages. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.transport.onMessage((m) => this.step(m));
    this.transport.onConnectionLost?.((peer) => {
      if (this.stopped) return;
      raftTrace(`lost-${peer}`, this.raw.status().term);
      this.raw.connectionLost(peer);
      this.kick();
    });
    this.scheduleTick();
    this.kick();
  }

  /** Stop ticking; waiting proposals and reads fail with `unavailable`. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.tickTimer?.cancel();
    this.commitTimer?.cancel();
    this.transport.onMessage(() => {});
    this.transport.onConnectionLost?.(() => {});
    await this.idle();
    this.failAll(new NomadError('unavailable', `raft server ${this.id} is shutting down`));
  }

  /** Resolves when no Ready is being processed. */
  idle(): Promise<void> {
    if (!this.processing) return Promise.resolve();
    return new Promise((res) => this.idleWaiters.push(res));
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.tickTimer = this.clock.setTimer(this.tickMs, () => {
      this.raw.tick();
      this.kick();
      this.scheduleTick();
    });
  }

  private step(m: Message): void {
    if (this.stopped) return;
    this.raw.step(m);
    // Only the leader sends appends, heartbeats and snapshots; a stale leader's are answered
    // with a rejection and leave the follower's leader unchanged, so they do not count.
    if ((m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') && this.raw.leader() === m.from) this.leaderContactAt = this.clock.now();
    this.kick();
  }

  /**
   * How long ago this server last heard from its leader, in ms (Nomad's LastContact): 0 on
   * the leader itself, -1 when it has never heard from one. A stale read's answer is at most
   * about this old.
   */
  lastContactMs(): number {
    if (this.soft.role === 'leader') return 0;
    if (this.leaderContactAt < 0) return -1;
    return Math.max(0, this.clock.now() - this.leaderContactAt);
  }

  /** Start an election now (a single-server cluster's bootstrap, tests). */
  campaign(): void {
    this.raw.campaign();
    this.kick();
  }

  /** The leader's id as this server knows it ('' = none known). */
  leader(): ServerId {
    return this.soft.leader;
  }

  isLeader(): boolean {
    return this.soft.role === 'leader';
  }

  status(): RaftStatus {
    return this.raw.status();
  }

  applied(): number {
    return this.appliedIndex;
  }

  pendingProposals(): number {
    return this.pending.size;
  }

  storageStats(): { syncs: number; entries: number } {
    return this.storage.stats();
  }

  /**
   * Append `data` to the replicated log (leader only) and resolve with its index and the state
   * machine's result once applied here. Refused at once: `unavailable` on a follower (the
   * message names the leader when known), `resource_exhausted` when the queue is full.
   */
  propose(data: Uint8Array): Promise<ProposalResult<R>> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.stopped) return Promise.reject(new NomadError('unavailable', `raft server ${this.id} is not running`));
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new NomadError('resource_exhausted', `raft server ${this.id}: ${this.pending.size} proposals are waiting for commit (limit ${this.maxPending}); retry later`));
    }
    const r = this.raw.propose(data);
    if (r instanceof NomadError) return Promise.reject(r);
    raftTrace('propose', r.index);
    return new Promise<ProposalResult<R>>((resolve, reject) => {
      const timer = this.clock.setTimer(this.proposalTimeoutMs, () => {
        if (this.pending.get(r.index)?.timer !== timer) return;
        this.pending.delete(r.index);
        reject(new NomadError('timeout', `raft server ${this.id}: entry ${r.index} was not committed within ${this.proposalTimeoutMs} ms (no quorum?)`));
      });
      this.pending.set(r.index, { index: r.index, term: r.term, resolve, reject, timer });
      this.kick();
    });
  }

  /**
   * A linearizable read point: resolves with an index once this server has applied at least the
   * leader's commit index as of a quorum-confirmed moment after the call (ReadIndex). Read the
   * state machine then.
   */
  readIndex(timeoutMs = this.proposalTimeoutMs): Promise<number> {
    if (this.stopped) return Promise.reject(new NomadError('unavailable', `raft server ${this.id} is not running`));
    const ctx = `${this.id}/${++this.readSeq}`;
    const err = this.raw.readIndex(ctx);
    if (err !== undefined) return Promise.reject(err);
    return new Promise<number>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        if (!this.reads.delete(ctx)) return;
        reject(new NomadError('timeout', `raft server ${this.id}: no read point within ${timeoutMs} ms (no quorum?)`));
      });
      this.reads.set(ctx, { resolve, reject, timer });
      this.kick();
    });
  }

  /** Hand leadership to `id` (forwarded to the leader when asked of a follower). */
  transferLeadership(id: ServerId): void {
    const err = this.raw.transferLeader(id);
    if (err !== undefined) throw err;
    this.kick();
  }

  /** Propose a single-server membership change (leader only); resolves once applied. */
  proposeConfChange(cc: { type: 'add-voter' | 'add-learner' | 'remove'; id: ServerId }): Promise<number> {
    const r = this.raw.proposeConfChange(cc);
    if (r instanceof NomadError) return Promise.reject(r);
    return new Promise<number>((resolve, reject) => {
      const timer = this.clock.setTimer(this.proposalTimeoutMs, () => {
        if (this.pending.get(r.index)?.timer !== timer) return;
        this.pending.delete(r.index);
        reject(new NomadError('timeout', `membership change at ${r.index} was not committed within ${this.proposalTimeoutMs} ms`));
      });
      this.pending.set(r.index, { index: r.index, term: r.term, resolve: (p) => resolve(p.index), reject, timer });
      this.kick();
    });
  }

  /** Process Readies until none is left; one loop at a time. */
  private kick(): void {
    if (this.processing) {
      this.again = true;
      return;
    }
    if (!this.raw.hasReady()) return;
    this.processing = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (this.raw.hasReady()) {
          const rd = this.raw.ready();
          await this.handle(rd);
        }
        await this.maybeSnapshot();
      } while (this.again && this.raw.hasReady());
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.opts.log?.(`raft server ${this.id}: stopped after a failure: ${this.failure.message}`);
      this.stopped = true;
      this.tickTimer?.cancel();
      this.failAll(this.failure);
    } finally {
      this.processing = false;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
    if (!this.stopped && this.raw.hasReady()) this.kick();
  }

  private async handle(rd: Ready): Promise<void> {
    // 0. A leader's appends go out before its own fsync (Raft thesis 10.2.1): its commit index
    // moves only on followers' acknowledgements of what they persisted, and nothing committed is
    // applied here, nor a new commit index sent, before this Ready's save completes (the next
    // Ready is made only after it). Every other message waits for the save.
    if (raftTraceOn) {
      if (rd.entries.length > 0) raftTrace('rd-ent', rd.entries[rd.entries.length - 1]!.index);
      if (rd.committedEntries.length > 0) raftTrace('rd-commit', rd.committedEntries[rd.committedEntries.length - 1]!.index);
    }
    const leading = (rd.softState ?? this.soft).role === 'leader';
    const early = leading ? rd.messages.filter((m) => m.type === 'app') : [];
    if (early.length > 0) this.transport.send(early);
    const later = early.length > 0 ? rd.messages.filter((m) => m.type !== 'app') : rd.messages;
    // 1. Persist.
    if (!rd.mustSync && rd.snapshot === undefined && rd.entries.length === 0 && rd.hardState !== undefined) {
      // Only the commit index moved: nothing sent or applied depends on it being durable (a
      // restarted server re-learns it from the leader), so it rides with the next save instead
      // of costing an fsync of its own.
      this.unsavedHardState = rd.hardState;
    } else if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
      const hardState = rd.hardState ?? this.unsavedHardState;
      this.unsavedHardState = undefined;
      await this.storage.save({
        ...(rd.snapshot !== undefined ? { snapshot: rd.snapshot } : {}),
        ...(rd.entries.length > 0 ? { entries: rd.entries } : {}),
        ...(hardState !== undefined ? { hardState } : {}),
      });
    }
    if (raftTraceOn && rd.entries.length > 0) raftTrace('saved', rd.entries[rd.entries.length - 1]!.index);
    // 2. Send.
    if (later.length > 0) this.transport.send(later);
    if (rd.softState !== undefined) {
      const lostLeadership = this.soft.role === 'leader' && rd.softState.role !== 'leader';
      this.soft = rd.softState;
      raftTrace(`role-${rd.softState.role}-${rd.softState.leader || 'none'}`, this.raw.status().term);
      if (lostLeadership) this.failReads(new NomadError('unavailable', `raft server ${this.id} lost leadership`));
      this.opts.onSoftState?.(rd.softState);
    }
    // 3. Apply.
    if (rd.snapshot !== undefined) {
      this.fsm.restore(rd.snapshot.data, rd.snapshot.meta.index);
      this.appliedIndex = rd.snapshot.meta.index;
      this.snapshotIndex = rd.snapshot.meta.index;
      for (const [index, p] of this.pending) {
        if (index <= rd.snapshot.meta.index) this.settle(p, undefined, new NomadError('unavailable', `entry ${index} was superseded by a snapshot from the leader; its outcome is unknown`));
      }
    }
    for (const e of rd.committedEntries) this.applyEntry(e);
    for (const rs of rd.readStates) {
      const r = this.reads.get(rs.ctx);
      if (r !== undefined) r.index = rs.index;
    }
    this.serveReads();
    // 4. Advance.
    this.raw.advance(rd);
    // The flush waits for commitFlushMs without a new commit (each commit restarts the wait): under
    // steady writes the next append always carries the commit index and nothing extra is sent.
    if (!this.stopped && this.raw.commitPending() && (this.commitTimer === undefined || rd.committedEntries.length > 0)) {
      this.commitTimer?.cancel();
      this.commitTimer = this.clock.setTimer(this.commitFlushMs, () => {
        this.commitTimer = undefined;
        if (this.stopped) return;
        this.raw.flushCommit();
        this.kick();
      });
    }
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.appliedIndex) return;
    let result: R | undefined;
    let error: Error | undefined;
    if (e.type === 'normal') {
      try {
        result = this.fsm.apply(e.index, e.data);
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
    }
    this.appliedIndex = e.index;
    const p = this.pending.get(e.index);
    if (p !== undefined) {
      if (p.term !== e.term) this.settle(p, undefined, new NomadError('unavailable', `entry ${e.index} was replaced by another leader's entry (leadership changed); it was not applied`));
      else this.settle(p, result, error);
      raftTrace('settled', e.index);
    }
    this.opts.onApplied?.(e.index);
  }

  private settle(p: PendingProposal<R>, result: R | undefined, error: Error | undefined): void {
    this.pending.delete(p.index);
    p.timer.cancel();
    if (error !== undefined) p.reject(error);
    else p.resolve({ index: p.index, result: result as R });
  }

  private serveReads(): void {
    for (const [ctx, r] of this.reads) {
      if (r.index !== undefined && r.index <= this.appliedIndex) {
        this.reads.delete(ctx);
        r.timer.cancel();
        r.resolve(r.index);
      }
    }
  }

  private async maybeSnapshot(): Promise<void> {
    if (this.appliedIndex - this.snapshotIndex < this.snapshotThreshold) return;
    const index = this.appliedIndex;
    // The durable commit index must not trail the snapshot (a restart would find it below the log's start).
    if (this.unsavedHardState !== undefined) {
      const hardState = this.unsavedHardState;
      this.unsavedHardState = undefined;
      await this.storage.save({ hardState });
    }
    const data = this.fsm.snapshot();
    const snap = this.raw.compact(index, data);
    if (snap instanceof NomadError) {
      this.opts.log?.(`raft server ${this.id}: snapshot at ${index} skipped: ${snap.message}`);
      this.snapshotIndex = index;
      return;
    }
    await this.storage.createSnapshot(snap.meta.index, snap.meta.conf, data);
    this.snapshotIndex = index;
  }

  private failReads(err: Error): void {
    for (const r of this.reads.values()) {
      r.timer.cancel();
      r.reject(err);
    }
    this.reads.clear();
  }

  private failAll(err: Error): void {
    for (const p of [...this.pending.values()]) this.settle(p, undefined, err);
    this.failReads(err);
  }
}
