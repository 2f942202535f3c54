/**
 * Scheduler workers on every server (issue 5 §4): the routed broker against links that fail, the
 * leader's side of the worker calls over a real Server (broker, plan applier, schedulers, FSM) on a
 * virtual clock, a worker waiting for the index the leader names, and the leader's worker pause.
 */
import { describe, expect, it } from 'vitest';
import { NomadError, SeededRng, VirtualClock } from '../core/lib/index.js';
import type { OpsEvent } from '../core/ops/index.js';
import { newScheduler } from '../core/scheduler/index.js';
import type { Evaluation, Plan, PlanResult, StateReader } from '../core/structs/index.js';
import { mockEval, mockJob, mockNode, mockTaskGroup, withComputedClass } from '../core/testing/index.js';
import { Worker } from '../core/worker/index.js';
import type { RemoteEvalDelivery } from '../raft/transport/index.js';
import { jobWaitIndex, leaderWorkerHandlers, RoutedWorkerBroker } from './remote-broker.js';
import type { SchedulerLink } from './remote-broker.js';
import { pausedOnLeader, SchedulerWorkers } from './scheduler-workers.js';
import { Server } from './server.js';

/** A link that records calls; `dequeue` answers from a script. */
function scriptedLink(leader: string, answers: (RemoteEvalDelivery | null | Error)[]): SchedulerLink & { calls: string[] } {
  const calls: string[] = [];
  return {
    leader,
    calls,
    dequeue: async (_types, _t, workerId) => {
      calls.push(`dequeue by ${workerId}`);
      const a = answers.shift() ?? null;
      if (a instanceof Error) throw a;
      return a;
    },
    ack: async (evalId, token) => void calls.push(`ack ${evalId} ${token}`),
    nack: async (evalId, token) => void calls.push(`nack ${evalId} ${token}`),
    submitPlan: async (plan) => {
      calls.push(`plan ${plan.evalId}`);
      return { nodeUpdate: {}, nodeAllocation: {}, nodePreemptions: {}, deployment: null, deploymentUpdates: [], rejectedNodes: [], refreshIndex: 0, allocIndex: 9 };
    },
    updateEvals: async (evals, d) => {
      calls.push(`evals ${evals.map((e) => e.id).join(',')} for ${d.evalId} ${d.token}`);
      return 11;
    },
  };
}

const delivery = (id: string, token: string, waitIndex = 0): RemoteEvalDelivery => ({ eval: mockEval({ id }), token, waitIndex });
const plan = (evalId: string): Plan => ({ evalId, evalToken: 't', priority: 50, allAtOnce: false, job: null, nodeUpdate: {}, nodeAllocation: {}, nodePreemptions: {}, deployment: null, deploymentUpdates: [], snapshotIndex: 0 });

