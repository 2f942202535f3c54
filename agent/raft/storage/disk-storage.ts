/**
 * DiskStorage: the durable Raft log and the core's LogStorage over it.
 *
 * Layout of the data directory:
 *   wal/<seq:16 hex>.wal    segments of the append-only log (codec.ts), rolled over past `segmentBytes`
 *   snap/<index>-<term>.snap snapshot files (snapfile.ts), newest two kept
 *
 * One stream of records carries entries, hard state and "log replaced by snapshot" markers, in the
 * order the driver saved them. The hard state lives in the log (not a side file) so that one
 * fdatasync makes a Ready's entries and its term/vote/commit durable together, and so recovery can
 * never see a hard state ahead of the entries written before it: a torn tail drops both in order.
 * Each new segment starts with the current hard state, so dropping old segments never loses it.
 *
 * Writes: `save()` encodes records and updates the in-memory view at once (reads see them; the core
 * already holds them as unstable), then queues them. One writer drains the queue: everything queued
 * while the previous write ran goes out in one O_DSYNC write (group commit: write + fdatasync in one call), and
 * every `save()` in that batch resolves together.
 *
 * Truncation of a conflicting suffix is logical: an entry record at index i voids every entry at
 * >= i before it, on append and on replay, so the files stay append-only. Compaction deletes whole
 * segments (from the oldest) whose entries all lie at or below the newest durable snapshot.
 *
 * Memory: the entries after the snapshot are kept in memory (as etcd's MemoryStorage does); their
 * number is bounded by the snapshot threshold.
 */
import { constants as fsc } from 'node:fs';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import type { ConfState, Entry, HardState, LogStorage, Snapshot } from '../core/index.js';
import { limitSize } from '../core/index.js';
import {
  SEGMENT_HEADER_BYTES,
  decodeSegmentHeader,
  encodeHardStateRecord,
  encodeSegmentHeader,
  encodeSnapshotRecord,
  entryRecordBytes,
  scanRecords,
  writeEntryRecord,
} from './codec.js';
import { fsyncDir } from './fsutil.js';
import { loadNewestSnapshot, pruneSnapshots, writeSnapshotFile } from './snapfile.js';

const EMPTY = new Uint8Array(0);
/**
 * The segment being appended to is opened O_DSYNC: each write returns once its data (and the file
 * size) is durable — what write + fdatasync gives, in one system call and one trip through the
 * thread pool instead of two. A group commit is then one write.
 */
const AppendFlags = fsc.O_RDWR | fsc.O_DSYNC;
const CreateFlags = fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL | fsc.O_DSYNC;
const SEGMENT_NAME = /^([0-9a-f]{16})\.wal$/;

export interface DiskStorageOptions {
  /** Roll over to a new segment once the current one reaches this size (default 64 MiB). A
   * segment exceeds it by at most one write batch. */
  readonly segmentBytes?: number;
  /** Membership of a brand-new store (persisted as the snapshot at index 0); ignored when the
   * directory already holds a log or snapshot. */
  readonly bootstrap?: ConfState;
  /** Snapshot files to keep (default 2). */
  readonly keepSnapshots?: number;
}

/** What recovery found and repaired on open. */
export interface RecoveryReport {
  readonly segments: number;
  readonly entries: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** A torn or corrupt tail of the last segment that was cut off. */
  readonly truncatedTail?: { readonly file: string; readonly offset: number; readonly droppedBytes: number; readonly reason: string };
  /** A last segment whose header was never completely written (a crash during rollover), removed. */
  readonly removedSegment?: string;
  /** Snapshot files newer than the loaded one that failed verification. */
  readonly skippedSnapshots: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
}

export interface StorageStats {
  /** Durable writes to log segments (each an O_DSYNC write: as a write + fdatasync). */
  readonly syncs: number;
  /** Entries made durable. */
  readonly entries: number;
  readonly bytes: number;
  readonly segments: number;
}

/** What a Ready asks to persist: a received snapshot first, then entries, then the hard state. */
export interface SaveRequest {
  readonly hardState?: HardState;
  readonly entries?: readonly Entry[];
  readonly snapshot?: Snapshot;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  size: number;
  /** Highest entry index written to this segment (0 if none). */
  maxIndex: number;
}

interface RecordBatch {
  readonly kind: 'records';
  readonly bufs: Buffer[];
  bytes: number;
  entries: number;
  maxIndex: number;
  hardState: HardState | undefined;
  readonly waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
}

interface SnapshotJob {
  readonly kind: 'snapshot';
  readonly snapshot: Snapshot;
}

