import { describe, expect, it } from 'vitest';
import { NomadError, VirtualClock } from '../lib/index.js';
import { mockAlloc, mockEval, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';
import type { StateSnapshot } from './store.js';

function fsmWithJob(): Fsm {
  const fsm = new Fsm();
  fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
  fsm.apply(2, { type: 'UpsertJob', job: mockJob('web'), eval: mockEval('e1', 'web') });
  return fsm;
}

/** Has the promise settled? (flushes microtasks only; no timers) */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('snapshots', () => {
  it('are O(1) handles that never see later writes', () => {
    const fsm = fsmWithJob();
    const before = fsm.store.snapshot();
    expect(fsm.store.snapshot()).toBe(before);
    const job = before.jobByID('default', 'web')!;
    fsm.apply(3, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a1', job, 'n1', 'e1')], allocsStopped: [], allocsPreempted: [] });
    fsm.apply(4, { type: 'UpdateNodeStatus', nodeId: 'n1', status: 'down', updatedAt: 1 });
    fsm.apply(5, { type: 'DeregisterJob', namespace: 'default', jobId: 'web', purge: true, submitTime: 0 });
    expect(before.index).toBe(2);
    expect(before.allocByID('a1')).toBeUndefined();
    expect(before.allocsByNode('n1')).toEqual([]);
    expect(before.nodeByID('n1')!.status).toBe('ready');
    expect(before.jobByID('default', 'web')).toBe(job);
    const after = fsm.store.snapshot();
    expect(after.allocsByNode('n1').map((a) => a.id)).toEqual(['a1']);
    expect(after.jobByID('default', 'web')).toBeUndefined();
  });

  it('returns fresh arrays of shared objects', () => {
    const fsm = fsmWithJob();
    const s = fsm.store.snapshot();
    const a = s.nodes();
    a.pop();
    expect(s.nodes()).toHaveLength(1);
    expect(s.nodes()[0]).toBe(s.nodeByID('n1'));
  });

  it('keeps unchanged per-node lists identical across writes to other nodes', () => {
    const fsm = fsmWithJob();
    fsm.apply(3, { type: 'UpsertNode', node: mockNode('n2') });
    const job = fsm.store.snapshot().jobByID('default', 'web')!;
    fsm.apply(4, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a1', job, 'n1', 'e1')], allocsStopped: [], allocsPreempted: [] });
    const s1 = fsm.store.snapshot();
    fsm.apply(5, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a2', job, 'n2', 'e1')], allocsStopped: [], allocsPreempted: [] });
    const s2 = fsm.store.snapshot();
    expect(s2.tables.allocsByNode.get('n1')).toBe(s1.tables.allocsByNode.get('n1'));
    expect(s2.tables.nodes).toBe(s1.tables.nodes);
    expect(s2.allocsByNode('n1')[0]).toBe(s1.allocByID('a1'));
  });
});

describe('waitForIndex', () => {
  it('resolves at once when the index is reached, else on the apply that reaches it', async () => {
    const fsm = fsmWithJob();
    await expect(fsm.store.waitForIndex(2)).resolves.toBe(fsm.store.snapshot());
    const p = fsm.store.waitForIndex(4);
    fsm.apply(3, { type: 'UpsertNode', node: mockNode('n2') });
    expect(await settled(p)).toBe(false);
    fsm.apply(4, { type: 'UpsertNode', node: mockNode('n3') });
    const snap = await p;
    expect(snap.index).toBe(4);
    expect(fsm.store.waiting()).toBe(0);
  });

  it('rejects with a timeout error on the virtual clock, and only then', async () => {
    const fsm = fsmWithJob();
    const clock = new VirtualClock();
    const p = fsm.store.waitForIndex(10, { clock, timeoutMs: 1000 });
    clock.advance(999);
    expect(await settled(p)).toBe(false);
    clock.advance(1);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NomadError);
    expect((err as NomadError).code).toBe('timeout');
    expect((err as NomadError).message).toContain('index 10');
    expect(fsm.store.waiting()).toBe(0);
  });

  it('cancels its timer when woken', async () => {
    const fsm = fsmWithJob();
    const clock = new VirtualClock();
    const p = fsm.store.waitForIndex(3, { clock, timeoutMs: 1000 });
    fsm.apply(3, { type: 'UpsertNode', node: mockNode('n2') });
    expect((await p).index).toBe(3);
    expect(clock.pending()).toBe(0);
  });
});

describe('blockingQuery', () => {
  it('wakes only when one of its tables passes minIndex', async () => {
    const fsm = fsmWithJob();
    const clock = new VirtualClock();
    const q = fsm.store.blockingQuery(['allocs', 'deployments'], 2, { clock, timeoutMs: 60_000 });
    fsm.apply(3, { type: 'UpsertNode', node: mockNode('n2') });
    fsm.apply(4, { type: 'UpsertEvals', evals: [mockEval('e2', 'web')] });
    expect(await settled(q)).toBe(false);
    const job = fsm.store.snapshot().jobByID('default', 'web')!;
    fsm.apply(5, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a1', job, 'n1', 'e1')], allocsStopped: [], allocsPreempted: [] });
    const snap: StateSnapshot = await q;
    expect(snap.tableIndex('allocs')).toBe(5);
    expect(clock.pending()).toBe(0);
  });

  it('returns at once if a table is already past, and the current snapshot on timeout', async () => {
    const fsm = fsmWithJob();
    await expect(fsm.store.blockingQuery(['nodes'], 0)).resolves.toBe(fsm.store.snapshot());
    const clock = new VirtualClock();
    const q = fsm.store.blockingQuery(['nodes'], 1, { clock, timeoutMs: 5000 });
    fsm.apply(3, { type: 'UpsertEvals', evals: [mockEval('e2', 'web')] });
    clock.advance(5000);
    const snap = await q;
    expect(snap.index).toBe(3);
    expect(snap.tableIndex('nodes')).toBe(1);
  });

  it('refuses an unknown table', async () => {
    const fsm = fsmWithJob();
    await expect(fsm.store.blockingQuery(['widgets' as never], 0)).rejects.toThrow(/unknown table "widgets"/);
  });
});

describe('secondary indexes', () => {
  it('stay right across placement, stop, client update and delete', () => {
    const fsm = fsmWithJob();
    fsm.apply(3, { type: 'UpsertNode', node: mockNode('n2') });
    const job = fsm.store.snapshot().jobByID('default', 'web')!;
    fsm.apply(4, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('a1', job, 'n1', 'e1'), mockAlloc('a2', job, 'n2', 'e1')], allocsStopped: [], allocsPreempted: [] });
    fsm.apply(5, { type: 'UpsertEvals', evals: [mockEval('e2', 'web')] });
    const a1 = fsm.store.snapshot().allocByID('a1')!;
    // A destructive update: a1 stopped, a3 placed by eval e2.
    fsm.apply(6, { type: 'ApplyPlanResults', allocsStopped: [{ ...a1, desiredStatus: 'stop' }], allocsUpdated: [mockAlloc('a3', job, 'n1', 'e2')], allocsPreempted: [] });
    let s = fsm.store.snapshot();
    expect(s.allocsByNode('n1').map((a) => a.id).sort()).toEqual(['a1', 'a3']);
    expect(s.allocsByNode('n1').find((a) => a.id === 'a1')!.desiredStatus).toBe('stop');
    expect(s.allocsByEval('e2').map((a) => a.id)).toEqual(['a3']);
    expect(s.allocsByJob('default', 'web')).toHaveLength(3);
    fsm.apply(7, { type: 'DeleteEvalsAllocs', evalIds: ['e1'], allocIds: ['a1', 'a2'] });
    s = fsm.store.snapshot();
    expect(s.allocsByNode('n1').map((a) => a.id)).toEqual(['a3']);
    expect(s.allocsByNode('n2')).toEqual([]);
    expect(s.allocsByEval('e1')).toEqual([]);
    expect(s.allocsByJob('default', 'web').map((a) => a.id)).toEqual(['a3']);
    expect(s.evalsByJob('default', 'web').map((e) => e.id)).toEqual(['e2']);
    expect(s.tables.allocsByNode.has('n2')).toBe(false);
  });
});
