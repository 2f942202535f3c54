/**
 * RawNode: the driver's handle on the core. It batches everything the Raft state machine
 * produced since the last Ready (new entries, hard state, messages, committed entries, read
 * states, an incoming snapshot) and, on advance(), learns what the driver persisted and applied.
 */
import { NomadError } from '../../core/lib/index.js';
import { decodeConfChange } from './confchange.js';
import { Raft } from './raft.js';
import type {
  ConfChange, HardState, Message, ProposeResult, RaftConfig, RaftStatus, RawNodeApi, Ready, ServerId, Snapshot, SoftState,
} from './types.js';

/** Committed entries handed out per Ready at most (bytes; at least one entry). */
const MaxCommittedBytesPerReady = 64 << 20;

export class RawNode implements RawNodeApi {
  private readonly r: Raft;
  private prevHard: HardState;
  private prevSoft: SoftState;

  constructor(cfg: RaftConfig) {
    this.r = new Raft(cfg);
    this.prevHard = this.r.hardState();
    this.prevSoft = this.r.softState();
  }

  tick(): void {
    this.r.tick();
  }

  step(m: Message): NomadError | undefined {
    return this.r.step(m);
  }

  /** The leader this server follows ('' = none known); cheaper than status(). */
  leader(): ServerId {
    return this.r.lead;
  }

  propose(data: Uint8Array): ProposeResult | NomadError {
    return this.r.propose(data);
  }

  proposeConfChange(cc: ConfChange): ProposeResult | NomadError {
    return this.r.proposeConfChange(cc);
  }

  transferLeader(id: ServerId): NomadError | undefined {
    return this.r.transferLeader(id);
  }

  readIndex(ctx: string): NomadError | undefined {
    return this.r.readIndex(ctx);
  }

  commitPending(): boolean {
    return this.r.commitPending;
  }

  flushCommit(): void {
    this.r.flushCommit();
  }

  connectionLost(id: ServerId): void {
    this.r.connectionLost(id);
  }

  campaign(): void {
    this.r.hup('election');
  }

  hasReady(): boolean {
    const r = this.r;
    r.flushAppends();
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.hasUnstableEntries() || r.log.pendingSnapshot() !== undefined || r.log.hasNextCommittedEnts()) return true;
    if (!sameHard(r.hardState(), this.prevHard)) return true;
    const ss = r.softState();
    return ss.leader !== this.prevSoft.leader || ss.role !== this.prevSoft.role;
  }

  ready(): Ready {
    const r = this.r;
    r.flushAppends();
    const entries = r.log.unstableEntries();
    const snapshot = r.log.pendingSnapshot();
    const committedEntries = r.log.nextCommittedEnts(MaxCommittedBytesPerReady);
    const hs = r.hardState();
    const ss = r.softState();
    const hardChanged = !sameHard(hs, this.prevHard);
    const rd: Ready = {
      ...(ss.leader !== this.prevSoft.leader || ss.role !== this.prevSoft.role ? { softState: ss } : {}),
      ...(hardChanged ? { hardState: hs } : {}),
      entries,
      ...(snapshot ? { snapshot } : {}),
      messages: r.msgs,
      committedEntries,
      readStates: r.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined || hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote,
    };
    // Accept: nothing in this Ready is handed out again.
    r.msgs = [];
    r.readStates = [];
    r.log.accept(entries, snapshot, committedEntries);
    this.prevHard = hs;
    this.prevSoft = ss;
    return rd;
  }

  advance(rd: Ready): void {
    const r = this.r;
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.meta.index);
      r.log.appliedTo(rd.snapshot.meta.index);
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last) r.log.stableTo(last.index, last.term);
    for (const e of rd.committedEntries) {
      if (e.type === 'conf-change') r.applyConfChange(decodeConfChange(e.data), e.index);
      r.log.appliedTo(e.index);
    }
    if (rd.committedEntries.length > 0) r.maybePromote();
  }

  compact(index: number, data: Uint8Array): Snapshot | NomadError {
    const r = this.r;
    if (index > r.log.applied) return new NomadError('invalid_argument', `snapshot index ${index} is beyond the applied index ${r.log.applied}`, { field: 'index' });
    const snapIndex = r.log.storage.firstIndex() - 1;
    if (index <= snapIndex) return new NomadError('conflict', `the log is already compacted up to ${snapIndex}`, { field: 'index' });
    const term = r.log.term(index);
    if (term === undefined) return new NomadError('internal', `no term known for index ${index}`);
    const conf = r.confAt(index);
    r.pruneConfHistory(index);
    return { meta: { index, term, conf }, data };
  }

  status(): RaftStatus {
    const r = this.r;
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      conf: r.conf,
      progress: r.progressStatus(),
      transferee: r.leadTransferee,
    };
  }
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
