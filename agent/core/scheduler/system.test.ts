/**
 * The system scheduler (system and sysbatch) driven through the Harness: a real
 * FSM as state, plans recorded and applied as the plan applier would.
 */
import { describe, expect, it } from 'vitest';
import type { Allocation, Evaluation, Job, Node, Plan } from '../structs/index.js';
import { allocTerminalStatus } from '../structs/index.js';
import { mockAlloc, mockEval, mockJob, mockJobVersion, mockNode, mockTask, mockTaskGroup, mockUpdateStrategy, SECOND } from '../testing/index.js';
import { Harness, HarnessNow } from './harness.js';
import { AllocStopReasons } from './reconcile.js';
import { MaxSystemScheduleAttempts } from './system.js';

const flat = (byNode: Record<string, Allocation[]>): Allocation[] => Object.values(byNode).flat();
const placed = (plan: Plan): Allocation[] => flat(plan.nodeAllocation);
const stopped = (plan: Plan): Allocation[] => flat(plan.nodeUpdate);
const onNodes = (allocs: Allocation[]): string[] => allocs.map((a) => a.nodeId).sort();
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function node(id: string, patch: Partial<Node> = {}): Node {
  return mockNode({ id, name: id, ...patch });
}

function cluster(nodes: Node[], seed = 1): Harness {
  const h = new Harness({ seed });
  h.upsertNodes(...nodes);
  return h;
}

function systemJob(type: 'system' | 'sysbatch' = 'system', patch: Partial<Job> = {}): Job {
  return mockJob({ id: 'agent', name: 'agent', type, taskGroups: [mockTaskGroup({ name: 'web', count: 1 })], ...patch });
}

function evalFor(job: Job, patch: Partial<Evaluation> = {}): Evaluation {
  return mockEval({ jobId: job.id, type: job.type, priority: job.priority, ...patch });
}

function liveAllocs(h: Harness, jobId = 'agent'): Allocation[] {
  return h.state().allocsByJob('default', jobId).filter((a) => !allocTerminalStatus(a));
}

/** One running alloc of `job` on each of `nodes`, as if placed earlier. */
function seedAllocs(h: Harness, job: Job, nodes: string[], opts: { clientStatus?: Allocation['clientStatus'] } = {}): Allocation[] {
  return h.upsertAllocs(...nodes.map((n) => mockAlloc(job, { nodeId: n, index: 0, ...opts }, { nodeName: n })));
}

async function run(h: Harness, job: Job, patch: Partial<Evaluation> = {}): Promise<Evaluation> {
  const ev = evalFor(job, patch);
  await h.process(job.type, ev);
  return h.lastEvalUpdate(ev.id);
}