export class DiskStorage implements LogStorage {
  private hard: HardState = { term: 0, vote: '', commit: 0 };
  private snap: Snapshot;
  /** ents[0] is a dummy at the snapshot's index carrying its term. */
  private ents: Entry[];
  private readonly segments: Segment[] = [];
  private fh: FileHandle | undefined;
  /** The hard state most recently written to the segment files (begins each new segment). */
  private writtenHard: HardState = { term: 0, vote: '', commit: 0 };
  private readonly jobs: Array<RecordBatch | SnapshotJob> = [];
  private writing = false;
  private dirDirty = false;
  private failed: Error | undefined;
  private closed = false;
  private snapLock: Promise<unknown> = Promise.resolve();
  private idleWaiters: Array<() => void> = [];
  private syncs = 0;
  private durableEntries = 0;
  private bytes = 0;
  private report: RecoveryReport | undefined;

  private constructor(
    readonly dir: string,
    private readonly walDir: string,
    private readonly snapDir: string,
    private readonly segmentBytes: number,
    private readonly keepSnapshots: number,
    snap: Snapshot,
  ) {
    this.snap = snap;
    this.ents = [{ index: snap.meta.index, term: snap.meta.term, type: 'noop', data: EMPTY }];
  }

  /** What recovery found and repaired when the store was opened. */
  get recovery(): RecoveryReport {
    return this.report!;
  }

  /**
   * Open (creating if missing) the store in `dir` and recover it: load the newest valid snapshot,
   * replay the segments verifying every record, cut off a torn tail of the last segment. A damaged
   * record anywhere else is an error naming the file and offset: nothing committed is dropped
   * silently.
   */
  static async open(dir: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
    const segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(segmentBytes) || segmentBytes < 1024) {
      throw new NomadError('invalid_argument', `segmentBytes must be an integer >= 1024, got ${segmentBytes}`, { field: 'segmentBytes' });
    }
    const keep = opts.keepSnapshots ?? 2;
    if (!Number.isInteger(keep) || keep < 1) throw new NomadError('invalid_argument', `keepSnapshots must be >= 1, got ${keep}`, { field: 'keepSnapshots' });
    const walDir = join(dir, 'wal');
    const snapDir = join(dir, 'snap');
    await mkdir(walDir, { recursive: true });
    await mkdir(snapDir, { recursive: true });
    await takeLock(dir);

