/**
 * DiskStorage under the real core: a single-voter RawNode persists every Ready through `save()`,
 * takes a snapshot, is closed and reopened, and a fresh RawNode over the recovered store carries on
 * with the same term, vote, commit and log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SeededRng } from '../../core/lib/index.js';
import type { Entry } from '../core/index.js';
import { RawNode } from '../core/index.js';
import { DiskStorage } from './index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Persist, then collect committed normal entries, then advance; until nothing is ready. */
async function drive(rn: RawNode, storage: DiskStorage, applied: string[]): Promise<void> {
  while (rn.hasReady()) {
    const rd = rn.ready();
    await storage.save({
      ...(rd.snapshot === undefined ? {} : { snapshot: rd.snapshot }),
      entries: rd.entries,
      ...(rd.hardState === undefined ? {} : { hardState: rd.hardState }),
    });
    for (const e of rd.committedEntries as Entry[]) if (e.type === 'normal' && e.data.length > 0) applied.push(dec.decode(e.data));
    rn.advance(rd);
  }
}

it('a single server recovers its term, vote, commit and log after a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'raft-rawnode-'));
  dirs.push(dir);
  const conf = { voters: ['s1'], learners: [] };
  const storage = await DiskStorage.open(dir, { bootstrap: conf, segmentBytes: 4096 });
  const rn = new RawNode({ id: 's1', storage, rng: new SeededRng(1) });
  rn.campaign();
  const applied: string[] = [];
  await drive(rn, storage, applied);
  expect(rn.status().role).toBe('leader');
  for (let i = 0; i < 50; i++) {
    const r = rn.propose(enc.encode(`cmd-${i}`));
    expect(r).toHaveProperty('index');
    if (i % 7 === 0) await drive(rn, storage, applied);
  }
  await drive(rn, storage, applied);
  expect(applied).toHaveLength(50);
  const before = rn.status();
  const snap = rn.compact(before.applied - 10, enc.encode(applied.slice(0, 40).join(',')));
  if (snap instanceof Error) throw snap;
  await storage.createSnapshot(snap.meta.index, snap.meta.conf, snap.data);
  await storage.close();

  const reopened = await DiskStorage.open(dir, { segmentBytes: 4096 });
  expect(reopened.hardState()).toEqual({ term: before.term, vote: 's1', commit: before.commit });
  expect(reopened.lastIndex()).toBe(before.lastIndex);
  expect(reopened.snapshot().meta.index).toBe(before.applied - 10);
  const tail = reopened.entries(reopened.firstIndex(), reopened.lastIndex() + 1, Infinity).map((e) => dec.decode(e.data));
  expect(tail).toEqual(applied.slice(40));

  const rn2 = new RawNode({ id: 's1', storage: reopened, rng: new SeededRng(2), applied: before.commit });
  expect(rn2.status()).toMatchObject({ term: before.term, commit: before.commit, lastIndex: before.lastIndex });
  rn2.campaign();
  const more: string[] = [];
  await drive(rn2, reopened, more);
  expect(rn2.status().role).toBe('leader');
  expect(rn2.status().term).toBeGreaterThan(before.term);
  rn2.propose(enc.encode('after-restart'));
  await drive(rn2, reopened, more);
  expect(more).toEqual(['after-restart']);
  await reopened.close();
});
