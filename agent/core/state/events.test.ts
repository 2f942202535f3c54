import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventBuffer } from './events.js';
import type { StateEvent } from './events.js';
import { mockAlloc, mockEval, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';

function ev(index: number, key = `k${index}`): StateEvent {
  return { topic: 'Node', type: 'NodeRegistration', key, filterKeys: [], namespace: '', index, payload: mockNode(key) };
}

describe('EventBuffer', () => {
  it('delivers events after fromIndex, then waits for new ones', async () => {
    const buf = new EventBuffer(10);
    buf.publish([ev(1), ev(2), ev(3)]);
    const sub = buf.subscribe({ fromIndex: 1 });
    const first = await sub.next();
    expect(first.kind === 'events' && first.events.map((e) => e.index)).toEqual([2, 3]);
    const pending = sub.next();
    buf.publish([ev(4)]);
    const second = await pending;
    expect(second.kind === 'events' && second.events.map((e) => e.index)).toEqual([4]);
    sub.close();
    expect(await sub.next()).toEqual({ kind: 'closed' });
  });

  it('is bounded: a subscriber that fell behind is told to resume, then carries on', async () => {
    const buf = new EventBuffer(4);
    const sub = buf.subscribe({ fromIndex: 0 });
    for (let i = 1; i <= 10; i++) buf.publish([ev(i)]);
    expect(buf.size()).toBe(4);
    expect(await sub.next()).toEqual({ kind: 'lost', resumeFrom: 6 });
    const r = await sub.next();
    expect(r.kind === 'events' && r.events.map((e) => e.index)).toEqual([7, 8, 9, 10]);
  });

  it('reports a loss when a new subscriber asks for an index already dropped', async () => {
    const buf = new EventBuffer(2);
    buf.publish([ev(1), ev(2), ev(3)]);
    expect(await buf.subscribe({ fromIndex: 0 }).next()).toEqual({ kind: 'lost', resumeFrom: 1 });
    const ok = await buf.subscribe({ fromIndex: 1 }).next();
    expect(ok.kind === 'events' && ok.events.map((e) => e.index)).toEqual([2, 3]);
  });

  it('counts a partly dropped index as lost', async () => {
    const buf = new EventBuffer(3);
    buf.publish([ev(1, 'a'), ev(2, 'b'), ev(2, 'c'), ev(2, 'd')]);
    // 'a' (index 1) was pushed out.
    expect(await buf.subscribe({ fromIndex: 0 }).next()).toEqual({ kind: 'lost', resumeFrom: 1 });
    // Now 'b' goes: index 2 is only partly held, so fromIndex 1 is a loss.
    buf.publish([ev(3, 'e')]);
    expect(await buf.subscribe({ fromIndex: 1 }).next()).toEqual({ kind: 'lost', resumeFrom: 2 });
  });

  it('filters by topic and key (or filter key)', async () => {
    const buf = new EventBuffer(10);
    const sub = buf.subscribe({ fromIndex: 0, topics: { Evaluation: ['job-a'], Node: '*' } });
    const p = sub.next();
    buf.publish([
      { topic: 'Evaluation', type: 'EvaluationUpdated', key: 'e1', filterKeys: ['job-b'], namespace: 'default', index: 1, payload: mockEval('e1', 'job-b') },
      { topic: 'Allocation', type: 'AllocationUpdated', key: 'a1', filterKeys: ['job-a'], namespace: 'default', index: 1, payload: mockAlloc('a1', mockJob('job-a'), 'n', 'e') },
    ]);
    buf.publish([
      { topic: 'Evaluation', type: 'EvaluationUpdated', key: 'e2', filterKeys: ['job-a'], namespace: 'default', index: 2, payload: mockEval('e2', 'job-a') },
      ev(2, 'n9'),
    ]);
    const r = await p;
    expect(r.kind === 'events' && r.events.map((e) => e.key)).toEqual(['e2', 'n9']);
  });

  it('refuses a second concurrent next() and a bad capacity', async () => {
    const buf = new EventBuffer(2);
    const sub = buf.subscribe({ fromIndex: 0 });
    const waiting = sub.next();
    await expect(sub.next()).rejects.toThrow(/still waiting/);
    sub.close();
    expect(await waiting).toEqual({ kind: 'closed' });
    expect(() => new EventBuffer(0)).toThrow(RangeError);
  });
});

describe('FSM events', () => {
  it('publishes one event per changed object, typed by command, with the index', async () => {
    const fsm = new Fsm({ events: new EventBuffer(100) });
    const sub = fsm.events.subscribe({ fromIndex: 0 });
    fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
    fsm.apply(2, { type: 'UpsertJob', job: mockJob('web'), eval: mockEval('e1', 'web') });
    const job = fsm.store.snapshot().jobByID('default', 'web')!;
    fsm.apply(3, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a1', job, 'n1', 'e1'), mockAlloc('a2', job, 'n1', 'e1')], allocsStopped: [], allocsPreempted: [], evalId: 'e1' });
    fsm.apply(4, { type: 'UpdateNodeDrain', nodeId: 'n1', drainStrategy: { deadline: 1, ignoreSystemJobs: false, forceDeadline: 0, startedAt: 0 }, markEligible: false });
    fsm.apply(5, { type: 'DeregisterNodes', nodeIds: ['n1'] });
    const r = await sub.next();
    if (r.kind !== 'events') throw new Error(`expected events, got ${r.kind}`);
    const seen = r.events.map((e) => `${e.index} ${e.topic} ${e.type} ${e.key}`);
    expect(seen).toEqual([
      '1 Node NodeRegistration n1',
      '2 Job JobRegistered web',
      '2 Evaluation EvaluationUpdated e1',
      '3 Evaluation PlanResult e1',
      '3 Allocation PlanResult a1',
      '3 Allocation PlanResult a2',
      // Job status moved pending → running in the same write.
      '3 Job PlanResult web',
      '4 Node NodeDrain n1',
      '5 Node NodeDeregistration n1',
    ]);
    const alloc = r.events.find((e) => e.key === 'a1')!;
    expect(alloc.filterKeys).toEqual(['web', 'e1', 'n1']);
    expect(alloc.payload).toBe(fsm.store.snapshot().allocByID('a1'));
  });

  it('a failed command publishes nothing; a restore tells subscribers they lost events', async () => {
    const fsm = new Fsm();
    fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
    const sub = fsm.events.subscribe({ fromIndex: 1 });
    expect(() => fsm.apply(2, { type: 'UpdateNodeStatus', nodeId: 'nope', status: 'down', updatedAt: 0 })).toThrow();
    const p = sub.next();
    const other = new Fsm();
    other.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
    other.apply(7, { type: 'UpsertNode', node: mockNode('n2') });
    fsm.restore(other.snapshot());
    expect(await p).toEqual({ kind: 'lost', resumeFrom: 7 });
    fsm.apply(8, { type: 'UpsertNode', node: mockNode('n3') });
    const r = await sub.next();
    expect(r.kind === 'events' && r.events.map((e) => e.key)).toEqual(['n3']);
  });
});

describe('EventBuffer: lazily published writes', () => {
  it('builds a write\'s events once, when first read, and shares them between readers', async () => {
    const buf = new EventBuffer(10);
    let builds = 0;
    buf.publishLazy(1, 2, () => {
      builds++;
      return [ev(1, 'a'), ev(1, 'b')];
    });
    expect([builds, buf.size(), buf.lastIndex()]).toEqual([0, 2, 1]);
    const a = await buf.subscribe({ fromIndex: 0 }).next();
    const b = await buf.subscribe({ fromIndex: 0 }).next();
    expect(builds).toBe(1);
    expect(a.kind === 'events' && a.events.map((e) => e.key)).toEqual(['a', 'b']);
    expect(a.kind === 'events' && b.kind === 'events' && a.events[1] === b.events[1]).toBe(true);
  });

  it('refuses a builder that returns a different number of events than announced', async () => {
    const buf = new EventBuffer(10);
    buf.publishLazy(1, 2, () => [ev(1)]);
    expect(() => buf.subscribe({ fromIndex: 0 }).next()).toThrow(/built 1 events, not 2/);
  });

  it('delivers exactly what eager publishing delivers: every held event in order from any index, losses included', async () => {
    const batch = fc.record({ size: fc.integer({ min: 0, max: 6 }), readers: fc.array(fc.nat({ max: 40 }), { maxLength: 2 }) });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(batch, { maxLength: 25 }), async (capacity, batches) => {
        const eager = new EventBuffer(capacity);
        const lazy = new EventBuffer(capacity);
        const read = async (buf: EventBuffer, from: number): Promise<string[]> => {
          const sub = buf.subscribe({ fromIndex: from });
          const out: string[] = [];
          for (let i = 0; i < 4; i++) {
            const r = await Promise.race([sub.next(), Promise.resolve(undefined)]);
            if (r === undefined) break;
            if (r.kind === 'events') out.push(...r.events.map((e) => `${e.index}:${e.key}`));
            else out.push(JSON.stringify(r));
          }
          sub.close();
          return out;
        };
        const pending: Promise<void>[] = [];
        batches.forEach((b, i) => {
          const index = i + 1;
          const events = Array.from({ length: b.size }, (_, k) => ev(index, `w${index}.${k}`));
          eager.publish(events);
          lazy.publishLazy(index, b.size, () => events);
          for (const from of b.readers) {
            pending.push(Promise.all([read(eager, from), read(lazy, from)]).then(([x, y]) => expect(y).toEqual(x)));
          }
          expect([lazy.size(), lazy.lastIndex()]).toEqual([eager.size(), eager.lastIndex()]);
        });
        await Promise.all(pending);
      }),
      { numRuns: 200, seed: 5 },
    );
  });

  it('an FSM subscriber that joins late receives every event of every write, in order, as one that read along did', async () => {
    const fsm = new Fsm({ events: new EventBuffer(64) });
    fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
    const early = fsm.events.subscribe({ fromIndex: 1 });
    const seen: string[] = [];
    const readAlong = async (): Promise<void> => {
      const r = await early.next();
      if (r.kind === 'events') seen.push(...r.events.map((e) => `${e.index} ${e.type} ${e.key}`));
    };
    const job = mockJob('web');
    fsm.apply(2, { type: 'UpsertJob', job, eval: mockEval('e1', 'web') });
    await readAlong();
    fsm.apply(3, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a1', job, 'n1', 'e1'), mockAlloc('a2', job, 'n1', 'e1')], allocsStopped: [], allocsPreempted: [], job, evalId: 'e1' });
    await readAlong();
    fsm.apply(4, { type: 'DeleteEvalsAllocs', evalIds: [], allocIds: ['a1'] });
    await readAlong();
    const r = await fsm.events.subscribe({ fromIndex: 1 }).next();
    const late = r.kind === 'events' ? r.events.map((e) => `${e.index} ${e.type} ${e.key}`) : [];
    expect(late).toEqual([
      '2 JobRegistered web',
      '2 EvaluationUpdated e1',
      '3 PlanResult e1',
      '3 PlanResult a1',
      '3 PlanResult a2',
      '3 PlanResult web',
      '4 AllocationDeleted a1',
    ]);
    expect(seen).toEqual(late);
    // A deletion carries the row as it was.
    expect(r.kind === 'events' && r.events[6]!.payload).toMatchObject({ id: 'a1', modifyIndex: 3 });
  });
});
