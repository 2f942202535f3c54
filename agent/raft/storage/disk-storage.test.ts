import fc from 'fast-check';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, HardState } from '../core/index.js';
import { DiskStorage } from './index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'raft-storage-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const enc = new TextEncoder();
function entry(index: number, term: number, size = 16, fill = index): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(size).fill(fill & 0xff) };
}
function range(lo: number, hi: number, term: number, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(entry(i, term, size));
  return out;
}
function all(s: DiskStorage): Entry[] {
  return s.lastIndex() < s.firstIndex() ? [] : s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity);
}
async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'wal'))).sort();
}
const conf = { voters: ['a', 'b', 'c'], learners: [] };

describe('DiskStorage round trip', () => {
  it('recovers entries, hard state and membership exactly', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { bootstrap: conf });
    const hs: HardState = { term: 3, vote: 'b', commit: 4 };
    await s.save({ entries: [...range(1, 3, 1), { index: 4, term: 3, type: 'conf-change', data: enc.encode('{"type":"remove","id":"c"}') }, { index: 5, term: 3, type: 'noop', data: new Uint8Array(0) }], hardState: hs });
    await s.close();

    const r = await DiskStorage.open(dir, { bootstrap: { voters: ['x'], learners: [] } });
    expect(r.initialState()).toEqual({ hardState: hs, conf });
    expect(r.firstIndex()).toBe(1);
    expect(r.lastIndex()).toBe(5);
    expect(r.term(0)).toBe(0);
    expect(r.term(4)).toBe(3);
    expect(r.term(6)).toBeUndefined();
    expect(all(r).map((e) => [e.index, e.term, e.type, e.data.length])).toEqual([[1, 1, 'normal', 16], [2, 1, 'normal', 16], [3, 1, 'normal', 16], [4, 3, 'conf-change', 26], [5, 3, 'noop', 0]]);
    expect(all(r)[1]!.data).toEqual(new Uint8Array(16).fill(2));
    expect(r.entries(1, 6, 20).map((e) => e.index)).toEqual([1]);
    expect(r.entries(1, 6, 32).map((e) => e.index)).toEqual([1, 2]);
    expect(r.recovery).toMatchObject({ entries: 5, firstIndex: 1, lastIndex: 5, snapshotIndex: 0, skippedSnapshots: [] });
    expect(r.recovery.truncatedTail).toBeUndefined();
    await r.close();
  });

  it('creates a missing directory (and its parents)', async () => {
    const dir = join(await tempDir(), 'a', 'b', 'raft');
    const s = await DiskStorage.open(dir);
    expect((await stat(join(dir, 'wal'))).isDirectory()).toBe(true);
    expect(s.initialState()).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, conf: { voters: [], learners: [] } });
    expect(s.lastIndex()).toBe(0);
    await s.close();
  });

  it('concurrent saves share fdatasyncs and all become durable', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir);
    const saves: Array<Promise<void>> = [];
    for (let i = 1; i <= 200; i++) saves.push(s.save({ entries: [entry(i, 1)], hardState: { term: 1, vote: 'a', commit: i - 1 } }));
    await Promise.all(saves);
    const st = s.stats();
    expect(st.entries).toBe(200);
    expect(st.syncs).toBeLessThan(200);
    expect(st.syncs).toBeGreaterThanOrEqual(1);
    await s.close();
    const r = await DiskStorage.open(dir);
    expect(r.lastIndex()).toBe(200);
    expect(r.hardState()).toEqual({ term: 1, vote: 'a', commit: 199 });
    await r.close();
  });
});

