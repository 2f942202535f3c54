import { describe, expect, it } from 'vitest';
import { NomadError } from '../lib/index.js';
import { computeNodeClass, defaultSchedulerConfiguration } from '../structs/index.js';
import type { Allocation, Job } from '../structs/index.js';
import type { FsmCommand } from './commands.js';
import { dumpState, mockAlloc, mockDeployment, mockEval, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';

/** An FSM with two nodes and job "web" registered at indexes 1..3. */
function setup(): { fsm: Fsm; job: Job } {
  const fsm = new Fsm();
  fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
  fsm.apply(2, { type: 'UpsertNode', node: mockNode('n2') });
  fsm.apply(3, { type: 'UpsertJob', job: mockJob('web'), eval: mockEval('e1', 'web') });
  return { fsm, job: fsm.store.snapshot().jobByID('default', 'web')! };
}

function place(fsm: Fsm, index: number, allocs: Allocation[], extra: Partial<Extract<FsmCommand, { type: 'ApplyPlanResults' }>> = {}): void {
  fsm.apply(index, { type: 'ApplyPlanResults', allocsUpdated: allocs, allocsStopped: [], allocsPreempted: [], ...extra });
}

function expectNoChange(fsm: Fsm, index: number, cmd: unknown, code: string): void {
  const before = fsm.snapshot();
  const snap = fsm.store.snapshot();
  const published = fsm.events.lastIndex();
  let err: unknown;
  try {
    fsm.apply(index, cmd as FsmCommand);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NomadError);
  expect((err as NomadError).code).toBe(code);
  expect(fsm.store.snapshot()).toBe(snap);
  expect(fsm.snapshot()).toEqual(before);
  expect(fsm.events.lastIndex()).toBe(published);
}

describe('log indexes', () => {
  it('stamps the index on every table written and on the objects', () => {
    const { fsm } = setup();
    const s = fsm.store.snapshot();
    expect(s.index).toBe(3);
    expect(s.tableIndex('nodes')).toBe(2);
    expect(s.tableIndex('jobs')).toBe(3);
    expect(s.tableIndex('job_versions')).toBe(3);
    expect(s.tableIndex('evals')).toBe(3);
    expect(s.tableIndex('allocs')).toBe(0);
    expect(s.nodeByID('n1')).toMatchObject({ createIndex: 1, modifyIndex: 1 });
    expect(s.evalByID('e1')).toMatchObject({ createIndex: 3, modifyIndex: 3 });
  });

  it('refuses an index that does not increase, and a non-integer one', () => {
    const { fsm } = setup();
    expectNoChange(fsm, 3, { type: 'UpsertNode', node: mockNode('n3') }, 'invalid_argument');
    expectNoChange(fsm, 2, { type: 'UpsertNode', node: mockNode('n3') }, 'invalid_argument');
    expectNoChange(fsm, 4.5, { type: 'UpsertNode', node: mockNode('n3') }, 'invalid_argument');
    expect(() => fsm.apply(4, { type: 'UpsertNode', node: mockNode('n3') })).not.toThrow();
  });

  it('refuses unknown and malformed commands without a trace', () => {
    const { fsm } = setup();
    expectNoChange(fsm, 4, { type: 'Bogus' }, 'invalid_argument');
    expectNoChange(fsm, 4, null, 'invalid_argument');
    expectNoChange(fsm, 4, { type: 'UpsertNode', node: { ...mockNode('x'), id: '' } }, 'invalid_argument');
    expectNoChange(fsm, 4, { type: 'UpsertNode', node: { ...mockNode('x'), status: 'sideways' } }, 'invalid_argument');
    expectNoChange(fsm, 4, { type: 'UpsertJob', job: { ...mockJob('x'), type: 'cron' } }, 'invalid_argument');
    expectNoChange(fsm, 4, { type: 'UpsertEvals', evals: [mockEval('e2', 'web'), { ...mockEval('e3', 'web'), status: 'done' }] }, 'invalid_argument');
  });

  it('names the bad field in the error', () => {
    const { fsm } = setup();
    try {
      fsm.apply(4, { type: 'UpsertEvals', evals: [mockEval('ok', 'web'), { ...mockEval('bad', 'web'), namespace: '' }] });
      expect.unreachable();
    } catch (e) {
      expect((e as NomadError).field).toBe('UpsertEvals.evals[1].namespace');
      expect((e as NomadError).message).toContain('UpsertEvals.evals[1].namespace');
    }
  });
});

describe('nodes', () => {
  it('registers with a computed class and keeps eligibility and drain on re-register', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'UpdateNodeDrain', nodeId: 'n1', drainStrategy: { deadline: 60_000, ignoreSystemJobs: false, forceDeadline: 0, startedAt: 5 }, markEligible: false });
    fsm.apply(5, { type: 'UpsertNode', node: mockNode('n1', { attributes: { 'kernel.name': 'darwin' } }) });
    const n = fsm.store.snapshot().nodeByID('n1')!;
    expect(n.computedClass).toBe(computeNodeClass(mockNode('n1', { attributes: { 'kernel.name': 'darwin' } })));
    expect(n.computedClass).not.toBe(fsm.store.snapshot().nodeByID('n2')!.computedClass);
    expect(n.schedulingEligibility).toBe('ineligible');
    expect(n.drainStrategy?.deadline).toBe(60_000);
    expect(n).toMatchObject({ createIndex: 1, modifyIndex: 5 });
  });

  it('updates status with evals in the same write', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'UpdateNodeStatus', nodeId: 'n2', status: 'down', updatedAt: 1234, evals: [mockEval('e-node', 'web', { triggeredBy: 'node-update', nodeId: 'n2' })] });
    const s = fsm.store.snapshot();
    expect(s.nodeByID('n2')).toMatchObject({ status: 'down', statusUpdatedAt: 1234, modifyIndex: 4 });
    expect(s.evalByID('e-node')?.createIndex).toBe(4);
    expect(s.tableIndex('evals')).toBe(4);
  });

  it('eligibility: refuses making a draining node eligible; drain off can mark it eligible', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'UpdateNodeEligibility', nodeId: 'n1', eligibility: 'ineligible' });
    expect(fsm.store.snapshot().nodeByID('n1')!.schedulingEligibility).toBe('ineligible');
    fsm.apply(5, { type: 'UpdateNodeDrain', nodeId: 'n1', drainStrategy: { deadline: 0, ignoreSystemJobs: true, forceDeadline: 0, startedAt: 0 }, markEligible: false });
    expectNoChange(fsm, 6, { type: 'UpdateNodeEligibility', nodeId: 'n1', eligibility: 'eligible' }, 'conflict');
    fsm.apply(6, { type: 'UpdateNodeDrain', nodeId: 'n1', drainStrategy: null, markEligible: true });
    expect(fsm.store.snapshot().nodeByID('n1')).toMatchObject({ drainStrategy: null, schedulingEligibility: 'eligible' });
  });

  it('refuses updates to unknown nodes and deregisters known ones', () => {
    const { fsm } = setup();
    expectNoChange(fsm, 4, { type: 'UpdateNodeStatus', nodeId: 'nope', status: 'down', updatedAt: 0 }, 'not_found');
    expectNoChange(fsm, 4, { type: 'DeregisterNodes', nodeIds: ['n1', 'nope'] }, 'not_found');
    expectNoChange(fsm, 4, { type: 'DeregisterNodes', nodeIds: [] }, 'invalid_argument');
    fsm.apply(4, { type: 'DeregisterNodes', nodeIds: ['n1'] });
    expect(fsm.store.snapshot().nodeByID('n1')).toBeUndefined();
    expect(fsm.store.snapshot().nodeCount()).toBe(1);
  });
});

