/**
 * MemoryStorage: the in-memory LogStorage used by tests and the simulation. The durable
 * storage (agent/raft/storage) implements the same read interface plus the same writes.
 * Index 0 / term 0 is the implicit empty snapshot; `ents[0]` is always a dummy entry at the
 * snapshot's index carrying its term.
 */
import { NomadError } from '../../core/lib/index.js';
import type { ConfState, Entry, HardState, LogStorage, Snapshot } from './types.js';

const EMPTY = new Uint8Array(0);

export class MemoryStorage implements LogStorage {
  private hard: HardState = { term: 0, vote: '', commit: 0 };
  private snap: Snapshot;
  /** ents[0] is a dummy at snap.meta.index with snap.meta.term. */
  private ents: Entry[];

  constructor(conf: ConfState = { voters: [], learners: [] }) {
    this.snap = { meta: { index: 0, term: 0, conf: copyConf(conf) }, data: EMPTY };
    this.ents = [{ index: 0, term: 0, type: 'noop', data: EMPTY }];
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.hard, conf: this.snap.meta.conf };
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  term(index: number): number | undefined {
    const off = this.ents[0]!.index;
    if (index < off || index > this.lastIndex()) return undefined;
    return this.ents[index - off]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.ents[0]!.index;
    if (lo <= off || hi > this.lastIndex() + 1 || lo > hi) {
      throw new NomadError('invalid_argument', `entries [${lo}, ${hi}) outside the log [${off + 1}, ${this.lastIndex()}]`);
    }
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  hardState(): HardState {
    return this.hard;
  }

  setHardState(hs: HardState): void {
    this.hard = hs;
  }

  /** Append entries; an entry at an index already present truncates the log from there. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    let es = entries as Entry[];
    // Entries already compacted away are skipped.
    if (es[0]!.index < first) es = es.slice(first - es[0]!.index);
    if (es.length === 0) return;
    const off = es[0]!.index - this.ents[0]!.index;
    if (off > this.ents.length) {
      throw new NomadError('internal', `append at ${es[0]!.index} leaves a gap after ${this.lastIndex()}`);
    }
    this.ents = this.ents.slice(0, off).concat(es);
  }

  /** Replace everything with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index) {
      throw new NomadError('conflict', `snapshot at ${snap.meta.index} is not newer than ${this.snap.meta.index}`);
    }
    this.snap = snap;
    this.ents = [{ index: snap.meta.index, term: snap.meta.term, type: 'noop', data: EMPTY }];
  }

  /** Record a local snapshot at `index` (<= lastIndex) and drop the log up to it. */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) {
      throw new NomadError('conflict', `snapshot at ${index} is not newer than ${this.snap.meta.index}`);
    }
    const term = this.term(index);
    if (term === undefined) throw new NomadError('invalid_argument', `snapshot index ${index} beyond the log's last index ${this.lastIndex()}`);
    this.snap = { meta: { index, term, conf: copyConf(conf) }, data };
    this.compact(index);
    return this.snap;
  }

  /** Drop entries up to and including `index` (which must be covered by the snapshot). */
  compact(index: number): void {
    const off = this.ents[0]!.index;
    if (index <= off) return;
    if (index > this.lastIndex()) throw new NomadError('invalid_argument', `compact ${index} beyond the last index ${this.lastIndex()}`);
    const dummy = this.ents[index - off]!;
    this.ents = [{ index: dummy.index, term: dummy.term, type: 'noop', data: EMPTY }, ...this.ents.slice(index - off + 1)];
  }

  /** An independent copy in O(1) (crash simulation): entries are immutable and every write
   * replaces the arrays instead of mutating them, so the copy may share them. */
  clone(): MemoryStorage {
    const c = new MemoryStorage();
    c.hard = this.hard;
    c.snap = this.snap;
    c.ents = this.ents;
    return c;
  }
}

export function copyConf(c: ConfState): ConfState {
  return c.promoting !== undefined && c.promoting.length > 0
    ? { voters: [...c.voters], learners: [...c.learners], promoting: [...c.promoting] }
    : { voters: [...c.voters], learners: [...c.learners] };
}

/** The longest prefix whose data fits in maxBytes (at least one entry). */
export function limitSize<T extends { data: Uint8Array }>(ents: T[], maxBytes: number): T[] {
  if (ents.length === 0) return ents;
  let size = ents[0]!.data.length;
  let n = 1;
  for (; n < ents.length; n++) {
    size += ents[n]!.data.length;
    if (size > maxBytes) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