describe('conflicting suffix', () => {
  it('a new leader overwrites entries across a segment boundary', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024 });
    // 200-byte entries: ~4 per segment, one save each so segments roll over as we go.
    for (let i = 1; i <= 20; i++) await s.save({ entries: [entry(i, 1, 200)] });
    expect((await walFiles(dir)).length).toBeGreaterThanOrEqual(4);
    // Index 6 lies in an earlier segment than the current one; the new suffix is shorter.
    await s.save({ entries: [entry(6, 2, 200, 0xaa), entry(7, 2, 200, 0xbb)], hardState: { term: 2, vote: 'b', commit: 5 } });
    expect(s.lastIndex()).toBe(7);
    expect(s.term(5)).toBe(1);
    expect(s.term(6)).toBe(2);
    await s.close();

    const r = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect(r.lastIndex()).toBe(7);
    expect(all(r).map((e) => e.term)).toEqual([1, 1, 1, 1, 1, 2, 2]);
    expect(all(r)[5]!.data[0]).toBe(0xaa);
    // And appending continues after the overwritten suffix.
    await r.save({ entries: [entry(8, 2)] });
    await r.close();
    const r2 = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect(r2.lastIndex()).toBe(8);
    await r2.close();
  });

  it('refuses an append that leaves a gap, changing nothing', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir);
    await s.save({ entries: range(1, 3, 1) });
    await expect(s.save({ entries: [entry(5, 1)] })).rejects.toThrow(/append at 5 leaves a gap after 3/);
    await expect(s.save({ entries: [entry(4, 1), entry(6, 1)] })).rejects.toThrow(/entries are not consecutive: 6 follows 4/);
    // A snapshot with entries that do not follow it is refused whole: the snapshot is not taken.
    const snapshot = { meta: { index: 10, term: 2, conf: { voters: ['a'], learners: [] } }, data: new Uint8Array(0) };
    await expect(s.save({ snapshot, entries: [entry(12, 2)] })).rejects.toThrow(/append at 12 leaves a gap after 10/);
    expect(s.snapshot().meta.index).toBe(0);
    expect(s.lastIndex()).toBe(3);
    await s.close();
    const r = await DiskStorage.open(dir);
    expect(r.lastIndex()).toBe(3);
    await r.close();
  });
});

describe('snapshots and compaction', () => {
  it('a local snapshot drops whole segments below it and survives a restart', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024, bootstrap: conf });
    for (let i = 1; i <= 40; i++) await s.save({ entries: [entry(i, 1, 200)], hardState: { term: 1, vote: 'a', commit: i } });
    const before = (await walFiles(dir)).length;
    const snap = await s.createSnapshot(30, conf, enc.encode('state@30'));
    expect(snap.meta).toEqual({ index: 30, term: 1, conf });
    expect(s.firstIndex()).toBe(31);
    expect(s.term(30)).toBe(1);
    expect(s.term(29)).toBeUndefined();
    expect(() => s.entries(30, 31, Infinity)).toThrow(/outside the log \[31, 40\]/);
    const after = (await walFiles(dir)).length;
    expect(after).toBeLessThan(before);
    expect(after).toBeGreaterThanOrEqual(3);
    await s.close();

    const r = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect(r.firstIndex()).toBe(31);
    expect(r.lastIndex()).toBe(40);
    expect(r.hardState()).toEqual({ term: 1, vote: 'a', commit: 40 });
    expect(new TextDecoder().decode(r.snapshot().data)).toBe('state@30');
    expect(r.initialState().conf).toEqual(conf);
    await r.close();
  });

  it('the hard state survives the compaction of the segment it was written in', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024, bootstrap: conf });
    await s.save({ entries: [entry(1, 7, 200)], hardState: { term: 7, vote: 'c', commit: 1 } });
    for (let i = 2; i <= 30; i++) await s.save({ entries: [entry(i, 7, 200)] });
    await s.createSnapshot(25, conf, new Uint8Array(0));
    expect(await walFiles(dir)).not.toContain('0000000000000001.wal');
    await s.close();
    const r = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect(r.hardState()).toEqual({ term: 7, vote: 'c', commit: 1 });
    expect([r.firstIndex(), r.lastIndex()]).toEqual([26, 30]);
    await r.close();
  });

  it('saves issued back to back (snapshot, then entries) land in order', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { bootstrap: conf });
    await s.save({ entries: range(1, 5, 1) });
    const a = s.save({ snapshot: { meta: { index: 9, term: 2, conf }, data: enc.encode('nine') } });
    const b = s.save({ entries: [entry(10, 2), entry(11, 2)], hardState: { term: 2, vote: '', commit: 11 } });
    const c = s.save({ entries: [entry(11, 3)], hardState: { term: 3, vote: 'a', commit: 10 } });
    await Promise.all([a, b, c]);
    await s.close();
    await expect(s.save({ entries: [entry(12, 3)] })).rejects.toThrow(/is closed/);
    const r = await DiskStorage.open(dir);
    expect(all(r).map((e) => [e.index, e.term])).toEqual([[10, 2], [11, 3]]);
    expect(r.hardState()).toEqual({ term: 3, vote: 'a', commit: 10 });
    await r.close();
  });

  it('keeps the newest two snapshot files', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { bootstrap: conf });
    await s.save({ entries: range(1, 10, 1) });
    for (const i of [3, 6, 9]) await s.createSnapshot(i, conf, enc.encode(`s${i}`));
    expect((await readdir(join(dir, 'snap'))).sort()).toEqual([
      '0000000000000006-0000000000000001.snap',
      '0000000000000009-0000000000000001.snap',
    ]);
    await expect(s.createSnapshot(9, conf, new Uint8Array(0))).rejects.toThrow(/not newer than 9/);
    await expect(s.createSnapshot(11, conf, new Uint8Array(0))).rejects.toThrow(/beyond the log's last index 10/);
    await s.close();
  });

  it('a snapshot from the leader replaces the log, and the old suffix never comes back', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { bootstrap: conf });
    await s.save({ entries: range(1, 50, 1) });
    const snapshot = { meta: { index: 20, term: 3, conf }, data: enc.encode('leader image') };
    await s.save({ snapshot, entries: [entry(21, 3), entry(22, 3)], hardState: { term: 3, vote: '', commit: 22 } });
    expect(s.firstIndex()).toBe(21);
    expect(s.lastIndex()).toBe(22);
    await expect(s.save({ snapshot })).rejects.toThrow(/not newer than 20/);
    await s.close();
    const r = await DiskStorage.open(dir);
    expect([r.firstIndex(), r.lastIndex(), r.term(20), r.term(21)]).toEqual([21, 22, 3, 3]);
    expect(new TextDecoder().decode(r.snapshot().data)).toBe('leader image');
    expect(r.hardState().commit).toBe(22);
    await r.close();
  });

  it('an overwrite that ends at a later local snapshot does not resurrect the stale suffix', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024, bootstrap: conf });
    for (let i = 1; i <= 12; i++) await s.save({ entries: [entry(i, 1, 200)] });
    await s.save({ entries: range(6, 8, 2, 200) });
    await s.createSnapshot(8, conf, new Uint8Array(0));
    expect(s.lastIndex()).toBe(8);
    await s.close();
    const r = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect([r.firstIndex(), r.lastIndex(), r.term(8)]).toEqual([9, 8, 2]);
    await r.close();
  });

  it('falls back to the older snapshot when the newest is damaged, and reports it', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { bootstrap: conf });
    await s.save({ entries: range(1, 10, 1) });
    await s.createSnapshot(5, conf, enc.encode('five'));
    await s.createSnapshot(7, conf, enc.encode('seven'));
    await s.close();
    const newest = join(dir, 'snap', '0000000000000007-0000000000000001.snap');
    const bytes = await readFile(newest);
    bytes[bytes.length - 1]! ^= 0x01;
    await writeFile(newest, bytes);
    // Compaction at 7 dropped no segment (one segment), so the log still covers 6..10.
    const r = await DiskStorage.open(dir);
    expect(new TextDecoder().decode(r.snapshot().data)).toBe('five');
    expect([r.firstIndex(), r.lastIndex()]).toEqual([6, 10]);
    expect(r.recovery.skippedSnapshots).toEqual([{ file: newest, reason: `${newest}: snapshot body checksum mismatch` }]);
    await r.close();
  });
});