describe('jobs', () => {
  it('bumps the version only when the spec changes and keeps history', () => {
    const { fsm, job } = setup();
    expect(job).toMatchObject({ version: 0, createIndex: 3, jobModifyIndex: 3, status: 'pending' });
    // Same spec, different server fields: no new version.
    fsm.apply(4, { type: 'UpsertJob', job: { ...mockJob('web'), status: 'dead', version: 17, submitTime: 99 } });
    let j = fsm.store.snapshot().jobByID('default', 'web')!;
    expect(j).toMatchObject({ version: 0, jobModifyIndex: 3, modifyIndex: 4 });
    fsm.apply(5, { type: 'UpsertJob', job: mockJob('web', { priority: 70 }) });
    j = fsm.store.snapshot().jobByID('default', 'web')!;
    expect(j).toMatchObject({ version: 1, jobModifyIndex: 5, modifyIndex: 5, priority: 70, createIndex: 3 });
    expect(fsm.store.snapshot().jobVersions('default', 'web').map((v) => v.version)).toEqual([1, 0]);
    expect(fsm.store.snapshot().jobVersion('default', 'web', 0)?.priority).toBe(50);
  });

  it('keeps the last 6 versions, and the newest stable one even if it is older', () => {
    const { fsm, job } = setup();
    const dep = mockDeployment('d0', job);
    fsm.apply(4, { type: 'UpsertDeployment', deployment: dep });
    fsm.apply(5, { type: 'UpdateDeploymentStatus', update: { deploymentId: 'd0', status: 'successful', statusDescription: 'done' }, updatedAt: 10 });
    expect(fsm.store.snapshot().jobByID('default', 'web')!.stable).toBe(true);
    for (let i = 1; i <= 8; i++) fsm.apply(5 + i, { type: 'UpsertJob', job: mockJob('web', { priority: 50 + i }) });
    const versions = fsm.store.snapshot().jobVersions('default', 'web').map((v) => v.version);
    expect(versions).toEqual([8, 7, 6, 5, 4, 0]);
    expect(fsm.store.snapshot().jobVersion('default', 'web', 0)?.stable).toBe(true);
  });

  it('deregister: stop keeps the job (new version), purge removes it and its versions', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'DeregisterJob', namespace: 'default', jobId: 'web', purge: false, submitTime: 7, eval: mockEval('e2', 'web', { triggeredBy: 'job-deregister' }) });
    let s = fsm.store.snapshot();
    expect(s.jobByID('default', 'web')).toMatchObject({ stop: true, version: 1, status: 'dead' });
    fsm.apply(5, { type: 'DeregisterJob', namespace: 'default', jobId: 'web', purge: true, submitTime: 8 });
    s = fsm.store.snapshot();
    expect(s.jobByID('default', 'web')).toBeUndefined();
    expect(s.jobVersions('default', 'web')).toEqual([]);
    expect(s.evalsByJob('default', 'web').map((e) => e.id).sort()).toEqual(['e1', 'e2']);
    expectNoChange(fsm, 6, { type: 'DeregisterJob', namespace: 'default', jobId: 'web', purge: true, submitTime: 9 }, 'not_found');
  });

  it('periodic launches need the job', () => {
    const { fsm } = setup();
    expectNoChange(fsm, 4, { type: 'UpsertPeriodicLaunch', launch: { namespace: 'default', jobId: 'nope', launch: 1, createIndex: 0, modifyIndex: 0 } }, 'not_found');
    fsm.apply(4, { type: 'UpsertPeriodicLaunch', launch: { namespace: 'default', jobId: 'web', launch: 1000, createIndex: 0, modifyIndex: 0 } });
    fsm.apply(5, { type: 'UpsertPeriodicLaunch', launch: { namespace: 'default', jobId: 'web', launch: 2000, createIndex: 0, modifyIndex: 0 } });
    expect(fsm.store.snapshot().periodicLaunch('default', 'web')).toEqual({ namespace: 'default', jobId: 'web', launch: 2000, createIndex: 4, modifyIndex: 5 });
  });
});

