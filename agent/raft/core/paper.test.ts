/**
 * Tests named by the rules of the Raft paper (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", extended version), sections 5.1-5.4, 6 and 7.
 */
import { describe, expect, it } from 'vitest';
import { NomadError } from '../../core/lib/index.js';
import { TestCluster, textEncoder } from './testkit.js';
import type { NodeOptions } from './testkit.js';
import type { AppMessage, Entry, Message, ServerId, VoteMessage } from './types.js';

/** Plain Raft: no pre-vote or check-quorum, so the paper's rules apply as written. */
const plain: NodeOptions = { preVote: false, checkQuorum: false, electionTick: 10, heartbeatTick: 1 };

function cluster(ids: ServerId[], opts: NodeOptions = plain, seed = 1): TestCluster {
  const c = new TestCluster(seed);
  for (const id of ids) c.add(id, ids, [], opts);
  return c;
}

function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: textEncoder.encode(data) };
}

function app(from: ServerId, to: ServerId, term: number, index: number, logTerm: number, entries: Entry[], commit = 0): AppMessage {
  return { type: 'app', from, to, term, index, logTerm, entries, commit };
}

function vote(from: ServerId, to: ServerId, term: number, index: number, logTerm: number): VoteMessage {
  return { type: 'vote', from, to, term, index, logTerm, transfer: false };
}

type Of<T extends Message['type']> = Message & { type: T };

function ofType<T extends Message['type']>(msgs: Message[], type: T): Of<T>[] {
  return msgs.filter((m): m is Of<T> => m.type === type);
}

/** Elect `id` in a plain cluster and settle. */
function elected(ids: ServerId[], id: ServerId, opts: NodeOptions = plain): TestCluster {
  const c = cluster(ids, opts);
  c.node(id).rn.campaign();
  c.stabilize();
  expect(c.leader()).toBe(id);
  return c;
}

describe('§5.1 Raft basics', () => {
  it('every server starts as a follower with no leader', () => {
    const c = cluster(['1', '2', '3']);
    for (const id of ['1', '2', '3']) expect(c.node(id).rn.status()).toMatchObject({ role: 'follower', leader: '', term: 0 });
  });

  it('a server that sees a higher term adopts it and becomes a follower (follower, candidate and leader alike)', () => {
    const c = elected(['1', '2', '3'], '1');
    c.node('2').rn.campaign(); // 2 becomes a candidate at term 2 (its requests are not delivered)
    c.drain('2');
    expect(c.node('2').rn.status().role).toBe('candidate');
    for (const id of ['1', '2', '3']) {
      c.stepInto({ type: 'heartbeat', from: '9', to: id, term: 5, commit: 0, ctx: '' });
      expect(c.node(id).rn.status()).toMatchObject({ role: 'follower', term: 5, leader: '9' });
    }
  });

  it('a request with a stale term is refused, and the sender learns the current term', () => {
    const c = elected(['1', '2', '3'], '1');
    c.stepInto({ type: 'heartbeat', from: '9', to: '2', term: 7, commit: 0, ctx: '' });
    c.drain('2');
    const before = c.node('2').rn.status().lastIndex;
    c.stepInto(app('1', '2', 1, 1, 1, [ent(2, 1, 'stale')], 0));
    const out = c.drain('2');
    expect(c.node('2').rn.status().lastIndex).toBe(before);
    expect(ofType(out, 'app-resp')).toEqual([expect.objectContaining({ to: '1', term: 7 })]);
  });
});