describe('bad inputs', () => {
  async function threeSegments(): Promise<string> {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 15; i++) await s.save({ entries: [entry(i, 1, 200)] });
    await s.close();
    expect((await walFiles(dir)).length).toBeGreaterThanOrEqual(3);
    return dir;
  }

  it('a corrupt record in a segment followed by others is an error naming the file and offset', async () => {
    const dir = await threeSegments();
    const first = join(dir, 'wal', (await walFiles(dir))[0]!);
    const bytes = await readFile(first);
    // Segment header (32) + hard-state record (8 + 19) = 59; the first entry record starts there.
    bytes[59 + 8 + 30]! ^= 0xff;
    await writeFile(first, bytes);
    const err = (await DiskStorage.open(dir, { segmentBytes: 1024 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(`${first}: offset 59: record checksum mismatch (in a segment followed by others: the log is damaged, refusing to drop committed entries)`);
    // Nothing was changed: the same error again, the file as we left it.
    await expect(DiskStorage.open(dir)).rejects.toThrow(`${first}: offset 59`);
    expect(await readFile(first)).toEqual(bytes);
  });

  it('refuses a segment with the wrong version or magic', async () => {
    const dir = await threeSegments();
    const first = join(dir, 'wal', (await walFiles(dir))[0]!);
    const bytes = await readFile(first);
    const v2 = Buffer.from(bytes);
    v2.writeUInt32LE(2, 8);
    await writeFile(first, v2);
    await expect(DiskStorage.open(dir)).rejects.toThrow(`${first}: offset 0: unsupported segment version 2 (this build reads version 1)`);
    const other = Buffer.from(bytes);
    other.write('SQLITE3!', 0, 'latin1');
    await writeFile(first, other);
    await expect(DiskStorage.open(dir)).rejects.toThrow(/offset 0: not a nomadts raft log segment \(magic "SQLITE3!"\)/);
  });

  it('a gap between compacted log and snapshot is refused, not papered over', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024, bootstrap: conf });
    for (let i = 1; i <= 30; i++) await s.save({ entries: [entry(i, 1, 200)] });
    await s.createSnapshot(10, conf, new Uint8Array(0));
    await s.createSnapshot(25, conf, new Uint8Array(0));
    await s.close();
    // Lose the newest snapshot: the log no longer reaches back to the older one.
    await rm(join(dir, 'snap', '0000000000000019-0000000000000001.snap'));
    await expect(DiskStorage.open(dir)).rejects.toThrow(/offset \d+: entry \d+ leaves a gap after index 10/);
  });

  it('every snapshot file damaged is an error, not an empty state', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { bootstrap: conf });
    await s.close();
    const f = join(dir, 'snap', '0000000000000000-0000000000000000.snap');
    const b = await readFile(f);
    b.writeUInt32LE(9, 8);
    await writeFile(f, b);
    await expect(DiskStorage.open(dir)).rejects.toThrow(/no snapshot file verifies: .*unsupported snapshot version 9 \(this build reads version 1\)/);
  });

  it('a failed write fails that save and every later one (the store must be reopened)', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir);
    await s.save({ entries: range(1, 2, 1) });
    // Simulate an I/O error: the segment's descriptor goes away under the writer.
    await (s as unknown as { fh: { close(): Promise<void> } }).fh.close();
    const a = s.save({ entries: [entry(3, 1)] });
    const b = s.save({ entries: [entry(4, 1)] });
    await expect(a).rejects.toThrow(/raft storage .*: write failed: /);
    await expect(b).rejects.toThrow(/write failed/);
    await expect(s.save({ hardState: { term: 1, vote: '', commit: 0 } })).rejects.toThrow(/write failed/);
    await expect(s.createSnapshot(1, conf, new Uint8Array(0))).rejects.toThrow(/write failed/);
    const r = await DiskStorage.open(dir);
    expect(r.lastIndex()).toBe(2);
    await r.close();
  });

  it('refuses a data directory held by another live process, takes over a dead one', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir);
    await s.close();
    // pid 1 (init) is alive and is not us.
    await writeFile(join(dir, 'LOCK'), '1\n');
    await expect(DiskStorage.open(dir)).rejects.toThrow(`${dir}: raft data directory is in use by process 1`);
    // A pid far above pid_max belongs to no process.
    await writeFile(join(dir, 'LOCK'), '99999999\n');
    const r = await DiskStorage.open(dir);
    expect((await readFile(join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(process.pid));
    await r.close();
    await expect(stat(join(dir, 'LOCK'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses bad options', async () => {
    const dir = await tempDir();
    await expect(DiskStorage.open(dir, { segmentBytes: 10 })).rejects.toThrow(/segmentBytes must be an integer >= 1024, got 10/);
    await expect(DiskStorage.open(dir, { keepSnapshots: 0 })).rejects.toThrow(/keepSnapshots must be >= 1/);
  });

  it('a last segment whose header was torn during rollover is removed', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir);
    await s.save({ entries: range(1, 3, 1) });
    await s.close();
    const torn = join(dir, 'wal', '0000000000000002.wal');
    await writeFile(torn, Buffer.from('NTRFT'));
    const r = await DiskStorage.open(dir);
    expect(r.lastIndex()).toBe(3);
    expect(r.recovery.removedSegment).toBe(torn);
    expect(await walFiles(dir)).toEqual(['0000000000000001.wal']);
    await r.close();
  });
});