describe('RoutedWorkerBroker', () => {
  it('dequeues from the current leader; ack, nack and the plan go back to the leader that handed the evaluation out', async () => {
    const clock = new VirtualClock();
    const a = scriptedLink('s1', [delivery('e1', 't1', 7)]);
    const b = scriptedLink('s2', [delivery('e2', 't2')]);
    let current: SchedulerLink = a;
    const broker = new RoutedWorkerBroker({ workerId: 's3/worker-0', route: () => current, clock });
    expect(await broker.dequeue(['service'], 100)).toMatchObject({ token: 't1', waitIndex: 7 });
    current = b; // leadership moved
    expect(await broker.dequeue(['service'], 100)).toMatchObject({ token: 't2' });
    expect((await broker.submitPlan(plan('e1'))).allocIndex).toBe(9);
    expect(await broker.updateEvals([mockEval({ id: 'e1' }), mockEval({ id: 'f1' })], { evalId: 'e1', token: 't1' })).toBe(11);
    await broker.ack('e1', 't1');
    await broker.nack('e2', 't2');
    expect(a.calls).toEqual(['dequeue by s3/worker-0', 'plan e1', 'evals e1,f1 for e1 t1', 'ack e1 t1']);
    expect(b.calls).toEqual(['dequeue by s3/worker-0', 'nack e2 t2']);
    expect(broker.stats()).toEqual({ dequeuedFrom: { s1: 1, s2: 1 }, dequeueErrors: 0 });
  });

  it('never throws from dequeue: a failing leader or none known answers null after a pause, and an abort ends the pause', async () => {
    const clock = new VirtualClock();
    const failing = scriptedLink('s1', [new NomadError('unavailable', 'server s1 is not serving the eval broker (no leader known)')]);
    const errors: string[] = [];
    let current: SchedulerLink | undefined = failing;
    const broker = new RoutedWorkerBroker({ workerId: 'w', route: () => current, clock, retryMs: 200, onError: (err, leader) => errors.push(`${leader}: ${(err as Error).message}`) });
    let settled: unknown = 'waiting';
    const p = broker.dequeue(['service'], 100).then((v) => (settled = v));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe('waiting'); // pausing before the worker asks again
    clock.advance(200);
    await p;
    expect(settled).toBeNull();
    expect(errors).toEqual(['s1: server s1 is not serving the eval broker (no leader known)']);
    expect(broker.stats().dequeueErrors).toBe(1);

    current = undefined;
    const ctl = new AbortController();
    const q = broker.dequeue(['service'], 100, { signal: ctl.signal });
    ctl.abort();
    expect(await q).toBeNull();
    expect(clock.pending()).toBe(0); // the pause timer went with the abort
  });

  it('refuses an ack, nack, plan or evaluation write for an evaluation it does not hold, naming the field', async () => {
    const broker = new RoutedWorkerBroker({ workerId: 'w', route: () => undefined, clock: new VirtualClock() });
    await expect(broker.updateEvals([mockEval({ id: 'nope' })], { evalId: 'nope', token: 't' })).rejects.toMatchObject({ code: 'conflict', field: 'evalId' });
    await expect(broker.ack('nope', 't')).rejects.toMatchObject({ code: 'not_found', field: 'evalId' });
    await expect(broker.nack('nope', 't')).rejects.toMatchObject({ code: 'not_found', field: 'evalId' });
    await expect(broker.submitPlan(plan('nope'))).rejects.toMatchObject({ code: 'conflict', field: 'evalId' });
  });
});

describe('a worker waits for the index its leader names', () => {
  it('schedules on state at max(eval modifyIndex, waitIndex)', async () => {
    const clock = new VirtualClock();
    const asked: number[] = [];
    const ev: Evaluation = mockEval({ id: 'e1', modifyIndex: 5 });
    const link = scriptedLink('s1', [{ eval: ev, token: 't1', waitIndex: 42 }]);
    const broker = new RoutedWorkerBroker({ workerId: 'w', route: () => link, clock });
    const worker = new Worker({
      id: 'w',
      broker,
      waitForIndex: (index) => {
        asked.push(index);
        return Promise.reject(new NomadError('timeout', `state did not reach index ${index}`));
      },
      submitPlan: (p) => broker.submitPlan(p),
      upsertEvals: async () => 0,
      schedulers: newScheduler,
      clock,
      rng: new SeededRng(1),
    });
    const d = await broker.dequeue(['service'], 10);
    await worker.processOne(d!.eval, d!.token, d!.waitIndex);
    expect(asked).toEqual([42]);
    // It could not catch up: the evaluation goes back to the leader that handed it out.
    expect(link.calls).toEqual(['dequeue by w', 'nack e1 t1']);
  });
});

async function leaderWithJob(): Promise<{ server: Server; clock: VirtualClock; events: OpsEvent[]; job: ReturnType<typeof mockJob> }> {
  const clock = new VirtualClock();
  const server = new Server({ clock, rng: new SeededRng(3), workers: 0, statusIntervalMs: 0 });
  server.start();
  const events: OpsEvent[] = [];
  const sub = server.ops.subscribe({ filter: { Broker: '*' } });
  void (async () => {
    for (;;) {
      const p = await sub.next();
      if (p.kind !== 'events') return;
      events.push(...p.events);
    }
  })();
  for (const id of ['n1', 'n2', 'n3']) await server.registerNode(withComputedClass(mockNode({ id, name: id })));
  const job = mockJob({ id: 'web', datacenters: ['dc1'], taskGroups: [mockTaskGroup({ count: 3 })] });
  await server.registerJob(job);
  return { server, clock, events, job };
}