describe('§5.2 Leader election', () => {
  it('a follower that hears nothing for an election timeout becomes a candidate: new term, votes for itself, asks every peer', () => {
    const c = cluster(['1', '2', '3']);
    c.tick('1', 20); // past any randomised timeout in [10, 20)
    const out = c.drain('1');
    expect(c.node('1').rn.status()).toMatchObject({ role: 'candidate', term: 1, vote: '1' });
    const votes = ofType(out, 'vote');
    expect(votes.map((m) => m.to).sort()).toEqual(['2', '3']);
    expect(votes.every((m) => m.term === 1 && m.index === 0 && m.logTerm === 0)).toBe(true);
    // The vote is durable before the requests leave (same Ready, mustSync).
    expect(c.node('1').storage.hardState()).toMatchObject({ term: 1, vote: '1' });
  });

  it('a candidate with votes from a majority becomes leader and announces itself to every peer', () => {
    const c = cluster(['1', '2', '3', '4', '5']);
    c.node('1').rn.campaign();
    c.drain('1');
    c.stepInto({ type: 'vote-resp', from: '2', to: '1', term: 1, reject: false });
    expect(c.node('1').rn.status().role).toBe('candidate');
    c.stepInto({ type: 'vote-resp', from: '3', to: '1', term: 1, reject: false });
    expect(c.node('1').rn.status().role).toBe('leader');
    const out = c.drain('1');
    expect(ofType(out, 'app').map((m) => m.to).sort()).toEqual(['2', '3', '4', '5']);
  });

  it('a candidate that hears from a leader of its own term returns to follower', () => {
    const c = cluster(['1', '2', '3']);
    c.node('1').rn.campaign();
    c.drain('1');
    c.stepInto(app('2', '1', 1, 0, 0, [], 0));
    expect(c.node('1').rn.status()).toMatchObject({ role: 'follower', leader: '2', term: 1 });
  });

  it('a candidate that neither wins nor loses starts a new election in a higher term when its timeout passes', () => {
    const c = cluster(['1', '2', '3']);
    c.node('1').rn.campaign();
    c.drain('1');
    c.tick('1', 20);
    c.drain('1');
    expect(c.node('1').rn.status()).toMatchObject({ role: 'candidate', term: 2 });
  });

  it('a candidate that a majority refuses steps back to follower', () => {
    const c = cluster(['1', '2', '3']);
    c.node('1').rn.campaign();
    c.drain('1');
    c.stepInto({ type: 'vote-resp', from: '2', to: '1', term: 1, reject: true });
    c.stepInto({ type: 'vote-resp', from: '3', to: '1', term: 1, reject: true });
    expect(c.node('1').rn.status().role).toBe('follower');
  });

  it('each server votes for at most one candidate per term, first come first served', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(vote('2', '1', 1, 0, 0));
    c.stepInto(vote('3', '1', 1, 0, 0));
    c.stepInto(vote('2', '1', 1, 0, 0)); // a retransmission is answered the same way
    const resps = ofType(c.drain('1'), 'vote-resp');
    expect(resps.map((m) => `${m.to}:${m.reject ? 'no' : 'yes'}`)).toEqual(['2:yes', '3:no', '2:yes']);
    expect(c.node('1').storage.hardState().vote).toBe('2');
  });

  it('election timeouts are randomised in [electionTick, 2 * electionTick)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const c = cluster(['1', '2', '3'], plain, seed);
      let ticks = 0;
      while (c.node('1').rn.status().role === 'follower') {
        c.tick('1');
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it('a leader sends heartbeats to every follower each heartbeat interval', () => {
    const c = elected(['1', '2', '3'], '1', { ...plain, heartbeatTick: 2 });
    c.tick('1');
    expect(ofType(c.drain('1'), 'heartbeat')).toHaveLength(0);
    c.tick('1');
    expect(ofType(c.drain('1'), 'heartbeat').map((m) => m.to).sort()).toEqual(['2', '3']);
  });
});

describe('§5.3 Log replication', () => {
  it('the leader appends a command to its log and sends it to every follower', () => {
    const c = elected(['1', '2', '3'], '1');
    const r = c.propose('1', 'x');
    expect(r).toEqual({ index: 2, term: 1 });
    const out = ofType(c.drain('1'), 'app');
    expect(out.map((m) => m.to).sort()).toEqual(['2', '3']);
    expect(out.every((m) => m.entries.length === 1 && m.entries[0]!.index === 2 && m.index === 1 && m.logTerm === 1)).toBe(true);
    expect(c.node('1').storage.lastIndex()).toBe(2);
  });

  it('an entry is committed once a majority stores it, and the leader then applies it', () => {
    const c = elected(['1', '2', '3'], '1');
    c.propose('1', 'x');
    c.drain('1');
    expect(c.node('1').rn.status().commit).toBe(1);
    c.stepInto({ type: 'app-resp', from: '2', to: '1', term: 1, index: 2, reject: false, rejectHint: 0, logTerm: 0 });
    expect(c.node('1').rn.status().commit).toBe(2);
    c.drain('1');
    expect(c.node('1').fsm).toEqual(['x']);
  });

  it('followers learn the commit index from the leader and apply committed entries in order', () => {
    const c = elected(['1', '2', '3'], '1');
    c.propose('1', 'a');
    c.propose('1', 'b');
    c.stabilize();
    for (const id of ['2', '3']) {
      expect(c.node(id).fsm).toEqual(['a', 'b']);
      expect(c.node(id).applied.map((e) => e.index)).toEqual([1, 2, 3]);
    }
  });

  it('a follower refuses an append whose previous entry it does not have (consistency check)', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(app('2', '1', 2, 5, 2, [ent(6, 2)], 0));
    const [resp] = ofType(c.drain('1'), 'app-resp');
    expect(resp).toMatchObject({ reject: true, index: 5, rejectHint: 0 });
    expect(c.node('1').storage.lastIndex()).toBe(0);
  });

  it('a follower deletes a conflicting suffix and appends the leader\'s entries', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(app('2', '1', 1, 0, 0, [ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 1, 'c')], 1));
    c.drain('1');
    c.stepInto(app('3', '1', 2, 1, 1, [ent(2, 2, 'B')], 1));
    const [resp] = ofType(c.drain('1'), 'app-resp');
    expect(resp).toMatchObject({ reject: false, index: 2 });
    const log = c.node('1').storage.entries(1, c.node('1').storage.lastIndex() + 1, 1e9);
    expect(log.map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '2/2']);
  });

  it('a rejected leader walks back the follower\'s next index to where the logs match and fills it in', () => {
    const c = elected(['1', '2', '3'], '1');
    c.isolate('3');
    for (const d of ['a', 'b', 'c']) c.propose('1', d);
    c.stabilize();
    c.heal();
    c.takeOutput();
    c.tick('1');
    c.stabilize();
    const out = c.takeOutput();
    expect(out).toContain('  3->1 app-resp term=1 reject index=4 hint=1/1');
    expect(out).toContain('  1->3 app term=1 prev=1/1 commit=4 entries=[1/2 normal "a", 1/3 normal "b", 1/4 normal "c"]');
    expect(c.node('3').fsm).toEqual(['a', 'b', 'c']);
  });

  it('a follower\'s conflicting entries from a deposed leader are overwritten by the new leader\'s', () => {
    const c = elected(['1', '2', '3'], '1');
    c.isolate('1');
    c.propose('1', 'x'); // never reach a majority
    c.propose('1', 'y');
    c.stabilize();
    c.node('2').rn.campaign();
    c.stabilize();
    expect(c.node('2').rn.status()).toMatchObject({ role: 'leader', term: 2 });
    c.propose('2', 'd');
    c.stabilize();
    c.heal();
    c.tick('2', 1);
    c.stabilize();
    for (const id of ['1', '2', '3']) expect(c.node(id).fsm).toEqual(['d']);
    const log1 = c.node('1').storage.entries(1, c.node('1').storage.lastIndex() + 1, 1e9);
    expect(log1.map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '2/2', '2/3']);
  });

  it('a leader never overwrites or deletes entries in its own log', () => {
    const c = elected(['1', '2', '3'], '1');
    c.propose('1', 'a');
    c.drain('1');
    // A follower claims (wrongly) a conflicting log: the leader only walks next back.
    c.stepInto({ type: 'app-resp', from: '2', to: '1', term: 1, index: 2, reject: true, rejectHint: 0, logTerm: 0 });
    c.drain('1');
    expect(c.node('1').storage.entries(1, 3, 1e9).map((e) => `${e.term}/${e.index}`)).toEqual(['1/1', '1/2']);
  });

  it('proposals made between two Readys go out together in one append per follower', () => {
    const c = elected(['1', '2', '3'], '1');
    for (let i = 0; i < 5; i++) c.propose('1', `p${i}`);
    const apps = ofType(c.drain('1'), 'app');
    expect(apps.map((m) => `${m.to}:${m.entries.length}`).sort()).toEqual(['2:5', '3:5']);
  });

  it('an append carries at most maxSizePerMsg bytes of entries; the rest follow as the window allows', () => {
    const c = elected(['1', '2', '3'], '1', { ...plain, maxSizePerMsg: 10 });
    for (let i = 0; i < 6; i++) c.propose('1', 'xxxx');
    const sent = c.drain('1');
    const first = ofType(sent, 'app').filter((m) => m.to === '2');
    expect(first.map((m) => m.entries.length)).toEqual([2]);
    for (const m of sent) c.deliver(m);
    c.stabilize();
    expect(c.node('2').fsm).toHaveLength(6);
  });
});

