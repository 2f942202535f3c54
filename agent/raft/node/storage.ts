/**
 * What the node driver needs of durable storage: the core's LogStorage reads plus the writes of a
 * Ready (one group-committed save) and local snapshots. agent/raft/storage's DiskStorage is one;
 * MemoryRaftStorage (below) wraps the core's MemoryStorage for tests, with the same semantics and
 * no disk.
 */
import type { ConfState, Entry, HardState, LogStorage, Snapshot } from '../core/index.js';
import { MemoryStorage } from '../core/index.js';

export interface RaftStorage extends LogStorage {
  /** Persist a Ready's snapshot, entries and hard state; resolves once durable. */
  save(req: { hardState?: HardState; entries?: readonly Entry[]; snapshot?: Snapshot }): Promise<void>;
  /** Record a snapshot of the state machine at applied index `index` and drop the log before it. */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Promise<Snapshot>;
  /** Fsyncs and entries made durable so far (entries per fsync = entries / syncs). */
  stats(): { syncs: number; entries: number };
  close(): Promise<void>;
}

export class MemoryRaftStorage implements RaftStorage {
  private syncs = 0;
  private durable = 0;

  constructor(private readonly mem: MemoryStorage = new MemoryStorage()) {}

  /** A fresh store with this membership (a new cluster). */
  static bootstrap(conf: ConfState): MemoryRaftStorage {
    return new MemoryRaftStorage(new MemoryStorage(conf));
  }

  /** What survives a crash: everything saved (saves here are durable at once). */
  crashCopy(): MemoryRaftStorage {
    return new MemoryRaftStorage(this.mem.clone());
  }

  initialState(): { hardState: HardState; conf: ConfState } { return this.mem.initialState(); }
  firstIndex(): number { return this.mem.firstIndex(); }
  lastIndex(): number { return this.mem.lastIndex(); }
  term(index: number): number | undefined { return this.mem.term(index); }
  entries(lo: number, hi: number, maxBytes: number): Entry[] { return this.mem.entries(lo, hi, maxBytes); }
  snapshot(): Snapshot { return this.mem.snapshot(); }

  async save(req: { hardState?: HardState; entries?: readonly Entry[]; snapshot?: Snapshot }): Promise<void> {
    if (req.snapshot !== undefined) this.mem.applySnapshot(req.snapshot);
    if (req.entries !== undefined && req.entries.length > 0) {
      this.mem.append(req.entries);
      this.durable += req.entries.length;
    }
    if (req.hardState !== undefined) this.mem.setHardState(req.hardState);
    this.syncs++;
  }

  async createSnapshot(index: number, conf: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.mem.createSnapshot(index, conf, data);
  }

  stats(): { syncs: number; entries: number } {
    return { syncs: this.syncs, entries: this.durable };
  }

  async close(): Promise<void> {}
}