describe('job status derivation', () => {
  it('pending on register, running with a live alloc, dead once allocs and evals are terminal (batch)', () => {
    const fsm = new Fsm();
    fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
    fsm.apply(2, { type: 'UpsertJob', job: mockJob('b', { type: 'batch' }), eval: mockEval('e1', 'b', { type: 'batch' }) });
    const status = (): string => fsm.store.snapshot().jobByID('default', 'b')!.status;
    expect(status()).toBe('pending');
    const job = fsm.store.snapshot().jobByID('default', 'b')!;
    place(fsm, 3, [mockAlloc('a1', job, 'n1', 'e1')], { evals: [mockEval('e1', 'b', { type: 'batch', status: 'complete' })] });
    expect(status()).toBe('running');
    fsm.apply(4, { type: 'UpdateAllocsFromClient', allocs: [{ id: 'a1', clientStatus: 'complete', clientDescription: '', taskStates: {}, modifyTime: 5 }] });
    expect(status()).toBe('dead');
    expect(fsm.store.snapshot().jobByID('default', 'b')!.modifyIndex).toBe(4);
  });

  it('pending while an eval is outstanding and nothing runs', () => {
    const { fsm } = setup();
    expect(fsm.store.snapshot().jobByID('default', 'web')!.status).toBe('pending');
    fsm.apply(4, { type: 'UpsertEvals', evals: [mockEval('e1', 'web', { status: 'complete' })] });
    // Only terminal evals and no allocs: dead (a job whose eval placed nothing).
    expect(fsm.store.snapshot().jobByID('default', 'web')!.status).toBe('dead');
  });

  it('a stopped job stays running until its allocs stop, then is dead even with a pending eval', () => {
    const { fsm, job } = setup();
    place(fsm, 4, [mockAlloc('a1', job, 'n1', 'e1')]);
    fsm.apply(5, { type: 'DeregisterJob', namespace: 'default', jobId: 'web', purge: false, submitTime: 0, eval: mockEval('e2', 'web') });
    expect(fsm.store.snapshot().jobByID('default', 'web')!.status).toBe('running');
    const a1 = fsm.store.snapshot().allocByID('a1')!;
    fsm.apply(6, { type: 'ApplyPlanResults', allocsUpdated: [], allocsStopped: [{ ...a1, desiredStatus: 'stop' }], allocsPreempted: [] });
    expect(fsm.store.snapshot().jobByID('default', 'web')!.status).toBe('dead');
  });

  it('system and periodic jobs are running until stopped', () => {
    const fsm = new Fsm();
    fsm.apply(1, { type: 'UpsertJob', job: mockJob('sys', { type: 'system' }) });
    fsm.apply(2, { type: 'UpsertJob', job: mockJob('cron', { type: 'batch', periodic: { enabled: true, crons: ['* * * * *'], prohibitOverlap: false, timeZone: 'UTC' } }) });
    expect(fsm.store.snapshot().jobByID('default', 'sys')!.status).toBe('running');
    expect(fsm.store.snapshot().jobByID('default', 'cron')!.status).toBe('running');
    fsm.apply(3, { type: 'DeregisterJob', namespace: 'default', jobId: 'sys', purge: false, submitTime: 0 });
    expect(fsm.store.snapshot().jobByID('default', 'sys')!.status).toBe('dead');
  });

  it('dead after its evals are garbage collected; re-registering a new version makes it pending', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'DeleteEvalsAllocs', evalIds: ['e1'], allocIds: [] });
    expect(fsm.store.snapshot().jobByID('default', 'web')!.status).toBe('dead');
    fsm.apply(5, { type: 'UpsertJob', job: mockJob('web', { priority: 60 }) });
    expect(fsm.store.snapshot().jobByID('default', 'web')!.status).toBe('pending');
  });
});