describe('§5.4 Safety', () => {
  it('§5.4.1 a voter denies its vote to a candidate whose log is less up to date (lower last term)', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(app('2', '1', 2, 0, 0, [ent(1, 1), ent(2, 2)], 0));
    c.drain('1');
    c.stepInto(vote('3', '1', 3, 5, 1));
    expect(ofType(c.drain('1'), 'vote-resp')).toEqual([expect.objectContaining({ to: '3', reject: true, term: 3 })]);
  });

  it('§5.4.1 a voter denies its vote to a candidate with the same last term but a shorter log', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(app('2', '1', 2, 0, 0, [ent(1, 2), ent(2, 2)], 0));
    c.drain('1');
    c.stepInto(vote('3', '1', 3, 1, 2));
    expect(ofType(c.drain('1'), 'vote-resp')[0]).toMatchObject({ reject: true });
  });

  it('§5.4.1 a voter grants its vote to a candidate whose log is at least as up to date', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(app('2', '1', 2, 0, 0, [ent(1, 2), ent(2, 2)], 0));
    c.drain('1');
    c.stepInto(vote('3', '1', 3, 2, 2));
    expect(ofType(c.drain('1'), 'vote-resp')[0]).toMatchObject({ reject: false });
  });

  it('§5.4.2 a leader does not commit an entry from an earlier term by counting replicas', () => {
    const c = elected(['1', '2', '3'], '1');
    c.isolate('1');
    c.propose('1', 'old'); // index 2, term 1: only on 1
    c.stabilize();
    c.heal();
    c.stepInto({ type: 'heartbeat', from: '2', to: '1', term: 2, commit: 1, ctx: '' });
    c.drain('1');
    // 1 campaigns at term 3 and wins; 2 and 3 answer but never acknowledge the new no-op.
    c.tick('1', 20);
    const out = c.drain('1');
    for (const m of ofType(out, 'vote')) c.stepInto({ type: 'vote-resp', from: m.to, to: '1', term: m.term, reject: false });
    expect(c.node('1').rn.status()).toMatchObject({ role: 'leader', term: 3 });
    c.drain('1');
    // A majority now stores index 2 (term 1), but it must not commit by counting.
    c.stepInto({ type: 'app-resp', from: '2', to: '1', term: 3, index: 2, reject: false, rejectHint: 0, logTerm: 0 });
    expect(c.node('1').rn.status().commit).toBe(1);
    // Once the term-3 no-op at index 3 is on a majority, everything before it commits too.
    c.stepInto({ type: 'app-resp', from: '2', to: '1', term: 3, index: 3, reject: false, rejectHint: 0, logTerm: 0 });
    expect(c.node('1').rn.status().commit).toBe(3);
  });

  it('§5.4.3 a leader elected later holds every committed entry (leader completeness)', () => {
    const c = elected(['1', '2', '3'], '1');
    c.propose('1', 'x');
    c.stabilize();
    c.isolate('1');
    c.tick('2', 20);
    c.stabilize();
    expect(c.node('2').rn.status()).toMatchObject({ role: 'leader', term: 2 });
    expect(c.node('2').fsm).toEqual(['x']);
  });
});

