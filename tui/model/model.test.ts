import { describe, expect, it } from 'vitest';
import { mockEval } from '../../agent/core/testing/index.js';
import { emptyAllocMetric } from '../../agent/core/structs/index.js';
import { T0, ops, sample } from '../testing/index.js';
import type { KeyResult, TopState } from './index.js';
import { Limits, evalRows, handleKey, jobRows, nodeRows, parseDeadline, reduce, serverRows } from './index.js';

/** Press keys in order, applying the actions; returns the final state and the last result. */
function press(s: TopState, ...keys: string[]): { s: TopState; last: KeyResult } {
  let last: KeyResult = { actions: [] };
  for (const k of keys) {
    last = handleKey(s, k);
    for (const a of last.actions) s = reduce(s, a);
  }
  return { s, last };
}

describe('evaluation timeline', () => {
  it('follows an evaluation from created through the broker and plan applier to complete, in time order', () => {
    const { state, ids } = sample();
    const e = evalRows(state).find((x) => x.id === ids.evalId)!;
    expect(e.steps.map((s) => s.kind)).toEqual(['created', 'enqueued', 'dequeued', 'plan-submitted', 'applied', 'acked', 'complete']);
    expect(e.steps.find((s) => s.kind === 'dequeued')?.detail).toBe('worker-0');
    expect(e.scores).toEqual([{ nodeId: ids.node1, normScore: 0.71, scores: { binpack: 0.42, 'job-anti-affinity': 0 } }]);
    expect(e.status).toBe('complete');
  });

  it('marks a partly rejected plan with each refused node, and a blocked evaluation with its reasons', () => {
    let { state } = sample();
    const blocked = mockEval({ id: 'bbbbbbbb-0000-0000-0000-000000000009', jobId: 'big', status: 'blocked', createTime: T0 + 100, modifyTime: T0 + 120 });
    blocked.failedTgAllocs = {
      g: { ...emptyAllocMetric(), nodesEvaluated: 2, nodesFiltered: 1, nodesExhausted: 1, constraintFiltered: { '${attr.kernel.name} = windows': 1 }, dimensionExhausted: { memory: 1 } },
    };
    state = reduce(state, { type: 'events', now: T0 + 130, events: [], ops: [ops(7, 'Plan', 'PlanPartlyRejected', blocked.id, T0 + 110, { jobId: 'big', placed: 0, stopped: 0, rejected: [{ nodeId: 'n9', reason: 'memory exhausted' }], scores: [] })] });
    state = reduce(state, { type: 'events', now: T0 + 140, ops: [], events: [{ topic: 'Evaluation', type: 'EvaluationUpdated', key: blocked.id, filterKeys: [], namespace: 'default', index: 30, payload: blocked }] });
    const e = state.evals.get(blocked.id)!;
    expect(e.steps.map((s) => s.kind)).toEqual(['created', 'partly-rejected', 'blocked']);
    expect(e.rejected).toEqual([{ nodeId: 'n9', reason: 'memory exhausted' }]);
    expect(e.failures).toEqual([{ group: 'g', reasons: ['filtered 1: ${attr.kernel.name} = windows', 'exhausted 1: memory'] }]);
  });

  it('marks an evaluation the failed-eval reaper wrote off, naming its follow-up in the timeline and the log', () => {
    let { state } = sample();
    const id = 'cccccccc-0000-0000-0000-000000000001';
    state = reduce(state, { type: 'events', now: T0 + 200, events: [], ops: [
      ops(8, 'Broker', 'EvalNacked', id, T0 + 150, { jobId: 'flaky', error: 'scheduler failed' }),
      ops(9, 'Broker', 'EvalFailed', id, T0 + 190, { jobId: 'flaky', followUp: 'dddddddd-0000-0000-0000-000000000002', waitUntil: T0 + 60_190 }),
    ] });
    const e = state.evals.get(id)!;
    expect(e.steps.map((s) => s.kind)).toEqual(['nacked', 'failed']);
    expect(e.steps[1]!.detail).toBe('delivery limit; follow-up dddddddd');
    expect(state.log.at(-1)?.text).toBe('failed cccccccc flaky: delivery limit reached, follow-up dddddddd waits');
  });
});

