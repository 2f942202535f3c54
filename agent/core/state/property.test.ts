import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocTerminalStatus, computeNodeUsage, jobKey } from '../structs/index.js';
import type { Allocation, Evaluation } from '../structs/index.js';
import type { FsmCommand } from './commands.js';
import { dumpState, mockAlloc, mockEval, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';
import type { StateSnapshot } from './store.js';

const NODE = fc.constantFrom('n1', 'n2', 'n3');
const JOB = fc.constantFrom('j1', 'j2');
const EVAL = fc.constantFrom('e1', 'e2', 'e3');
const ALLOC = fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5');

/** Abstract steps; turned into commands against the current state (stops need the stored alloc). */
type Step =
  | { k: 'node'; id: string }
  | { k: 'nodeDown'; id: string }
  | { k: 'dereg'; id: string }
  | { k: 'job'; id: string; prio: number }
  | { k: 'stopJob'; id: string; purge: boolean }
  | { k: 'eval'; id: string; job: string; status: Evaluation['status'] }
  | { k: 'place'; id: string; node: string; job: string; ev: string }
  | { k: 'stop'; id: string }
  | { k: 'client'; id: string; status: Allocation['clientStatus'] }
  | { k: 'gc'; evals: string[]; allocs: string[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant('node' as const), id: NODE }),
  fc.record({ k: fc.constant('nodeDown' as const), id: NODE }),
  fc.record({ k: fc.constant('dereg' as const), id: NODE }),
  fc.record({ k: fc.constant('job' as const), id: JOB, prio: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constant('stopJob' as const), id: JOB, purge: fc.boolean() }),
  fc.record({ k: fc.constant('eval' as const), id: EVAL, job: JOB, status: fc.constantFrom('pending', 'complete', 'blocked', 'failed') }),
  fc.record({ k: fc.constant('place' as const), id: ALLOC, node: NODE, job: JOB, ev: EVAL }),
  fc.record({ k: fc.constant('stop' as const), id: ALLOC }),
  fc.record({ k: fc.constant('client' as const), id: ALLOC, status: fc.constantFrom('running', 'complete', 'failed', 'lost') }),
  fc.record({ k: fc.constant('gc' as const), evals: fc.subarray(['e1', 'e2', 'e3']), allocs: fc.subarray(['a1', 'a2', 'a3', 'a4', 'a5']) }),
);

function toCommand(s: StateSnapshot, st: Step): FsmCommand {
  switch (st.k) {
    case 'node':
      return { type: 'UpsertNode', node: mockNode(st.id) };
    case 'nodeDown':
      return { type: 'UpdateNodeStatus', nodeId: st.id, status: 'down', updatedAt: 1 };
    case 'dereg':
      return { type: 'DeregisterNodes', nodeIds: [st.id] };
    case 'job':
      return { type: 'UpsertJob', job: mockJob(st.id, { priority: st.prio, type: st.id === 'j2' ? 'batch' : 'service' }) };
    case 'stopJob':
      return { type: 'DeregisterJob', namespace: 'default', jobId: st.id, purge: st.purge, submitTime: 0 };
    case 'eval':
      return { type: 'UpsertEvals', evals: [mockEval(st.id, st.job, { status: st.status })] };
    case 'place': {
      // Allocations keep their node/job/eval once placed, as in Nomad; re-placing updates in place.
      const prev = s.allocByID(st.id);
      const a = prev ?? mockAlloc(st.id, mockJob(st.job), st.node, st.ev);
      return { type: 'ApplyPlanResults', allocsUpdated: [{ ...a, desiredStatus: 'run' }], allocsStopped: [], allocsPreempted: [] };
    }
    case 'stop': {
      const prev = s.allocByID(st.id) ?? mockAlloc(st.id, mockJob('j1'), 'n1', 'e1');
      return { type: 'ApplyPlanResults', allocsUpdated: [], allocsStopped: [{ ...prev, desiredStatus: 'stop' }], allocsPreempted: [] };
    }
    case 'client':
      return { type: 'UpdateAllocsFromClient', allocs: [{ id: st.id, clientStatus: st.status, clientDescription: '', taskStates: {}, modifyTime: 1 }] };
    case 'gc':
      return { type: 'DeleteEvalsAllocs', evalIds: st.evals, allocIds: st.allocs };
  }
}

function ids<T extends { id: string }>(xs: Iterable<T>): string[] {
  return [...xs].map((x) => x.id).sort();
}

