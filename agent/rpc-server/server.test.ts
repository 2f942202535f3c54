/**
 * The public API end to end: a real Server with simulated nodes behind the gRPC adapter on a
 * real 127.0.0.1 socket with mutual TLS, called through the typed client.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { fileURLToPath } from 'node:url';
import { NomadError, SeededRng } from '../core/lib/index.js';
import type { Job } from '../core/structs/index.js';
import { parseJobFile } from '../jobspec/index.js';
import { SystemClock } from '../runtime/index.js';
import { Server } from '../server/index.js';
import { simulatedNodes } from '../sim/index.js';
import type { CertificateBundle } from '../tls/index.js';
import { createCA, createCert } from '../tls/index.js';
import * as pb from '../../proto/index.js';
import { RpcApiClient, jobToProto } from '../rpc/index.js';
import type { RpcServerHandle } from './index.js';
import { startRpcServer } from './index.js';

const jobFile = fileURLToPath(new URL('../../jobs/hello-web.nomad.hcl', import.meta.url));

let ca: CertificateBundle;
let certs: Record<'server' | 'client' | 'cli' | 'foreign' | 'otherRegion', CertificateBundle>;
let server: Server;
let rpc: RpcServerHandle;
let helloWeb: Job;
const clients: RpcApiClient[] = [];

function connect(as: CertificateBundle): RpcApiClient {
  const c = new RpcApiClient({ address: `127.0.0.1:${rpc.port}`, caPem: ca.certPem, certPem: as.certPem, keyPem: as.keyPem, timeoutMs: 10_000 });
  clients.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<NomadError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(NomadError);
    return err as NomadError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  ca = await createCA();
  const other = await createCA();
  certs = {
    server: await createCert({ ca, role: 'server' }),
    client: await createCert({ ca, role: 'client' }),
    cli: await createCert({ ca, role: 'cli' }),
    foreign: await createCert({ ca: other, role: 'cli' }),
    otherRegion: await createCert({ ca, role: 'cli', region: 'europe' }),
  };
  const clock = new SystemClock();
  const rng = new SeededRng(7);
  server = new Server({ clock, rng: rng.fork(), freezeObjects: true });
  server.start();
  for (const n of simulatedNodes({ count: 6, rng: rng.fork() })) await server.registerNode(n);
  rpc = await startRpcServer({ server, tls: { caPem: ca.certPem, ...certs.server }, region: 'global', clock, rng: rng.fork() });
  helloWeb = await parseJobFile(jobFile);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await rpc.close();
  await server.stop();
});

describe('JobService over mutual TLS', () => {
  it('plans hello-web without changing state, then registers it and its allocations are placed', async () => {
    const cli = connect(certs.cli);
    const before = server.state();

    const plan = await cli.planJob(helloWeb);
    expect(plan.annotations.web).toMatchObject({ place: 2, stop: 0, ignore: 0 });
    expect(plan.failedTgAllocs).toEqual({});
    expect(plan.placements).toEqual({ web: 2 });
    expect(server.state()).toBe(before); // the dry run wrote nothing
    await expect(cli.getJob('default', 'hello-web')).rejects.toThrow('job "hello-web" not found in namespace "default"');

    const reg = await cli.registerJob(helloWeb);
    expect(reg.evalId).not.toBe('');
    expect(reg.index).toBeGreaterThan(before.index);

    let r = await cli.listAllocs({ jobId: 'hello-web' });
    while (r.value.filter((a) => a.clientStatus === 'pending' && a.desiredStatus === 'run').length < 2) {
      r = await cli.listAllocs({ jobId: 'hello-web' }, { index: r.index, waitMs: 10_000 });
    }
    expect(r.value).toHaveLength(2);
    expect(new Set(r.value.map((a) => a.name))).toEqual(new Set(['hello-web.web[0]', 'hello-web.web[1]']));
    for (const a of r.value) expect(server.state().nodeByID(a.nodeId)).toBeDefined();

    const job = await cli.getJob('default', 'hello-web');
    expect(job.value.taskGroups[0]!.count).toBe(2);
    expect(job.value.jobModifyIndex).toBe(reg.jobModifyIndex);

    // Planning the same job again: nothing to place, both allocations kept.
    const again = await cli.planJob(helloWeb);
    expect(again.annotations.web).toMatchObject({ place: 0, ignore: 2 });
    expect(again.jobModifyIndex).toBe(reg.jobModifyIndex);

    const evalsOfJob = await cli.listEvals({ jobId: 'hello-web' });
    expect(evalsOfJob.value.map((e) => e.id)).toContain(reg.evalId);
    const ev = await cli.getEval(reg.evalId);
    expect(ev.value.jobId).toBe('hello-web');
  });

  it('answers a missing job with NOT_FOUND and the message', async () => {
    const err = await rejection(connect(certs.cli).getJob('default', 'no-such-job'));
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('job "no-such-job" not found in namespace "default"');
  });

  it('refuses a job with count -1 with INVALID_ARGUMENT naming the field, and writes nothing', async () => {
    const raw = jobToProto({ ...helloWeb, id: 'bad-count', name: 'bad-count' });
    raw.taskGroups[0]!.count = -1;
    const before = server.state().index;
    const grpcClient = new pb.JobServiceClient(`127.0.0.1:${rpc.port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(certs.cli.keyPem), Buffer.from(certs.cli.certPem)), {
      'grpc.ssl_target_name_override': 'server.global.nomadts',
    });
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      grpcClient.register(
        { write: undefined, job: raw, enforceIndex: false, jobModifyIndex: 0, preserveCounts: false, evalPriority: 0 },
        (e) => (e === null ? reject(new Error('registered a job with count -1')) : resolve(e)),
      );
    });
    grpcClient.close();
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('<job>: group "web": count must be >= 0, got -1');
    expect(err.metadata.get('nomadts-error-code')).toEqual(['validation']);
    expect(server.state().index).toBe(before);
    expect(server.state().jobByID('default', 'bad-count')).toBeUndefined();
  });

  it('refuses a register with a stale job modify index (check-and-set) as a conflict', async () => {
    const cli = connect(certs.cli);
    const err = await rejection(cli.registerJob({ ...helloWeb, id: 'cas-job', name: 'cas-job' }, { enforceIndex: true, jobModifyIndex: 12345 }));
    expect(err.code).toBe('conflict');
    expect(err.message).toBe('enforcing job modify index 12345: the job does not exist');
  });
});

describe('who may call', () => {
  it('lets a client-role certificate read but not register a job', async () => {
    const client = connect(certs.client);
    const nodes = await client.listNodes();
    expect(nodes.value).toHaveLength(6);
    const err = await rejection(client.registerJob({ ...helloWeb, id: 'from-client', name: 'from-client' }));
    expect(err.code).toBe('permission_denied');
    expect(err.message).toBe('certificate role client may not call this endpoint; allowed: cli, server');
    expect(server.state().jobByID('default', 'from-client')).toBeUndefined();
  });

  it('refuses a certificate for another region', async () => {
    const err = await rejection(connect(certs.otherRegion).listJobs());
    expect(err.code).toBe('permission_denied');
    expect(err.message).toBe('certificate is for region europe, this agent serves region global');
  });

  it('does not let a certificate from another CA connect at all', async () => {
    const err = await rejection(connect(certs.foreign).listJobs());
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/^cannot reach the server at 127\.0\.0\.1:\d+/);
  });
});

describe('blocking queries and the rest of the API', () => {
  it('a blocking listAllocs returns when an allocation changes', async () => {
    const cli = connect(certs.cli);
    const first = await cli.listAllocs({ jobId: 'hello-web' });
    expect(first.value.length).toBeGreaterThan(0);
    const waiting = cli.listAllocs({ jobId: 'hello-web' }, { index: first.index, waitMs: 60_000 });
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false); // nothing changed yet: still waiting
    const victim = first.value[0]!;
    const stop = await cli.stopAlloc(victim.id);
    const after = await waiting;
    expect(after.index).toBeGreaterThan(first.index);
    expect(after.index).toBeGreaterThanOrEqual(stop.index);
    expect(after.value.find((a) => a.id === victim.id)?.desiredTransition.migrate).toBe(true);
  });

  it('a blocking query that sees no change answers at the end of its wait with the same index', async () => {
    const cli = connect(certs.cli);
    const cfg = await cli.getSchedulerConfig();
    const again = await cli.getSchedulerConfig({ index: cfg.index, waitMs: 100 });
    expect(again.index).toBe(cfg.index);
  });

  it('sets the scheduler configuration with check-and-set', async () => {
    const cli = connect(certs.cli);
    const cfg = (await cli.getSchedulerConfig()).value;
    const won = await cli.setSchedulerConfig({ ...cfg, schedulerAlgorithm: 'spread' }, true);
    expect(won.updated).toBe(true);
    const lost = await cli.setSchedulerConfig({ ...cfg, schedulerAlgorithm: 'binpack' }, true);
    expect(lost.updated).toBe(false);
    expect((await cli.getSchedulerConfig()).value.schedulerAlgorithm).toBe('spread');
  });

  it('reads nodes, allocations and the agent', async () => {
    const cli = connect(certs.cli);
    const nodes = (await cli.listNodes()).value;
    const node = await cli.getNode(nodes[0]!.id);
    expect(node.value.name).toBe(nodes[0]!.name);
    await expect(cli.getNode('no-such-node')).rejects.toThrow('node "no-such-node" not found');
    const upd = await cli.updateEligibility(nodes[0]!.id, 'ineligible');
    expect((await cli.getNode(nodes[0]!.id)).value.schedulingEligibility).toBe('ineligible');
    expect(upd.index).toBeGreaterThan(0);
    const allocs = (await cli.listAllocs()).value;
    const one = await cli.getAlloc(allocs[0]!.id);
    expect(one.value.id).toBe(allocs[0]!.id);
    const self = await cli.agentSelf();
    expect(self).toMatchObject({ region: 'global', server: true, rpcAddr: `127.0.0.1:${rpc.port}` });
    const status = await cli.agentStatus();
    expect(status.leader).toBe(`127.0.0.1:${rpc.port}`);
    const versions = await cli.jobVersions('default', 'hello-web');
    expect(versions.value[0]!.id).toBe('hello-web');
  });

  it('streams events from an index', async () => {
    const cli = connect(certs.cli);
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const batch of cli.subscribe({ index: 0, topics: { Job: '*' }, signal: ac.signal })) {
      if ('events' in batch) for (const e of batch.events) seen.push(`${e.topic}:${e.key}`);
      if (seen.includes('Job:hello-web')) ac.abort();
    }
    expect(seen).toContain('Job:hello-web');
  });

  it("streams a job's evaluation through the broker and plan applier as operational events", async () => {
    const cli = connect(certs.cli);
    const ac = new AbortController();
    const stream = cli.subscribe({ ops: { Broker: '*', Plan: '*' }, signal: ac.signal });
    const job = { ...helloWeb, id: 'ops-web', name: 'ops-web' };
    const subscribers = server.ops.subscribers();
    const first = stream.next(); // the call starts when the first frame is asked for
    while (server.ops.subscribers() === subscribers) await new Promise((r) => setTimeout(r, 5));
    const reg = await cli.registerJob(job);
    const steps: string[] = [];
    let applied: Record<string, unknown> | undefined;
    let frame = await first;
    for (;;) {
      if (frame.done === true) break;
      expect(frame.value.events).toEqual([]); // only operational topics were asked for
      for (const e of frame.value.ops) {
        if (e.key !== reg.evalId) continue;
        steps.push(e.type);
        if (e.type === 'PlanApplied') applied = e.payload;
      }
      if (steps.includes('EvalAcked')) break;
      frame = await stream.next();
    }
    ac.abort();
    expect(steps).toEqual(['EvalEnqueued', 'EvalDequeued', 'PlanSubmitted', 'PlanApplied', 'EvalAcked']);
    expect(applied).toMatchObject({ jobId: 'ops-web', placed: 2, stopped: 0, rejected: [] });
    expect((applied!.scores as unknown[]).length).toBeGreaterThan(0);
  });

  it('sends heartbeat frames on a quiet stream and refuses an unknown operational topic', async () => {
    const cli = connect(certs.cli);
    const ac = new AbortController();
    for await (const batch of cli.subscribe({ ops: { Drain: ['no-such-node'] }, heartbeatMs: 30, signal: ac.signal })) {
      expect(batch.heartbeat).toBe(true);
      expect(batch.ops).toEqual([]);
      ac.abort();
    }
    const bad = async () => {
      for await (const _b of cli.subscribe({ ops: { Gossip: '*' } as never })) {
        // never reached
      }
    };
    await expect(bad()).rejects.toThrow(/unknown operational topic "Gossip"/);
  });

  it('tells a subscriber that stopped reading how many operational events it lost, instead of buffering them all', async () => {
    const cli = connect(certs.cli);
    const ac = new AbortController();
    const stream = cli.subscribe({ ops: { Member: ['flood'] }, signal: ac.signal });
    const subscribers = server.ops.subscribers();
    const first = stream.next();
    while (server.ops.subscribers() === subscribers) await new Promise((r) => setTimeout(r, 5));
    const total = 60_000;
    for (let i = 0; i < total; i++) {
      server.ops.emit('Member', 'MemberUpdate', 'flood', { i, note: 'x'.repeat(64) });
      if (i % 1_000 === 999) await new Promise((r) => setImmediate(r));
    }
    // The reader was not reading: the server's writes waited for the transport, the bus moved on.
    let received = 0;
    let lost = 0;
    let frame = await first;
    while (frame.done !== true) {
      received += frame.value.ops.length;
      lost += frame.value.opsLost;
      const last = frame.value.ops[frame.value.ops.length - 1];
      if (last !== undefined && last.payload.i === total - 1) break;
      frame = await stream.next();
    }
    ac.abort();
    expect(lost).toBeGreaterThan(0);
    expect(received).toBeLessThan(total);
    // `lost` counts every event that passed this reader by, its topics or not (the server's
    // periodic status events among them): nothing it wanted went missing without being counted.
    expect(received + lost).toBeGreaterThanOrEqual(total);
  });

  it('refuses an event stream to a peer from another region with a status, not a hang', async () => {
    const cli = connect(certs.otherRegion);
    const consume = async () => {
      for await (const _batch of cli.subscribe({ index: 0 })) {
        // never reached
      }
    };
    await expect(consume()).rejects.toThrow(/region/);
  });

  it('deregisters a job and its allocations are told to stop', async () => {
    const cli = connect(certs.cli);
    const r = await cli.deregisterJob('default', 'hello-web', false);
    expect(r.evalId).not.toBe('');
    let allocs = await cli.listAllocs({ jobId: 'hello-web' });
    while (allocs.value.some((a) => a.desiredStatus === 'run')) allocs = await cli.listAllocs({ jobId: 'hello-web' }, { index: allocs.index, waitMs: 10_000 });
    expect((await cli.getJob('default', 'hello-web')).value.stop).toBe(true);
    await expect(cli.deregisterJob('default', 'never-was', false)).rejects.toThrow('job "never-was" not found in namespace "default"');
  });
});