describe('crash recovery drops exactly the torn record', () => {
  /**
   * Build a log, then for every byte offset inside the last record: (a) cut the file there (a
   * torn write) and (b) flip that byte (a corrupt unsynced sector). Recovery must keep every
   * earlier record and drop exactly the last one, reporting the cut at the record's start.
   */
  it('at every byte offset of the last record', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 255 }),
        async (sizes, lastIsHardState, flip) => {
          const dir = await tempDir();
          const s = await DiskStorage.open(dir);
          let index = 0;
          for (const size of sizes) {
            index++;
            await s.save({ entries: [entry(index, 1, size)], hardState: { term: 1, vote: 'a', commit: index - 1 } });
          }
          const before = { last: index, hard: s.hardState() };
          const lastSave = lastIsHardState
            ? { hardState: { term: 2, vote: 'b', commit: index } }
            : { entries: [entry(index + 1, 1, 40)] };
          await s.save(lastSave);
          await s.close();
          const seg = join(dir, 'wal', '0000000000000001.wal');
          const full = await readFile(seg);
          const recordBytes = lastIsHardState ? 8 + 19 + 1 : 8 + 18 + 40;
          const start = full.length - recordBytes;

          const scratch = join(dir, 'scratch');
          const reopen = async (bytes: Buffer): Promise<DiskStorage> => {
            await rm(scratch, { recursive: true, force: true });
            await mkdir(join(scratch, 'wal'), { recursive: true });
            await writeFile(join(scratch, 'wal', '0000000000000001.wal'), bytes);
            return DiskStorage.open(scratch);
          };
          const expectTorn = async (r: DiskStorage): Promise<void> => {
            expect(r.lastIndex()).toBe(before.last);
            expect(r.hardState()).toEqual(before.hard);
            expect(r.recovery.truncatedTail?.offset).toBe(start);
            expect((await stat(join(scratch, 'wal', '0000000000000001.wal'))).size).toBe(start);
            await r.close();
          };
          for (let cut = start + 1; cut < full.length; cut++) await expectTorn(await reopen(full.subarray(0, cut)));
          for (let at = start; at < full.length; at++) {
            const damaged = Buffer.from(full);
            damaged[at]! ^= flip;
            await expectTorn(await reopen(damaged));
          }
          // Cut exactly at the record boundary: nothing torn, nothing reported.
          const clean = await reopen(full.subarray(0, start));
          expect(clean.lastIndex()).toBe(before.last);
          expect(clean.recovery.truncatedTail).toBeUndefined();
          await clean.close();
          // The whole file: the last record is there.
          const whole = await reopen(full);
          expect(whole.lastIndex()).toBe(lastIsHardState ? before.last : before.last + 1);
          await whole.close();
          await rm(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 6 },
    );
  });

  it('a crash just after a rollover (the new segment torn inside its first record) loses nothing synced', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir, { segmentBytes: 1024 });
    for (let i = 1; i <= 12; i++) await s.save({ entries: [entry(i, 4, 200)], hardState: { term: 4, vote: 'b', commit: i - 1 } });
    await s.close();
    const files = await walFiles(dir);
    expect(files.length).toBeGreaterThanOrEqual(3);
    // Pretend the newest segment was just created: header plus half of its hard-state record.
    const newest = join(dir, 'wal', files[files.length - 1]!);
    const bytes = await readFile(newest);
    const r0 = await DiskStorage.open(dir, { segmentBytes: 1024 });
    const lastBefore = r0.lastIndex();
    await r0.close();
    await writeFile(newest, bytes.subarray(0, 32 + 10));
    const r = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect(r.recovery.truncatedTail).toMatchObject({ file: newest, offset: 32, droppedBytes: 10 });
    // What the newest segment held is gone; everything in the earlier (synced) ones is kept.
    expect(r.lastIndex()).toBeLessThan(lastBefore);
    expect(r.lastIndex()).toBeGreaterThanOrEqual(8);
    expect(r.hardState()).toEqual({ term: 4, vote: 'b', commit: r.lastIndex() - 1 });
    await r.save({ entries: [entry(r.lastIndex() + 1, 5)] });
    await r.close();
    const r2 = await DiskStorage.open(dir, { segmentBytes: 1024 });
    expect(r2.term(r2.lastIndex())).toBe(5);
    await r2.close();
  });

  it('after a torn tail is cut, appending continues cleanly', async () => {
    const dir = await tempDir();
    const s = await DiskStorage.open(dir);
    await s.save({ entries: range(1, 5, 1) });
    await s.close();
    const seg = join(dir, 'wal', '0000000000000001.wal');
    await truncate(seg, (await stat(seg)).size - 3);
    const r = await DiskStorage.open(dir);
    expect(r.lastIndex()).toBe(4);
    await r.save({ entries: [entry(5, 2), entry(6, 2)] });
    await r.close();
    const r2 = await DiskStorage.open(dir);
    expect(all(r2).map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 2], [6, 2]]);
    expect(r2.recovery.truncatedTail).toBeUndefined();
    await r2.close();
  });
});
