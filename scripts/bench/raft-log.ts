/**
 * The durable Raft log micro-benchmark: `DiskStorage.save()` of one entry per call from 1, 64
 * and 256 concurrent callers, 256-byte and 4 KiB entries, in a fresh directory under the OS temp
 * dir. Each caller loops: take the next index, save the entry (with a hard state, as a Ready
 * would), await durability. Reports entries/s, fdatasyncs/s and entries per fdatasync (the group
 * commit at work), best of `--runs` for each row; then a recovery pass (reopen and replay).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Entry } from '../../agent/raft/core/index.js';
import { DiskStorage } from '../../agent/raft/storage/index.js';
import { intOptions } from './stats.js';

interface Row {
  entryBytes: number;
  callers: number;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  syncsPerSec: number;
  entriesPerSync: number;
  mbPerSec: number;
}

async function runRow(entryBytes: number, callers: number, ms: number): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'nomadts-raft-log-'));
  try {
    const s = await DiskStorage.open(dir);
    const payload = new Uint8Array(entryBytes).fill(0x5a);
    let next = 0;
    const t0 = performance.now();
    const deadline = t0 + ms;
    const caller = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const index = ++next;
        const e: Entry = { index, term: 1, type: 'normal', data: payload };
        await s.save({ entries: [e], hardState: { term: 1, vote: 'a', commit: index - 1 } });
      }
    };
    await Promise.all(Array.from({ length: callers }, caller));
    const seconds = (performance.now() - t0) / 1000;
    const st = s.stats();
    await s.close();
    const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;
    return {
      entryBytes,
      callers,
      entries: st.entries,
      seconds: round(seconds, 2),
      entriesPerSec: round(st.entries / seconds),
      syncsPerSec: round(st.syncs / seconds),
      entriesPerSync: round(st.entries / Math.max(1, st.syncs), 1),
      mbPerSec: round(st.bytes / seconds / 1e6, 1),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function recovery(entryBytes: number, entries: number): Promise<{ entries: number; mb: number; replayMs: number; replayMbPerSec: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'nomadts-raft-log-'));
  try {
    const s = await DiskStorage.open(dir);
    const payload = new Uint8Array(entryBytes).fill(0x33);
    const batch = 256;
    for (let i = 1; i <= entries; i += batch) {
      const es: Entry[] = [];
      for (let j = i; j < Math.min(entries + 1, i + batch); j++) es.push({ index: j, term: 1, type: 'normal', data: payload });
      await s.save({ entries: es });
    }
    const bytes = s.stats().bytes;
    await s.close();
    const t0 = performance.now();
    const r = await DiskStorage.open(dir);
    const replayMs = performance.now() - t0;
    if (r.lastIndex() !== entries) throw new Error(`recovered ${r.lastIndex()} of ${entries} entries`);
    await r.close();
    return { entries, mb: Math.round(bytes / 1e5) / 10, replayMs: Math.round(replayMs), replayMbPerSec: Math.round(bytes / 1e6 / (replayMs / 1000)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function raftLogBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { ms: 2000, runs: 2, recoveryEntries: 100_000 });
  const rows: Row[] = [];
  for (const entryBytes of [256, 4096]) {
    for (const callers of [1, 64, 256]) {
      let best: Row | undefined;
      for (let r = 0; r < o.runs; r++) {
        const row = await runRow(entryBytes, callers, o.ms);
        if (best === undefined || row.entriesPerSec > best.entriesPerSec) best = row;
      }
      rows.push(best!);
      process.stderr.write(
        `${String(entryBytes).padStart(5)} B x ${String(callers).padStart(3)} callers: ${String(best!.entriesPerSec).padStart(7)} entries/s, ` +
          `${String(best!.syncsPerSec).padStart(5)} fdatasync/s, ${best!.entriesPerSync} entries/sync, ${best!.mbPerSec} MB/s\n`,
      );
    }
  }
  const rec = await recovery(256, o.recoveryEntries);
  process.stderr.write(`recovery: ${rec.entries} entries (${rec.mb} MB) replayed in ${rec.replayMs} ms (${rec.replayMbPerSec} MB/s)\n`);
  return { rows, recovery: rec };
}