describe('the leader side of the worker calls', () => {
  it('a server not holding the leader duties refuses every call and hands nothing out', async () => {
    const { server } = await leaderWithJob();
    const h = leaderWorkerHandlers({ server, clock: new VirtualClock(), leaderOnly: () => { throw new NomadError('unavailable', 'server s2 is not serving the eval broker (the leader is s1 at 127.0.0.1:1)'); } });
    await expect(h.evalDequeue({ schedulerTypes: ['service'], timeoutMs: 10, workerId: 's2/worker-0' }, new AbortController().signal)).rejects.toThrow(/the leader is s1/);
    await expect(h.planSubmit(plan('x'))).rejects.toMatchObject({ code: 'unavailable' });
    await expect(h.evalAck('x', 't')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(h.evalUpdate([mockEval({ id: 'x' })], { evalId: 'x', token: 't' })).rejects.toMatchObject({ code: 'unavailable' });
    expect(server.broker.stats().total.ready).toBe(1);
  });

  it('a remote worker that dies mid-evaluation: its plan stands, the nack timer redelivers the eval under a new token with a wait index covering the plan, and the dead token is refused', async () => {
    const { server, clock, events, job } = await leaderWithJob();
    const h = leaderWorkerHandlers({ server, clock, leaderOnly: () => undefined });
    const signal = new AbortController().signal;
    await expect(h.evalDequeue({ schedulerTypes: [], timeoutMs: 10, workerId: 'w' }, signal)).rejects.toMatchObject({ code: 'invalid_argument' });

    const first = (await h.evalDequeue({ schedulerTypes: ['service'], timeoutMs: 10, workerId: 's2/worker-1' }, signal))!;
    expect(first.eval.jobId).toBe('web');
    expect(first.waitIndex).toBe(first.eval.modifyIndex);
    expect(events.filter((e) => e.type === 'EvalDequeued').map((e) => e.payload.worker)).toEqual(['s2/worker-1']);

    // The follower's worker schedules on its own (here: the same) state and submits the plan, then dies.
    const state: StateReader = server.state();
    const scheduler = newScheduler('service', {
      state,
      rng: new SeededRng(9),
      now: clock.now(),
      planner: {
        submitPlan: async (p) => {
          p.evalToken = first.token;
          const result: PlanResult = await h.planSubmit(p);
          return { result, refreshedState: null };
        },
        updateEval: async () => undefined, // never written: the worker died first
        createEval: async () => undefined,
        reblockEval: async () => undefined,
      },
    });
    await scheduler.process(first.eval);
    const placed = server.state().allocsByJob('default', 'web');
    expect(placed).toHaveLength(3);
    expect(server.state().evalByID(first.eval.id)?.status).toBe('pending');

    // No ack, no nack: the broker's nack timer (60 s) takes it back, then the nack delay (1 s) passes.
    expect(server.broker.outstanding(first.eval.id)).toBe(first.token);
    clock.advance(60_000);
    expect(server.broker.outstanding(first.eval.id)).toBeUndefined();
    clock.advance(1_000);
    const second = (await h.evalDequeue({ schedulerTypes: ['service'], timeoutMs: 10, workerId: 's3/worker-0' }, signal))!;
    expect(second.eval.id).toBe(first.eval.id);
    expect(second.token).not.toBe(first.token);
    // The redelivery's worker must first see the plan that was committed for it.
    expect(second.waitIndex).toBe(Math.max(...placed.map((a) => a.modifyIndex)));
    expect(second.waitIndex).toBeGreaterThan(first.eval.modifyIndex);
    expect(jobWaitIndex(server.state(), second.eval)).toBe(second.waitIndex);

    await expect(h.evalAck(first.eval.id, first.token)).rejects.toMatchObject({ code: 'conflict', field: 'token' });
    // The dead worker's status write (had it come late) is refused and changes nothing.
    const before = server.state().index;
    await expect(h.evalUpdate([{ ...first.eval, status: 'complete' }], { evalId: first.eval.id, token: first.token })).rejects.toMatchObject({ code: 'conflict', field: 'token' });
    expect(server.state().index).toBe(before);
    expect(server.state().evalByID(first.eval.id)?.status).toBe('pending');
    await expect(h.planSubmit({ ...plan(first.eval.id), job, evalToken: first.token })).rejects.toMatchObject({ code: 'conflict' });
    await h.evalAck(second.eval.id, second.token);
    expect(server.broker.stats().total).toMatchObject({ ready: 0, unacked: 0 });
    await Promise.resolve();
    expect(events.filter((e) => e.type === 'EvalAcked').map((e) => e.payload.worker)).toEqual(['s3/worker-0']);
  });
});

describe('the nack timer and a remote plan', () => {
  it('a plan from the worker holding the eval restarts its nack timer; the timer still takes the eval back once the worker goes quiet', async () => {
    const { server, clock, job } = await leaderWithJob();
    const h = leaderWorkerHandlers({ server, clock, leaderOnly: () => undefined });
    const d = (await h.evalDequeue({ schedulerTypes: ['service'], timeoutMs: 10, workerId: 's2/worker-0' }, new AbortController().signal))!;
    clock.advance(50_000);
    // An empty plan (nothing to place) is a no-op for the applier but proves the worker alive.
    await h.planSubmit({ ...plan(d.eval.id), job, evalToken: d.token, nodeAllocation: {} });
    clock.advance(20_000); // 70 s after the dequeue, 20 s after the plan
    expect(server.broker.outstanding(d.eval.id)).toBe(d.token);
    clock.advance(40_000); // 60 s after the plan
    expect(server.broker.outstanding(d.eval.id)).toBeUndefined();
    // A plan under a token that is no longer outstanding resets nothing and is refused.
    await expect(h.planSubmit({ ...plan(d.eval.id), job, evalToken: d.token })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('an evaluation write under the outstanding token is committed and restarts the nack timer; one under another token is refused and writes nothing', async () => {
    const { server, clock } = await leaderWithJob();
    const h = leaderWorkerHandlers({ server, clock, leaderOnly: () => undefined });
    const d = (await h.evalDequeue({ schedulerTypes: ['service'], timeoutMs: 10, workerId: 's2/worker-0' }, new AbortController().signal))!;
    const before = server.state().index;
    await expect(h.evalUpdate([{ ...d.eval, status: 'complete' }], { evalId: d.eval.id, token: 'not-the-token' })).rejects.toMatchObject({ code: 'conflict', field: 'token' });
    await expect(h.evalUpdate([{ ...d.eval, status: 'complete' }], { evalId: 'unknown', token: d.token })).rejects.toMatchObject({ code: 'not_found' });
    expect(server.state().index).toBe(before);
    clock.advance(50_000);
    const index = await h.evalUpdate([{ ...d.eval, status: 'complete', statusDescription: 'done' }], { evalId: d.eval.id, token: d.token });
    expect(index).toBeGreaterThan(before);
    expect(server.state().evalByID(d.eval.id)).toMatchObject({ status: 'complete', statusDescription: 'done' });
    clock.advance(20_000); // 70 s after the dequeue, 20 s after the write: still held
    expect(server.broker.outstanding(d.eval.id)).toBe(d.token);
    await h.evalAck(d.eval.id, d.token);
  });
});

describe('SchedulerWorkers', () => {
  it('pauses 3/4 of the workers (rounded down, never the last) on a leader with followers, as Nomad does', () => {
    expect([1, 2, 3, 4, 8].map(pausedOnLeader)).toEqual([0, 1, 2, 3, 6]);
  });

  it('runs every worker on a follower and on a lone leader; resumes the paused ones when leadership ends', async () => {
    let others = true;
    const pool = new SchedulerWorkers({
      serverId: 's1',
      count: 4,
      clock: new VirtualClock(),
      rng: new SeededRng(1),
      route: () => undefined,
      waitForIndex: () => Promise.reject(new Error('unused')),
      othersWork: () => others,
      retryMs: 10,
    });
    await pool.start();
    expect(pool.running()).toBe(4);
    expect(pool.stats().map((w) => w.id)).toEqual(['s1/worker-0', 's1/worker-1', 's1/worker-2', 's1/worker-3']);
    await pool.setLeading(true);
    expect(pool.running()).toBe(1);
    await pool.setLeading(false);
    expect(pool.running()).toBe(4);
    others = false;
    await pool.setLeading(true);
    expect(pool.running()).toBe(4);
    await pool.stop();
    expect(pool.running()).toBe(0);
  });
});