describe('SystemScheduler: placement', () => {
  it('places one allocation per eligible node, named <job>.<group>[0]', async () => {
    const h = cluster([node('n1'), node('n2'), node('n3')]);
    const job = h.upsertJob(systemJob());
    const update = await run(h, job);

    expect(h.plans).toHaveLength(1);
    const allocs = placed(h.plans[0]!);
    expect(onNodes(allocs)).toEqual(['n1', 'n2', 'n3']);
    for (const a of allocs) expect(a).toMatchObject({ name: 'agent.web[0]', taskGroup: 'web', desiredStatus: 'run', clientStatus: 'pending', deploymentId: '' });
    expect(update).toMatchObject({ status: 'complete', failedTgAllocs: {}, queuedAllocations: { web: 0 } });
    expect(h.createdEvals).toEqual([]);
    // A second run on the new state has nothing to do.
    await run(h, job);
    expect(h.plans).toHaveLength(1);
  });

  it('a new node gets the job on the next node-update eval; the others are left alone', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    await run(h, job);
    h.upsertNodes(node('n3'));
    await run(h, job, { triggeredBy: 'node-update', nodeId: 'n3' });
    const plan = h.plans[1]!;
    expect(stopped(plan)).toEqual([]);
    expect(onNodes(placed(plan))).toEqual(['n3']);
  });

  it('does not count nodes filtered by a constraint as failures', async () => {
    const windows = node('n3', { attributes: { ...mockNode().attributes, 'kernel.name': 'windows' } });
    const h = cluster([node('n1'), node('n2'), windows]);
    const job = h.upsertJob(systemJob()); // mockJob constrains ${attr.kernel.name} = linux
    const update = await run(h, job);
    expect(onNodes(placed(h.plans[0]!))).toEqual(['n1', 'n2']);
    expect(update).toMatchObject({ status: 'complete', failedTgAllocs: {}, queuedAllocations: { web: 0 } });
  });

  it('reports a node without room as a failed placement (no blocked eval for system jobs)', async () => {
    const small = node('n3', { resources: { ...mockNode().resources, memoryMB: 400 } }); // 144 MB free
    const h = cluster([node('n1'), node('n2'), small]);
    const job = h.upsertJob(systemJob());
    const update = await run(h, job);
    expect(onNodes(placed(h.plans[0]!))).toEqual(['n1', 'n2']);
    expect(update.status).toBe('complete');
    expect(update.failedTgAllocs.web).toMatchObject({ nodesEvaluated: 1, nodesFiltered: 0, nodesExhausted: 1, dimensionExhausted: { memory: 1 }, coalescedFailures: 0 });
    expect(update.queuedAllocations).toEqual({ web: 1 });
    expect(h.createdEvals).toEqual([]);
  });

  it('an ineligible node keeps its allocation but gets no new one', async () => {
    const h = cluster([node('n1'), node('n2'), node('n3')]);
    const job = h.upsertJob(systemJob());
    const [onN1] = seedAllocs(h, job, ['n1', 'n2']);
    h.apply({ type: 'UpdateNodeEligibility', nodeId: 'n1', eligibility: 'ineligible' });
    h.apply({ type: 'UpdateNodeEligibility', nodeId: 'n3', eligibility: 'ineligible' });
    const update = await run(h, job, { triggeredBy: 'node-update', nodeId: 'n1' });
    expect(h.plans).toEqual([]);
    expect(h.state().allocByID(onN1!.id)).toMatchObject({ desiredStatus: 'run' });
    expect(onNodes(liveAllocs(h))).toEqual(['n1', 'n2']);
    expect(update).toMatchObject({ status: 'complete', failedTgAllocs: {} });
  });
});

describe('SystemScheduler: stops', () => {
  it('stops the allocation of a draining node flagged to migrate, and places nothing there', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    const [onN1, onN2] = seedAllocs(h, job, ['n1', 'n2']);
    h.apply({ type: 'UpdateNodeDrain', nodeId: 'n1', drainStrategy: { deadline: 60 * SECOND, ignoreSystemJobs: false, forceDeadline: h.now + 60 * SECOND, startedAt: h.now }, markEligible: false });
    h.apply({ type: 'UpdateAllocDesiredTransition', transitions: [{ allocId: onN1!.id, transition: { migrate: true } }] });
    const update = await run(h, job, { triggeredBy: 'node-drain', nodeId: 'n1' });

    const plan = h.plans[0]!;
    expect(placed(plan)).toEqual([]);
    expect(stopped(plan).map((a) => [a.id, a.desiredStatus, a.desiredDescription])).toEqual([[onN1!.id, 'stop', AllocStopReasons.migrating]]);
    expect(h.state().allocByID(onN2!.id)?.desiredStatus).toBe('run');
    expect(update).toMatchObject({ status: 'complete', failedTgAllocs: {} });
  });

  it('stops the allocation of a node that left the job\'s datacenters', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    const [, onN2] = seedAllocs(h, job, ['n1', 'n2']);
    h.upsertNodes(node('n2', { datacenter: 'dc2' }));
    await run(h, job, { triggeredBy: 'node-update', nodeId: 'n2' });
    const plan = h.plans[0]!;
    expect(placed(plan)).toEqual([]);
    expect(stopped(plan).map((a) => [a.id, a.desiredStatus])).toEqual([[onN2!.id, 'stop']]);
    expect(stopped(plan)[0]!.desiredDescription).toMatch(/datacenters/);
  });

  it('marks the allocation of a down node lost and does not replace it elsewhere', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    const [onN1] = seedAllocs(h, job, ['n1', 'n2']);
    h.apply({ type: 'UpdateNodeStatus', nodeId: 'n1', status: 'down', updatedAt: h.now });
    await run(h, job, { triggeredBy: 'node-update', nodeId: 'n1' });
    const plan = h.plans[0]!;
    expect(placed(plan)).toEqual([]);
    expect(stopped(plan)).toHaveLength(1);
    expect(stopped(plan)[0]).toMatchObject({ id: onN1!.id, desiredStatus: 'stop', clientStatus: 'lost', desiredDescription: AllocStopReasons.lost });
  });

  it('stops everything when the job is stopped', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    seedAllocs(h, job, ['n1', 'n2']);
    const stoppedJob = h.upsertJob({ ...job, stop: true });
    const update = await run(h, stoppedJob, { triggeredBy: 'job-deregister' });
    const plan = h.plans[0]!;
    expect(placed(plan)).toEqual([]);
    expect(onNodes(stopped(plan))).toEqual(['n1', 'n2']);
    for (const a of stopped(plan)) expect(a.desiredDescription).toBe(AllocStopReasons.jobStopped);
    expect(update.status).toBe('complete');
  });
});