    const loaded = await loadNewestSnapshot(snapDir);
    if (loaded.snapshot === undefined && loaded.files > 0) {
      throw new NomadError('internal', `no snapshot file verifies: ${loaded.skipped.map((s) => s.reason).join('; ')}`, { position: { file: snapDir } });
    }
    const segNames = (await readdir(walDir))
      .map((n) => ({ n, m: SEGMENT_NAME.exec(n) }))
      .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
      .map((x) => ({ name: x.n, seq: parseInt(x.m[1]!, 16) }))
      .sort((a, b) => a.seq - b.seq);
    const fresh = loaded.snapshot === undefined && segNames.length === 0;
    let snap: Snapshot = loaded.snapshot ?? { meta: { index: 0, term: 0, conf: opts.bootstrap ?? { voters: [], learners: [] } }, data: EMPTY };
    if (fresh && opts.bootstrap !== undefined) {
      snap = { meta: { index: 0, term: 0, conf: { voters: [...opts.bootstrap.voters], learners: [...opts.bootstrap.learners] } }, data: EMPTY };
      await writeSnapshotFile(snapDir, snap);
    }
    const s = new DiskStorage(dir, walDir, snapDir, segmentBytes, keep, snap);
    const report = await s.replay(segNames);
    s.report = { ...report, skippedSnapshots: loaded.skipped };
    return s;
  }

  private async replay(segNames: ReadonlyArray<{ name: string; seq: number }>): Promise<Omit<RecoveryReport, 'skippedSnapshots'>> {
    let truncatedTail: RecoveryReport['truncatedTail'];
    let removedSegment: string | undefined;
    for (let k = 0; k < segNames.length; k++) {
      const { name, seq } = segNames[k]!;
      const path = join(this.walDir, name);
      const last = k === segNames.length - 1;
      const buf = await readFile(path);
      const fail = (offset: number, why: string): NomadError =>
        new NomadError('internal', `offset ${offset}: ${why}${last ? '' : ' (in a segment followed by others: the log is damaged, refusing to drop committed entries)'}`, { position: { file: path } });
      if (buf.length < SEGMENT_HEADER_BYTES) {
        if (!last) throw fail(0, `segment header is ${buf.length} of ${SEGMENT_HEADER_BYTES} bytes`);
        // A crash while creating the next segment: nothing in it was ever acknowledged.
        await unlink(path);
        await fsyncDir(this.walDir);
        removedSegment = path;
        continue;
      }
      const header = decodeSegmentHeader(buf);
      if ('error' in header) throw fail(0, header.error);
      if (header.seq !== seq) throw fail(0, `segment header says sequence ${header.seq}, its name ${seq}`);
      const seg: Segment = { seq, path, size: 0, maxIndex: 0 };
      let replayError: NomadError | undefined;
      const { end, stop } = scanRecords(buf, SEGMENT_HEADER_BYTES, (rec, offset) => {
        if (replayError !== undefined) return;
        switch (rec.kind) {
          case 'entry': {
            const e = rec.entry;
            seg.maxIndex = Math.max(seg.maxIndex, e.index);
            const err = this.replayEntry(e);
            if (err !== undefined) replayError = fail(offset, err);
            break;
          }
          case 'hard-state':
            this.hard = rec.hardState;
            break;
          case 'snapshot':
            if (rec.index > this.snap.meta.index) {
              replayError = fail(offset, `the log was replaced by a snapshot at index ${rec.index}, but the newest valid snapshot file is at ${this.snap.meta.index}`);
            } else {
              this.truncateAfter(rec.index);
            }
            break;
        }
      });
      if (replayError !== undefined) throw replayError;
      if (stop !== undefined) {
        if (!last) throw fail(stop.offset, stop.reason);
        const fh = await open(path, 'r+');
        try {
          await fh.truncate(end);
          await fh.sync();
        } finally {
          await fh.close();
        }
        truncatedTail = { file: path, offset: stop.offset, droppedBytes: buf.length - end, reason: stop.reason };
      }
      seg.size = end;
      this.segments.push(seg);
    }
    if (this.hard.commit > this.lastIndex()) {
      throw new NomadError('internal', `hard state commit ${this.hard.commit} is beyond the last log index ${this.lastIndex()}`, { position: { file: this.walDir } });
    }
    this.writtenHard = this.hard;
    const cur = this.segments[this.segments.length - 1];
    if (cur === undefined) {
      await this.createSegment((segNames[segNames.length - 1]?.seq ?? 0) + 1);
      await this.fh!.datasync();
      await fsyncDir(this.walDir);
      this.dirDirty = false;
    } else {
      this.fh = await open(cur.path, AppendFlags);
    }
    return {
      segments: this.segments.length,
      entries: this.ents.length - 1,
      firstIndex: this.firstIndex(),
      lastIndex: this.lastIndex(),
      snapshotIndex: this.snap.meta.index,
      ...(truncatedTail === undefined ? {} : { truncatedTail }),
      ...(removedSegment === undefined ? {} : { removedSegment }),
    };
  }

  /** Replay one entry record: it voids every entry at >= its index recorded before it. */
  private replayEntry(e: Entry): string | undefined {
    const off = this.ents[0]!.index;
    if (e.index <= off) {
      this.ents.length = 1;
      return undefined;
    }
    if (e.index > this.lastIndex() + 1) return `entry ${e.index} leaves a gap after index ${this.lastIndex()}`;
    this.ents.length = e.index - off;
    this.ents.push(e);
    return undefined;
  }

  /** Drop in-memory entries after `index` (entries at or below the snapshot are gone already). */
  private truncateAfter(index: number): void {
    const off = this.ents[0]!.index;
    this.ents.length = Math.max(1, Math.min(this.ents.length, index - off + 1));
  }

  private async createSegment(seq: number): Promise<void> {
    const path = join(this.walDir, `${seq.toString(16).padStart(16, '0')}.wal`);
    const fh = await open(path, CreateFlags, 0o644);
    const header = encodeSegmentHeader(seq);
    const hs = encodeHardStateRecord(this.writtenHard);
    await writeFully(fh, [header, hs], 0);
    this.fh = fh;
    this.segments.push({ seq, path, size: header.length + hs.length, maxIndex: 0 });
    this.dirDirty = true;
  }

  // ---- LogStorage (synchronous reads from memory) ----

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

  stats(): StorageStats {
    return { syncs: this.syncs, entries: this.durableEntries, bytes: this.bytes, segments: this.segments.length };
  }

  // ---- writes ----

  /**
   * Persist a Ready: a snapshot received from the leader (replaces the log), then entries (an
   * entry at an index already present drops that index and everything after it), then the hard
   * state. The in-memory view changes at once; the promise resolves once all of it is on disk
   * (fdatasync), shared with every other save queued meanwhile. A failed write fails this and
   * every later save: the store must be reopened.
   */
  save(req: SaveRequest): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new NomadError('conflict', `raft storage ${this.dir} is closed`));
    // Validate everything before changing anything.
    const s = req.snapshot;
    if (s !== undefined && s.meta.index <= this.snap.meta.index) {
      return Promise.reject(new NomadError('conflict', `snapshot at ${s.meta.index} is not newer than ${this.snap.meta.index}`));
    }
    const first = s === undefined ? this.firstIndex() : s.meta.index + 1;
    const last = s === undefined ? this.lastIndex() : s.meta.index;
    let es = req.entries ?? [];
    if (es.length > 0 && es[0]!.index < first) es = es.slice(first - es[0]!.index);
    let size = 0;
    if (es.length > 0) {
      const start = es[0]!.index;
      if (start > last + 1) {
        return Promise.reject(new NomadError('invalid_argument', `append at ${start} leaves a gap after ${last}`, { field: 'entries' }));
      }
      for (let i = 0; i < es.length; i++) {
        const e = es[i]!;
        if (e.index !== start + i) {
          return Promise.reject(new NomadError('invalid_argument', `entries are not consecutive: ${e.index} follows ${start + i - 1}`, { field: `entries[${i}].index` }));
        }
        size += entryRecordBytes(e);
      }
    }

    const bufs: Buffer[] = [];
    let maxIndex = 0;
    let count = 0;
    if (s !== undefined) {
      this.jobs.push({ kind: 'snapshot', snapshot: s });
      this.snap = s;
      this.ents = [{ index: s.meta.index, term: s.meta.term, type: 'noop', data: EMPTY }];
      bufs.push(encodeSnapshotRecord(s.meta.index, s.meta.term));
    }
    if (es.length > 0) {
      const start = es[0]!.index;
      const buf = Buffer.allocUnsafe(size);
      let off = 0;
      for (const e of es) off = writeEntryRecord(buf, off, e);
      bufs.push(buf);
      this.ents.length = start - this.ents[0]!.index;
      for (const e of es) this.ents.push(e);
      maxIndex = es[es.length - 1]!.index;
      count = es.length;
    }
    if (req.hardState !== undefined) {
      bufs.push(encodeHardStateRecord(req.hardState));
      this.hard = req.hardState;
    }
    if (bufs.length === 0) return Promise.resolve();
    let batch = this.jobs[this.jobs.length - 1];
    if (batch === undefined || batch.kind !== 'records') {
      batch = { kind: 'records', bufs: [], bytes: 0, entries: 0, maxIndex: 0, hardState: undefined, waiters: [] };
      this.jobs.push(batch);
    }
    for (const b of bufs) {
      batch.bufs.push(b);
      batch.bytes += b.length;
    }
    batch.entries += count;
    batch.maxIndex = Math.max(batch.maxIndex, maxIndex);
    if (req.hardState !== undefined) batch.hardState = req.hardState;
    const b = batch;
    const done = new Promise<void>((resolve, reject) => b.waiters.push({ resolve, reject }));
    if (!this.writing) {
      this.writing = true;
      void this.drain();
    }
    return done;
  }

  private async drain(): Promise<void> {
    try {
      for (let job = this.jobs.shift(); job !== undefined; job = this.jobs.shift()) {
        if (job.kind === 'snapshot') {
          await this.withSnapLock(() => this.persistSnapshot(job.snapshot));
          continue;
        }
        try {
          await this.writeBatch(job);
        } catch (err) {
          this.fail(err, job);
          return;
        }
        for (const w of job.waiters) w.resolve();
        // Let the callers just released queue their next saves before the next batch is cut, so
        // they share its fdatasync with the callers already waiting (without this yield the
        // callers split into two alternating groups, each batch holding half of them).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.fail(err, undefined);
    } finally {
      this.writing = false;
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of idle) f();
    }
  }

  private async writeBatch(job: RecordBatch): Promise<void> {
    let cur = this.segments[this.segments.length - 1]!;
    if (cur.size >= this.segmentBytes) {
      await this.fh!.close();
      this.fh = undefined;
      await this.createSegment(cur.seq + 1);
      cur = this.segments[this.segments.length - 1]!;
    }
    await writeFully(this.fh!, job.bufs, cur.size);
    cur.size += job.bytes;
    cur.maxIndex = Math.max(cur.maxIndex, job.maxIndex);
    if (job.hardState !== undefined) this.writtenHard = job.hardState;
    // Durable already: the segment is open O_DSYNC (AppendFlags).
    if (this.dirDirty) {
      await fsyncDir(this.walDir);
      this.dirDirty = false;
    }
    this.syncs++;
    this.durableEntries += job.entries;
    this.bytes += job.bytes;
  }

  private fail(err: unknown, job: RecordBatch | undefined): void {
    const e = new NomadError('internal', `raft storage ${this.dir}: write failed: ${err instanceof Error ? err.message : String(err)}`);
    this.failed = e;
    const pending = [...(job === undefined ? [] : [job]), ...this.jobs.splice(0)];
    for (const j of pending) if (j.kind === 'records') for (const w of j.waiters) w.reject(e);
  }

  private withSnapLock<T>(f: () => Promise<T>): Promise<T> {
    const run = this.snapLock.then(f, f);
    this.snapLock = run.catch(() => undefined);
    return run;
  }

  private async persistSnapshot(s: Snapshot): Promise<void> {
    await writeSnapshotFile(this.snapDir, s);
    await pruneSnapshots(this.snapDir, this.keepSnapshots);
  }

  /**
   * Record a local snapshot of the state machine at applied index `index` (<= lastIndex): the file
   * is made durable first, then the log up to `index` is dropped from memory and whole segments
   * at or below it are deleted.
   */
  async createSnapshot(index: number, conf: ConfState, data: Uint8Array): Promise<Snapshot> {
    if (this.failed !== undefined) throw this.failed;
    if (index <= this.snap.meta.index) {
      throw new NomadError('conflict', `snapshot at ${index} is not newer than ${this.snap.meta.index}`);
    }
    const term = this.term(index);
    if (term === undefined) throw new NomadError('invalid_argument', `snapshot index ${index} beyond the log's last index ${this.lastIndex()}`, { field: 'index' });
    const snap: Snapshot = { meta: { index, term, conf: { ...conf, voters: [...conf.voters], learners: [...conf.learners] } }, data };
    await this.withSnapLock(() => this.persistSnapshot(snap));
    // A snapshot received from the leader meanwhile may have replaced everything.
    if (index > this.snap.meta.index) {
      this.snap = snap;
      const off = this.ents[0]!.index;
      if (index <= this.lastIndex()) {
        this.ents = [{ index, term, type: 'noop', data: EMPTY }, ...this.ents.slice(index - off + 1)];
      } else {
        this.ents = [{ index, term, type: 'noop', data: EMPTY }];
      }
    }
    await this.dropSegments();
    return snap;
  }

  /** Delete the oldest segments whose entries all lie at or below the snapshot (never the current one). */
  private async dropSegments(): Promise<void> {
    const upTo = this.snap.meta.index;
    const doomed: Segment[] = [];
    while (this.segments.length > 1 && this.segments[0]!.maxIndex <= upTo) doomed.push(this.segments.shift()!);
    for (const seg of doomed) await unlink(seg.path);
    if (doomed.length > 0) await fsyncDir(this.walDir);
  }

  /** Resolves once every queued write is durable (or has failed). */
  flush(): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Wait for queued writes, then close the segment file. Later saves are refused. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    await this.snapLock;
    try {
      await this.fh?.close();
    } finally {
      this.fh = undefined;
      await unlink(join(this.dir, LOCK_FILE)).catch(() => undefined);
    }
  }
}