describe('evals', () => {
  it('keeps createIndex on update and cancels blocked evals when one completes cleanly', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'UpsertEvals', evals: [mockEval('blocked', 'web', { status: 'blocked' })] });
    fsm.apply(5, { type: 'UpsertEvals', evals: [mockEval('e1', 'web', { status: 'complete' })] });
    const s = fsm.store.snapshot();
    expect(s.evalByID('e1')).toMatchObject({ createIndex: 3, modifyIndex: 5, status: 'complete' });
    expect(s.evalByID('blocked')).toMatchObject({ status: 'canceled', modifyIndex: 5 });
  });

  it('does not cancel blocked evals when the completing eval had placement failures', () => {
    const { fsm } = setup();
    fsm.apply(4, { type: 'UpsertEvals', evals: [mockEval('blocked', 'web', { status: 'blocked' })] });
    fsm.apply(5, { type: 'UpsertEvals', evals: [mockEval('e1', 'web', { status: 'complete', failedTgAllocs: { web: mockAlloc('x', mockJob('web'), 'n1', 'e1').metrics } })] });
    expect(fsm.store.snapshot().evalByID('blocked')!.status).toBe('blocked');
  });
});

describe('plan results', () => {
  it('writes new, stopped and preempted allocs, deployment and eval in one index', () => {
    const { fsm, job } = setup();
    place(fsm, 4, [mockAlloc('a1', job, 'n1', 'e1'), mockAlloc('a2', job, 'n2', 'e1')]);
    fsm.apply(5, { type: 'UpdateAllocsFromClient', allocs: [{ id: 'a1', clientStatus: 'running', clientDescription: 'up', taskStates: { main: { state: 'running', failed: false, restarts: 0, lastRestart: 0, startedAt: 1, finishedAt: 0, events: [] } }, modifyTime: 9 }] });
    const a1 = fsm.store.snapshot().allocByID('a1')!;
    const a2 = fsm.store.snapshot().allocByID('a2')!;
    const dep = mockDeployment('d1', job);
    fsm.apply(6, {
      type: 'ApplyPlanResults',
      // The scheduler's copy is stale (clientStatus pending, no task states): the FSM keeps the client's.
      allocsStopped: [{ ...a1, clientStatus: 'pending', taskStates: {}, desiredStatus: 'stop', desiredDescription: 'alloc is being updated' }],
      allocsPreempted: [{ ...a2, desiredStatus: 'evict', desiredDescription: 'preempted' }],
      allocsUpdated: [{ ...mockAlloc('a3', job, 'n1', 'e1', { deploymentId: 'd1', modifyTime: 100 }), job: null }],
      job,
      deployment: dep,
      evalId: 'e1',
      evals: [mockEval('e-pre', 'web', { triggeredBy: 'preemption' })],
    });
    const s = fsm.store.snapshot();
    for (const t of ['allocs', 'deployments', 'evals'] as const) expect(s.tableIndex(t)).toBe(6);
    expect(s.allocByID('a1')).toMatchObject({ desiredStatus: 'stop', clientStatus: 'running', createIndex: 4, modifyIndex: 6, allocModifyIndex: 6 });
    expect(Object.keys(s.allocByID('a1')!.taskStates)).toEqual(['main']);
    expect(s.allocByID('a2')).toMatchObject({ desiredStatus: 'evict' });
    expect(s.allocByID('a3')!.job).toBe(job);
    expect(s.evalByID('e1')!.modifyIndex).toBe(6);
    expect(s.evalByID('e-pre')!.createIndex).toBe(6);
    const d = s.deploymentByID('d1')!;
    expect(d.taskGroups.web).toMatchObject({ placedAllocs: 1, requireProgressBy: 100 + 600_000 });
    expect(s.latestDeploymentByJob('default', 'web')?.id).toBe('d1');
    // Indexes: the stopped alloc is still on its node and job until GC.
    expect(s.allocsByNode('n1').map((a) => a.id).sort()).toEqual(['a1', 'a3']);
    expect(s.allocsByJob('default', 'web')).toHaveLength(3);
  });

  it('a lost mark from the scheduler overrides the client status', () => {
    const { fsm, job } = setup();
    place(fsm, 4, [mockAlloc('a1', job, 'n1', 'e1', { clientStatus: 'running' })]);
    const a1 = fsm.store.snapshot().allocByID('a1')!;
    fsm.apply(5, { type: 'ApplyPlanResults', allocsUpdated: [], allocsPreempted: [], allocsStopped: [{ ...a1, desiredStatus: 'stop', clientStatus: 'lost' }] });
    expect(fsm.store.snapshot().allocByID('a1')!.clientStatus).toBe('lost');
  });

  it('refuses stopping an alloc that does not exist, an alloc without a job, and an unknown deployment update', () => {
    const { fsm, job } = setup();
    expectNoChange(fsm, 4, { type: 'ApplyPlanResults', allocsUpdated: [mockAlloc('ok', job, 'n1', 'e1')], allocsStopped: [mockAlloc('ghost', job, 'n1', 'e1')], allocsPreempted: [] }, 'not_found');
    expectNoChange(fsm, 4, { type: 'ApplyPlanResults', allocsUpdated: [{ ...mockAlloc('a', job, 'n1', 'e1'), job: null }], allocsStopped: [], allocsPreempted: [] }, 'invalid_argument');
    expectNoChange(fsm, 4, { type: 'ApplyPlanResults', allocsUpdated: [], allocsStopped: [], allocsPreempted: [], deploymentUpdates: [{ deploymentId: 'nope', status: 'failed', statusDescription: '' }] }, 'not_found');
    expectNoChange(fsm, 4, { type: 'ApplyPlanResults', allocsUpdated: [{ ...mockAlloc('a', job, '', 'e1') }], allocsStopped: [], allocsPreempted: [] }, 'invalid_argument');
  });
});

