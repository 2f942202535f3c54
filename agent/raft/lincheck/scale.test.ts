/**
 * Histories recorded from a real (sequential) register store under concurrency, crashes and
 * failed cas: they are linearizable by construction, so the checker must say so, at the sizes the
 * Raft simulation produces; and a single read changed to a value nobody wrote must be caught.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../core/lib/index.js';
import type { HistoryEvent, KvValue } from './index.js';
import { checkHistory, registerModel } from './index.js';

interface Pending { f: 'read' | 'write' | 'cas'; key: string; value: HistoryEvent['value']; applied: boolean; result?: KvValue; casOk?: boolean }

/** `ops` calls by `procs` processes on `keys` keys; each call takes effect at a random moment inside its interval. */
function recordHistory(seed: number, procs: number, keys: number, ops: number): HistoryEvent[] {
  const rng = new SeededRng(seed);
  const store = new Map<string, KvValue>();
  const pending = new Map<number, Pending>();
  const events: HistoryEvent[] = [];
  let issued = 0;
  let nextProc = procs;
  const live = Array.from({ length: procs }, (_, i) => i);
  while (issued < ops || pending.size > 0) {
    const slot = rng.int(live.length);
    const p = live[slot]!;
    const op = pending.get(p);
    if (op === undefined) {
      if (issued >= ops) continue;
      issued++;
      const key = `k${rng.int(keys)}`;
      const r = rng.int(3);
      const f = r === 0 ? 'read' : r === 1 ? 'write' : 'cas';
      const value: HistoryEvent['value'] = f === 'read' ? null : f === 'write' ? rng.int(5) : [rng.int(3) === 0 ? null : rng.int(5), rng.int(5)];
      pending.set(p, { f, key, value, applied: false });
      events.push({ process: p, type: 'invoke', f, key, value });
    } else if (!op.applied) {
      // The linearization point.
      const cur = store.get(op.key) ?? null;
      if (op.f === 'read') op.result = cur;
      else if (op.f === 'write') store.set(op.key, op.value as KvValue);
      else {
        const [from, to] = op.value as [KvValue, KvValue];
        op.casOk = cur === from;
        if (op.casOk) store.set(op.key, to);
      }
      op.applied = true;
    } else {
      pending.delete(p);
      if (rng.int(20) === 0 && op.f !== 'read') {
        // The client gave up: the effect happened, the outcome is unknown; a new process replaces it.
        events.push({ process: p, type: 'info', f: op.f, key: op.key, value: null });
        live[slot] = nextProc++;
      } else if (op.f === 'read') {
        events.push({ process: p, type: 'ok', f: 'read', key: op.key, value: op.result! });
      } else {
        events.push({ process: p, type: op.f === 'cas' && !op.casOk ? 'fail' : 'ok', f: op.f, key: op.key, value: op.value });
      }
    }
  }
  return events;
}

describe('histories of a real register store', () => {
  it.each([1, 2, 3, 4, 5])('seed %i: 2,000 calls by 8 processes on 4 keys are linearizable; one forged read is caught', (seed) => {
    const events = recordHistory(seed, 8, 4, 2000);
    const r = checkHistory(events, registerModel, { maxSteps: 20_000_000 });
    expect(r.verdict).toBe('linearizable');
    expect(r.keys).toHaveLength(4);

    const reads = events.map((e, i) => [e, i] as const).filter(([e]) => e.type === 'ok' && e.f === 'read');
    const [victim, at] = reads[Math.floor(reads.length / 5)]!;
    const forged = events.slice();
    forged[at] = { ...victim, value: 'never-written' };
    const bad = checkHistory(forged, registerModel, { maxSteps: 20_000_000 });
    expect(bad.verdict).toBe('not-linearizable');
    expect(bad.keys.filter((k) => k.verdict === 'not-linearizable').map((k) => k.key)).toEqual([victim.key]);
  });
});
