/**
 * Test-only: a small cluster as the console would see it (two nodes, a service job with two
 * running allocations, one evaluation walked through the broker and plan applier, a leader),
 * built by feeding the reducer the same actions the feed would. Excluded from the build.
 */
import type { OpsEvent } from '../../agent/api/index.js';
import { mockAlloc, mockEval, mockJob, mockNode } from '../../agent/core/testing/index.js';
import type { Action, TopState } from '../model/index.js';
import { initialState, reduce } from '../model/index.js';

export const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

export function ops(seq: number, topic: OpsEvent['topic'], type: string, key: string, at: number, payload: OpsEvent['payload'] = {}): OpsEvent {
  return { topic, type, key, seq, time: at, payload };
}

export function sample(opts: { cols?: number; rows?: number; readOnly?: boolean } = {}): { state: TopState; ids: { node1: string; node2: string; evalId: string; jobId: string; alloc1: string } } {
  const node1 = mockNode({ id: '11111111-aaaa-bbbb-cccc-000000000001', name: 'client-1' });
  const node2 = mockNode({ id: '22222222-aaaa-bbbb-cccc-000000000002', name: 'client-2' });
  const job = mockJob({ id: 'web', name: 'web', status: 'running' });
  const ev = mockEval({ id: 'eeeeeeee-0000-0000-0000-000000000001', jobId: 'web', type: 'service', triggeredBy: 'job-register', status: 'complete', createTime: T0, modifyTime: T0 + 40 });
  const a1 = mockAlloc(job, { nodeId: node1.id }, { id: 'aaaaaaa1-0000-0000-0000-000000000001', name: 'web.web[0]', clientStatus: 'running', evalId: ev.id });
  const a2 = mockAlloc(job, { nodeId: node2.id }, { id: 'aaaaaaa2-0000-0000-0000-000000000002', name: 'web.web[1]', clientStatus: 'running', evalId: ev.id });
  const actions: Action[] = [
    { type: 'snapshot', index: 20, nodes: [node1, node2], jobs: [job], allocs: [a1, a2], evals: [], now: T0 },
    {
      type: 'events',
      now: T0 + 50,
      events: [],
      ops: [
        ops(1, 'Raft', 'RaftStatus', 'server-1', T0, { id: 'server-1', role: 'leader', term: 2, leader: 'server-1', commitIndex: 20, appliedIndex: 20, peers: [{ id: 'server-1', matchIndex: 20, lag: 0, voter: true }, { id: 'server-2', matchIndex: 18, lag: 2, voter: true }] }),
        ops(2, 'Broker', 'EvalEnqueued', ev.id, T0 + 1, { jobId: 'web', type: 'service', triggeredBy: 'job-register', priority: 50 }),
        ops(3, 'Broker', 'EvalDequeued', ev.id, T0 + 3, { worker: 'worker-0' }),
        ops(4, 'Plan', 'PlanSubmitted', ev.id, T0 + 10, { placements: 2, stops: 0 }),
        ops(5, 'Plan', 'PlanApplied', ev.id, T0 + 12, { jobId: 'web', placed: 2, stopped: 0, rejected: [], scores: [{ nodeId: node1.id, normScore: 0.71, scores: { binpack: 0.42, 'job-anti-affinity': 0 } }] }),
        ops(6, 'Broker', 'EvalAcked', ev.id, T0 + 14, { worker: 'worker-0' }),
      ],
    },
    { type: 'events', now: T0 + 60, ops: [], events: [{ topic: 'Evaluation', type: 'EvaluationUpdated', key: ev.id, filterKeys: ['web'], namespace: 'default', index: 21, payload: ev }] },
  ];
  let state = initialState({ address: '127.0.0.1:4647', readOnly: opts.readOnly ?? false, cols: opts.cols ?? 80, rows: opts.rows ?? 24, now: T0 });
  for (const a of actions) state = reduce(state, a);
  return { state, ids: { node1: node1.id, node2: node2.id, evalId: ev.id, jobId: 'web', alloc1: a1.id } };
}