describe('SystemScheduler: job updates', () => {
  const changeTask = (job: Job): Job => mockJobVersion(job, (g) => ({ ...g, tasks: [mockTask({ config: { command: '/bin/sleep', args: ['60'] } })] }));

  it('replaces allocations destructively on the same node when a task changed', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    const old = seedAllocs(h, job, ['n1', 'n2']);
    const next = h.upsertJob(changeTask(job));
    const update = await run(h, next);

    const plan = h.plans[0]!;
    const stops = stopped(plan);
    expect(stops.map((a) => a.id).sort()).toEqual(old.map((a) => a.id).sort());
    for (const s of stops) expect(s).toMatchObject({ desiredStatus: 'stop', desiredDescription: AllocStopReasons.updating });
    const places = placed(plan);
    expect(onNodes(places)).toEqual(['n1', 'n2']);
    for (const p of places) {
      const prev = old.find((o) => o.nodeId === p.nodeId)!;
      expect(p).toMatchObject({ previousAllocation: prev.id, name: 'agent.web[0]' });
      expect(p.id).not.toBe(prev.id);
      expect(p.job.version).toBe(1);
    }
    expect(update).toMatchObject({ status: 'complete', failedTgAllocs: {} });
  });

  it('updates in place when no task changed', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    const old = seedAllocs(h, job, ['n1', 'n2']);
    const next = h.upsertJob(mockJobVersion(job, (g) => ({ ...g, tasks: g.tasks.map((t) => ({ ...t, killTimeout: 20 * SECOND })) })));
    await run(h, next);
    const plan = h.plans[0]!;
    expect(stopped(plan)).toEqual([]);
    expect(placed(plan).map((a) => a.id).sort()).toEqual(old.map((a) => a.id).sort());
    for (const a of placed(plan)) expect(a.job.version).toBe(1);
  });

  // nomad scheduler_system.go: destructive updates are limited by the update
  // stanza's max_parallel (evictAndPlace) and the rest waits for a rolling-update
  // follow-up eval. system.ts replaces every node at once.
  it('limits destructive updates to update.max_parallel and creates a rolling-update follow-up eval', async () => {
    const h = cluster([node('n1'), node('n2'), node('n3')]);
    const job = h.upsertJob(systemJob('system', { update: mockUpdateStrategy({ maxParallel: 1 }), taskGroups: [mockTaskGroup({ name: 'web', count: 1, update: mockUpdateStrategy({ maxParallel: 1 }) })] }));
    seedAllocs(h, job, ['n1', 'n2', 'n3']);
    await run(h, h.upsertJob(changeTask(job)));
    const plan = h.plans[0]!;
    expect(stopped(plan)).toHaveLength(1);
    expect(placed(plan)).toHaveLength(1);
    expect(h.createdEvals.map((e) => e.triggeredBy)).toEqual(['rolling-update']);
    // The rest waits one stagger (30 s by default), and the eval points at its successor.
    expect(h.createdEvals[0]!.waitUntil).toBe(HarnessNow + 30 * SECOND);
    expect(h.evalUpdates.at(-1)?.nextEval).toBe(h.createdEvals[0]!.id);
  });
});

