/**
 * The generic scheduler (service and batch) driven through the Harness: a real
 * FSM as state, plans recorded and applied as the plan applier would. Each
 * scenario is something a Nomad user would notice in `job status`/`eval status`.
 */
import { describe, expect, it } from 'vitest';
import type { Allocation, Evaluation, Job, Plan } from '../structs/index.js';
import { allocTerminalStatus } from '../structs/index.js';
import {
  mockAlloc,
  mockBatchJob,
  mockEval,
  mockJob,
  mockJobVersion,
  mockNode,
  mockTask,
  mockTaskGroup,
  mockUpdateStrategy,
  SECOND,
} from '../testing/index.js';
import { Harness } from './harness.js';
import { AllocStopReasons } from './reconcile.js';
import { MaxBatchScheduleAttempts, MaxServiceScheduleAttempts } from './generic.js';

const flat = (byNode: Record<string, Allocation[]>): Allocation[] => Object.values(byNode).flat();
const placed = (plan: Plan): Allocation[] => flat(plan.nodeAllocation);
const stopped = (plan: Plan): Allocation[] => flat(plan.nodeUpdate);
const names = (allocs: Allocation[]): string[] => allocs.map((a) => a.name).sort();
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function liveAllocs(h: Harness, jobId: string): Allocation[] {
  return h.state().allocsByJob('default', jobId).filter((a) => !allocTerminalStatus(a));
}

/** A harness with `n` ready linux nodes `n1..n<n>` (4000 MHz, 8 GB, 256 MB reserved). */
function cluster(n: number, seed = 1): Harness {
  const h = new Harness({ seed });
  h.upsertNodes(...range(n).map((i) => mockNode({ id: `n${i + 1}`, name: `n${i + 1}` })));
  return h;
}

function serviceJob(count: number, patch: Partial<Job> = {}): Job {
  return mockJob({ taskGroups: [mockTaskGroup({ count })], ...patch });
}

function evalFor(job: Job, patch: Partial<Evaluation> = {}): Evaluation {
  return mockEval({ jobId: job.id, type: job.type, priority: job.priority, ...patch });
}

/** Register `job`, run a job-register eval, and return the stored job and the eval's final update. */
async function register(h: Harness, job: Job): Promise<{ job: Job; update: Evaluation; ev: Evaluation }> {
  const stored = h.upsertJob(job);
  const ev = evalFor(stored);
  await h.process(stored.type, ev);
  return { job: stored, update: h.lastEvalUpdate(ev.id), ev };
}

/** Seed `count` running allocations of `job` on the given nodes (round-robin), as if placed earlier. */
function seedAllocs(h: Harness, job: Job, count: number, nodes: string[], patch: Partial<Allocation> = {}): Allocation[] {
  return h.upsertAllocs(...range(count).map((i) => mockAlloc(job, { index: i, nodeId: nodes[i % nodes.length]! }, { nodeName: nodes[i % nodes.length]!, ...patch })));
}

