/**
 * RaftLog: the log as the core sees it: persisted entries in LogStorage followed by `unstable`
 * entries (appended in memory, handed to the driver in a Ready, dropped from here once advance()
 * says they are stable). A snapshot received from the leader waits in `unstable` the same way.
 */
import { NomadError } from '../../core/lib/index.js';
import type { Entry, LogStorage, Snapshot } from './types.js';
import { limitSize } from './storage.js';

export class RaftLog {
  /** Index of the first unstable entry. */
  private offset: number;
  private unstable: Entry[] = [];
  /** Unstable entries below this index have been handed out in a Ready (not yet advanced). */
  private offsetInProgress: number;
  private pendingSnap: Snapshot | undefined;
  private snapInProgress = false;
  committed: number;
  applied: number;
  /** Committed entries up to here have been handed out in a Ready (applied <= applying). */
  applying: number;

  constructor(readonly storage: LogStorage, applied: number | undefined) {
    const last = storage.lastIndex();
    this.offset = last + 1;
    this.offsetInProgress = this.offset;
    const hs = storage.initialState().hardState;
    const snapIndex = storage.firstIndex() - 1;
    this.committed = Math.max(hs.commit, snapIndex);
    if (this.committed > last) throw new NomadError('internal', `hard state commit ${hs.commit} is beyond the log's last index ${last}`);
    const a = applied ?? snapIndex;
    if (a < snapIndex || a > this.committed) {
      throw new NomadError('invalid_argument', `applied index ${a} outside [${snapIndex}, ${this.committed}]`, { field: 'applied' });
    }
    this.applied = a;
    this.applying = a;
  }

  firstIndex(): number {
    return this.pendingSnap ? this.pendingSnap.meta.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1;
    if (this.pendingSnap) return this.pendingSnap.meta.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of entry i, or undefined when i is compacted away or beyond the last index. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    if (i >= this.offset) return this.unstable[i - this.offset]?.term;
    if (this.pendingSnap && i === this.pendingSnap.meta.index) return this.pendingSnap.meta.term;
    return this.storage.term(i);
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi) limited to maxBytes (at least one); undefined when lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1);
    if (lo >= hi) return [];
    let out: Entry[] = [];
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      if (out.length < Math.min(hi, this.offset) - lo) return out;
    }
    if (hi > this.offset) {
      const u = this.unstable.slice(Math.max(lo, this.offset) - this.offset, hi - this.offset);
      out = out.length > 0 ? out.concat(u) : u;
    }
    return limitSize(out, maxBytes);
  }

  /** Follower side of AppendEntries. Returns the index of the last new entry, or undefined
   * when the log does not contain (index, logTerm). */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new NomadError('internal', `entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** The first entry whose term differs from ours (or that we do not have); 0 when none. */
  private findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /** The largest index <= index whose term is <= term (a reject hint / probe point). */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i >= this.firstIndex() - 1; i--) {
      const t = this.term(i);
      if (t === undefined) break;
      if (t <= term) return { index: i, term: t };
    }
    return { index: Math.max(0, this.firstIndex() - 1), term: 0 };
  }

  /** Append entries (the first may overwrite a conflicting unstable or stable suffix). */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0]!.index;
    if (first - 1 < this.committed) throw new NomadError('internal', `append after ${first - 1} is below commit ${this.committed}`);
    if (first > this.lastIndex() + 1) throw new NomadError('internal', `append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first === this.offset + this.unstable.length) {
      this.unstable = this.unstable.concat(ents);
    } else if (first <= this.offset) {
      // Replaces everything unstable (and overwrites stored entries from `first`).
      this.offset = first;
      this.offsetInProgress = first;
      this.unstable = [...ents];
    } else {
      this.unstable = this.unstable.slice(0, first - this.offset).concat(ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, first);
    }
    return this.lastIndex();
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    if (c > this.lastIndex()) throw new NomadError('internal', `commit ${c} is beyond the last index ${this.lastIndex()}`);
    this.committed = c;
  }

  /** Commit up to maxIndex if that entry is from `term` (only current-term entries commit by count). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  snapshot(): Snapshot {
    return this.pendingSnap ?? this.storage.snapshot();
  }

  /** Replace the log with a snapshot from the leader. */
  restore(snap: Snapshot): void {
    this.committed = snap.meta.index;
    this.offset = snap.meta.index + 1;
    this.offsetInProgress = this.offset;
    this.unstable = [];
    this.pendingSnap = snap;
    this.snapInProgress = false;
  }

  // ---- Ready bookkeeping ----

  hasUnstableEntries(): boolean {
    return this.offsetInProgress < this.offset + this.unstable.length;
  }

  unstableEntries(): Entry[] {
    return this.unstable.slice(this.offsetInProgress - this.offset);
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.snapInProgress ? undefined : this.pendingSnap;
  }

  hasNextCommittedEnts(): boolean {
    if (this.pendingSnap && !this.snapInProgress) return false;
    return this.committed > Math.max(this.applying, this.firstIndex() - 1);
  }

  nextCommittedEnts(maxBytes: number): Entry[] {
    if (this.pendingSnap && !this.snapInProgress) return [];
    const lo = Math.max(this.applying, this.firstIndex() - 1) + 1;
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, maxBytes) ?? [];
  }

  /** A Ready took these: do not hand them out again. */
  accept(ents: readonly Entry[], snap: Snapshot | undefined, committed: readonly Entry[]): void {
    if (ents.length > 0) this.offsetInProgress = ents[ents.length - 1]!.index + 1;
    if (snap) {
      this.snapInProgress = true;
      this.applying = Math.max(this.applying, snap.meta.index);
    }
    if (committed.length > 0) this.applying = committed[committed.length - 1]!.index;
  }

  /** Entries up to (i, t) are durable in storage. */
  stableTo(i: number, t: number): void {
    const ut = i >= this.offset ? this.unstable[i - this.offset]?.term : undefined;
    if (ut !== t) return; // overwritten since: a later Ready carries the replacement
    this.unstable = this.unstable.slice(i + 1 - this.offset);
    this.offset = i + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(i: number): void {
    if (this.pendingSnap && this.pendingSnap.meta.index === i) {
      this.pendingSnap = undefined;
      this.snapInProgress = false;
    }
  }

  appliedTo(i: number): void {
    if (i > this.applied) this.applied = i;
    if (i > this.applying) this.applying = i;
  }
}
