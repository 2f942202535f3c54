/**
 * Raft: the protocol state machine (elections with pre-vote and check-quorum, replication with
 * per-follower flow control, chunked snapshots, single-server membership changes, leadership
 * transfer, ReadIndex). It only reacts to step() and tick() and queues messages; RawNode turns
 * its state into Ready batches. Each role has its own step and tick function.
 */
import { NomadError } from '../../core/lib/index.js';
import type { Rng } from '../../core/lib/index.js';
import { applyChange, decodeConfChange, encodeConfChange } from './confchange.js';
import type { ConfChangeEntry } from './confchange.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { copyConf } from './storage.js';
import type {
  AppMessage, AppRespMessage, ConfChange, ConfState, Entry, HardState, HeartbeatMessage, Message, ProposeResult,
  RaftConfig, ReadState, Role, ServerId, SnapMessage, SnapRespMessage, SoftState, VoteMessage, VoteRespMessage,
  ReadIndexMessage, Snapshot, ProgressStatus,
} from './types.js';

const EMPTY = new Uint8Array(0);
/** Ticks between the campaigns of the followers of a leader whose connections broke (connectionLost). */
export const ConnectionLostSpacing = 2;

type StepFn = (r: Raft, m: Message) => void;
type TickFn = (r: Raft) => void;
type CampaignKind = 'pre-election' | 'election' | 'transfer';

/** Messages without their common fields, as built by the role code. */
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Outgoing = DistOmit<Message, 'from' | 'term'> & { term?: number };

interface PendingRead {
  readonly index: number;
  /** Who asked: this server (a local ReadState) or a follower (a read-index-resp). */
  readonly from: ServerId;
  readonly ctx: string;
  readonly acks: Set<ServerId>;
}

export class Raft {
  readonly id: ServerId;
  term = 0;
  vote: ServerId = '';
  lead: ServerId = '';
  role: Role = 'follower';
  readonly log: RaftLog;
  conf: ConfState;
  /** (applied index, membership) pairs for snapshots taken below the latest change. */
  private confHistory: { index: number; conf: ConfState }[] = [];
  readonly prs = new Map<ServerId, Progress>();
  private votes = new Map<ServerId, boolean>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private readonly electionTick: number;
  private readonly heartbeatTick: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly deferCommit: boolean;
  /** deferCommitBroadcast: a commit index that caught-up followers have not been sent yet. */
  commitPending = false;
  readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  private readonly maxUncommitted: number;
  private readonly chunkSize: number;
  private readonly promotionLag: number;
  private readonly rng: Rng;

  electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  leadTransferee: ServerId = '';
  /** Index of the latest conf-change entry on this leader (none may be proposed until applied). */
  private pendingConfIndex = 0;
  /** Proposals were appended since the last broadcast. */
  appendsPending = false;

  // ReadIndex (leader): requests waiting for their heartbeat round, in arrival order.
  private reads: PendingRead[] = [];
  private readSeq = 0;
  /** Read requests received before this leader committed an entry of its term. */
  private readsBeforeCommit: { from: ServerId; ctx: string }[] = [];

  // InstallSnapshot being received (follower).
  private incomingSnap: { meta: Snapshot['meta']; chunks: Uint8Array[]; received: number } | undefined;

  private stepFn: StepFn = stepFollower;
  private tickFn: TickFn = tickElection;