describe('GenericScheduler: service jobs', () => {
  it('places the count under distinct names <job>.<group>[i] and completes the eval with nothing queued', async () => {
    const h = cluster(3);
    const { job, update, ev } = await register(h, serviceJob(4));

    expect(h.plans).toHaveLength(1);
    const plan = h.plans[0]!;
    expect(plan.evalId).toBe(ev.id);
    expect(plan.job?.version).toBe(0);
    expect(stopped(plan)).toEqual([]);
    const allocs = placed(plan);
    expect(names(allocs)).toEqual(range(4).map((i) => `my-job.web[${i}]`));
    for (const a of allocs) {
      expect(a).toMatchObject({ evalId: ev.id, jobId: 'my-job', taskGroup: 'web', desiredStatus: 'run', clientStatus: 'pending', previousAllocation: '' });
      expect(['n1', 'n2', 'n3']).toContain(a.nodeId);
      expect(a.resources).toMatchObject({ cpu: 500, memoryMB: 256 });
      expect(a.metrics.nodesEvaluated).toBeGreaterThan(0);
    }
    expect(liveAllocs(h, job.id)).toHaveLength(4);

    expect(update).toMatchObject({ status: 'complete', statusDescription: '', blockedEval: '', failedTgAllocs: {}, queuedAllocations: { web: 0 } });
    expect(h.createdEvals).toEqual([]);
    // Running the same eval again on the new state changes nothing.
    await h.process('service', evalFor(job));
    expect(h.plans).toHaveLength(1);
  });

  it('scales down by stopping the highest indexes and updates the rest in place', async () => {
    const h = cluster(3);
    const { job } = await register(h, serviceJob(5));
    const before = liveAllocs(h, job.id);
    const smaller = h.upsertJob(mockJobVersion(job, (g) => ({ ...g, count: 2 })));
    expect(smaller.version).toBe(1);

    const ev = evalFor(smaller);
    await h.process('service', ev);
    const plan = h.plans[1]!;
    expect(names(stopped(plan))).toEqual(['my-job.web[2]', 'my-job.web[3]', 'my-job.web[4]']);
    for (const a of stopped(plan)) expect(a).toMatchObject({ desiredStatus: 'stop', desiredDescription: AllocStopReasons.notNeeded });
    // The two kept allocations adopt the new version where they run (same ids, no new allocs).
    const kept = placed(plan);
    expect(names(kept)).toEqual(['my-job.web[0]', 'my-job.web[1]']);
    expect(kept.map((a) => a.id).sort()).toEqual(before.filter((a) => a.name <= 'my-job.web[1]').map((a) => a.id).sort());
    for (const a of kept) expect(a.job.version).toBe(1);
    expect(liveAllocs(h, job.id)).toHaveLength(2);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', queuedAllocations: { web: 0 } });
  });

  it('stops every allocation when the job is stopped', async () => {
    const h = cluster(2);
    const { job } = await register(h, serviceJob(3));
    const stoppedJob = h.upsertJob({ ...job, stop: true });
    const ev = evalFor(stoppedJob, { triggeredBy: 'job-deregister' });
    await h.process('service', ev);

    const plan = h.plans[1]!;
    expect(placed(plan)).toEqual([]);
    expect(names(stopped(plan))).toEqual(['my-job.web[0]', 'my-job.web[1]', 'my-job.web[2]']);
    for (const a of stopped(plan)) expect(a).toMatchObject({ desiredStatus: 'stop', desiredDescription: AllocStopReasons.jobStopped });
    expect(liveAllocs(h, job.id)).toEqual([]);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', failedTgAllocs: {} });
  });

  it('rolls a task change out destructively, max_parallel at a time, under a new deployment', async () => {
    const h = cluster(3);
    const job = h.upsertJob(serviceJob(5, { taskGroups: [mockTaskGroup({ count: 5, update: mockUpdateStrategy({ maxParallel: 2 }) })] }));
    const old = seedAllocs(h, job, 5, ['n1', 'n2', 'n3']);
    const next = h.upsertJob(mockJobVersion(job, (g) => ({ ...g, tasks: [mockTask({ config: { command: '/bin/sleep', args: ['60'] } })] })));
    expect(next.version).toBe(1);

    const ev = evalFor(next);
    await h.process('service', ev);
    expect(h.plans).toHaveLength(1);
    const plan = h.plans[0]!;
    const stops = stopped(plan);
    const places = placed(plan);
    expect(stops).toHaveLength(2);
    expect(places).toHaveLength(2);
    for (const s of stops) expect(s).toMatchObject({ desiredStatus: 'stop', desiredDescription: AllocStopReasons.updating });
    // Each replacement takes the name of the alloc it replaces and points back at it.
    expect(names(places)).toEqual(names(stops));
    for (const p of places) {
      const prev = stops.find((s) => s.name === p.name)!;
      expect(p.previousAllocation).toBe(prev.id);
      expect(p.job.version).toBe(1);
      expect(p.deploymentId).toBe(plan.deployment!.id);
    }
    expect(old.map((a) => a.id)).toEqual(expect.arrayContaining(stops.map((s) => s.id)));
    expect(plan.deployment).toMatchObject({ jobId: 'my-job', jobVersion: 1, status: 'running' });
    expect(plan.deployment!.taskGroups.web).toMatchObject({ desiredTotal: 5, desiredCanaries: 0, promoted: false });
    expect(h.state().deploymentByID(plan.deployment!.id)?.taskGroups.web?.placedAllocs).toBe(2);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', failedTgAllocs: {} });
    // Three allocations of the old version still run: the rest waits for the deployment.
    expect(liveAllocs(h, job.id).filter((a) => a.job.version === 0)).toHaveLength(3);
  });

  it('updates in place (no stops, same allocations) when only a non-destructive field changed', async () => {
    const h = cluster(3);
    const { job } = await register(h, serviceJob(3));
    const before = liveAllocs(h, job.id);
    // kill_timeout reaches a running task without a restart: a new version, but in place.
    const next = h.upsertJob(mockJobVersion(job, (g) => ({ ...g, tasks: g.tasks.map((t) => ({ ...t, killTimeout: 30 * SECOND })) })));
    expect(next.version).toBe(1);

    const ev = evalFor(next);
    await h.process('service', ev);
    const plan = h.plans[1]!;
    expect(stopped(plan)).toEqual([]);
    expect(placed(plan).map((a) => a.id).sort()).toEqual(before.map((a) => a.id).sort());
    for (const a of placed(plan)) {
      expect(a.job.version).toBe(1);
      expect(a.nodeId).toBe(before.find((b) => b.id === a.id)!.nodeId);
    }
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', queuedAllocations: { web: 0 } });
  });

  it('treats a meta change as destructive: it reaches the task environment (NOMAD_META_*)', async () => {
    const h = cluster(3);
    const { job } = await register(h, serviceJob(2));
    const next = h.upsertJob({ ...job, meta: { owner: 'team-a' } });
    expect(next.version).toBe(1);
    await h.process('service', evalFor(next));
    const plan = h.plans[1]!;
    expect(stopped(plan)).toHaveLength(2);
    expect(placed(plan)).toHaveLength(2);
    for (const s of stopped(plan)) expect(s.desiredDescription).toBe(AllocStopReasons.updating);
  });
});

