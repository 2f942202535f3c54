/**
 * The handlers without a transport: a SimCluster on a VirtualClock, calls straight into ApiService.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { NomadError, SeededRng, VirtualClock } from '../core/lib/index.js';
import type { Job } from '../core/structs/index.js';
import { allocTerminalStatus } from '../core/structs/index.js';
import { parseJobFile } from '../jobspec/index.js';
import { SimCluster } from '../sim/index.js';
import { ApiService } from './index.js';

const jobFile = fileURLToPath(new URL('../../jobs/hello-web.nomad.hcl', import.meta.url));

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function setup(nodes = 5): Promise<{ c: SimCluster; api: ApiService; clock: VirtualClock; job: Job }> {
  const clock = new VirtualClock();
  const rng = new SeededRng(3);
  const c = await SimCluster.start({ clock, rng: rng.fork(), workers: 2, freezeObjects: true, nodes: { count: nodes } });
  cluster = c;
  const api = new ApiService({ server: c.server, clock, rng: rng.fork(), region: 'global' });
  return { c, api, clock, job: await parseJobFile(jobFile) };
}

async function failure(p: Promise<unknown>): Promise<NomadError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof NomadError) return err;
    throw err;
  }
  throw new Error('expected a NomadError');
}

function withCount(job: Job, count: number): Job {
  return { ...job, taskGroups: job.taskGroups.map((g) => ({ ...g, count })) };
}

describe('planJob (dry run)', () => {
  it('reports placements for a new job and a scale-up, ignores what is kept, and writes nothing', async () => {
    const { c, api, job } = await setup();
    const first = await api.planJob(job);
    expect(first.annotations).toEqual({ web: expect.objectContaining({ place: 2, ignore: 0, stop: 0 }) });
    expect(Object.values(first.placements).reduce((a, b) => a + b, 0)).toBe(2);
    expect(first.jobModifyIndex).toBe(0);

    const reg = await api.registerJob(job);
    await c.settle();
    const before = c.server.state();
    const up = await api.planJob(withCount(job, 3));
    // A count change is a new job version: the kept allocations are updated in place (as Nomad reports).
    expect(up.annotations.web).toMatchObject({ place: 1, inPlaceUpdate: 2, ignore: 0, stop: 0 });
    expect(up.jobModifyIndex).toBe(reg.jobModifyIndex);
    const down = await api.planJob(withCount(job, 1));
    expect(down.annotations.web).toMatchObject({ place: 0, inPlaceUpdate: 1, stop: 1 });
    expect(c.server.state()).toBe(before);
    expect(c.server.state().jobByID('default', 'hello-web')!.taskGroups[0]!.count).toBe(2);
  });

  it('reports a destructive update when the task changes', async () => {
    const { c, api, job } = await setup();
    await api.registerJob(job);
    await c.settle();
    const changed: Job = { ...job, taskGroups: job.taskGroups.map((g) => ({ ...g, tasks: g.tasks.map((t) => ({ ...t, env: { ...t.env, COLOUR: 'blue' } })) })) };
    const plan = await api.planJob(changed);
    const u = plan.annotations.web!;
    // update.max_parallel = 1: one replaced now, the other left for the rolling update.
    expect(u.destructiveUpdate).toBe(1);
    expect(u.place).toBe(0);
    expect(u.destructiveUpdate + u.ignore).toBe(2);
  });

  it('reports why placements would fail', async () => {
    const { api, job } = await setup();
    const impossible: Job = { ...job, constraints: [{ lTarget: '${attr.kernel.name}', rTarget: 'windows', operand: '=' }] };
    const plan = await api.planJob(impossible);
    expect(Object.keys(plan.failedTgAllocs)).toEqual(['web']);
    expect(plan.failedTgAllocs.web!.coalescedFailures).toBe(1);
    expect(plan.annotations.web!.place).toBe(2);
    expect(plan.placements).toEqual({});
  });

  it('refuses an invalid job with a validation error naming the field', async () => {
    const { c, api, job } = await setup();
    const before = c.server.state().index;
    const err = await failure(api.planJob(withCount(job, -1)));
    expect(err.code).toBe('validation');
    expect(err.message).toBe('<job>: group "web": count must be >= 0, got -1');
    const err2 = await failure(api.registerJob(withCount(job, -1)));
    expect(err2.message).toBe(err.message);
    expect(c.server.state().index).toBe(before);
  });
});

describe('reads and writes', () => {
  it('a blocking query waits for a change to its table and times out on the injected clock', async () => {
    const { c, api, clock, job } = await setup();
    const nodes = await api.listNodes();
    const allocs = await api.listAllocs();
    expect(allocs.value).toEqual([]);
    let done = false;
    const waiting = api.listAllocs({}, { index: allocs.index, waitMs: 60_000 }).then((r) => {
      done = true;
      return r;
    });
    // A change to another table does not wake an alloc query.
    await api.updateEligibility(nodes.value[0]!.id, 'ineligible');
    await Promise.resolve();
    expect(done).toBe(false);
    await api.registerJob(job);
    await c.settle();
    const r = await waiting;
    expect(r.value.length).toBeGreaterThan(0);
    expect(r.index).toBeGreaterThan(allocs.index);

    // Nothing changes: the wait ends when the virtual clock passes it, with the same index.
    const quiet = api.listAllocs({}, { index: r.index, waitMs: 5_000 });
    clock.advance(5_000);
    expect((await quiet).index).toBe(r.index);
  });

  it('stops an allocation by marking it for migration and evaluating its job, which replaces it', async () => {
    const { c, api, job } = await setup();
    await api.registerJob(job);
    await c.settle();
    const [victim] = (await api.listAllocs({ jobId: 'hello-web' })).value;
    const stop = await api.stopAlloc(victim!.id);
    await c.settle();
    const ev = await api.getEval(stop.evalId);
    expect(ev.value.triggeredBy).toBe('alloc-stop');
    const after = (await api.listAllocs({ jobId: 'hello-web' })).value;
    expect(after.find((a) => a.id === victim!.id)!.desiredStatus).toBe('stop');
    expect(after.filter((a) => !allocTerminalStatus(a) && a.desiredStatus === 'run')).toHaveLength(2);
    expect((await failure(api.stopAlloc('nope'))).message).toBe('allocation "nope" not found');
  });

  it('filters allocations and evaluations, and lists across namespaces only with "*"', async () => {
    const { c, api, job } = await setup();
    await api.registerJob(job);
    await api.registerJob({ ...job, id: 'other', name: 'other', namespace: 'prod' });
    await c.settle();
    expect((await api.listJobs()).value.map((j) => j.id)).toEqual(['hello-web']);
    expect((await api.listJobs({ namespace: '*' })).value.map((j) => `${j.namespace}/${j.id}`)).toEqual(['default/hello-web', 'prod/other']);
    expect((await api.listAllocs({ jobId: 'other' })).value).toEqual([]);
    const prodAllocs = (await api.listAllocs({ jobId: 'other' }, { namespace: 'prod' })).value;
    expect(prodAllocs).toHaveLength(2);
    const node = prodAllocs[0]!.nodeId;
    expect((await api.listAllocs({ nodeId: node }, { namespace: '*' })).value.every((a) => a.nodeId === node)).toBe(true);
    expect((await api.listEvals({ jobId: 'hello-web', status: 'complete' })).value).toHaveLength(1);
    expect((await api.listEvals({ status: 'pending' })).value).toEqual([]);
    expect((await api.jobVersions('default', 'hello-web')).value.map((j) => j.version)).toEqual([0]);
  });

  it('refuses bad arguments with the field named', async () => {
    const { api } = await setup();
    expect((await failure(api.getJob('default', ''))).field).toBe('jobId');
    expect((await failure(api.listAllocs({}, { index: -1 }))).field).toBe('index');
    const node = (await api.listNodes()).value[0]!;
    const bad = await failure(api.updateEligibility(node.id, 'maybe' as 'eligible'));
    expect(bad.message).toBe('eligibility must be "eligible" or "ineligible", got "maybe"');
    expect((await failure(api.getEval('e1'))).code).toBe('not_found');
    expect((await failure(api.jobVersions('default', 'x'))).code).toBe('not_found');
    expect((await failure(api.registerJob({ ...(await parseJobFile(jobFile)), id: 'y', name: 'y' }, { enforceIndex: true, jobModifyIndex: 3 }))).code).toBe('conflict');
  });

  it('makes a node eligible again and evaluates its system jobs; scheduler config check-and-set', async () => {
    const { api } = await setup();
    const node = (await api.listNodes()).value[0]!;
    await api.updateEligibility(node.id, 'ineligible');
    const back = await api.updateEligibility(node.id, 'eligible');
    expect((await api.getNode(node.id)).value.schedulingEligibility).toBe('eligible');
    expect(back.evalIds).toEqual([]); // no system jobs, no allocations on it
    const cfg = (await api.getSchedulerConfig()).value;
    expect((await api.setSchedulerConfig({ ...cfg, memoryOversubscriptionEnabled: true }, true)).updated).toBe(true);
    expect((await api.setSchedulerConfig({ ...cfg, memoryOversubscriptionEnabled: false }, true)).updated).toBe(false);
    expect((await api.getSchedulerConfig()).value.memoryOversubscriptionEnabled).toBe(true);
  });
});

describe('read consistency', () => {
  it('takes a read point before every read unless the caller allows stale reads; a refused point answers nothing', async () => {
    const clock = new VirtualClock();
    const rng = new SeededRng(5);
    const c = await SimCluster.start({ clock, rng: rng.fork(), workers: 2, freezeObjects: true, nodes: { count: 2 } });
    cluster = c;
    let points = 0;
    let refuse = false;
    const api = new ApiService({
      server: c.server, clock, rng: rng.fork(), region: 'global',
      consistency: {
        readPoint: async () => {
          points++;
          if (refuse) throw new NomadError('unavailable', 'no quorum; pass -stale');
          return c.server.state().index;
        },
        knownLeader: () => !refuse,
        lastContactMs: () => (refuse ? 7_000 : 40),
      },
    });
    await api.listNodes();
    await api.listJobs();
    expect(points).toBe(2);
    await api.listNodes({ stale: true });
    expect(points).toBe(2);
    expect(api.knownLeader()).toBe(true);
    expect(api.lastContactMs()).toBe(40);

    refuse = true;
    const err = await failure(api.listNodes());
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/pass -stale/);
    expect((await api.listNodes({ stale: true })).value).toHaveLength(2);
    expect(api.knownLeader()).toBe(false);
    expect(api.lastContactMs()).toBe(7_000);
  });
});