/** Every secondary index equals a recomputation from its primary table. */
function checkIndexes(s: StateSnapshot): void {
  const allocs = s.allocs();
  const evals = s.evals();
  const group = <T>(xs: T[], key: (x: T) => string): Map<string, T[]> => {
    const m = new Map<string, T[]>();
    for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
    return m;
  };
  const byNode = group(allocs, (a) => a.nodeId);
  const byJob = group(allocs, (a) => jobKey(a.namespace, a.jobId));
  const byEval = group(allocs, (a) => a.evalId);
  const evalsByJob = group(evals, (e) => jobKey(e.namespace, e.jobId));
  expect([...s.tables.allocsByNode.keys()].sort()).toEqual([...byNode.keys()].sort());
  expect([...s.tables.allocsByJob.keys()].sort()).toEqual([...byJob.keys()].sort());
  expect([...s.tables.allocsByEval.keys()].sort()).toEqual([...byEval.keys()].sort());
  expect([...s.tables.evalsByJob.keys()].sort()).toEqual([...evalsByJob.keys()].sort());
  for (const [n, xs] of byNode) {
    const got = s.allocsByNode(n);
    expect(ids(got)).toEqual(ids(xs));
    for (const a of got) expect(a).toBe(s.allocByID(a.id)); // the very same (latest) object
  }
  for (const [k, xs] of byJob) {
    const [ns, id] = k.split('/') as [string, string];
    const got = s.allocsByJob(ns, id);
    expect(ids(got)).toEqual(ids(xs));
    for (const a of got) expect(a).toBe(s.allocByID(a.id));
  }
  for (const [e, xs] of byEval) {
    const got = s.allocsByEval(e);
    expect(ids(got)).toEqual(ids(xs));
    for (const a of got) expect(a).toBe(s.allocByID(a.id));
  }
  for (const [k, xs] of evalsByJob) {
    const [ns, id] = k.split('/') as [string, string];
    const got = s.evalsByJob(ns, id);
    expect(ids(got)).toEqual(ids(xs));
    for (const e of got) expect(e).toBe(s.evalByID(e.id));
  }
  expect(s.allocCount()).toBe(allocs.length);
  // Node usage tallies, kept incrementally by the FSM, equal a recount from the allocations.
  for (const n of new Set([...byNode.keys(), ...s.nodes().map((x) => x.id)])) {
    const want = computeNodeUsage(s.allocsByNode(n));
    const got = s.nodeUsage(n);
    expect({ cpu: got.cpu, memoryMB: got.memoryMB, diskMB: got.diskMB, ports: got.ports, byJob: new Map(got.byJob.entries()), byGroup: new Map(got.byGroup.entries()) }).toEqual({
      cpu: want.cpu, memoryMB: want.memoryMB, diskMB: want.diskMB, ports: want.ports, byJob: new Map(want.byJob.entries()), byGroup: new Map(want.byGroup.entries()),
    });
    expect(ids(got.live)).toEqual(ids(want.live));
  }
  // Job status: running exactly when a non-terminal allocation exists.
  for (const j of s.jobs()) {
    const live = s.allocsByJob(j.namespace, j.id).some((a) => !allocTerminalStatus(a));
    expect(j.status === 'running', `job ${j.id} status ${j.status}, live allocs: ${live}`).toBe(live);
  }
  // Table indexes never run ahead of the state index; stamps never ahead of their table.
  for (const a of allocs) expect(a.modifyIndex).toBeLessThanOrEqual(s.tableIndex('allocs'));
  for (const e of evals) expect(e.modifyIndex).toBeLessThanOrEqual(s.tableIndex('evals'));
}

describe('FSM properties', () => {
  it('random command sequences keep every secondary index equal to a recomputation; failures change nothing', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const fsm = new Fsm();
        let index = 0;
        for (const st of steps) {
          const before = fsm.store.snapshot();
          const cmd = toCommand(before, st);
          try {
            fsm.apply(++index, cmd);
          } catch {
            expect(fsm.store.snapshot()).toBe(before);
            index--; // nothing was consumed
          }
          checkIndexes(fsm.store.snapshot());
        }
        // And the whole state survives a snapshot/restore.
        const copy = new Fsm();
        copy.restore(fsm.snapshot());
        checkIndexes(copy.store.snapshot());
        expect(dumpState(copy.store.snapshot())).toEqual(dumpState(fsm.store.snapshot()));
      }),
      { numRuns: 150, seed: 424242 },
    );
  });
});