describe('GenericScheduler: placements that fail', () => {
  it('reports memory exhaustion per group, coalesces the rest, and creates one blocked eval', async () => {
    const h = cluster(3);
    const big = serviceJob(4, { taskGroups: [mockTaskGroup({ count: 4, tasks: [mockTask({ resources: { cpu: 100, memoryMB: 16_000, memoryMaxMB: 0, cores: 0 } })] })] });
    const { update } = await register(h, big);

    expect(h.plans).toEqual([]); // nothing to submit
    const failed = update.failedTgAllocs.web!;
    expect(failed).toMatchObject({ nodesEvaluated: 3, nodesFiltered: 0, nodesExhausted: 3, dimensionExhausted: { memory: 3 }, coalescedFailures: 3 });
    expect(update).toMatchObject({ status: 'complete', queuedAllocations: { web: 4 } });

    expect(h.createdEvals).toHaveLength(1);
    const blocked = h.createdEvals[0]!;
    expect(blocked).toMatchObject({ status: 'blocked', triggeredBy: 'queued-allocs', jobId: 'my-job', previousEval: update.id, escapedComputedClass: false });
    const classes = Object.keys(blocked.classEligibility);
    expect(classes).toHaveLength(1); // three identical nodes share one computed class
    expect(classes[0]).toBe(h.state().nodeByID('n1')!.computedClass);
    expect(blocked.classEligibility[classes[0]!]).toBe(true); // feasible, just full
    expect(update.blockedEval).toBe(blocked.id);
    expect(h.state().evalByID(blocked.id)?.status).toBe('blocked');
  });

  it('names the constraint that filtered every node', async () => {
    const h = cluster(2);
    const job = serviceJob(2, { constraints: [{ lTarget: '${attr.kernel.name}', rTarget: 'windows', operand: '=' }] });
    const { update } = await register(h, job);
    expect(h.plans).toEqual([]);
    expect(update.failedTgAllocs.web).toMatchObject({
      nodesEvaluated: 2,
      nodesFiltered: 2,
      nodesExhausted: 0,
      constraintFiltered: { '${attr.kernel.name} = windows': 2 },
      coalescedFailures: 1,
    });
    const blocked = h.createdEvals[0]!;
    expect(Object.values(blocked.classEligibility)).toEqual([false]);
  });

  it('places what fits and blocks only the rest', async () => {
    const h = cluster(2);
    // 3000 MB each: two fit on a node (7936 MB free), so four of five fit on two nodes.
    const job = serviceJob(5, { taskGroups: [mockTaskGroup({ count: 5, tasks: [mockTask({ resources: { cpu: 100, memoryMB: 3000, memoryMaxMB: 0, cores: 0 } })] })] });
    const { update } = await register(h, job);
    expect(placed(h.plans[0]!)).toHaveLength(4);
    expect(update.failedTgAllocs.web).toMatchObject({ coalescedFailures: 0, dimensionExhausted: { memory: 2 } });
    expect(update.queuedAllocations).toEqual({ web: 1 });
    expect(h.createdEvals.map((e) => e.status)).toEqual(['blocked']);
  });
});