  constructor(cfg: RaftConfig) {
    if (cfg.id === '') throw new NomadError('invalid_argument', 'raft config: id must not be empty', { field: 'id' });
    this.id = cfg.id;
    this.electionTick = cfg.electionTick ?? 10;
    this.heartbeatTick = cfg.heartbeatTick ?? 1;
    if (!(this.heartbeatTick >= 1 && this.electionTick > this.heartbeatTick)) {
      throw new NomadError('invalid_argument', `raft config: electionTick (${this.electionTick}) must be greater than heartbeatTick (${this.heartbeatTick}) >= 1`, { field: 'electionTick' });
    }
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    this.deferCommit = cfg.deferCommitBroadcast ?? false;
    this.maxSizePerMsg = cfg.maxSizePerMsg ?? 1 << 20;
    this.maxInflight = cfg.maxInflightMsgs ?? 256;
    if (this.maxInflight < 1) throw new NomadError('invalid_argument', 'raft config: maxInflightMsgs must be >= 1', { field: 'maxInflightMsgs' });
    this.maxUncommitted = cfg.maxUncommittedEntries ?? 4096;
    this.chunkSize = cfg.snapshotChunkSize ?? 1 << 20;
    if (this.chunkSize < 1) throw new NomadError('invalid_argument', 'raft config: snapshotChunkSize must be >= 1', { field: 'snapshotChunkSize' });
    this.promotionLag = cfg.learnerPromotionLag ?? 16;
    this.rng = cfg.rng;
    this.log = new RaftLog(cfg.storage, cfg.applied);
    const init = cfg.storage.initialState();
    this.conf = copyConf(init.conf);
    const snapIndex = cfg.storage.firstIndex() - 1;
    this.confHistory.push({ index: snapIndex, conf: this.conf });
    // Membership changes already applied by the state machine (between the snapshot and `applied`).
    if (this.log.applied > snapIndex) {
      for (const e of this.log.slice(snapIndex + 1, this.log.applied + 1, Number.MAX_SAFE_INTEGER) ?? []) {
        if (e.type === 'conf-change') this.applyConfChange(decodeConfChange(e.data), e.index);
      }
    }
    this.resetProgress();
    this.term = init.hardState.term;
    this.vote = init.hardState.vote;
    this.becomeFollower(this.term, '');
  }

  // ---------------------------------------------------------------- state

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  isVoter(id: ServerId = this.id): boolean {
    return this.conf.voters.includes(id);
  }

  private quorum(): number {
    return Math.floor(this.conf.voters.length / 2) + 1;
  }