describe('servers', () => {
  it("shows the leader's peers with match index and lag, and a leader change within the batch that reports it", () => {
    let { state } = sample();
    expect(serverRows(state).map((r) => [r.id, r.role, r.isLeader, r.lag])).toEqual([
      ['server-1', 'leader', true, 0],
      ['server-2', 'follower', false, 2],
    ]);
    state = reduce(state, { type: 'events', now: T0 + 900, events: [], ops: [ops(20, 'Raft', 'RaftStatus', 'server-2', T0 + 800, { id: 'server-2', role: 'leader', term: 3, leader: 'server-2', commitIndex: 25, appliedIndex: 25, peers: [{ id: 'server-1', matchIndex: 25, lag: 0, voter: true }, { id: 'server-2', matchIndex: 25, lag: 0, voter: true }] })] });
    expect(state.leader).toBe('server-2');
    expect(serverRows(state).find((r) => r.id === 'server-2')).toMatchObject({ role: 'leader', term: 3, isLeader: true });
    expect(serverRows(state).find((r) => r.id === 'server-1')).toMatchObject({ role: 'follower', term: 3, isLeader: false });
    expect(state.log.map((l) => l.text)).toContain('leader is now server-2 (term 3)');
    expect(state.leaderAddr).toBe('');
    const withAddr = reduce(state, { type: 'events', now: T0 + 950, events: [], ops: [ops(21, 'Raft', 'RaftStatus', 'server-1', T0 + 900, { id: 'server-1', role: 'follower', term: 3, leader: 'server-2', leaderAddr: '127.0.0.1:4747', commitIndex: 25, appliedIndex: 25, peers: [] })] });
    expect(withAddr.leaderAddr).toBe('127.0.0.1:4747'); // the feed follows it
  });

  it('takes gossip status from Member events', () => {
    let { state } = sample();
    state = reduce(state, { type: 'events', now: T0, events: [], ops: [ops(30, 'Member', 'MemberFailed', 'server-2', T0, { name: 'server-2', status: 'failed' })] });
    expect(serverRows(state).find((r) => r.id === 'server-2')?.member).toBe('failed');
    expect(state.log[state.log.length - 1]?.text).toBe('server-2 is failed');
  });
});

describe('nodes and jobs', () => {
  it('counts allocated resources per node and desired/placed/running/failed per group', () => {
    const { state, ids } = sample();
    const n1 = nodeRows(state).find((n) => n.id === ids.node1)!;
    expect(n1.allocsLive).toBe(1);
    expect(n1.cpuAllocated).toBeGreaterThan(0);
    expect(jobRows(state)[0]!.groupRows).toEqual([{ name: 'web', desired: 10, placed: 2, running: 2, failed: 0 }]);
  });

  it('puts measured use beside allocation, and shows none for a node that stopped reporting', () => {
    const { state, ids } = sample();
    let s = reduce(state, { type: 'usage', nodes: [{ nodeId: ids.node1, cpuMhz: 120, memoryMB: 48 }] });
    expect(nodeRows(s).find((n) => n.id === ids.node1)).toMatchObject({ cpuUsed: 120, memoryUsedMB: 48 });
    expect(nodeRows(s).find((n) => n.id === ids.node2)).toMatchObject({ cpuUsed: null, memoryUsedMB: null });
    s = reduce(s, { type: 'usage', nodes: [] });
    expect(nodeRows(s).find((n) => n.id === ids.node1)).toMatchObject({ cpuUsed: null, memoryUsedMB: null });
  });

  it('shows drain progress from Drain events', () => {
    const { state: start, ids } = sample();
    const state = reduce(start, { type: 'events', now: T0, events: [], ops: [ops(40, 'Drain', 'DrainProgress', ids.node1, T0, { nodeName: 'client-1', migrated: 1, remaining: 2, deadline: T0 + 3_600_000, done: false })] });
    expect(nodeRows(state).find((n) => n.id === ids.node1)?.drain).toEqual({ migrated: 1, remaining: 2, deadline: T0 + 3_600_000, done: false });
  });
});

describe('bounded memory', () => {
  it('keeps at most the last log lines and evaluations however many events arrive', () => {
    let { state } = sample();
    for (let i = 0; i < 2_000; i++) {
      const id = `ev-${String(i).padStart(6, '0')}`;
      state = reduce(state, { type: 'events', now: T0 + i, events: [], ops: [ops(100 + i, 'Broker', 'EvalEnqueued', id, T0 + i, { jobId: `j${i}` })] });
    }
    expect(state.log.length).toBe(Limits.logLines);
    expect(state.evals.size).toBeLessThanOrEqual(Limits.evals);
    expect(state.log[state.log.length - 1]?.text).toMatch(/j1999/);
  });

  it('counts lost events and says so in the log', () => {
    let { state } = sample();
    state = reduce(state, { type: 'lost', what: 'ops', count: 42, resumeFrom: 900, now: T0 });
    expect(state.counters.lostOps).toBe(42);
    expect(state.log[state.log.length - 1]?.text).toBe('42 operational events lost (the console fell behind); resuming at #900');
  });
});

