/**
 * The client agent end to end: a real Server with ClientService on the public API's mutual-TLS
 * gRPC listener (127.0.0.1, port 0), a real ClientAgent fingerprinting this host with the mock
 * driver. Short heartbeat TTLs on the wall clock; every wait polls for a state, none asserts a
 * duration.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NomadError, SeededRng } from '../../core/lib/index.js';
import type { ClientAllocUpdate } from '../../core/state/index.js';
import type { Allocation, Job, Node } from '../../core/structs/index.js';
import { mockJob, mockServiceReschedulePolicy, mockTask, mockTaskGroup } from '../../core/testing/index.js';
import type { RpcServerHandle } from '../../rpc-server/index.js';
import { ClientRpcClient } from '../../rpc/index.js';
import { startAgentRpcServer } from '../../rpc-server/index.js';
import { SystemClock } from '../../runtime/index.js';
import { Server } from '../../server/index.js';
import { ClientRpcService } from '../../service/index.js';
import type { CertificateBundle } from '../../tls/index.js';
import { createCA, createCert } from '../../tls/index.js';
import { MockDriver } from '../drivers/index.js';
import { defaultClientConfig, nodeIdPath } from '../fingerprint/index.js';
import { ClientAgent } from './index.js';

/** Counts the calls that reach the server, so tests can wait for heartbeats and see batching. */
class CountingService extends ClientRpcService {
  heartbeats = 0;
  registers = 0;
  batches: ClientAllocUpdate[][] = [];
  override async register(node: Node): ReturnType<ClientRpcService['register']> {
    this.registers++;
    return super.register(node);
  }
  override async heartbeat(nodeId: string): ReturnType<ClientRpcService['heartbeat']> {
    this.heartbeats++;
    return super.heartbeat(nodeId);
  }
  override async updateAllocs(nodeId: string, updates: readonly ClientAllocUpdate[]): ReturnType<ClientRpcService['updateAllocs']> {
    this.batches.push([...updates]);
    return super.updateAllocs(nodeId, updates);
  }
}

let ca: CertificateBundle;
let certs: Record<'server' | 'client' | 'cli', CertificateBundle>;
let server: Server;
let service: CountingService;
let rpc: RpcServerHandle;
const clock = new SystemClock();
const dirs: string[] = [];
const agents: ClientAgent[] = [];