  private resetProgress(): void {
    const members = new Set([...this.conf.voters, ...this.conf.learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    const next = this.log.lastIndex() + 1;
    for (const id of members) {
      const learner = !this.conf.voters.includes(id);
      const pr = new Progress(id, next, learner, this.maxInflight);
      if (id === this.id) pr.match = next - 1;
      this.prs.set(id, pr);
    }
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.electionTick + this.rng.int(this.electionTick);
    this.leadTransferee = '';
    this.commitPending = false;
    this.votes.clear();
    this.resetProgress();
    this.pendingConfIndex = 0;
    this.reads = [];
    this.readCtxs.clear();
    this.readsBeforeCommit = [];
  }

  becomeFollower(term: number, lead: ServerId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
    this.stepFn = stepFollower;
    this.tickFn = tickElection;
  }

  private becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote: a partitioned server cannot inflate terms.
    this.votes.clear();
    this.lead = '';
    this.role = 'pre-candidate';
    this.stepFn = stepCandidate;
    this.tickFn = tickElection;
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.stepFn = stepCandidate;
    this.tickFn = tickElection;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.stepFn = stepLeader;
    this.tickFn = tickHeartbeat;
    for (const pr of this.prs.values()) pr.recentActive = true;
    // Conf changes already in the log may not be applied yet: wait for them (and the no-op).
    this.pendingConfIndex = this.log.lastIndex();
    this.appendEntries([{ index: 0, term: 0, type: 'noop', data: EMPTY }]);
  }

  // ---------------------------------------------------------------- sending

  send(m: Outgoing): void {
    const term = m.term ?? this.term;
    this.msgs.push({ ...m, from: this.id, term });
  }

  /** Send an append (or snapshot) to `to` if its flow control allows; false when nothing sent. */
  sendAppend(to: ServerId, sendIfEmpty = true): boolean {
    const pr = this.prs.get(to);
    if (!pr || to === this.id || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = prevTerm === undefined ? undefined : this.log.slice(pr.next, this.log.lastIndex() + 1, this.maxSizePerMsg);
    if (prevTerm === undefined || ents === undefined) return this.startSnapshot(pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    pr.sentEntries(prevIndex + ents.length, ents.length);
    return true;
  }

  private startSnapshot(pr: Progress): boolean {
    const snap = this.log.snapshot();
    if (snap.meta.index === 0) return false; // nothing compacted: cannot happen with a sane storage
    pr.becomeSnapshot(snap.meta, snap.data);
    this.sendSnapChunks(pr);
    return true;
  }

  /** Stream chunks of the pending snapshot, at most 8 chunks (or maxInflight) unacknowledged. */
  private sendSnapChunks(pr: Progress): void {
    const data = pr.snapData;
    const meta = pr.snapMeta;
    if (!data || !meta) return;
    const window = this.chunkSize * Math.min(this.maxInflight, 8);
    while (!pr.snapDoneSent && pr.snapSent - pr.snapAcked < window) {
      const off = pr.snapSent;
      const end = Math.min(data.length, off + this.chunkSize);
      const done = end === data.length;
      this.send({ type: 'snap', to: pr.id, meta, offset: off, chunk: data.subarray(off, end), done });
      pr.snapSent = end;
      pr.snapDoneSent = done;
    }
  }

  /** Resend the snapshot from byte `offset` (chunks were lost or the follower restarted). */
  private rewindSnap(pr: Progress, offset: number): void {
    pr.snapSent = offset;
    pr.snapDoneSent = false;
  }

  /** Send the appends proposals have been waiting for (batched since the last Ready). */
  flushAppends(): void {
    if (!this.appendsPending) return;
    this.appendsPending = false;
    if (this.role === 'leader') this.bcastAppend();
  }

  private bcastAppend(): void {
    this.commitPending = false;
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /** The commit index moved: followers with entries to receive get them (carrying it) now; the
   * others wait for flushCommit() when deferring (deferCommitBroadcast), else get an empty append. */
  private bcastCommit(): void {
    if (!this.deferCommit) {
      this.bcastAppend();
      return;
    }
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      if (pr.next <= last) this.sendAppend(id);
      else this.commitPending = true;
    }
  }

  flushCommit(): void {
    if (!this.commitPending) return;
    this.commitPending = false;
    if (this.role !== 'leader') return;
    const last = this.log.lastIndex();
    for (const [id, pr] of this.prs) if (id !== this.id && pr.next > last) this.sendAppend(id);
  }

  private bcastHeartbeat(ctx: string): void {
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      const hb: Omit<HeartbeatMessage, 'from' | 'term'> = { type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed), ctx };
      this.send(hb);
    }
  }

  // ---------------------------------------------------------------- leader helpers

  /** Append on the leader (assigning index and term). */
  private appendEntries(ents: Entry[]): number {
    let li = this.log.lastIndex();
    const stamped = ents.map((e) => ({ ...e, index: ++li, term: this.term }));
    this.log.append(stamped);
    this.prs.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
    return li;
  }

  /** Advance commit to the highest index a quorum of voters has (current-term entries only). */
  maybeCommit(): boolean {
    const matches = this.conf.voters.map((id) => this.prs.get(id)?.match ?? 0).sort((a, b) => b - a);
    const q = this.quorum();
    if (matches.length < q) return false;
    const mci = matches[q - 1]!;
    if (!this.log.maybeCommit(mci, this.term)) return false;
    // Only current-term entries commit here, so reads held back until then can proceed.
    if (this.readsBeforeCommit.length > 0) this.releaseReadsBeforeCommit();
    return true;
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  propose(data: Uint8Array): ProposeResult | NomadError {
    const err = this.checkProposable();
    if (err) return err;
    const index = this.appendEntries([{ index: 0, term: 0, type: 'normal', data }]);
    // Sent when the driver next asks for a Ready: proposals in between go out in one append.
    this.appendsPending = true;
    return { index, term: this.term };
  }

  proposeConfChange(cc: ConfChange): ProposeResult | NomadError {
    const err = this.checkProposable();
    if (err) return err;
    if (this.pendingConfIndex > this.log.applied) {
      return new NomadError('conflict', `a membership change (log index ${this.pendingConfIndex}) is still in progress; retry once it is applied`);
    }
    const bad = validateConfChange(this.conf, cc);
    if (bad) return bad;
    // Nothing else changes membership before this entry applies (one change at a time).
    const index = this.appendEntries([{ index: 0, term: 0, type: 'conf-change', data: encodeConfChange(cc, applyChange(this.conf, cc)) }]);
    this.pendingConfIndex = index;
    this.appendsPending = true;
    return { index, term: this.term };
  }

  private checkProposable(): NomadError | undefined {
    if (this.role !== 'leader') {
      return new NomadError('unavailable', this.lead === '' ? 'no Raft leader is known' : `not the Raft leader (the leader is ${this.lead})`);
    }
    if (this.leadTransferee !== '') return new NomadError('unavailable', `leadership is being transferred to ${this.leadTransferee}`);
    const pending = this.log.lastIndex() - this.log.committed;
    if (pending >= this.maxUncommitted) {
      return new NomadError('resource_exhausted', `${pending} proposals are waiting to commit (the limit is ${this.maxUncommitted}); retry later`);
    }
    return undefined;
  }

  /** Learners added by 'add-voter' become voters once caught up. */
  maybePromote(): void {
    if (this.role !== 'leader' || this.leadTransferee !== '' || this.pendingConfIndex > this.log.applied) return;
    for (const id of this.conf.promoting ?? []) {
      const pr = this.prs.get(id);
      if (pr && this.log.lastIndex() - pr.match <= this.promotionLag) {
        this.proposeConfChange({ type: 'add-voter', id });
        return;
      }
    }
  }

  transferLeader(target: ServerId): NomadError | undefined {
    if (this.role !== 'leader') {
      if (this.lead === '') return new NomadError('unavailable', 'no Raft leader is known to transfer leadership from');
      this.send({ type: 'transfer-leader', to: this.lead, target });
      return undefined;
    }
    return this.handleTransfer(target);
  }

  private handleTransfer(target: ServerId): NomadError | undefined {
    if (!this.isVoter(target)) return new NomadError('invalid_argument', `cannot transfer leadership to ${JSON.stringify(target)}: not a voter`, { field: 'id' });
    if (target === this.id) return undefined; // already the leader
    if (this.leadTransferee === target) return undefined;
    this.leadTransferee = target;
    // The transfer must finish within one election timeout, or it is abandoned.
    this.electionElapsed = 0;
    const pr = this.prs.get(target)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', to: target });
    else this.sendAppend(target);
    return undefined;
  }

  readIndex(ctx: string): NomadError | undefined {
    if (this.role === 'leader') {
      this.handleReadIndex(this.id, ctx);
      return undefined;
    }
    if (this.lead === '') return new NomadError('unavailable', 'no Raft leader is known to confirm a linearizable read');
    this.send({ type: 'read-index', to: this.lead, ctx });
    return undefined;
  }

  private handleReadIndex(from: ServerId, ctx: string): void {
    if (this.conf.voters.length === 1 && this.isVoter()) {
      this.answerRead(from, ctx, this.log.committed);
      return;
    }
    // A new leader does not know the commit index until an entry of its term commits.
    if (!this.committedInCurrentTerm()) {
      this.readsBeforeCommit.push({ from, ctx });
      return;
    }
    const round = `${this.term}.${++this.readSeq}`;
    this.reads.push({ index: this.log.committed, from, ctx: round, acks: new Set([this.id]) });
    this.readCtxs.set(round, ctx);
    this.bcastHeartbeat(round);
  }

  /** Read rounds: heartbeat ctx → the client's ctx. */
  private readCtxs = new Map<string, string>();

  private releaseReadsBeforeCommit(): void {
    const waiting = this.readsBeforeCommit;
    this.readsBeforeCommit = [];
    for (const r of waiting) this.handleReadIndex(r.from, r.ctx);
  }

  private answerRead(from: ServerId, ctx: string, index: number): void {
    if (from === this.id) this.readStates.push({ index, ctx });
    else this.send({ type: 'read-index-resp', to: from, ctx, index, reject: false });
  }

  /** A heartbeat answer acknowledging read round `round`: release it and every earlier one. */
  private ackRead(from: ServerId, round: string): void {
    const at = this.reads.findIndex((r) => r.ctx === round);
    if (at < 0) return;
    const r = this.reads[at]!;
    if (this.isVoter(from)) r.acks.add(from);
    let n = 0;
    for (const id of r.acks) if (this.isVoter(id)) n++;
    if (n < this.quorum()) return;
    const done = this.reads.splice(0, at + 1);
    for (const d of done) {
      const ctx = this.readCtxs.get(d.ctx);
      this.readCtxs.delete(d.ctx);
      if (ctx !== undefined) this.answerRead(d.from, ctx, d.index);
    }
  }

  // ---------------------------------------------------------------- elections

  /** Start an election (pre-vote first when enabled). */
  hup(kind: 'election' | 'transfer'): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChange()) return;
    if (kind === 'transfer') this.campaign('transfer');
    else this.campaign(this.preVote ? 'pre-election' : 'election');
  }

