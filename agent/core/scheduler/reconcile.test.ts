import { describe, expect, it } from 'vitest';
import { SeededRng, shuffle } from '../lib/index.js';
import type { Allocation, Job, Node } from '../structs/index.js';
import { allocName } from '../structs/index.js';
import type { ReconcileInput, ReconcileResult } from './reconcile.js';
import { AllocStopReasons, DeploymentDescriptions, FollowupEvalDescription, reconcile } from './reconcile.js';
import {
  mockAlloc,
  mockAllocs,
  mockBatchJob,
  mockBatchReschedulePolicy,
  mockDeployment,
  mockDeploymentGroupState,
  mockJob,
  mockJobVersion,
  mockNode,
  mockServiceReschedulePolicy,
  mockTask,
  mockTaskGroup,
  mockUpdateStrategy,
} from '../testing/index.js';

const S = 1000;
const NOW = 1_700_000_000_000;

function run(p: Partial<ReconcileInput> & { job: Job | null }): ReconcileResult {
  return reconcile({
    allocs: [],
    taintedNodes: new Map(),
    deployment: null,
    evalId: 'eval-1',
    evalPriority: 50,
    now: NOW,
    batch: p.job?.type === 'batch',
    rng: new SeededRng(7),
    ...p,
  });
}

const names = (job: Job, group: string, idx: number[]): string[] => idx.map((i) => allocName(job.id, group, i));
const placed = (r: ReconcileResult): string[] => r.place.map((p) => p.name);
const stopped = (r: ReconcileResult): string[] => r.stop.map((s) => s.alloc.name);

function withCount(job: Job, count: number, patch: Partial<Job['taskGroups'][number]> = {}): Job {
  return { ...job, taskGroups: job.taskGroups.map((g) => ({ ...g, count, ...patch })) };
}

const changeConfig = (g: Job['taskGroups'][number]): Job['taskGroups'][number] => ({
  ...g,
  tasks: g.tasks.map((t) => ({ ...t, config: { ...t.config, command: '/bin/other' } })),
});
const changeKillTimeout = (g: Job['taskGroups'][number]): Job['taskGroups'][number] => ({
  ...g,
  tasks: g.tasks.map((t) => ({ ...t, killTimeout: t.killTimeout + 1000 })),
});