describe('§6 Cluster membership changes', () => {
  it('a server added as a voter first joins as a learner and becomes a voter once it has caught up', () => {
    const c = elected(['1', '2', '3'], '1', { ...plain, learnerPromotionLag: 2 });
    for (let i = 0; i < 5; i++) c.propose('1', `e${i}`);
    c.stabilize();
    c.add('4', [], [], { ...plain, learnerPromotionLag: 2 });
    const r = c.node('1').rn.proposeConfChange({ type: 'add-voter', id: '4' });
    expect(r).not.toBeInstanceOf(Error);
    // Applied: 4 is a learner on its way to voting.
    c.stabilize();

    const st = c.node('1').rn.status();
    expect(st.conf.voters).toContain('4');
    expect(st.conf.learners).not.toContain('4');
    expect(c.node('4').fsm).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    const confEntries = c.node('1').applied.filter((e) => e.type === 'conf-change');
    expect(confEntries).toHaveLength(2); // add (as learner), then promote
  });

  it('a learner receives the log but its acknowledgements never count towards a commit', () => {
    const c = new TestCluster(1);
    c.add('1', ['1', '2', '3'], ['4'], plain);
    c.add('2', ['1', '2', '3'], ['4'], plain);
    c.add('3', ['1', '2', '3'], ['4'], plain);
    c.add('4', ['1', '2', '3'], ['4'], plain);
    c.node('1').rn.campaign();
    c.stabilize();
    c.isolate('2');
    c.isolate('3');
    c.propose('1', 'x');
    c.stabilize();
    expect(c.node('4').storage.lastIndex()).toBe(2);
    expect(c.node('1').rn.status().commit).toBe(1);
  });

  it('a learner never campaigns', () => {
    const c = new TestCluster(1);
    c.add('1', ['1'], ['2'], plain);
    c.add('2', ['1'], ['2'], plain);
    c.tick('2', 100);
    c.drain('2');
    expect(c.node('2').rn.status().role).toBe('follower');
  });

  it('only one membership change may be in progress at a time', () => {
    const c = elected(['1', '2', '3'], '1');
    c.drain('1');
    expect(c.node('1').rn.proposeConfChange({ type: 'add-learner', id: '4' })).not.toBeInstanceOf(Error);
    const second = c.node('1').rn.proposeConfChange({ type: 'add-learner', id: '5' });
    expect(second).toBeInstanceOf(NomadError);
    expect((second as NomadError).code).toBe('conflict');
  });

  it('a removed leader steps down and the remaining servers elect a new one', () => {
    const c = elected(['1', '2', '3'], '1');
    c.node('1').rn.proposeConfChange({ type: 'remove', id: '1' });
    c.stabilize();
    expect(c.node('1').rn.status().role).toBe('follower');
    expect(c.node('2').rn.status().conf.voters).toEqual(['2', '3']);
    c.tick('2', 20);
    c.stabilize();
    expect(c.node('2').rn.status().role).toBe('leader');
    expect(c.node('3').rn.status().leader).toBe('2');
  });

  it('bad membership changes are refused with an error naming the problem, and change nothing', () => {
    const c = elected(['1', '2', '3'], '1');
    const cases: [Parameters<TestCluster['node']>[0], { type: 'add-voter' | 'add-learner' | 'remove'; id: string }, string][] = [
      ['1', { type: 'add-voter', id: '2' }, 'conflict'],
      ['1', { type: 'remove', id: '9' }, 'not_found'],
      ['1', { type: 'add-learner', id: '3' }, 'conflict'],
      ['1', { type: 'add-voter', id: '' }, 'invalid_argument'],
      ['2', { type: 'add-voter', id: '4' }, 'unavailable'],
    ];
    const last = c.node('1').rn.status().lastIndex;
    for (const [at, cc, code] of cases) {
      const r = c.node(at).rn.proposeConfChange(cc);
      expect(r).toBeInstanceOf(NomadError);
      expect((r as NomadError).code).toBe(code);
    }
    expect(c.node('1').rn.status().lastIndex).toBe(last);
  });
});

