import { describe, expect, it } from 'vitest';
import { NomadError, SeededRng, uuid } from '../lib/index.js';
import { defaultSchedulerConfiguration } from '../structs/index.js';
import type { Allocation } from '../structs/index.js';
import type { FsmCommand } from './commands.js';
import { dumpState, mockAlloc, mockDeployment, mockEval, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';

/** A few hundred commands of every kind, from a seed. Returns [index, command] pairs. */
function script(seed: number): [number, FsmCommand][] {
  const rng = new SeededRng(seed);
  const out: [number, FsmCommand][] = [];
  let index = 0;
  const push = (cmd: FsmCommand): void => {
    index += 1 + rng.int(3);
    out.push([index, cmd]);
  };
  const nodes = Array.from({ length: 12 }, (_, i) => `node-${i}`);
  for (const id of nodes) push({ type: 'UpsertNode', node: mockNode(id, { meta: { rack: `r${rng.int(3)}` } }) });
  const jobs = ['web', 'api', 'batch', 'cache'];
  const live: Allocation[] = [];
  for (const jobId of jobs) {
    const job = mockJob(jobId, { type: jobId === 'batch' ? 'batch' : 'service' });
    const evalId = uuid(rng);
    push({ type: 'UpsertJob', job, eval: mockEval(evalId, jobId) });
    push({ type: 'UpsertDeployment', deployment: mockDeployment(`dep-${jobId}`, job) });
    for (let round = 0; round < 5; round++) {
      const placed = Array.from({ length: 4 }, (_, i) =>
        mockAlloc(uuid(rng), job, nodes[rng.int(nodes.length)]!, evalId, { name: `${jobId}.web[${i}]`, deploymentId: `dep-${jobId}`, modifyTime: round }),
      );
      const stop = live.filter((a) => a.jobId === jobId && rng.next() < 0.3).map((a) => ({ ...a, desiredStatus: 'stop' as const }));
      push({ type: 'ApplyPlanResults', allocsUpdated: placed.map((a) => ({ ...a, job: null })), allocsStopped: stop, allocsPreempted: [], job, evalId, evals: [mockEval(evalId, jobId, { status: 'complete' })] });
      live.push(...placed);
      push({
        type: 'UpdateAllocsFromClient',
        allocs: placed.map((a) => ({ id: a.id, clientStatus: 'running' as const, clientDescription: '', taskStates: {}, modifyTime: round + 1, deploymentStatus: { healthy: rng.next() < 0.8, canary: false, timestamp: round, modifyIndex: 0 } })),
      });
    }
  }
  push({ type: 'UpdateNodeDrain', nodeId: 'node-3', drainStrategy: { deadline: 1000, ignoreSystemJobs: false, forceDeadline: 0, startedAt: 1 }, markEligible: false });
  push({ type: 'UpdateAllocDesiredTransition', transitions: live.filter((a) => a.nodeId === 'node-3').map((a) => ({ allocId: a.id, transition: { migrate: true } })) });
  push({ type: 'UpdateNodeStatus', nodeId: 'node-5', status: 'down', updatedAt: 99, evals: [mockEval('node-5-eval', 'web', { triggeredBy: 'node-update' })] });
  push({ type: 'DeregisterNodes', nodeIds: ['node-11'] });
  push({ type: 'UpsertJob', job: mockJob('web', { priority: 80 }) });
  push({ type: 'DeregisterJob', namespace: 'default', jobId: 'cache', purge: false, submitTime: 5 });
  push({ type: 'DeregisterJob', namespace: 'default', jobId: 'api', purge: true, submitTime: 6 });
  push({ type: 'UpdateDeploymentStatus', update: { deploymentId: 'dep-web', status: 'successful', statusDescription: 'ok' }, updatedAt: 7 });
  push({ type: 'UpsertPeriodicLaunch', launch: { namespace: 'default', jobId: 'batch', launch: 12345, createIndex: 0, modifyIndex: 0 } });
  push({ type: 'SetSchedulerConfig', config: { ...defaultSchedulerConfiguration(), schedulerAlgorithm: 'spread' } });
  push({ type: 'DeleteEvalsAllocs', evalIds: [], allocIds: live.slice(0, 5).map((a) => a.id) });
  return out;
}

function run(cmds: [number, FsmCommand][]): Fsm {
  const fsm = new Fsm();
  for (const [i, c] of cmds) fsm.apply(i, c);
  return fsm;
}

describe('snapshot and restore', () => {
  it('restores every table, index and table index exactly', () => {
    const src = run(script(1));
    const bytes = src.snapshot();
    const dst = new Fsm();
    dst.restore(bytes);
    expect(dst.lastApplied()).toBe(src.lastApplied());
    expect(dumpState(dst.store.snapshot())).toEqual(dumpState(src.store.snapshot()));
    expect(src.store.snapshot().allocCount()).toBeGreaterThan(50);
    // And the restored state snapshots to the same bytes.
    expect(dst.snapshot()).toEqual(bytes);
  });

  it('is deterministic: same commands, same bytes, also after a JSON round trip (Raft)', () => {
    const cmds = script(7);
    const a = run(cmds).snapshot();
    const b = run(JSON.parse(JSON.stringify(cmds)) as [number, FsmCommand][]).snapshot();
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(run(script(8)).snapshot()).equals(Buffer.from(a))).toBe(false);
  });

  it('stores each distinct job once and shares it again after restore', () => {
    const src = run(script(3));
    const doc = JSON.parse(new TextDecoder().decode(src.snapshot())) as { allocJobs: unknown[]; allocs: { job: number }[] };
    // Four jobs placed allocations (one of them since purged): four pooled jobs for ~80 allocations.
    expect(doc.allocJobs.length).toBe(4);
    expect(doc.allocs.length).toBeGreaterThan(50);
    expect(doc.allocs.every((a) => typeof a.job === 'number')).toBe(true);
    const dst = new Fsm();
    dst.restore(src.snapshot());
    const allocs = dst.store.snapshot().allocsByJob('default', 'web');
    expect(allocs.length).toBeGreaterThan(1);
    expect(allocs[0]!.job).toBe(allocs[1]!.job);
  });

  it('the restored FSM carries on applying from the restored index', () => {
    const src = run(script(4));
    const dst = new Fsm();
    dst.restore(src.snapshot());
    expect(() => dst.apply(src.lastApplied(), { type: 'UpsertNode', node: mockNode('late') })).toThrow(NomadError);
    dst.apply(src.lastApplied() + 1, { type: 'UpsertNode', node: mockNode('late') });
    expect(dst.store.snapshot().nodeByID('late')!.createIndex).toBe(src.lastApplied() + 1);
  });

  it('refuses corrupt or unknown snapshots and keeps the old state', () => {
    const good = run(script(5)).snapshot();
    const fsm = run(script(6));
    const before = fsm.store.snapshot();
    const text = new TextDecoder().decode(good);
    const bad: [string, Uint8Array][] = [
      ['truncated', good.slice(0, good.length - 10)],
      ['not utf-8', new Uint8Array([0xff, 0xfe, 0x00])],
      ['wrong format', new TextEncoder().encode(text.replace('"nomadts-state"', '"etcd"'))],
      ['newer version', new TextEncoder().encode(text.replace('"version":1', '"version":2'))],
      ['dangling job reference', new TextEncoder().encode(text.replace(/"job":0/, '"job":99'))],
      ['bad row', new TextEncoder().encode(text.replace(/"desiredStatus":"run"/, '"desiredStatus":"fly"'))],
      ['missing table', new TextEncoder().encode(text.replace('"evals":', '"evalz":'))],
    ];
    for (const [what, bytes] of bad) {
      let err: unknown;
      try {
        fsm.restore(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(NomadError);
      expect((err as NomadError).message, what).toMatch(/^snapshot refused/);
      expect(fsm.store.snapshot(), what).toBe(before);
    }
    expect(() => fsm.restore('nope' as unknown as Uint8Array)).toThrow(/snapshot refused/);
  });
});
