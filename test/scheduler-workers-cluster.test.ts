/**
 * Scheduler workers on every server (issue 5 §4), with real parts: three cluster servers in this
 * process (startClusterServer: Raft on disk, mutual TLS on loopback, ClusterService between them).
 * Jobs registered through a follower are placed; followers' workers take evaluations from the
 * leader's broker (seen on the leader's ops bus under their ids and in their own counters); the
 * leader is stopped while evaluations are in flight and every job still ends with exactly its
 * count of allocations. Waits poll for a state in bounded loops; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NomadError, SeededRng } from '../agent/core/lib/index.js';
import type { OpsEvent } from '../agent/core/ops/index.js';
import type { Job } from '../agent/core/structs/index.js';
import { allocsFit, allocTerminalStatus } from '../agent/core/structs/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
import { ClusterClient } from '../agent/raft/transport/index.js';
import type { ClusterServer } from '../agent/server/index.js';
import { parseServerConfig, startClusterServer } from '../agent/server/index.js';
import { simulatedNodes } from '../agent/sim/index.js';
import { createCA, createCert } from '../agent/tls/index.js';
// eslint-disable-next-line no-restricted-imports -- the benchmarks' free-port helper
import { freePort } from '../scripts/bench/ports.js';
import { pollUntil } from './e2e.js';

const until = <T>(what: string, f: () => T | undefined | Promise<T | undefined>, tries = 600, everyMs = 100): Promise<T> => pollUntil(what, f, { tries, everyMs });

const jobText = (id: string, count: number): string => `job "${id}" {
  group "g" {
    count = ${count}
    task "t" {
      driver = "raw_exec"
      config {
        command = "sleep"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`;

describe('scheduler workers on every server of a three-server cluster', () => {
  let dir: string;
  let servers: ClusterServer[] = [];
  const stopped = new Set<ClusterServer>();
  let tls: { caPem: string; server: { certPem: string; keyPem: string }; cli: { certPem: string; keyPem: string } };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nomadts-fworkers-'));
    const ca = await createCA();
    const server = await createCert({ ca, role: 'server' });
    const cli = await createCert({ ca, role: 'cli' });
    tls = { caPem: ca.certPem, server, cli };
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'server.pem'), server.certPem);
    writeFileSync(join(dir, 'server-key.pem'), server.keyPem, { mode: 0o600 });
    const ports = [await freePort(), await freePort(), await freePort()];
    const cfgs = await Promise.all(ports.map((port, i) => parseServerConfig(`name = "s${i + 1}"
data_dir = "${join(dir, `s${i + 1}`)}"
bind_addr = "127.0.0.1"
ports {
  rpc = ${port}
}
server {
  enabled          = true
  bootstrap_expect = 3
  num_schedulers   = 2
}
server_join {
  retry_join = [${ports.filter((p) => p !== port).map((p) => `"127.0.0.1:${p}"`).join(', ')}]
}
tls {
  ca_file   = "${join(dir, 'ca.pem')}"
  cert_file = "${join(dir, 'server.pem')}"
  key_file  = "${join(dir, 'server-key.pem')}"
}
`, `s${i + 1}.hcl`)));
    servers = await Promise.all(cfgs.map((cfg, i) => startClusterServer(cfg, { rng: new SeededRng(100 + i), workerDequeueTimeoutMs: 300, workerRetryMs: 50 })));
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) if (!stopped.has(s)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const leading = (): ClusterServer | undefined => servers.find((s) => !stopped.has(s) && s.leadership.isLeading());
  const live = (cs: ClusterServer, job: Job): number => cs.server.state().allocsByJob(job.namespace, job.id).filter((a) => !allocTerminalStatus(a)).length;

  /** Every job at exactly its count, each allocation name once, every evaluation of it finished, no node over-committed. */
  function expectExactlyOnce(cs: ClusterServer, jobs: Job[]): void {
    const state = cs.server.state();
    for (const job of jobs) {
      const count = job.taskGroups[0]!.count;
      const allocs = state.allocsByJob(job.namespace, job.id);
      expect(allocs, `job ${job.id}: every allocation ever placed`).toHaveLength(count);
      expect(new Set(allocs.map((a) => a.name)).size, `job ${job.id}: allocation names`).toBe(count);
      for (const e of state.evalsByJob(job.namespace, job.id)) expect(['complete', 'canceled'], `eval ${e.id} of ${job.id}`).toContain(e.status);
    }
    for (const node of state.nodes()) expect(allocsFit(node, state.allocsByNode(node.id)).fit, `node ${node.name}`).toBe(true);
  }

  const settled = (cs: ClusterServer, jobs: Job[]): true | undefined => {
    const state = cs.server.state();
    for (const job of jobs) {
      if (live(cs, job) !== job.taskGroups[0]!.count) return undefined;
      if (state.evalsByJob(job.namespace, job.id).some((e) => e.status === 'pending' || e.status === 'blocked')) return undefined;
    }
    return true;
  };

  it('places jobs registered through a follower; followers\' workers dequeue from the leader; a follower refuses the broker calls naming the leader', async () => {
    const leader = await until('a leader holds the leader duties', () => leading(), 300);
    const followers = servers.filter((s) => s !== leader);
    const via = followers[0]!;
    // Every server runs workers; the leader, with followers beside it, pauses 3/4 of its 2 (Nomad's rule): 1 runs.
    await until('workers running on every server', () => (leader.workers.running() === 1 && followers.every((f) => f.workers.running() === 2) ? true : undefined));
    // The server's figures (agent info's `workers`) count them on every server.
    for (const s of servers) expect(s.server.stats().workers).toHaveLength(2);

    const events: OpsEvent[] = [];
    const sub = leader.server.ops.subscribe({ filter: { Broker: '*' } });
    const reading = (async () => {
      for (;;) {
        const p = await sub.next();
        if (p.kind === 'closed') return;
        if (p.kind === 'events') events.push(...p.events);
      }
    })();

    for (const node of simulatedNodes({ count: 8, rng: new SeededRng(7) })) await via.server.registerNode(node);
    const jobs: Job[] = [];
    for (let i = 0; i < 24; i++) jobs.push(await parseJobText(jobText(`web-${i}`, 1 + (i % 3)), { filename: `web-${i}.hcl` }));
    await Promise.all(jobs.map((j) => via.server.registerJob(j)));
    await until('every job placed at its count', () => settled(leader, jobs));
    expectExactlyOnce(leader, jobs);
    // The follower that forwarded the writes reads the same placements from its own state.
    await until('the follower applied the placements', () => settled(via, jobs));
    sub.close();
    await reading;

    const dequeuedBy = events.filter((e) => e.type === 'EvalDequeued').map((e) => (typeof e.payload.worker === 'string' ? e.payload.worker : ''));
    const followerIds = new Set(followers.map((f) => f.id));
    const byFollowers = dequeuedBy.filter((w) => followerIds.has(w.split('/')[0]!));
    expect(byFollowers.length, `dequeues on the leader's bus: ${dequeuedBy.join(', ')}`).toBeGreaterThan(0);
    expect(dequeuedBy.every((w) => /^s[123]\/worker-\d$/.test(w))).toBe(true);
    // The followers' own counters agree: evaluations taken from the leader, processed and acked there.
    const fromLeader = followers.flatMap((f) => f.workers.stats()).reduce((n, w) => n + (w.dequeuedFrom[leader.id] ?? 0), 0);
    expect(fromLeader).toBe(byFollowers.length);
    expect(followers.flatMap((f) => f.workers.stats()).reduce((n, w) => n + w.acked, 0)).toBeGreaterThan(0);

    // A follower asked for the broker answers unavailable, naming the leader; a cli certificate is refused.
    const asServer = new ClusterClient(via.rpcAddr, { caPem: tls.caPem, certPem: tls.server.certPem, keyPem: tls.server.keyPem, region: 'global' });
    const asCli = new ClusterClient(leader.rpcAddr, { caPem: tls.caPem, certPem: tls.cli.certPem, keyPem: tls.cli.keyPem, region: 'global' });
    try {
      const err = await asServer.evalDequeue(['service'], 100, 'test').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NomadError);
      expect((err as NomadError).code).toBe('unavailable');
      expect((err as NomadError).message).toContain(`the leader is ${leader.id} at ${leader.rpcAddr}`);
      const denied = await asCli.evalDequeue(['service'], 100, 'test').catch((e: unknown) => e);
      expect((denied as NomadError).code).toBe('permission_denied');
    } finally {
      asServer.close();
      asCli.close();
    }
  }, 180_000);

  it("a follower never forwards a leader duty's write (a heartbeat expiry here): refused, nothing changes; an ordinary write is forwarded", async () => {
    const leader = await until('a leader holds the leader duties', () => leading(), 300);
    const follower = servers.find((s) => s !== leader && !stopped.has(s))!;
    const node = simulatedNodes({ count: 1, rng: new SeededRng(99) })[0]!;
    await follower.server.registerNode(node);
    await until('the leader has the node', () => (leader.server.state().nodeByID(node.id)?.status === 'ready' ? true : undefined));
    const before = leader.server.state().nodeByID(node.id)!.modifyIndex;
    const err = await follower.server.nodeMissedHeartbeat(node.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NomadError);
    expect((err as NomadError).code).toBe('unavailable');
    expect((err as NomadError).message).toMatch(/no longer the leader; its UpdateNodeStatus write was dropped/);
    expect(leader.server.state().nodeByID(node.id)?.status).toBe('ready');
    expect(leader.server.state().nodeByID(node.id)?.modifyIndex).toBe(before);
  }, 60_000);

  it('the leader stops while evaluations are in flight: the new leader redelivers them and each job ends at exactly its count', async () => {
    const leader = await until('a leader holds the leader duties', () => leading(), 300);
    const via = servers.find((s) => s !== leader && !stopped.has(s))!;
    const jobs: Job[] = [];
    for (let i = 0; i < 30; i++) jobs.push(await parseJobText(jobText(`api-${i}`, 2 + (i % 2)), { filename: `api-${i}.hcl` }));
    const evalIds = (await Promise.all(jobs.map((j) => via.server.registerJob(j)))).map((r) => r.evalId);

    // Stop the leader once some evaluations are done and others are not.
    const inFlight = await until('some evaluations complete, others not yet', () => {
      const state = leader.server.state();
      const done = evalIds.filter((id) => state.evalByID(id)?.status === 'complete').length;
      return done >= 2 && done < evalIds.length ? evalIds.length - done : undefined;
    }, 2_000, 5);
    await leader.stop();
    stopped.add(leader);
    expect(inFlight).toBeGreaterThan(0);

    const next = await until('a new leader holds the leader duties', () => leading(), 300);
    expect(next).not.toBe(leader);
    await until('every job placed at its count after the failover', () => settled(next, jobs));
    expectExactlyOnce(next, jobs);
    // The surviving follower converges on the same allocations.
    const other = servers.find((s) => s !== next && !stopped.has(s))!;
    await until('the other survivor applied the placements', () => settled(other, jobs));
    expectExactlyOnce(other, jobs);
    // The survivors' workers kept working across the change (the new leader's own and the follower's).
    expect(other.workers.stats().reduce((n, w) => n + (w.dequeuedFrom[next.id] ?? 0), 0) + next.workers.stats().reduce((n, w) => n + (w.dequeuedFrom[next.id] ?? 0), 0)).toBeGreaterThan(0);
  }, 180_000);
});