describe('GenericScheduler: plan rejection and retries', () => {
  const spread = (count: number): Job =>
    serviceJob(count, { constraints: [{ lTarget: '', rTarget: 'true', operand: 'distinct_hosts' }] });

  it('retries on the refreshed state after a partial rejection and places everything', async () => {
    const h = cluster(3);
    const job = h.upsertJob(spread(3));
    h.rejectNodes(['n2'], 1);
    const ev = evalFor(job);
    await h.process('service', ev);

    expect(h.submitted).toHaveLength(2);
    const first = h.submitted[0]!;
    expect(first.result.rejectedNodes).toEqual(['n2']);
    // Checked against the state just before the accepted part was committed.
    expect(first.result.refreshIndex).toBeGreaterThan(0);
    expect(first.result.allocIndex).toBe(first.result.refreshIndex + 1);
    expect(placed(first.plan)).toHaveLength(3);
    expect(flat(first.result.nodeAllocation)).toHaveLength(2);
    // The retry places only what was refused, on the one node left.
    const second = h.submitted[1]!;
    expect(second.result.rejectedNodes).toEqual([]);
    expect(placed(second.plan).map((a) => a.nodeId)).toEqual(['n2']);
    const refused = first.plan.nodeAllocation.n2![0]!;
    expect(placed(second.plan).map((a) => a.name)).toEqual([refused.name]);

    const live = liveAllocs(h, job.id);
    expect(names(live)).toEqual(['my-job.web[0]', 'my-job.web[1]', 'my-job.web[2]']);
    expect(new Set(live.map((a) => a.nodeId))).toEqual(new Set(['n1', 'n2', 'n3']));
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', queuedAllocations: { web: 0 } });
    expect(h.createdEvals).toEqual([]);
  });

  it('the refresh index is the state index the plan was checked against', async () => {
    const h = cluster(2);
    const job = h.upsertJob(serviceJob(1));
    const indexBefore = h.state().index;
    h.rejectNodes('all', 1);
    await h.process('service', evalFor(job));
    // process() stores the eval first: one write after indexBefore.
    expect(h.submitted[0]!.result).toMatchObject({ refreshIndex: indexBefore + 1, allocIndex: 0, nodeAllocation: {} });
  });

  it.each([
    ['service', MaxServiceScheduleAttempts],
    ['batch', MaxBatchScheduleAttempts],
  ] as const)('a %s eval refused on every submit fails after %i attempts and leaves a blocked eval', async (type, attempts) => {
    const h = cluster(2);
    const job = h.upsertJob(type === 'service' ? serviceJob(2) : mockBatchJob({ taskGroups: [mockTaskGroup({ name: 'worker', count: 2 })] }));
    h.rejectNodes('all', 100);
    const ev = evalFor(job);
    await h.process(type, ev);

    expect(h.submitted).toHaveLength(attempts);
    expect(liveAllocs(h, job.id)).toEqual([]);
    const update = h.lastEvalUpdate(ev.id);
    expect(update.status).toBe('failed');
    expect(update.statusDescription).toBe(`maximum attempts reached (${attempts})`);
    expect(h.createdEvals).toHaveLength(1);
    expect(h.createdEvals[0]).toMatchObject({ status: 'blocked', triggeredBy: 'max-plan-attempts', previousEval: ev.id });
    expect(update.blockedEval).toBe(h.createdEvals[0]!.id);
  });

  it('keeps retrying while each submit makes progress (nomad retryMax resets on progress)', async () => {
    const h = cluster(7);
    const job = h.upsertJob(spread(7));
    // Each submit commits only the placement on the lowest node id: 7 plans, each with progress.
    h.rejectNodes((plan) => Object.keys(plan.nodeAllocation).sort().slice(1), 100);
    const ev = evalFor(job);
    await h.process('service', ev);

    expect(h.submitted).toHaveLength(7);
    expect(liveAllocs(h, job.id)).toHaveLength(7);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', queuedAllocations: { web: 0 } });
  });
});