const LOCK_FILE = 'LOCK';

/**
 * Refuse a data directory another live process has open (two writers would interleave records):
 * `LOCK` holds the owner's pid. A lock left by a dead process, or by this process (a test that
 * "crashes" a store by dropping it and reopens it), is taken over.
 */
async function takeLock(dir: string): Promise<void> {
  const path = join(dir, LOCK_FILE);
  let owner: number | undefined;
  try {
    owner = Number((await readFile(path, 'utf8')).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (owner !== undefined && Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
    throw new NomadError('conflict', `raft data directory is in use by process ${owner} (remove ${path} if that process is not a nomadts server)`, { position: { file: dir } });
  }
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(`${process.pid}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Write all of `bufs` at `position`, continuing after short writes. */
async function writeFully(fh: FileHandle, bufs: readonly Buffer[], position: number): Promise<void> {
  let list = bufs.length > 512 ? [Buffer.concat(bufs)] : (bufs as Buffer[]);
  let pos = position;
  let remaining = list.reduce((n, b) => n + b.length, 0);
  while (remaining > 0) {
    const { bytesWritten } = await fh.writev(list, pos);
    if (bytesWritten === 0) throw new Error(`wrote 0 bytes at offset ${pos}`);
    pos += bytesWritten;
    remaining -= bytesWritten;
    if (remaining > 0) {
      const all = Buffer.concat(list);
      list = [all.subarray(all.length - remaining)];
    }
  }
}