describe('SystemScheduler: sysbatch', () => {
  it('does not run a completed allocation of the same job version again', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob('sysbatch'));
    seedAllocs(h, job, ['n1', 'n2'], { clientStatus: 'complete' });
    const update = await run(h, job);
    expect(h.plans).toEqual([]);
    expect(update).toMatchObject({ status: 'complete', failedTgAllocs: {}, queuedAllocations: { web: 0 } });
  });

  it('runs again on every node for a new job version', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob('sysbatch'));
    seedAllocs(h, job, ['n1', 'n2'], { clientStatus: 'complete' });
    const next = h.upsertJob(mockJobVersion(job, (g) => ({ ...g, tasks: [mockTask({ config: { command: '/bin/true' } })] })));
    await run(h, next);
    const plan = h.plans[0]!;
    expect(stopped(plan)).toEqual([]);
    expect(onNodes(placed(plan))).toEqual(['n1', 'n2']);
    for (const a of placed(plan)) expect(a.job.version).toBe(1);
  });

  it.each([
    ['system', 'failed', 1],
    ['system', 'complete', 1],
    ['sysbatch', 'failed', 0],
    ['sysbatch', 'complete', 0],
  ] as const)('a %s job whose alloc is %s places %i new allocation(s) on the node', async (type, clientStatus, expected) => {
    const h = cluster([node('n1')]);
    const job = h.upsertJob(systemJob(type));
    const [prev] = seedAllocs(h, job, ['n1'], { clientStatus });
    await run(h, job);
    const news = h.plans.flatMap(placed);
    expect(news).toHaveLength(expected);
    for (const a of news) expect(a.id).not.toBe(prev!.id);
  });
});

describe('SystemScheduler: retries and determinism', () => {
  it('fails the eval after MaxSystemScheduleAttempts plans refused outright', async () => {
    const h = cluster([node('n1'), node('n2')]);
    const job = h.upsertJob(systemJob());
    h.rejectNodes('all', 100);
    const update = await run(h, job);
    expect(h.submitted).toHaveLength(MaxSystemScheduleAttempts);
    expect(update).toMatchObject({ status: 'failed', statusDescription: `maximum attempts reached (${MaxSystemScheduleAttempts})` });
    expect(liveAllocs(h)).toEqual([]);
  });

  it('retries a partially refused plan and places on every node', async () => {
    const h = cluster([node('n1'), node('n2'), node('n3')]);
    const job = h.upsertJob(systemJob());
    h.rejectNodes(['n2'], 1);
    const update = await run(h, job);
    expect(h.submitted.map((s) => s.result.rejectedNodes)).toEqual([['n2'], []]);
    expect(onNodes(placed(h.plans[1]!))).toEqual(['n2']);
    expect(onNodes(liveAllocs(h))).toEqual(['n1', 'n2', 'n3']);
    expect(update).toMatchObject({ status: 'complete', queuedAllocations: { web: 0 } });
  });

  it('the same seed gives the same plans', async () => {
    const plans = async (seed: number) => {
      const h = cluster(range(6).map((i) => node(`n${i + 1}`)), seed);
      const job = h.upsertJob(systemJob());
      await h.process('system', mockEval({ id: 'eval-fixed', jobId: job.id, type: 'system' }));
      return JSON.stringify(h.plans);
    };
    expect(await plans(3)).toBe(await plans(3));
  });
});