describe('client updates, transitions, deployments', () => {
  it('client updates skip unknown allocs, keep canary, count health on the deployment', () => {
    const { fsm, job } = setup();
    fsm.apply(4, { type: 'UpsertDeployment', deployment: mockDeployment('d1', job) });
    place(fsm, 5, [mockAlloc('a1', job, 'n1', 'e1', { deploymentId: 'd1', deploymentStatus: { healthy: null, canary: true, timestamp: 0, modifyIndex: 0 } })]);
    expect(fsm.store.snapshot().deploymentByID('d1')!.taskGroups.web).toMatchObject({ placedAllocs: 1, placedCanaries: ['a1'] });
    fsm.apply(6, {
      type: 'UpdateAllocsFromClient',
      allocs: [
        { id: 'a1', clientStatus: 'running', clientDescription: '', taskStates: {}, modifyTime: 7, deploymentStatus: { healthy: true, canary: false, timestamp: 50, modifyIndex: 0 } },
        { id: 'gone', clientStatus: 'running', clientDescription: '', taskStates: {}, modifyTime: 7 },
      ],
      evals: [mockEval('e2', 'web', { triggeredBy: 'alloc-failure' })],
    });
    const s = fsm.store.snapshot();
    expect(s.allocByID('gone')).toBeUndefined();
    expect(s.allocByID('a1')).toMatchObject({ clientStatus: 'running', modifyIndex: 6, allocModifyIndex: 5, deploymentStatus: { healthy: true, canary: true, modifyIndex: 6 } });
    expect(s.deploymentByID('d1')!.taskGroups.web).toMatchObject({ healthyAllocs: 1, unhealthyAllocs: 0, placedAllocs: 1 });
    expect(s.evalByID('e2')).toBeDefined();
    // Reporting the same health again does not count twice.
    fsm.apply(7, { type: 'UpdateAllocsFromClient', allocs: [{ id: 'a1', clientStatus: 'running', clientDescription: '', taskStates: {}, modifyTime: 8, deploymentStatus: { healthy: true, canary: true, timestamp: 60, modifyIndex: 0 } }] });
    expect(fsm.store.snapshot().deploymentByID('d1')!.taskGroups.web!.healthyAllocs).toBe(1);
  });

  it('desired transitions merge and skip unknown allocs', () => {
    const { fsm, job } = setup();
    place(fsm, 4, [mockAlloc('a1', job, 'n1', 'e1')]);
    fsm.apply(5, { type: 'UpdateAllocDesiredTransition', transitions: [{ allocId: 'a1', transition: { migrate: true } }, { allocId: 'zz', transition: { migrate: true } }], evals: [mockEval('e-drain', 'web', { triggeredBy: 'node-drain' })] });
    fsm.apply(6, { type: 'UpdateAllocDesiredTransition', transitions: [{ allocId: 'a1', transition: { reschedule: true } }] });
    expect(fsm.store.snapshot().allocByID('a1')).toMatchObject({ desiredTransition: { migrate: true, reschedule: true, forceReschedule: false }, modifyIndex: 6, allocModifyIndex: 4 });
    expectNoChange(fsm, 7, { type: 'UpdateAllocDesiredTransition', transitions: [{ allocId: 'a1', transition: { migrate: 'yes' } }] }, 'invalid_argument');
  });

  it('deployment status update with job and eval; unknown deployment refused', () => {
    const { fsm, job } = setup();
    fsm.apply(4, { type: 'UpsertDeployment', deployment: mockDeployment('d1', job) });
    expectNoChange(fsm, 5, { type: 'UpdateDeploymentStatus', update: { deploymentId: 'x', status: 'failed', statusDescription: '' }, updatedAt: 1 }, 'not_found');
    fsm.apply(5, { type: 'UpdateDeploymentStatus', update: { deploymentId: 'd1', status: 'failed', statusDescription: 'failed' }, job: mockJob('web', { priority: 10 }), eval: mockEval('e9', 'web'), updatedAt: 77 });
    const s = fsm.store.snapshot();
    expect(s.deploymentByID('d1')).toMatchObject({ status: 'failed', modifyTime: 77, createIndex: 4, modifyIndex: 5 });
    expect(s.jobByID('default', 'web')).toMatchObject({ priority: 10, version: 1 });
    expect(s.evalByID('e9')).toBeDefined();
  });

  it('GC deletes evals and allocs and skips unknown ids', () => {
    const { fsm, job } = setup();
    place(fsm, 4, [mockAlloc('a1', job, 'n1', 'e1'), mockAlloc('a2', job, 'n1', 'e1')]);
    fsm.apply(5, { type: 'DeleteEvalsAllocs', evalIds: ['e1', 'nope'], allocIds: ['a1', 'nope'] });
    const s = fsm.store.snapshot();
    expect(s.evalByID('e1')).toBeUndefined();
    expect(s.allocsByNode('n1').map((a) => a.id)).toEqual(['a2']);
    expect(s.allocsByEval('e1').map((a) => a.id)).toEqual(['a2']);
    expect(s.evalsByJob('default', 'web')).toEqual([]);
  });
});