describe('GenericScheduler: batch jobs', () => {
  const batch = (count: number): Job => mockBatchJob({ taskGroups: [mockTaskGroup({ name: 'worker', count, reschedule: mockBatchJob().taskGroups[0]!.reschedule })] });

  it('does not re-run an allocation that completed successfully', async () => {
    const h = cluster(2);
    const job = h.upsertJob(batch(2));
    h.upsertAllocs(
      mockAlloc(job, { index: 0, nodeId: 'n1', clientStatus: 'complete', finishedAt: h.now - 60 * SECOND }),
      mockAlloc(job, { index: 1, nodeId: 'n2', clientStatus: 'running' }),
    );
    const ev = evalFor(job);
    await h.process('batch', ev);
    expect(h.plans).toEqual([]);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', failedTgAllocs: {}, queuedAllocations: { worker: 0 } });
  });

  it('reschedules a failed allocation at once when its delay has passed, away from its node', async () => {
    const h = cluster(2);
    const job = h.upsertJob(batch(1));
    const [failed] = h.upsertAllocs(mockAlloc(job, { index: 0, nodeId: 'n1', clientStatus: 'failed', finishedAt: h.now - 10 * SECOND }));
    const ev = evalFor(job, { triggeredBy: 'alloc-failure' });
    await h.process('batch', ev);

    const plan = h.plans[0]!;
    // The failed alloc is marked stopped in the same plan (nomad: "alloc was rescheduled because it failed").
    expect(stopped(plan).map((a) => [a.id, a.desiredStatus, a.desiredDescription])).toEqual([[failed!.id, 'stop', AllocStopReasons.rescheduled]]);
    const [replacement, ...rest] = placed(plan);
    expect(rest).toEqual([]);
    expect(replacement).toMatchObject({ name: 'my-batch.worker[0]', previousAllocation: failed!.id, nodeId: 'n2' });
    expect(replacement!.rescheduleTracker).toEqual([{ rescheduleTime: h.now, prevAllocId: failed!.id, prevNodeId: 'n1', delay: 5 * SECOND }]);
    expect(h.state().allocByID(failed!.id)?.nextAllocation).toBe(replacement!.id);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', queuedAllocations: { worker: 0 } });
  });

  it('delays the reschedule with a follow-up eval (waitUntil) when the delay has not passed', async () => {
    const h = cluster(2);
    const job = h.upsertJob(batch(1));
    const finishedAt = h.now - 1 * SECOND;
    const [failed] = h.upsertAllocs(mockAlloc(job, { index: 0, nodeId: 'n1', clientStatus: 'failed', finishedAt }));
    const ev = evalFor(job, { triggeredBy: 'alloc-failure' });
    await h.process('batch', ev);

    expect(h.createdEvals).toHaveLength(1);
    const followup = h.createdEvals[0]!;
    // nomad EvalTriggerRetryFailedAlloc is "alloc-failure" ("failed-follow-up" is for failed evals).
    expect(followup).toMatchObject({ status: 'pending', triggeredBy: 'alloc-failure', statusDescription: 'created for delayed rescheduling', waitUntil: finishedAt + 5 * SECOND, jobId: 'my-batch', previousEval: ev.id });
    // The failed alloc is annotated with its follow-up eval; nothing is placed yet.
    const plan = h.plans[0]!;
    expect(placed(plan).map((a) => [a.id, a.followupEvalId])).toEqual([[failed!.id, followup.id]]);
    expect(stopped(plan)).toEqual([]);
    expect(h.state().allocsByJob('default', 'my-batch')).toHaveLength(1);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', failedTgAllocs: {} });
  });

  it('does not replace a failed allocation whose reschedule attempts are used up', async () => {
    const h = cluster(2);
    const job = h.upsertJob(batch(1));
    h.upsertAllocs(mockAlloc(job, { index: 0, nodeId: 'n2', clientStatus: 'failed', finishedAt: h.now - 60 * SECOND }, {
      rescheduleTracker: [{ rescheduleTime: h.now - 120 * SECOND, prevAllocId: 'alloc-earlier', prevNodeId: 'n1', delay: 5 * SECOND }],
    }));
    const ev = evalFor(job, { triggeredBy: 'alloc-failure' });
    await h.process('batch', ev);
    expect(h.plans).toEqual([]);
    expect(h.createdEvals).toEqual([]);
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', failedTgAllocs: {} });
  });
});