describe('§7 Log compaction', () => {
  it('a snapshot records the last included index and term and the membership, and replaces the log before it', () => {
    const c = elected(['1', '2', '3'], '1');
    for (const d of ['a', 'b', 'c']) c.propose('1', d);
    c.stabilize();
    c.compact('1');
    const snap = c.node('1').storage.snapshot();
    expect(snap.meta).toEqual({ index: 4, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } });
    expect(c.node('1').storage.firstIndex()).toBe(5);
  });

  it('the leader sends its snapshot, in chunks, to a follower whose next entry was compacted away', () => {
    const c = new TestCluster(1);
    for (const id of ['1', '2', '3']) c.add(id, ['1', '2', '3'], [], { ...plain, snapshotChunkSize: 4 });
    c.node('1').rn.campaign();
    c.stabilize();
    c.isolate('3');
    for (const d of ['alpha', 'beta', 'gamma']) c.propose('1', d);
    c.stabilize();
    c.compact('1');
    c.heal();
    c.takeOutput();
    c.tick('1');
    c.stabilize();
    const out = c.takeOutput();
    const chunks = out.filter((l) => l.includes('1->3 snap '));
    expect(chunks.length).toBeGreaterThan(2);
    expect(out).toContain('3: installed snapshot 1/4');
    expect(c.node('3').fsm).toEqual(['alpha', 'beta', 'gamma']);
    expect(c.node('3').storage.firstIndex()).toBe(5);
    // It then follows by ordinary appends.
    c.propose('1', 'delta');
    c.stabilize();
    expect(c.node('3').fsm).toEqual(['alpha', 'beta', 'gamma', 'delta']);
  });

  it('a follower whose log already contains the snapshot\'s last entry keeps the entries after it', () => {
    const c = cluster(['1', '2', '3']);
    c.stepInto(app('2', '1', 1, 0, 0, [ent(1, 1, 'a'), ent(2, 1, 'b'), ent(3, 1, 'c')], 0));
    c.drain('1');
    c.stepInto({ type: 'snap', from: '2', to: '1', term: 1, meta: { index: 2, term: 1, conf: { voters: ['1', '2', '3'], learners: [] } }, offset: 0, chunk: new Uint8Array(0), done: true });
    c.drain('1');
    expect(c.node('1').rn.status()).toMatchObject({ commit: 2, lastIndex: 3 });
    expect(c.node('1').storage.snapshot().meta.index).toBe(0);
  });

  it('the driver may only snapshot what it has applied', () => {
    const c = elected(['1', '2', '3'], '1');
    const r = c.node('1').rn.compact(5, new Uint8Array(0));
    expect(r).toBeInstanceOf(NomadError);
    expect((r as NomadError).code).toBe('invalid_argument');
    expect(c.node('1').storage.firstIndex()).toBe(1);
  });
});