describe('keys', () => {
  it('drains the selected node: asks for a deadline, confirms with the command line, then runs it', () => {
    const { state, ids } = sample();
    let { s } = press(state, '2'); // Nodes
    s = press(s, 'd').s;
    expect(s.ui.modal).toMatchObject({ kind: 'prompt', value: '1h', nodeId: ids.node1 });
    s = press(s, 'backspace', 'backspace', '3', '0', 'm', 'return').s;
    expect(s.ui.modal).toMatchObject({ kind: 'confirm', command: `nomadts node drain -enable -deadline 30m ${ids.node1}` });
    const { s: after, last } = press(s, 'y');
    expect(last.run).toEqual({ kind: 'drain', nodeId: ids.node1, nodeName: 'client-1', deadline: '30m' });
    expect(after.ui.modal).toBeNull();
  });

  it('refuses a deadline that is not a duration and keeps the prompt open', () => {
    const { state } = sample();
    let s = press(state, '2', 'd', 'backspace', 'backspace', 'x', 'return').s;
    expect(s.ui.modal?.kind).toBe('prompt');
    expect(s.ui.notice).toMatchObject({ level: 'error', text: 'drain deadline: "x" is not a duration (use e.g. 1h, 30m, 90s or 1h30m)' });
    s = press(s, 'escape').s;
    expect(s.ui.modal).toBeNull();
  });

  it('a read-only console refuses actions and says why, and changes nothing', () => {
    const { state } = sample({ readOnly: true });
    const { s, last } = press(state, '2', 'e');
    expect(last.run).toBeUndefined();
    expect(s.ui.modal).toBeNull();
    expect(s.ui.notice?.text).toMatch(/read-only console/);
  });

  it('toggles eligibility, stops a job and transfers leadership only to a follower, each with its command line', () => {
    const { state, ids } = sample();
    expect(press(state, '2', 'e').s.ui.modal).toMatchObject({ command: `nomadts node eligibility -disable ${ids.node1}` });
    expect(press(state, '3', 's').s.ui.modal).toMatchObject({ command: 'nomadts job stop web' });
    expect(press(state, '1', 't').s.ui.notice?.text).toBe('server-1 is already the leader');
    const toFollower = press(state, '1', 'down', 't').s;
    expect(toFollower.ui.modal).toMatchObject({ kind: 'confirm', command: 'nomadts operator raft transfer-leadership -peer-id server-2' });
    expect(toFollower.ui.modal?.kind === 'confirm' ? toFollower.ui.modal.title : '').toMatch(/match index is 18, 2 entries behind/);
    expect(press(toFollower, 'n').last.run).toBeUndefined();
  });

  it('filters the focused panel with / and clears it with esc', () => {
    const { state } = sample();
    let s = press(state, '2', '/', 'c', 'l', 'i', 'e', 'n', 't', '-', '2', 'return').s;
    expect(nodeRows(s).map((n) => n.name)).toEqual(['client-2']);
    s = press(s, 'escape').s;
    expect(nodeRows(s).map((n) => n.name)).toEqual(['client-1', 'client-2']);
  });

  it('tails the logs of the selected job allocation with l and shows the command', () => {
    const { state, ids } = sample();
    const { s, last } = press(state, '3', 'l');
    expect(last.run).toEqual({ kind: 'logs', allocId: ids.alloc1, task: 'web' });
    expect(s.ui.notice?.command).toBe(`nomadts alloc logs -f ${ids.alloc1} web`);
    expect(press(s, 'escape').s.ui.modal).toBeNull();
  });

  it('parses drain deadlines as Go durations', () => {
    expect(parseDeadline('1h30m')).toBe(5_400_000);
    expect(parseDeadline('90s')).toBe(90_000);
    expect(parseDeadline('')).toMatch(/required/);
    expect(parseDeadline('0s')).toMatch(/longer than 0/);
    expect(parseDeadline('5 minutes')).toMatch(/not a duration/);
  });
});