  private promotable(): boolean {
    return this.isVoter() && !this.log.pendingSnapshot();
  }

  private hasUnappliedConfChange(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const ents = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.MAX_SAFE_INTEGER) ?? [];
    return ents.some((e) => e.type === 'conf-change');
  }

  private campaign(kind: CampaignKind): void {
    let term: number;
    let type: 'vote' | 'prevote';
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      type = 'prevote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      type = 'vote';
      term = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      if (kind === 'pre-election') this.campaign('election');
      else this.becomeLeaderAndAnnounce();
      return;
    }
    for (const id of this.conf.voters) {
      if (id === this.id) continue;
      const vm: Omit<VoteMessage, 'from'> = { type, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), transfer: kind === 'transfer' };
      this.send(vm);
    }
  }

  /** A vote answer while campaigning. */
  tallyVote(m: VoteRespMessage): void {
    const mine = this.role === 'pre-candidate' ? 'prevote-resp' : 'vote-resp';
    if (m.type !== mine) return;
    const res = this.poll(m.from, !m.reject);
    if (res === 'won') {
      if (this.role === 'pre-candidate') this.campaign('election');
      else this.becomeLeaderAndAnnounce();
    } else if (res === 'lost') {
      this.becomeFollower(this.term, '');
    }
  }

  private becomeLeaderAndAnnounce(): void {
    this.becomeLeader();
    this.bcastAppend();
  }

  private poll(id: ServerId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    let yes = 0;
    let no = 0;
    for (const v of this.conf.voters) {
      const g = this.votes.get(v);
      if (g === true) yes++;
      else if (g === false) no++;
    }
    const q = this.quorum();
    if (yes >= q) return 'won';
    if (no > this.conf.voters.length - q) return 'lost';
    return 'pending';
  }

  // ---------------------------------------------------------------- step

  step(m: Message): NomadError | undefined {
    if (m.to !== this.id) return new NomadError('invalid_argument', `message for ${m.to} stepped into ${this.id}`, { field: 'to' });
    if (m.from === this.id) return undefined;
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'prevote') {
        // Leader lease: a server that heard from a leader within the election timeout ignores
        // campaigns (unless the leader itself asked for one by transferring leadership).
        const inLease = this.checkQuorum && this.lead !== '' && this.electionElapsed < this.electionTick;
        if (!m.transfer && inLease) return undefined;
      }
      if (m.type === 'prevote') {
        // Never change term on a pre-vote request.
      } else if (m.type === 'prevote-resp' && !m.reject) {
        // The term we would get if the election succeeds; counted in stepCandidate.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term) {
      // A stale request is refused with our term, so its sender (e.g. a leader back from a
      // partition) steps down; with pre-vote, nothing else would ever tell it.
      if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.send({ type: 'app-resp', to: m.from, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'prevote' || m.type === 'vote') {
        this.send({ type: m.type === 'vote' ? 'vote-resp' : 'prevote-resp', to: m.from, reject: true });
      }
      return undefined;
    }

    switch (m.type) {
      case 'vote':
      case 'prevote': {
        const canVote = this.vote === m.from || (this.vote === '' && this.lead === '') || (m.type === 'prevote' && m.term > this.term);
        const respType = m.type === 'vote' ? 'vote-resp' : 'prevote-resp';
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          // A granted pre-vote answers at the campaign's term so the pre-candidate counts it.
          const resp: Omit<VoteRespMessage, 'from'> = { type: respType, to: m.from, term: m.term, reject: false };
          this.send(resp);
          if (m.type === 'vote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send({ type: respType, to: m.from, reject: true });
        }
        return undefined;
      }
      default:
        this.stepFn(this, m);
        return undefined;
    }
  }

  tick(): void {
    this.tickFn(this);
  }

  /**
   * The driver saw its connection to `id` break (a crashed process resets its connections at
   * once). A follower whose leader that is stops honouring the leader's lease and campaigns
   * within a few ticks instead of a whole election timeout: its peers, which saw the same crash,
   * grant the pre-vote; a leader that is in fact alive keeps its other followers' lease (they
   * ignore the pre-vote) and its next heartbeat makes this server a follower again. A partition
   * breaks no connection and still waits for the election timeout. Liveness only: votes are
   * granted by the same rules as ever.
   *
   * The surviving voters campaign in turn, by id: the first after 1 tick, the next after
   * 1 + ConnectionLostSpacing ticks, and so on. Random delays this short would often start two
   * campaigns within one round trip, split the vote, and cost a whole election timeout; spaced
   * by two ticks, one campaign is over before the next begins whatever the phase of each server's
   * tick timer.
   */
  connectionLost(id: ServerId): void {
    if (this.role !== 'follower' || id === this.id || id !== this.lead) return;
    this.lead = '';
    const rank = Math.max(0, this.conf.voters.filter((v) => v !== id).sort().indexOf(this.id));
    const soon = 1 + ConnectionLostSpacing * rank;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
  }

  tickElectionImpl(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup('election');
    }
  }

  tickHeartbeatImpl(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTick) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        let active = 0;
        for (const id of this.conf.voters) {
          const pr = this.prs.get(id);
          if (id === this.id || pr?.recentActive) active++;
        }
        for (const [id, pr] of this.prs) pr.recentActive = id === this.id;
        if (active < this.quorum()) {
          this.becomeFollower(this.term, '');
          return;
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = '';
    }
    if (this.heartbeatElapsed >= this.heartbeatTick) {
      this.heartbeatElapsed = 0;
      // Carry the newest pending read round: if its own heartbeats were lost, this confirms it
      // (and every round before it).
      this.bcastHeartbeat(this.reads[this.reads.length - 1]?.ctx ?? '');
      this.maybePromote();
    }
  }

  // ---------------------------------------------------------------- follower handlers

  handleAppend(m: AppMessage): void {
    if (m.index < this.log.committed) {
      this.send({ type: 'app-resp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: 'app-resp', to: m.from, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: 'app-resp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeat-resp', to: m.from, ctx: m.ctx });
  }

  handleSnapChunk(m: SnapMessage): void {
    const meta = m.meta;
    if (meta.index <= this.log.committed) {
      this.incomingSnap = undefined;
      this.send({ type: 'app-resp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    let inc = this.incomingSnap;
    let same = inc !== undefined && inc.meta.index === meta.index && inc.meta.term === meta.term;
    if (m.offset === 0 && (!same || inc!.received === 0)) {
      // The first chunk of a snapshot (a newer one replaces any partial older one).
      inc = { meta, chunks: [], received: 0 };
      this.incomingSnap = inc;
      same = true;
    }
    if (inc !== undefined && same && m.offset + m.chunk.length <= inc.received && !m.done) {
      // A duplicate of a chunk already here: acknowledge, nothing is missing.
      this.send({ type: 'snap-resp', to: m.from, index: meta.index, offset: inc.received, reject: false });
      return;
    }
    if (inc === undefined || !same || inc.received !== m.offset) {
      const expected = inc !== undefined && same ? inc.received : 0;
      const r: Omit<SnapRespMessage, 'from' | 'term'> = { type: 'snap-resp', to: m.from, index: meta.index, offset: expected, reject: true };
      this.send(r);
      return;
    }
    if (m.chunk.length > 0) inc.chunks.push(m.chunk.slice());
    inc.received += m.chunk.length;
    if (!m.done) {
      this.send({ type: 'snap-resp', to: m.from, index: meta.index, offset: inc.received, reject: false });
      return;
    }
    this.incomingSnap = undefined;
    const data = new Uint8Array(inc.received);
    let off = 0;
    for (const c of inc.chunks) {
      data.set(c, off);
      off += c.length;
    }
    this.restore({ meta, data });
    this.send({ type: 'app-resp', to: m.from, index: this.log.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 });
  }

  /** Install a snapshot from the leader (or fast-forward commit when the log already has it). */
  private restore(snap: Snapshot): boolean {
    if (snap.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      this.log.commitTo(snap.meta.index);
      return false;
    }
    this.log.restore(snap);
    this.conf = copyConf(snap.meta.conf);
    this.confHistory = [{ index: snap.meta.index, conf: this.conf }];
    this.resetProgress();
    return true;
  }

  // ---------------------------------------------------------------- leader handlers

  handleAppResp(m: AppRespMessage): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    // A probe or snapshot answered at exactly `match` (the follower already had everything) still
    // moves the follower on; any other answer that does not advance `match` is stale.
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state !== 'replicate')) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      // Installed. If this leader has compacted past it meanwhile, probing sends a newer one.
      pr.becomeProbe();
      if (pr.match + 1 >= this.log.firstIndex()) pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
    if (this.maybeCommit()) this.bcastCommit();
    else if (wasPaused) this.sendAppend(m.from);
    // Fill the window with whatever else is waiting.
    while (this.sendAppend(m.from, false)) { /* pipelining */ }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', to: m.from });
    this.maybePromote();
  }

  handleHeartbeatResp(m: Message & { type: 'heartbeat-resp' }): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'snapshot') {
      // The follower is alive but no chunk was acknowledged for an election timeout's worth of
      // heartbeats: chunks were lost; resend from the last acknowledged byte. (Waiting that long
      // keeps a slow link with large chunks from being flooded with copies.)
      if (pr.snapAckedAtHeartbeat === pr.snapAcked) {
        if (++pr.snapStalls >= Math.max(2, Math.floor(this.electionTick / this.heartbeatTick))) {
          pr.snapStalls = 0;
          this.rewindSnap(pr, pr.snapAcked);
          this.sendSnapChunks(pr);
        }
      } else {
        pr.snapStalls = 0;
      }
      pr.snapAckedAtHeartbeat = pr.snapAcked;
    } else if (pr.match < this.log.lastIndex()) {
      // A full window may be full of lost appends: free one slot so an append goes out; a gap
      // makes the follower reject it, which sends the leader back to probing from `match`.
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
      this.sendAppend(m.from);
    }
    if (m.ctx !== '') this.ackRead(m.from, m.ctx);
  }

  handleSnapResp(m: SnapRespMessage): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (pr.state !== 'snapshot' || m.index !== pr.pendingSnapshot) return;
    if (m.reject || m.offset < pr.snapAcked || pr.snapSent < m.offset) this.rewindSnap(pr, m.offset);
    pr.snapAcked = m.offset;
    this.sendSnapChunks(pr);
  }

  handleReadIndexMsg(m: ReadIndexMessage): void {
    if (this.role !== 'leader') {
      this.send({ type: 'read-index-resp', to: m.from, ctx: m.ctx, index: 0, reject: true });
      return;
    }
    this.handleReadIndex(m.from, m.ctx);
  }

  // ---------------------------------------------------------------- membership

  /** Apply a committed conf-change entry (called as the driver applies it). */
  applyConfChange(entry: ConfChangeEntry, index: number): void {
    const conf = copyConf(entry.conf);
    const voters = new Set(conf.voters);
    const learners = new Set(conf.learners);
    this.conf = conf;
    this.confHistory.push({ index, conf });
    // Progress follows membership: new members start probing at our last index.
    const members = new Set([...voters, ...learners]);
    for (const id of [...this.prs.keys()]) if (!members.has(id)) this.prs.delete(id);
    for (const id of members) {
      const pr = this.prs.get(id);
      if (pr) pr.learner = !voters.has(id);
      else {
        const np = new Progress(id, this.log.lastIndex() + 1, !voters.has(id), this.maxInflight);
        if (id === this.id) np.match = this.log.lastIndex();
        np.recentActive = true;
        this.prs.set(id, np);
      }
    }
    if (this.role !== 'leader') return;
    if (!voters.has(this.id)) {
      // A leader removed from the voters tells the others the commit index (so they apply
      // the change too), then steps down; the rest elect a new leader.
      this.bcastHeartbeat('');
      this.becomeFollower(this.term, '');
      return;
    }
    if (this.leadTransferee !== '' && !voters.has(this.leadTransferee)) this.leadTransferee = '';
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of members) if (id !== this.id && this.prs.get(id)!.match === 0) this.sendAppend(id);
  }

  /** Membership as of log index `index` (for a snapshot taken there). */
  confAt(index: number): ConfState {
    let c = this.confHistory[0]!.conf;
    for (const h of this.confHistory) if (h.index <= index) c = h.conf;
    return c;
  }

  pruneConfHistory(snapIndex: number): void {
    const keep = this.confHistory.filter((h) => h.index > snapIndex);
    this.confHistory = [{ index: snapIndex, conf: this.confAt(snapIndex) }, ...keep];
  }

  progressStatus(): ProgressStatus[] {
    if (this.role !== 'leader') return [];
    const last = this.log.lastIndex();
    return [...this.prs.values()]
      .map((pr) => ({
        id: pr.id,
        voter: !pr.learner,
        match: pr.match,
        next: pr.next,
        lag: Math.max(0, last - pr.match),
        state: pr.state,
        recentActive: pr.id === this.id || pr.recentActive,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

function validateConfChange(conf: ConfState, cc: ConfChange): NomadError | undefined {
  if (cc.id === '') return new NomadError('invalid_argument', 'membership change: id must not be empty', { field: 'id' });
  const voter = conf.voters.includes(cc.id);
  const learner = conf.learners.includes(cc.id);
  switch (cc.type) {
    case 'add-voter':
      if (voter) return new NomadError('conflict', `${cc.id} is already a voter`, { field: 'id' });
      return undefined;
    case 'add-learner':
      if (voter) return new NomadError('conflict', `${cc.id} is a voter; demotion to learner is not supported`, { field: 'id' });
      if (learner) return new NomadError('conflict', `${cc.id} is already a learner`, { field: 'id' });
      return undefined;
    case 'remove':
      if (!voter && !learner) return new NomadError('not_found', `${cc.id} is not a member`, { field: 'id' });
      if (voter && conf.voters.length === 1) return new NomadError('invalid_argument', `cannot remove ${cc.id}: it is the last voter`, { field: 'id' });
      return undefined;
    default:
      return new NomadError('invalid_argument', `membership change: unknown type ${JSON.stringify((cc as { type: unknown }).type)}`, { field: 'type' });
  }
}

// ------------------------------------------------------------------ role functions

function tickElection(r: Raft): void {
  r.tickElectionImpl();
}

function tickHeartbeat(r: Raft): void {
  r.tickHeartbeatImpl();
}

function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'app-resp':
      r.handleAppResp(m);
      return;
    case 'heartbeat-resp':
      r.handleHeartbeatResp(m);
      return;
    case 'snap-resp':
      r.handleSnapResp(m);
      return;
    case 'read-index':
      r.handleReadIndexMsg(m);
      return;
    case 'transfer-leader':
      r.transferLeader(m.target);
      return;
    default:
      // Votes are answered in step(); appends at our own term cannot come from another leader.
      return;
  }
}

function stepCandidate(r: Raft, m: Message): void {
  // Both candidate and pre-candidate: an append at our term means an elected leader exists.
  switch (m.type) {
    case 'app':
      r.becomeFollower(m.term, m.from);
      r.handleAppend(m);
      return;
    case 'heartbeat':
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.becomeFollower(m.term, m.from);
      r.handleSnapChunk(m);
      return;
    case 'vote-resp':
    case 'prevote-resp':
      r.tallyVote(m);
      return;
    case 'read-index':
      r.handleReadIndexMsg(m);
      return;
    default:
      return;
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'app':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppend(m);
      return;
    case 'heartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapChunk(m);
      return;
    case 'transfer-leader':
      if (r.lead !== '') r.send({ type: 'transfer-leader', to: r.lead, target: m.target });
      return;
    case 'timeout-now':
      // The leader asked us to take over: campaign at once, skipping pre-vote and lease checks.
      r.hup('transfer');
      return;
    case 'read-index':
      r.handleReadIndexMsg(m);
      return;
    case 'read-index-resp':
      if (!m.reject) r.readStates.push({ index: m.index, ctx: m.ctx });
      return;
    default:
      return;
  }
}
