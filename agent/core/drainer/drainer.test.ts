import { describe, expect, it } from 'vitest';
import type { Allocation, DrainStrategy, Node } from '../structs/index.js';
import { MockState, mockAlloc, mockBatchJob, mockJob, mockNode, mockTaskGroup } from '../testing/index.js';
import { drainDeadlineAt, drainStep } from './drainer.js';

const T0 = 1_700_000_000_000;
const drain = (deadline: number, ignoreSystemJobs = false): DrainStrategy => ({ deadline, ignoreSystemJobs, startedAt: T0, forceDeadline: deadline > 0 ? T0 + deadline : 0 });

const web = mockJob({ id: 'web', taskGroups: [mockTaskGroup({ name: 'web', count: 6, migrate: { maxParallel: 2, healthCheck: 'checks', minHealthyTime: 0, healthyDeadline: 0 } })] });
const crunch = mockBatchJob({ id: 'crunch' });
const sys = mockJob({ id: 'sys', type: 'system', taskGroups: [mockTaskGroup({ name: 'agent', count: 1 })] });

/** `onDrained` allocs of web on the draining node n1 and the rest on n2, plus a batch and a system alloc on n1. */
function world(strategy: DrainStrategy, opts: { onDrained?: number; extra?: Allocation[] } = {}): { nodes: Node[]; allocs: Allocation[] } {
  const n1: Node = mockNode({ id: 'n1', drainStrategy: strategy, schedulingEligibility: 'ineligible' });
  const n2: Node = mockNode({ id: 'n2' });
  const onDrained = opts.onDrained ?? 4;
  const allocs: Allocation[] = [];
  for (let i = 0; i < 6; i++) allocs.push(mockAlloc(web, { index: i, nodeId: i < onDrained ? 'n1' : 'n2' }, { id: `web-${i}` }));
  allocs.push(mockAlloc(crunch, { nodeId: 'n1' }, { id: 'crunch-0' }));
  allocs.push(mockAlloc(sys, { nodeId: 'n1' }, { id: 'sys-0' }));
  allocs.push(...(opts.extra ?? []));
  return { nodes: [n1, n2], allocs };
}

/** The world's state, with `change` applied to each alloc. */
function stateOf(w: { nodes: Node[]; allocs: Allocation[] }, change: (a: Allocation) => Allocation = (a) => a): MockState {
  return new MockState({ nodes: w.nodes, allocs: w.allocs.map(change), jobs: [web, crunch, sys] });
}

const ids = (as: readonly Allocation[]) => as.map((a) => a.id).sort();

describe('drainStep', () => {
  it('marks at most healthy − (count − max_parallel) service allocs, one eval per job; batch and system wait', () => {
    const r = drainStep(stateOf(world(drain(3_600_000))), T0 + 1_000, ['n1']);
    expect(ids(r.migrate)).toEqual(['web-0', 'web-1']);
    expect(r.jobs.map((j) => j.id)).toEqual(['web']);
    expect(r.groups).toEqual([{ namespace: 'default', jobId: 'web', group: 'web', healthy: 6, threshold: 4, marked: 2 }]);
    expect(r.done).toEqual([]);
    expect(r.progress).toEqual([{ nodeId: 'n1', remaining: 6, deadlineAt: T0 + 3_600_000, pastDeadline: false }]);
  });

  it('marks nothing more while migrations are in flight (migrating allocs are not healthy)', () => {
    const marked = (a: Allocation): Allocation => (a.id === 'web-0' || a.id === 'web-1' ? { ...a, desiredTransition: { ...a.desiredTransition, migrate: true } } : a);
    const r = drainStep(stateOf(world(drain(3_600_000)), marked), T0 + 1_000, ['n1']);
    expect(r.migrate).toEqual([]);
    expect(r.groups[0]).toMatchObject({ healthy: 4, threshold: 4, marked: 0 });
  });

  it('does not count an unhealthy or pending alloc towards the budget', () => {
    const r = drainStep(
      stateOf(world(drain(3_600_000)), (a) => (a.id === 'web-5' ? { ...a, clientStatus: 'pending' as const } : a.id === 'web-4' ? { ...a, deploymentStatus: { healthy: false, timestamp: 0, canary: false, modifyIndex: 0 } } : a)),
      T0,
      ['n1'],
    );
    expect(r.migrate).toEqual([]);
  });

  it('at the deadline marks everything left, batch and system included', () => {
    const r = drainStep(stateOf(world(drain(60_000))), T0 + 60_000, ['n1']);
    expect(ids(r.migrate)).toEqual(['crunch-0', 'sys-0', 'web-0', 'web-1', 'web-2', 'web-3']);
    expect(r.progress[0]!.pastDeadline).toBe(true);
  });

  it('force (deadline −1) is past its deadline at once; no deadline (0) never is', () => {
    expect(drainDeadlineAt(mockNode({ drainStrategy: drain(-1) }))).toBe(T0);
    expect(ids(drainStep(stateOf(world(drain(-1))), T0, ['n1']).migrate)).toHaveLength(6);
    expect(drainDeadlineAt(mockNode({ drainStrategy: drain(0) }))).toBeNull();
    const r = drainStep(stateOf(world(drain(0))), T0 + 10 * 365 * 86_400_000, ['n1']);
    expect(ids(r.migrate)).toEqual(['web-0', 'web-1']);
  });

  it('system allocs drain last, once nothing else is left; ignored system jobs stay and do not hold the drain open', () => {
    const noWeb = world(drain(3_600_000), { onDrained: 0 });
    const batchDone = (a: Allocation): Allocation => (a.id === 'crunch-0' ? { ...a, clientStatus: 'complete' as const } : a);
    expect(ids(drainStep(stateOf(noWeb), T0, ['n1']).migrate)).toEqual([]); // the batch alloc still runs
    expect(ids(drainStep(stateOf(noWeb, batchDone), T0, ['n1']).migrate)).toEqual(['sys-0']);
    const ignoring = stateOf(world(drain(3_600_000, true), { onDrained: 0 }), batchDone);
    const r = drainStep(ignoring, T0, ['n1']);
    expect(r.migrate).toEqual([]);
    expect(r.done).toEqual(['n1']);
  });

  it('a node that is not draining (any more) is skipped', () => {
    const r = drainStep(stateOf(world(drain(3_600_000))), T0, ['n2', 'gone']);
    expect(r).toMatchObject({ migrate: [], done: [], progress: [] });
  });
});