describe('GenericScheduler: lost nodes', () => {
  it('stops the allocation of a down node as lost and replaces it on another node', async () => {
    const h = cluster(3);
    const job = h.upsertJob(serviceJob(2));
    const [onN1, onN2] = seedAllocs(h, job, 2, ['n1', 'n2']);
    h.apply({ type: 'UpdateNodeStatus', nodeId: 'n1', status: 'down', updatedAt: h.now });
    const ev = evalFor(job, { triggeredBy: 'node-update', nodeId: 'n1' });
    await h.process('service', ev);

    const plan = h.plans[0]!;
    expect(stopped(plan)).toHaveLength(1);
    expect(stopped(plan)[0]).toMatchObject({ id: onN1!.id, desiredStatus: 'stop', clientStatus: 'lost', desiredDescription: AllocStopReasons.lost });
    const [replacement, ...rest] = placed(plan);
    expect(rest).toEqual([]);
    expect(replacement).toMatchObject({ name: onN1!.name, previousAllocation: onN1!.id });
    expect(['n2', 'n3']).toContain(replacement!.nodeId);
    expect(h.state().allocByID(onN1!.id)).toMatchObject({ clientStatus: 'lost', desiredStatus: 'stop' });
    expect(h.state().allocByID(onN2!.id)).toMatchObject({ clientStatus: 'running', desiredStatus: 'run' });
    expect(h.lastEvalUpdate(ev.id)).toMatchObject({ status: 'complete', queuedAllocations: { web: 0 } });
  });
});

describe('GenericScheduler: determinism', () => {
  async function run(seed: number): Promise<Plan[]> {
    const h = cluster(10, seed);
    const job = h.upsertJob(serviceJob(12));
    await h.process('service', mockEval({ id: 'eval-fixed', jobId: job.id }));
    return h.plans;
  }

  it('the same seed gives the same plans, byte for byte', async () => {
    const a = await run(7);
    const b = await run(7);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(placed(a[0]!)).toHaveLength(12);
  });

  it('a different seed gives other allocation ids', async () => {
    const a = await run(7);
    const b = await run(8);
    expect(placed(a[0]!).map((x) => x.id)).not.toEqual(placed(b[0]!).map((x) => x.id));
  });
});
