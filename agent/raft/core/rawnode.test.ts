/** The RawNode API beyond the paper: back-pressure, errors as values, restarts, storage, codecs. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NomadError, SeededRng } from '../../core/lib/index.js';
import { applyChange, decodeConfChange, encodeConfChange } from './confchange.js';
import { RawNode } from './rawnode.js';
import { MemoryStorage, limitSize } from './storage.js';
import { TestCluster, textEncoder } from './testkit.js';
import type { NodeOptions } from './testkit.js';
import type { Entry } from './types.js';

const opts: NodeOptions = { electionTick: 10, heartbeatTick: 1 };

function elected(extra: NodeOptions = {}): TestCluster {
  const c = new TestCluster(1);
  for (const id of ['1', '2', '3']) c.add(id, ['1', '2', '3'], [], { ...opts, ...extra });
  c.node('1').rn.campaign();
  c.stabilize();
  return c;
}

function codeOf(r: unknown): string | undefined {
  return r instanceof NomadError ? r.code : undefined;
}

describe('proposal back-pressure', () => {
  it('answers resource_exhausted at once when maxUncommittedEntries proposals wait, and accepts again once they commit', () => {
    const c = elected({ maxUncommittedEntries: 3 });
    c.isolate('2');
    c.isolate('3');
    const results = [1, 2, 3, 4].map((i) => c.propose('1', `p${i}`));
    expect(results.slice(0, 3).every((r) => !(r instanceof Error))).toBe(true);
    expect(codeOf(results[3])).toBe('resource_exhausted');
    expect((results[3] as NomadError).message).toMatch(/3 proposals are waiting to commit \(the limit is 3\)/);
    const last = c.node('1').rn.status().lastIndex;
    c.stabilize();
    expect(c.node('1').rn.status().lastIndex).toBe(last); // the refused one was not appended
    c.heal();
    c.tick('1');
    c.stabilize();
    expect(c.node('2').fsm).toEqual(['p1', 'p2', 'p3']);
    expect(c.propose('1', 'p5')).not.toBeInstanceOf(Error);
  });

  it('answers unavailable when there is no leader, naming the leader when one is known', () => {
    const c = new TestCluster(1);
    for (const id of ['1', '2', '3']) c.add(id, ['1', '2', '3'], [], opts);
    expect(codeOf(c.propose('1', 'x'))).toBe('unavailable');
    expect((c.propose('1', 'x') as NomadError).message).toBe('no Raft leader is known');
    c.node('1').rn.campaign();
    c.stabilize();
    expect((c.propose('2', 'x') as NomadError).message).toBe('not the Raft leader (the leader is 1)');
    expect(codeOf(c.node('2').rn.readIndex('r'))).toBeUndefined(); // forwarded
    const lone = new TestCluster(2);
    lone.add('9', ['9', '8'], [], opts);
    expect(codeOf(lone.node('9').rn.readIndex('r'))).toBe('unavailable');
    expect(codeOf(lone.node('9').rn.transferLeader('8'))).toBe('unavailable');
  });
});

describe('errors as values and bad input', () => {
  it('refuses a message addressed to another server, and leaves the state alone', () => {
    const c = elected();
    const before = c.node('2').rn.status();
    const err = c.node('2').rn.step({ type: 'heartbeat', from: '1', to: '3', term: 9, commit: 0, ctx: '' });
    expect(err).toBeInstanceOf(NomadError);
    expect(err?.field).toBe('to');
    expect(c.node('2').rn.status()).toEqual(before);
  });

  it('refuses a bad configuration with the field named', () => {
    const storage = new MemoryStorage({ voters: ['1'], learners: [] });
    const rng = new SeededRng(1);
    const bad: [Partial<ConstructorParameters<typeof RawNode>[0]>, string][] = [
      [{ id: '' }, 'id'],
      [{ electionTick: 1, heartbeatTick: 1 }, 'electionTick'],
      [{ maxInflightMsgs: 0 }, 'maxInflightMsgs'],
      [{ snapshotChunkSize: 0 }, 'snapshotChunkSize'],
      [{ applied: 5 }, 'applied'],
    ];
    for (const [cfg, field] of bad) {
      let thrown: unknown;
      try {
        new RawNode({ id: '1', storage, rng, ...cfg });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(NomadError);
      expect((thrown as NomadError).field).toBe(field);
    }
  });

  it('refuses a leadership transfer to a non-voter', () => {
    const c = elected();
    const r = c.node('1').rn.transferLeader('7');
    expect(codeOf(r)).toBe('invalid_argument');
    expect(c.node('1').rn.status().transferee).toBe('');
  });

  it('refuses to compact at or below the last snapshot', () => {
    const c = elected();
    c.propose('1', 'a');
    c.stabilize();
    c.compact('1');
    expect(codeOf(c.node('1').rn.compact(2, new Uint8Array(0)))).toBe('conflict');
  });

  it('decodeConfChange names what is wrong with a malformed entry', () => {
    const bad: [string, string | undefined][] = [
      ['not json', undefined],
      ['{"type":"promote","id":"a","conf":{"voters":[],"learners":[]}}', 'type'],
      ['{"type":"remove","id":"","conf":{"voters":[],"learners":[]}}', 'id'],
      ['{"type":"remove","id":"a"}', 'conf'],
      ['{"type":"remove","id":"a","conf":{"voters":[1],"learners":[]}}', 'conf'],
    ];
    for (const [text, field] of bad) {
      let thrown: unknown;
      try {
        decodeConfChange(textEncoder.encode(text));
      } catch (e) {
        thrown = e;
      }
      expect(codeOf(thrown)).toBe('invalid_argument');
      expect((thrown as NomadError).field).toBe(field);
    }
  });
});

describe('InstallSnapshot chunks (follower side)', () => {
  const meta = { index: 5, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } };
  const chunk = (offset: number, text: string, done = false) =>
    ({ type: 'snap' as const, from: '2', to: '1', term: 1, meta, offset, chunk: textEncoder.encode(text), done });

  it('acknowledges in order, ignores duplicates, refuses a gap with the offset it expects, installs on the last chunk', () => {
    const c = new TestCluster(1);
    for (const id of ['1', '2', '3']) c.add(id, ['1', '2', '3'], [], opts);
    const answers = (m: ReturnType<typeof chunk>): string => {
      c.stepInto(m);
      return c.drain('1').map((r) => (r.type === 'snap-resp' ? `${r.offset}${r.reject ? ' reject' : ''}` : r.type === 'app-resp' ? `installed ${r.index}` : r.type)).join(',');
    };
    expect(answers(chunk(0, 'abc'))).toBe('3');
    expect(answers(chunk(0, 'abc'))).toBe('3'); // a late duplicate of the first chunk keeps the progress
    expect(answers(chunk(6, 'ghi'))).toBe('3 reject'); // a gap: the leader resends from 3
    expect(answers(chunk(3, 'def'))).toBe('6');
    expect(answers(chunk(6, 'ghi', true))).toBe('installed 5');
    expect(c.node('1').fsm).toEqual(['abcdefghi']);
    expect(c.node('1').storage.snapshot().meta.index).toBe(5);
    expect(answers(chunk(6, 'ghi', true))).toBe('installed 5'); // already have it: just say so
  });
});

describe('restart', () => {
  it('a server restarted on its storage keeps term, vote, log and membership, and re-applies from its applied index', () => {
    const c = elected();
    c.propose('1', 'a');
    c.node('1').rn.proposeConfChange({ type: 'add-learner', id: '4' });
    c.stabilize();
    const n2 = c.node('2');
    const before = n2.rn.status();
    const again = new RawNode({ id: '2', storage: n2.storage, rng: new SeededRng(7), ...opts });
    const st = again.status();
    expect(st).toMatchObject({ term: before.term, commit: before.commit, lastIndex: before.lastIndex, applied: 0 });
    expect(st.conf.learners).toEqual([]); // not yet: the change is re-applied with its entry
    const rd = again.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([1, 2, 3]);
    again.advance(rd);
    expect(again.status().conf.learners).toEqual(['4']);
    // Restarted with the state machine already at 3 (e.g. a durable FSM): membership is restored at once.
    const warm = new RawNode({ id: '2', storage: n2.storage, rng: new SeededRng(7), applied: 3, ...opts });
    expect(warm.status().conf.learners).toEqual(['4']);
    expect(warm.ready().committedEntries).toEqual([]);
  });
});

describe('storage and codecs (properties)', () => {
  const entry = (index: number, size: number): Entry => ({ index, term: 1, type: 'normal', data: new Uint8Array(size) });

  it('limitSize keeps the longest prefix within the budget, and always at least one entry', () => {
    fc.assert(fc.property(fc.array(fc.nat(20), { minLength: 1, maxLength: 30 }), fc.nat(200), (sizes, budget) => {
      const ents = sizes.map((s, i) => entry(i + 1, s));
      const out = limitSize(ents, budget);
      expect(out.length).toBeGreaterThanOrEqual(1);
      const total = out.reduce((t, e) => t + e.data.length, 0);
      if (out.length > 1) expect(total).toBeLessThanOrEqual(budget);
      if (out.length < ents.length) expect(total + ents[out.length]!.data.length).toBeGreaterThan(budget);
    }));
  });

  it('MemoryStorage: appends overwrite from their first index, compaction keeps terms, reads stay in range', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(12), fc.integer({ min: 1, max: 4 }), fc.nat(6)), { maxLength: 25 }), (ops) => {
      const s = new MemoryStorage();
      const model: number[] = []; // model[i-1] = term of entry i
      let snap = 0;
      for (const [at, n, compactTo] of ops) {
        const first = Math.min(Math.max(at, snap + 1), model.length + 1);
        const term = (model[first - 2] ?? 0) + 1;
        s.append(Array.from({ length: n }, (_, k) => ({ index: first + k, term, type: 'normal' as const, data: new Uint8Array(0) })));
        model.length = first - 1;
        for (let k = 0; k < n; k++) model.push(term);
        if (compactTo > 0 && snap + compactTo <= model.length) {
          snap += compactTo;
          s.compact(snap);
        }
        expect(s.lastIndex()).toBe(model.length);
        expect(s.firstIndex()).toBe(snap + 1);
        for (let i = snap; i <= model.length; i++) expect(s.term(i)).toBe(i === 0 ? 0 : model[i - 1]);
        expect(s.term(model.length + 1)).toBeUndefined();
        if (snap > 0) expect(s.term(snap - 1)).toBeUndefined();
      }
      expect(() => s.entries(snap, model.length + 1, 1e9)).toThrow(NomadError);
    }));
  });

  it('conf-change entries round-trip, and applyChange takes a new voter through the learner stage', () => {
    const conf = { voters: ['1', '2'], learners: [] };
    const step1 = applyChange(conf, { type: 'add-voter', id: '3' });
    expect(step1).toEqual({ voters: ['1', '2'], learners: ['3'], promoting: ['3'] });
    const step2 = applyChange(step1, { type: 'add-voter', id: '3' });
    expect(step2).toEqual({ voters: ['1', '2', '3'], learners: [] });
    expect(applyChange(step2, { type: 'remove', id: '1' })).toEqual({ voters: ['2', '3'], learners: [] });
    const round = decodeConfChange(encodeConfChange({ type: 'add-voter', id: '3' }, step1));
    expect(round).toEqual({ type: 'add-voter', id: '3', conf: step1 });
  });
});