describe('scheduler config', () => {
  it('check-and-set applies only on a matching modifyIndex', () => {
    const { fsm } = setup();
    const spread = { ...defaultSchedulerConfiguration(), schedulerAlgorithm: 'spread' as const };
    expect(fsm.apply(4, { type: 'SetSchedulerConfig', config: spread, cas: 0 })).toEqual({ index: 4, applied: true });
    expect(fsm.store.snapshot().schedulerConfig()).toMatchObject({ schedulerAlgorithm: 'spread', createIndex: 4, modifyIndex: 4 });
    expect(fsm.apply(5, { type: 'SetSchedulerConfig', config: defaultSchedulerConfiguration(), cas: 0 })).toEqual({ index: 5, applied: false });
    const s = fsm.store.snapshot();
    expect(s.schedulerConfig().schedulerAlgorithm).toBe('spread');
    expect(s.tableIndex('scheduler_config')).toBe(4);
    expect(s.index).toBe(5);
    expect(fsm.apply(6, { type: 'SetSchedulerConfig', config: defaultSchedulerConfiguration(), cas: 4 }).applied).toBe(true);
    expect(fsm.store.snapshot().schedulerConfig()).toMatchObject({ schedulerAlgorithm: 'binpack', createIndex: 4, modifyIndex: 6 });
    expectNoChange(fsm, 7, { type: 'SetSchedulerConfig', config: { ...defaultSchedulerConfiguration(), schedulerAlgorithm: 'random' } }, 'invalid_argument');
  });
});

describe('stored objects', () => {
  it('are frozen copies: the caller keeps its object, readers cannot mutate', () => {
    const fsm = new Fsm();
    const node = mockNode('n1');
    fsm.apply(1, { type: 'UpsertNode', node });
    expect(node.createIndex).toBe(0);
    expect(Object.isFrozen(node)).toBe(false);
    const stored = fsm.store.snapshot().nodeByID('n1')!;
    expect(Object.isFrozen(stored)).toBe(true);
    expect(() => {
      (stored as { status: string }).status = 'down';
    }).toThrow(TypeError);
  });

  it('can skip freezing (benchmarks) without changing what is stored', () => {
    const fast = new Fsm({ freezeObjects: false });
    const safe = new Fsm();
    for (const f of [fast, safe]) {
      f.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
      f.apply(2, { type: 'UpsertJob', job: mockJob('web') });
    }
    expect(Object.isFrozen(fast.store.snapshot().nodeByID('n1'))).toBe(false);
    expect(fast.snapshot()).toEqual(safe.snapshot());
  });

  it('the full dump is stable across unrelated reads', () => {
    const { fsm } = setup();
    expect(dumpState(fsm.store.snapshot())).toEqual(dumpState(fsm.store.snapshot()));
  });
});