beforeAll(async () => {
  ca = await createCA();
  certs = {
    server: await createCert({ ca, role: 'server' }),
    client: await createCert({ ca, role: 'client' }),
    cli: await createCert({ ca, role: 'cli' }),
  };
  const rng = new SeededRng(21);
  server = new Server({ clock, rng: rng.fork(), freezeObjects: true });
  server.start();
  service = new CountingService({ server, clock, rng: rng.fork(), minHeartbeatTtlMs: 150, heartbeatGraceMs: 1_000 });
  rpc = await startAgentRpcServer({ server, tls: { caPem: ca.certPem, ...certs.server }, region: 'global', clock, rng: rng.fork(), clientService: service });
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

afterAll(async () => {
  service.stop();
  await rpc.close();
  await server.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Started {
  agent: ClientAgent;
  delivered: Allocation[];
  dataDir: string;
}

async function startAgent(name: string): Promise<Started> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nomadts-agent-'));
  dirs.push(dataDir);
  const delivered: Allocation[] = [];
  const agent = new ClientAgent({
    config: defaultClientConfig({ name, datacenter: 'dc1', devMode: true }),
    dataDir,
    drivers: [new MockDriver({ clock })],
    rpc: { address: `127.0.0.1:${rpc.port}`, caPem: ca.certPem, certPem: certs.client.certPem, keyPem: certs.client.keyPem, timeoutMs: 5_000 },
    clock,
    rng: new SeededRng(name.length),
    onAllocs: (allocs) => delivered.push(...allocs),
    retryBaseMs: 50,
    retryMaxMs: 200,
  });
  agents.push(agent);
  await agent.start();
  await agent.registered();
  return { agent, delivered, dataDir };
}

function mockDriverJob(id: string, count: number): Job {
  return mockJob({
    id,
    name: id,
    constraints: [],
    taskGroups: [
      mockTaskGroup({
        count,
        reschedule: mockServiceReschedulePolicy({ delay: 0, delayFunction: 'constant' }),
        tasks: [mockTask({ driver: 'mock', config: {}, resources: { cpu: 10, memoryMB: 10, memoryMaxMB: 0, cores: 0 } })],
      }),
    ],
  });
}

/** The job, placeable only on node `nodeId`. */
function pinned(job: Job, nodeId: string): Job {
  return { ...job, constraints: [{ lTarget: '${node.unique.id}', rTarget: nodeId, operand: '=' }] };
}

function report(id: string, clientStatus: ClientAllocUpdate['clientStatus']): ClientAllocUpdate {
  return { id, clientStatus, clientDescription: `now ${clientStatus}`, taskStates: {}, modifyTime: Date.now() };
}

describe('ClientAgent over mutual-TLS gRPC', () => {
  it('registers its fingerprinted node as ready, keeps the node id in the data dir, and heartbeats keep it ready', async () => {
    const { agent, dataDir } = await startAgent('client-a');
    const id = agent.node!.id;
    expect(readFileSync(nodeIdPath(dataDir), 'utf8').trim()).toBe(id);
    const stored = server.state().nodeByID(id)!;
    expect(stored.status).toBe('ready');
    expect(stored.name).toBe('client-a');
    expect(stored.attributes['driver.mock']).toBe('1');
    expect(stored.attributes['kernel.name']).toBe(process.platform);
    expect(stored.drivers.mock).toMatchObject({ detected: true, healthy: true });

    // TTL 150–300 ms, expiry at TTL + 1 s: ten heartbeats span more than one expiry, which they prevented.
    const from = service.heartbeats;
    await until('ten heartbeats', () => service.heartbeats >= from + 10);
    expect(server.state().nodeByID(id)?.status).toBe('ready');
    expect(agent.status()).toMatchObject({ registered: true });
    expect(agent.status().heartbeatTtlMs).toBeGreaterThanOrEqual(150);
  });

  it('delivers the placed allocations, batches reports (last status wins), and a failed one is replaced', async () => {
    const { agent, delivered } = await startAgent('client-b');
    const nodeId = agent.node!.id;
    await server.registerJob(pinned(mockDriverJob('web-b', 2), nodeId));
    await until('two allocations delivered', () => delivered.filter((a) => a.jobId === 'web-b').length >= 2);
    const [a, b] = delivered.filter((x) => x.jobId === 'web-b');
    expect(a!.nodeId).toBe(nodeId);
    expect(a!.job.id).toBe('web-b');

    // Three reports in one 200 ms window: one UpdateAllocs with the last report per allocation.
    const batchesBefore = service.batches.length;
    agent.reportAllocs([report(a!.id, 'pending')]);
    agent.reportAllocs([report(a!.id, 'running'), report(b!.id, 'running')]);
    await until('both running in state', () => ['running'].includes(server.state().allocByID(a!.id)?.clientStatus ?? '') && server.state().allocByID(b!.id)?.clientStatus === 'running');
    const mine = service.batches.slice(batchesBefore).filter((batch) => batch.some((u) => u.id === a!.id || u.id === b!.id));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.map((u) => [u.id, u.clientStatus]).sort()).toEqual([[a!.id, 'running'], [b!.id, 'running']].sort());

    // A failure: the server evaluates the job and places a replacement, which the watch delivers.
    agent.reportAllocs([report(a!.id, 'failed')]);
    await until('the replacement delivered', () => delivered.some((x) => x.jobId === 'web-b' && x.previousAllocation === a!.id));
    expect(server.state().allocByID(a!.id)?.clientStatus).toBe('failed');
    expect(server.state().evalsByJob('default', 'web-b').some((e) => e.triggeredBy === 'alloc-failure')).toBe(true);
  });

  it('registers again when the server has forgotten the node', async () => {
    const { agent } = await startAgent('client-c');
    const id = agent.node!.id;
    const registers = service.registers;
    await server.apply({ type: 'DeregisterNodes', nodeIds: [id] });
    expect(server.state().nodeByID(id)).toBeUndefined();
    await until('the node registered again', () => service.registers > registers && server.state().nodeByID(id)?.status === 'ready');
  });

  it('once stopped, the node misses its TTL and is marked down; its jobs are evaluated', async () => {
    const { agent, delivered } = await startAgent('client-d');
    const id = agent.node!.id;
    await server.registerJob(pinned(mockDriverJob('web-d', 1), id));
    await until('allocation delivered', () => delivered.some((x) => x.jobId === 'web-d'));
    const evalsBefore = server.state().evalsByJob('default', 'web-d').length;
    await agent.stop();
    await until('node down', () => server.state().nodeByID(id)?.status === 'down');
    await until('a node-update eval', () => server.state().evalsByJob('default', 'web-d').length > evalsBefore);
    expect(server.state().evalsByJob('default', 'web-d').some((e) => e.triggeredBy === 'node-update' && e.nodeId === id)).toBe(true);
  });

  it('keeps retrying registration until a server answers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nomadts-agent-'));
    dirs.push(dataDir);
    const errors: string[] = [];
    const agent = new ClientAgent({
      config: defaultClientConfig({ name: 'nowhere', devMode: true }),
      dataDir,
      drivers: [new MockDriver({ clock })],
      rpc: { address: '127.0.0.1:1', caPem: ca.certPem, certPem: certs.client.certPem, keyPem: certs.client.keyPem, timeoutMs: 1_000 },
      clock,
      rng: new SeededRng(1),
      onAllocs: () => undefined,
      retryBaseMs: 20,
      retryMaxMs: 40,
      onError: (what) => errors.push(what),
    });
    agents.push(agent);
    await agent.start();
    await until('two failed attempts', () => errors.filter((e) => e === 'register').length >= 2);
    expect(agent.status().registered).toBe(false);
  });

  it('fails over to the next server address when the first does not answer', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nomadts-agent-'));
    dirs.push(dataDir);
    const errors: string[] = [];
    const live = `127.0.0.1:${rpc.port}`;
    const agent = new ClientAgent({
      config: defaultClientConfig({ name: 'failover', devMode: true }),
      dataDir,
      drivers: [new MockDriver({ clock })],
      rpc: { address: '127.0.0.1:1', fallbackAddresses: [live], caPem: ca.certPem, certPem: certs.client.certPem, keyPem: certs.client.keyPem, timeoutMs: 1_000 },
      clock,
      rng: new SeededRng(2),
      onAllocs: () => undefined,
      retryBaseMs: 20,
      retryMaxMs: 40,
      onError: (what) => errors.push(what),
    });
    agents.push(agent);
    expect(agent.serverAddress).toBe('127.0.0.1:1');
    await agent.start();
    await agent.registered();
    expect(errors.filter((e) => e === 'register').length).toBeGreaterThanOrEqual(1);
    expect(agent.serverAddress).toBe(live);
    expect(server.state().nodeByID(agent.node!.id)?.status).toBe('ready');
  });
});

describe('ClientService access', () => {
  it('refuses a cli certificate with PERMISSION_DENIED; a client certificate passes the check', async () => {
    const connect = (as: CertificateBundle): ClientRpcClient =>
      new ClientRpcClient({ address: `127.0.0.1:${rpc.port}`, caPem: ca.certPem, certPem: as.certPem, keyPem: as.keyPem, timeoutMs: 5_000 });
    const cli = connect(certs.cli);
    const client = connect(certs.client);
    try {
      const e = await cli.heartbeat('anything').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(NomadError);
      expect((e as NomadError).code).toBe('permission_denied');
      expect((e as NomadError).message).toContain('cli');
      const watch = cli.watchAllocations('anything');
      await expect(watch.next()).rejects.toMatchObject({ code: 'permission_denied' });
      // The same call with a client certificate reaches the handler (which does not know the node).
      await expect(client.heartbeat('anything')).rejects.toMatchObject({ code: 'not_found' });
      await expect(client.watchAllocations('anything').next()).rejects.toMatchObject({ code: 'not_found', field: 'nodeId' });
    } finally {
      cli.close();
      client.close();
    }
  });
});