describe('counts and names', () => {
  it('places count allocs named [0..count) for a new job', () => {
    const job = mockJob();
    const r = run({ job });
    expect(placed(r)).toEqual(names(job, 'web', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect(r.desiredTGUpdates.web).toMatchObject({ place: 10, stop: 0, ignore: 0 });
    expect(r.stop).toEqual([]);
    expect(r.deployment).toBeNull();
    expect(r.place.every((p) => p.previousAlloc === undefined && p.taskGroup.name === 'web')).toBe(true);
  });

  it('scaling up fills the lowest free indexes first', () => {
    const job = withCount(mockJob(), 5);
    const allocs = [0, 2, 5].map((i) => mockAlloc(job, { index: i }));
    const r = run({ job, allocs });
    expect(placed(r)).toEqual(names(job, 'web', [1, 3]));
    expect(r.desiredTGUpdates.web).toMatchObject({ place: 2, ignore: 3, stop: 0 });
  });

  it('scaling down stops the highest indexes first', () => {
    const job = mockJob();
    const allocs = mockAllocs(job, 10);
    const r = run({ job: withCount(job, 3, {}), allocs: allocs.map((a) => ({ ...a, job: withCount(job, 3) })) });
    expect(stopped(r).sort()).toEqual(names(job, 'web', [3, 4, 5, 6, 7, 8, 9]).sort());
    expect(r.stop.every((s) => s.statusDescription === AllocStopReasons.notNeeded && s.clientStatus === undefined)).toBe(true);
    expect(r.place).toEqual([]);
    expect(r.desiredTGUpdates.web).toMatchObject({ stop: 7, ignore: 3, place: 0 });
  });

  it('scaling down with gaps keeps the lowest indexes', () => {
    const job = withCount(mockJob(), 2);
    const allocs = [0, 4, 7, 9].map((i) => mockAlloc(job, { index: i }));
    const r = run({ job, allocs });
    expect(stopped(r)).toEqual(names(job, 'web', [9, 7]));
  });

  it('stops one of two allocs sharing a name before any other when scaling down', () => {
    const job = withCount(mockJob(), 3);
    const allocs = [0, 1, 1, 2].map((i) => mockAlloc(job, { index: i }));
    const r = run({ job, allocs });
    expect(stopped(r)).toEqual(names(job, 'web', [1]));
    expect(r.stop[0]!.alloc.id).toBe(allocs[2]!.id);
  });

  it('scaling to zero stops everything', () => {
    const job = mockJob();
    const allocs = mockAllocs(job, 4);
    const r = run({ job: withCount(job, 0), allocs });
    expect(r.stop).toHaveLength(4);
    expect(r.desiredTGUpdates.web).toMatchObject({ stop: 4 });
  });
});

describe('stopping', () => {
  it('a stopped job stops every non-terminal alloc and cancels its deployment', () => {
    const job = mockJob();
    const allocs = [...mockAllocs(job, 3), mockAlloc(job, { index: 3, clientStatus: 'complete' }), mockAlloc(job, { index: 4, desiredStatus: 'stop' })];
    const d = mockDeployment(job);
    const r = run({ job: { ...job, stop: true }, allocs, deployment: d });
    expect(stopped(r)).toEqual(names(job, 'web', [0, 1, 2]));
    expect(r.stop.every((s) => s.statusDescription === AllocStopReasons.jobStopped)).toBe(true);
    expect(r.place).toEqual([]);
    expect(r.deploymentUpdates).toEqual([{ deploymentId: d.id, status: 'cancelled', statusDescription: DeploymentDescriptions.stoppedJob }]);
    expect(r.desiredTGUpdates.web).toMatchObject({ stop: 3 });
  });

  it('a purged job (null) stops everything; allocs on down nodes are marked lost', () => {
    const job = mockJob();
    const allocs = mockAllocs(job, 4, { nodes: ['n1', 'n2'] });
    const down = mockNode({ id: 'n2', status: 'down' });
    const r = run({ job: null, allocs, taintedNodes: new Map([['n2', down]]) });
    expect(r.stop).toHaveLength(4);
    expect(r.stop.filter((s) => s.clientStatus === 'lost').map((s) => s.alloc.nodeId)).toEqual(['n2', 'n2']);
    expect(r.deployment).toBeNull();
  });

  it('a group removed from the job is stopped while the new group is placed', () => {
    const job = mockJob();
    const old = mockJob({ taskGroups: [mockTaskGroup({ name: 'old', count: 2 })] });
    const allocs = mockAllocs(old, 2);
    const r = run({ job: withCount(job, 2), allocs });
    expect(stopped(r)).toEqual(names(job, 'old', [0, 1]));
    expect(r.stop.every((s) => s.statusDescription === AllocStopReasons.groupRemoved)).toBe(true);
    expect(placed(r)).toEqual(names(job, 'web', [0, 1]));
    expect(r.desiredTGUpdates.old).toMatchObject({ stop: 2 });
    expect(r.desiredTGUpdates.web).toMatchObject({ place: 2 });
  });
});

describe('tainted nodes', () => {
  const job = withCount(mockJob(), 4);

  it('allocs on a down node are lost and replaced under the same names', () => {
    const allocs = mockAllocs(job, 4, { nodes: ['n1', 'n2'] });
    const r = run({ job, allocs, taintedNodes: new Map<string, Node | null>([['n2', mockNode({ id: 'n2', status: 'down' })]]) });
    expect(r.stop.map((s) => [s.alloc.name, s.clientStatus, s.statusDescription])).toEqual([
      [allocName(job.id, 'web', 1), 'lost', AllocStopReasons.lost],
      [allocName(job.id, 'web', 3), 'lost', AllocStopReasons.lost],
    ]);
    expect(r.place.map((p) => [p.name, p.previousAlloc?.id, p.lost, p.reschedule])).toEqual([
      [allocName(job.id, 'web', 1), allocs[1]!.id, true, undefined],
      [allocName(job.id, 'web', 3), allocs[3]!.id, true, undefined],
    ]);
    expect(r.desiredTGUpdates.web).toMatchObject({ place: 2, stop: 2, ignore: 2 });
  });

  it('a node that no longer exists (null) loses its allocs too, as does a disconnected one', () => {
    const allocs = mockAllocs(job, 4, { nodes: ['n1', 'gone', 'disc', 'n1'] });
    const r = run({ job, allocs, taintedNodes: new Map<string, Node | null>([['gone', null], ['disc', mockNode({ id: 'disc', status: 'disconnected' })]]) });
    expect(r.stop.map((s) => s.clientStatus)).toEqual(['lost', 'lost']);
    expect(r.place).toHaveLength(2);
  });

  it('lost allocs beyond the new count are stopped but not replaced', () => {
    const allocs = mockAllocs(job, 4, { nodes: ['n1', 'n2'] });
    const r = run({ job: withCount(job, 2), allocs, taintedNodes: new Map([['n2', mockNode({ id: 'n2', status: 'down' })]]) });
    expect(r.stop.filter((s) => s.clientStatus === 'lost')).toHaveLength(2);
    expect(r.place).toEqual([]);
  });

  it('on a draining node only allocs flagged to migrate move (stop + place), counted as migrate', () => {
    const draining = mockNode({ id: 'n2', schedulingEligibility: 'ineligible', drainStrategy: { deadline: 3600 * S, ignoreSystemJobs: false, forceDeadline: 0, startedAt: 0 } });
    const allocs = mockAllocs(job, 4, { nodes: ['n1', 'n2'] });
    allocs[1] = { ...allocs[1]!, desiredTransition: { migrate: true, reschedule: false, forceReschedule: false } };
    const r = run({ job, allocs, taintedNodes: new Map([['n2', draining]]) });
    expect(r.stop.map((s) => [s.alloc.id, s.statusDescription])).toEqual([[allocs[1].id, AllocStopReasons.migrating]]);
    expect(r.place.map((p) => [p.name, p.previousAlloc?.id])).toEqual([[allocs[1].name, allocs[1].id]]);
    expect(r.desiredTGUpdates.web).toMatchObject({ migrate: 1, place: 0, stop: 0, ignore: 3 });
  });
});

describe('completed allocations', () => {
  it('batch allocs that completed successfully are never replaced', () => {
    const job = withCount(mockBatchJob(), 5);
    const allocs = mockAllocs(job, 5, { clientStatus: 'complete', finishedAt: NOW - 10 * S });
    const r = run({ job, allocs });
    expect(r.place).toEqual([]);
    expect(r.stop).toEqual([]);
  });

  it('batch allocs of an older version that completed are ignored: the new version runs again', () => {
    const v0 = withCount(mockBatchJob(), 2);
    const allocs = mockAllocs(v0, 2, { clientStatus: 'complete', finishedAt: NOW - 10 * S });
    const r = run({ job: mockJobVersion(v0, changeConfig), allocs });
    expect(placed(r)).toEqual(names(v0, 'worker', [0, 1]));
    expect(r.desiredTGUpdates.worker).toMatchObject({ place: 2, ignore: 2 });
  });

  it('service allocs that completed are replaced at their freed names', () => {
    const job = withCount(mockJob(), 4);
    const allocs = mockAllocs(job, 4);
    allocs[2] = { ...allocs[2]!, clientStatus: 'complete' };
    const r = run({ job, allocs });
    expect(placed(r)).toEqual(names(job, 'web', [2]));
    expect(r.place[0]!.previousAlloc).toBeUndefined();
  });
});

describe('rescheduling failed allocations', () => {
  const policy = mockServiceReschedulePolicy({ delay: 30 * S, delayFunction: 'constant', unlimited: true });
  const job = withCount(mockJob(), 3, { reschedule: policy });

  it('replaces an alloc whose delay has passed: reschedule placement + stop of the failed one', () => {
    const allocs = mockAllocs(job, 3);
    allocs[1] = mockAlloc(job, { index: 1, clientStatus: 'failed', finishedAt: NOW - 31 * S });
    const r = run({ job, allocs });
    expect(r.place).toHaveLength(1);
    expect(r.place[0]).toMatchObject({ name: allocs[1].name, reschedule: true, minJobVersion: 0 });
    expect(r.place[0]!.previousAlloc!.id).toBe(allocs[1].id);
    expect(r.stop.map((s) => [s.alloc.id, s.statusDescription])).toEqual([[allocs[1].id, AllocStopReasons.rescheduled]]);
    expect(r.desiredTGUpdates.web).toMatchObject({ place: 1, stop: 1, rescheduleNow: 1, rescheduleLater: 0, ignore: 2 });
    expect(r.desiredFollowupEvals).toEqual({});
  });

  it('delays a reschedule with a follow-up eval and annotates the alloc', () => {
    const allocs = mockAllocs(job, 3);
    allocs[0] = mockAlloc(job, { index: 0, clientStatus: 'failed', finishedAt: NOW - 10 * S });
    const r = run({ job, allocs });
    expect(r.place).toEqual([]);
    expect(r.stop).toEqual([]);
    const evals = r.desiredFollowupEvals.web!;
    expect(evals).toHaveLength(1);
    expect(evals[0]).toMatchObject({ waitUntil: NOW + 20 * S, status: 'pending', triggeredBy: 'alloc-failure', jobId: job.id, previousEval: 'eval-1', statusDescription: FollowupEvalDescription });
    expect(r.attributeUpdates.map((a) => [a.id, a.followupEvalId])).toEqual([[allocs[0].id, evals[0]!.id]]);
    expect(allocs[0].followupEvalId).toBe('');
    expect(r.desiredTGUpdates.web).toMatchObject({ rescheduleLater: 1, rescheduleNow: 0, place: 0 });
  });

  it('batches delayed reschedules within 5 s into one eval', () => {
    const allocs = [
      mockAlloc(job, { index: 0, clientStatus: 'failed', finishedAt: NOW - 10 * S }),
      mockAlloc(job, { index: 1, clientStatus: 'failed', finishedAt: NOW - 7 * S }),
      mockAlloc(job, { index: 2, clientStatus: 'failed', finishedAt: NOW + 5 * S }),
    ];
    const r = run({ job, allocs });
    const evals = r.desiredFollowupEvals.web!;
    expect(evals.map((e) => e.waitUntil)).toEqual([NOW + 20 * S, NOW + 35 * S]);
    const byAlloc = new Map(r.attributeUpdates.map((a) => [a.id, a.followupEvalId]));
    expect(byAlloc.get(allocs[0]!.id)).toBe(evals[0]!.id);
    expect(byAlloc.get(allocs[1]!.id)).toBe(evals[0]!.id);
    expect(byAlloc.get(allocs[2]!.id)).toBe(evals[1]!.id);
  });

  it('the follow-up eval replaces its alloc when it runs', () => {
    const a = mockAlloc(job, { index: 0, clientStatus: 'failed', finishedAt: NOW - 10 * S }, { followupEvalId: 'eval-later' });
    const r = run({ job, allocs: [a, ...mockAllocs(job, 3).slice(1)], evalId: 'eval-later' });
    expect(r.place.map((p) => [p.name, p.reschedule])).toEqual([[a.name, true]]);
  });

  it('leaves an alloc failed when its attempts within the interval are exhausted, and allows it after', () => {
    const limited = withCount(mockJob(), 1, { reschedule: mockBatchReschedulePolicy({ attempts: 1, interval: 3600 * S, delay: 5 * S }) });
    const tracker = [{ rescheduleTime: NOW - 600 * S, prevAllocId: 'prev', prevNodeId: 'n0', delay: 5 * S }];
    const a = mockAlloc(limited, { clientStatus: 'failed', finishedAt: NOW - 60 * S }, { rescheduleTracker: tracker });
    const r = run({ job: limited, allocs: [a] });
    expect(r.place).toEqual([]);
    expect(r.stop).toEqual([]);
    expect(r.desiredFollowupEvals).toEqual({});

    const later = NOW + 3600 * S;
    const b = { ...a, taskStates: { web: { ...a.taskStates.web!, finishedAt: later - 60 * S } } };
    const r2 = run({ job: limited, allocs: [b], now: later });
    expect(r2.place.map((p) => p.reschedule)).toEqual([true]);
  });

  it('forceReschedule replaces a running alloc now', () => {
    const allocs = mockAllocs(job, 3);
    allocs[2] = { ...allocs[2]!, desiredTransition: { migrate: false, reschedule: false, forceReschedule: true } };
    const r = run({ job, allocs });
    expect(r.place.map((p) => [p.name, p.reschedule])).toEqual([[allocs[2].name, true]]);
    expect(r.stop.map((s) => s.alloc.id)).toEqual([allocs[2].id]);
  });

  it('an already replaced failed alloc is not rescheduled again', () => {
    const allocs = mockAllocs(job, 3);
    const old = mockAlloc(job, { index: 1, clientStatus: 'failed', finishedAt: NOW - 60 * S }, { nextAllocation: allocs[1]!.id });
    const r = run({ job, allocs: [...allocs, old] });
    expect(r.place).toEqual([]);
    expect(r.stop).toEqual([]);
  });

  it('batch failures follow the same policy; completions stay', () => {
    const bjob = withCount(mockBatchJob(), 3);
    const allocs = [
      mockAlloc(bjob, { index: 0, clientStatus: 'complete', finishedAt: NOW - 60 * S }),
      mockAlloc(bjob, { index: 1, clientStatus: 'failed', finishedAt: NOW - 60 * S }),
      mockAlloc(bjob, { index: 2, clientStatus: 'failed', finishedAt: NOW - 2 * S }),
    ];
    const r = run({ job: bjob, allocs });
    expect(r.place.map((p) => [p.name, p.reschedule])).toEqual([[allocs[1]!.name, true]]);
    expect(r.desiredFollowupEvals.worker!.map((e) => e.waitUntil)).toEqual([NOW + 3 * S]);
  });

  it('lost and rescheduled allocs are handled in the same eval', () => {
    const allocs = mockAllocs(job, 3, { nodes: ['n1', 'n2', 'n1'] });
    allocs[0] = mockAlloc(job, { index: 0, nodeId: 'n1', clientStatus: 'failed', finishedAt: NOW - 60 * S });
    const r = run({ job, allocs, taintedNodes: new Map([['n2', mockNode({ id: 'n2', status: 'down' })]]) });
    expect(r.place.map((p) => [p.name, p.reschedule === true, p.lost === true])).toEqual([
      [allocs[0].name, true, false],
      [allocs[1]!.name, false, true],
    ]);
    expect(r.stop.map((s) => [s.alloc.name, s.clientStatus ?? ''])).toEqual([
      [allocs[1]!.name, 'lost'],
      [allocs[0].name, ''],
    ]);
    expect(r.desiredTGUpdates.web).toMatchObject({ place: 2, stop: 2, rescheduleNow: 1 });
  });
});

describe('job updates', () => {
  const v0 = withCount(mockJob(), 5);

  it('a change that tasks can follow in place updates every alloc in place', () => {
    const v1 = mockJobVersion(v0, changeKillTimeout);
    const allocs = mockAllocs(v0, 5);
    const r = run({ job: v1, allocs });
    expect(r.inplaceUpdate.map((a) => [a.id, a.job.version])).toEqual(allocs.map((a) => [a.id, 1]));
    expect(allocs.every((a) => a.job.version === 0)).toBe(true);
    expect(r.destructiveUpdate).toEqual([]);
    expect(r.desiredTGUpdates.web).toMatchObject({ inPlaceUpdate: 5, destructiveUpdate: 0, ignore: 0 });
  });

  it('a config change without an update block replaces every alloc at once', () => {
    const v1 = mockJobVersion(v0, changeConfig);
    const r = run({ job: v1, allocs: mockAllocs(v0, 5) });
    expect(r.destructiveUpdate.map((d) => d.placeName)).toEqual(names(v0, 'web', [0, 1, 2, 3, 4]));
    expect(r.destructiveUpdate.every((d) => d.statusDescription === AllocStopReasons.updating && d.placeTaskGroup === v1.taskGroups[0])).toBe(true);
    expect(r.desiredTGUpdates.web).toMatchObject({ destructiveUpdate: 5, ignore: 0 });
    expect(r.deployment).toBeNull();
  });

  it('max_parallel limits destructive updates and a deployment is created', () => {
    const base = withCount(mockJob(), 5, { update: mockUpdateStrategy({ maxParallel: 2, autoRevert: true, progressDeadline: 600 * S }) });
    const v1 = mockJobVersion(base, changeConfig);
    const r = run({ job: v1, allocs: mockAllocs(base, 5) });
    expect(r.destructiveUpdate.map((d) => d.placeName)).toEqual(names(v0, 'web', [0, 1]));
    expect(r.desiredTGUpdates.web).toMatchObject({ destructiveUpdate: 2, ignore: 3 });
    expect(r.deployment).toMatchObject({ jobId: v1.id, jobVersion: 1, status: 'running', statusDescription: DeploymentDescriptions.running, createTime: NOW });
    expect(r.deployment!.taskGroups.web).toMatchObject({ desiredTotal: 5, desiredCanaries: 0, autoRevert: true, progressDeadline: 600 * S, promoted: false });
  });

  it('within a deployment, allocs not yet healthy use up max_parallel; an unhealthy one stops the rollout', () => {
    const base = withCount(mockJob(), 5, { update: mockUpdateStrategy({ maxParallel: 3 }) });
    const v1 = mockJobVersion(base, changeConfig);
    const d = mockDeployment(v1);
    const fresh = (i: number, healthy: boolean | null): Allocation =>
      mockAlloc(v1, { index: i }, { deploymentId: d.id, deploymentStatus: { healthy, canary: false, timestamp: 0, modifyIndex: 0 } });
    const allocs = [fresh(0, true), fresh(1, null), fresh(2, null), ...[3, 4].map((i) => mockAlloc(base, { index: i }))];
    const r = run({ job: v1, allocs, deployment: d });
    expect(r.destructiveUpdate.map((x) => x.placeName)).toEqual(names(v0, 'web', [3]));
    expect(r.deployment).toBeNull();

    allocs[1] = fresh(1, false);
    const r2 = run({ job: v1, allocs, deployment: d });
    expect(r2.destructiveUpdate).toEqual([]);
    expect(r2.desiredTGUpdates.web).toMatchObject({ ignore: 2 + 3, destructiveUpdate: 0 });
  });

  it('batch jobs ignore max_parallel', () => {
    const b0 = withCount(mockBatchJob(), 4, { update: mockUpdateStrategy({ maxParallel: 1 }) });
    const r = run({ job: mockJobVersion(b0, changeConfig), allocs: mockAllocs(b0, 4) });
    expect(r.destructiveUpdate).toHaveLength(4);
    expect(r.deployment).toBeNull();
  });

  it('canaries are placed first, under the names of the allocs they will replace; the rest waits for promotion', () => {
    const base = withCount(mockJob(), 4, { update: mockUpdateStrategy({ maxParallel: 2, canary: 2 }) });
    const v1 = mockJobVersion(base, changeConfig);
    const r = run({ job: v1, allocs: mockAllocs(base, 4) });
    expect(r.place.map((p) => [p.name, p.canary])).toEqual([
      [allocName(v1.id, 'web', 0), true],
      [allocName(v1.id, 'web', 1), true],
    ]);
    expect(r.destructiveUpdate).toEqual([]);
    expect(r.stop).toEqual([]);
    expect(r.desiredTGUpdates.web).toMatchObject({ canary: 2, ignore: 4, destructiveUpdate: 0 });
    expect(r.deployment!.taskGroups.web).toMatchObject({ desiredCanaries: 2, desiredTotal: 4 });
    expect(r.deployment!.statusDescription).toBe(DeploymentDescriptions.runningNeedsPromotion);
  });

  it('after promotion, old allocs sharing a canary name stop and the rollout continues', () => {
    const base = withCount(mockJob(), 4, { update: mockUpdateStrategy({ maxParallel: 2, canary: 2 }) });
    const v1 = mockJobVersion(base, changeConfig);
    const d = mockDeployment(v1);
    const canaries = [0, 1].map((i) =>
      mockAlloc(v1, { index: i }, { deploymentId: d.id, deploymentStatus: { healthy: true, canary: true, timestamp: 0, modifyIndex: 0 } }),
    );
    d.taskGroups.web = mockDeploymentGroupState({ desiredCanaries: 2, desiredTotal: 4, promoted: true, placedCanaries: canaries.map((c) => c.id), healthyAllocs: 2 });
    const old = mockAllocs(base, 4);
    const r = run({ job: v1, allocs: [...old, ...canaries], deployment: d });
    expect(r.stop.map((s) => s.alloc.id).sort()).toEqual([old[0]!.id, old[1]!.id].sort());
    expect(r.destructiveUpdate.map((x) => x.stopAlloc.id)).toEqual([old[2]!.id, old[3]!.id]);
    expect(r.place).toEqual([]);
  });

  it('an active deployment of an older version is cancelled', () => {
    const base = withCount(mockJob(), 2, { update: mockUpdateStrategy() });
    const d0 = mockDeployment(base);
    const v1 = mockJobVersion(base, changeConfig);
    const r = run({ job: v1, allocs: mockAllocs(base, 2), deployment: d0 });
    expect(r.deploymentUpdates).toEqual([{ deploymentId: d0.id, status: 'cancelled', statusDescription: DeploymentDescriptions.newerJob }]);
    expect(r.deployment).not.toBeNull();
    expect(r.deployment!.id).not.toBe(d0.id);
  });

  it('no new deployment when this version already runs and nothing changes; a finished, healthy one is marked successful', () => {
    const job = withCount(mockJob(), 2, { update: mockUpdateStrategy() });
    const d = mockDeployment(job);
    d.taskGroups.web = mockDeploymentGroupState({ desiredTotal: 2, healthyAllocs: 2 });
    const allocs = mockAllocs(job, 2);
    const r = run({ job, allocs, deployment: d });
    expect(r.deployment).toBeNull();
    expect(r.deploymentUpdates).toEqual([{ deploymentId: d.id, status: 'successful', statusDescription: DeploymentDescriptions.successful }]);

    d.taskGroups.web = mockDeploymentGroupState({ desiredTotal: 2, healthyAllocs: 1 });
    expect(run({ job, allocs, deployment: d }).deploymentUpdates).toEqual([]);
    expect(run({ job, allocs, deployment: null }).deployment).toBeNull();
  });

  it('a first registration with an update block creates a deployment for every group', () => {
    const job = mockJob({ update: mockUpdateStrategy(), taskGroups: [mockTaskGroup({ count: 2, update: mockUpdateStrategy() }), mockTaskGroup({ name: 'api', count: 1, update: mockUpdateStrategy(), tasks: [mockTask({ name: 'api' })] })] });
    const r = run({ job });
    expect(Object.keys(r.deployment!.taskGroups)).toEqual(['web', 'api']);
    expect(r.deployment!.taskGroups.api!.desiredTotal).toBe(1);
    expect(r.place).toHaveLength(3);
  });
});

describe('bad input and determinism', () => {
  it('refuses system jobs and allocations of another job', () => {
    expect(() => run({ job: mockJob({ type: 'system' }) })).toThrow(/service and batch jobs, not system/);
    const other = mockAlloc(mockJob({ id: 'other' }));
    expect(() => run({ job: mockJob(), allocs: [other] })).toThrow(/belongs to job "other"/);
  });

  it('gives the same result whatever the order of the allocations', () => {
    const v0 = withCount(mockJob(), 6, { update: mockUpdateStrategy({ maxParallel: 2 }) });
    const v1 = withCount(mockJobVersion(v0, changeConfig), 4);
    const allocs = mockAllocs(v0, 8, { nodes: ['n1', 'n2', 'n3'] });
    allocs[5] = mockAlloc(v0, { index: 5, nodeId: 'n3', clientStatus: 'failed', finishedAt: NOW - 10 * S });
    const tainted = new Map([['n2', mockNode({ id: 'n2', status: 'down' })]]);
    const a = run({ job: v1, allocs, taintedNodes: tainted });
    const b = run({ job: v1, allocs: shuffle(new SeededRng(3), [...allocs]), taintedNodes: tainted });
    expect(b).toEqual(a);
  });
});
