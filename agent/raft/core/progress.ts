/**
 * Per-follower replication progress on the leader (as in the Raft dissertation's nextIndex /
 * matchIndex, plus etcd's flow-control states):
 * - probe: the leader does not know where the follower's log matches; one append in flight at
 *   a time, `next` walks back on rejections.
 * - replicate: the follower matches up to `match`; appends are pipelined optimistically, at most
 *   maxInflight of them unacknowledged.
 * - snapshot: the follower needs the snapshot at `pendingSnapshot`; chunks are streamed and no
 *   appends are sent until it is installed.
 */
import type { ServerId, SnapshotMeta } from './types.js';

/** A bounded FIFO of the last index of each append in flight. */
export class Inflights {
  private buf: number[] = [];
  private head = 0;
  constructor(readonly cap: number) {}
  get count(): number {
    return this.buf.length - this.head;
  }
  full(): boolean {
    return this.count >= this.cap;
  }
  add(last: number): void {
    this.buf.push(last);
  }
  /** Free every append whose last index is <= to. */
  freeLE(to: number): void {
    while (this.head < this.buf.length && this.buf[this.head]! <= to) this.head++;
    if (this.head > 64 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
  }
  freeFirst(): void {
    if (this.count > 0) this.head++;
  }
  reset(): void {
    this.buf = [];
    this.head = 0;
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe: an append is in flight; wait for its answer (or a heartbeat answer). */
  probeSent = false;
  /** Heard from within the current election timeout (check-quorum). */
  recentActive = false;
  readonly inflights: Inflights;
  // Snapshot state: the snapshot being streamed and how far.
  pendingSnapshot = 0;
  snapMeta: SnapshotMeta | undefined;
  snapData: Uint8Array | undefined;
  /** Bytes sent / acknowledged by the follower. */
  snapSent = 0;
  snapAcked = 0;
  /** The chunk marked `done` has been sent (since the last rewind). */
  snapDoneSent = false;
  /** snapAcked at the previous heartbeat answer (no progress in between: resend from snapAcked). */
  snapAckedAtHeartbeat = -1;
  /** Heartbeat answers in a row with no chunk acknowledged. */
  snapStalls = 0;

  constructor(readonly id: ServerId, next: number, public learner: boolean, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapMeta = undefined;
    this.snapData = undefined;
    this.snapSent = 0;
    this.snapAcked = 0;
    this.snapDoneSent = false;
    this.snapAckedAtHeartbeat = -1;
    this.snapStalls = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    this.resetState('snapshot');
    this.pendingSnapshot = meta.index;
    this.snapMeta = meta;
    this.snapData = data;
  }

  /** An append covering up to `last` was sent. */
  sentEntries(last: number, count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next = last + 1;
        this.inflights.add(last);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /** The follower acknowledged up to n. Returns false when the answer is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** The follower rejected an append at `rejected`; its log may match at `hint`. */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false; // stale
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // stale
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** No append may be sent right now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
