/**
 * `node drain` end to end, in process: a real control plane (SimCluster) behind the real
 * gRPC server with mutual TLS, the command called with the cli certificate. Simulated
 * nodes have no client, so allocations never run: a forced drain (which stops everything
 * at once) is what completes here; max_parallel pacing is tested in agent/sim/storm.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng } from '../../agent/core/lib/index.js';
import { mockJob, mockTaskGroup } from '../../agent/core/testing/index.js';
import type { RpcServerHandle } from '../../agent/rpc-server/index.js';
import { startRpcServer } from '../../agent/rpc-server/index.js';
import { SystemClock } from '../../agent/runtime/index.js';
import { SimCluster } from '../../agent/sim/index.js';
import { createCA, createCert } from '../../agent/tls/index.js';
import { drainRequest, nodeDrain } from './node-drain.js';
import { nodeEligibility } from './node-eligibility.js';
import type { Out } from './jobspec-io.js';

let cluster: SimCluster;
let rpc: RpcServerHandle;
let dir: string;
let env: Record<string, string>;

async function run(args: readonly string[], withEnv: Record<string, string> = env): Promise<{ code: number; stdout: string; stderr: string }> {
  let o = '';
  let e = '';
  const out: Out = { stdout: (s) => { o += s; }, stderr: (s) => { e += s; } };
  const code = await nodeDrain(args, out, withEnv);
  return { code, stdout: o, stderr: e };
}

beforeAll(async () => {
  const ca = await createCA();
  const serverCert = await createCert({ ca, role: 'server' });
  const cli = await createCert({ ca, role: 'cli' });
  const rng = new SeededRng(31);
  const clock = new SystemClock();
  cluster = await SimCluster.start({ clock, rng: rng.fork(), nodes: { count: 4 }, drainTickMs: 50 });
  await cluster.submit(mockJob({ id: 'web', datacenters: ['*'], taskGroups: [mockTaskGroup({ name: 'web', count: 8 })] }));
  await cluster.settle();
  rpc = await startRpcServer({ server: cluster.server, tls: { caPem: ca.certPem, ...serverCert }, region: 'global', clock, rng: rng.fork() });
  dir = mkdtempSync(join(tmpdir(), 'nomadts-cli-drain-'));
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'cli.pem'), cli.certPem);
  writeFileSync(join(dir, 'cli-key.pem'), cli.keyPem);
  env = {
    NOMADTS_ADDR: `127.0.0.1:${rpc.port}`,
    NOMADTS_CACERT: join(dir, 'ca.pem'),
    NOMADTS_CLIENT_CERT: join(dir, 'cli.pem'),
    NOMADTS_CLIENT_KEY: join(dir, 'cli-key.pem'),
    NOMADTS_DRAIN_POLL_MS: '50',
  };
}, 30_000);

afterAll(async () => {
  await rpc.close();
  await cluster.server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const flags = (...b: string[]) => new Set(b);

describe('drainRequest (flags → request, before anything is sent)', () => {
  it('defaults to Nomad\'s 1 h deadline and monitoring', () => {
    expect(drainRequest(flags('enable'), new Map())).toEqual({ mode: 'enable', deadlineMs: 3_600_000, ignoreSystemJobs: false, keepIneligible: false, monitor: true });
    expect(drainRequest(flags('enable', 'detach', 'ignore-system'), new Map([['deadline', '90s']]))).toMatchObject({ deadlineMs: 90_000, ignoreSystemJobs: true, monitor: false });
    expect(drainRequest(flags('enable', 'no-deadline'), new Map()).deadlineMs).toBe(0);
    expect(drainRequest(flags('enable', 'force'), new Map()).deadlineMs).toBe(-1);
    expect(drainRequest(flags('disable', 'keep-ineligible'), new Map())).toMatchObject({ mode: 'disable', keepIneligible: true, monitor: false });
    expect(drainRequest(flags('monitor'), new Map())).toMatchObject({ mode: 'monitor', monitor: true });
  });

  it('refuses contradictions and bad durations, naming the flag', () => {
    const bad: [Set<string>, Map<string, string>, RegExp][] = [
      [flags(), new Map(), /-enable, -disable or -monitor/],
      [flags('enable', 'disable'), new Map(), /only one of -enable or -disable/],
      [flags('enable', 'detach', 'monitor'), new Map(), /-detach and -monitor/],
      [flags('enable', 'force'), new Map([['deadline', '1h']]), /only one of -deadline, -no-deadline or -force/],
      [flags('enable'), new Map([['deadline', 'soon']]), /-deadline: "soon" is not a positive duration/],
      [flags('enable'), new Map([['deadline', '-5m']]), /-deadline: "-5m" is not a positive duration/],
      [flags('disable', 'force'), new Map(), /-force only applies with -enable/],
      [flags('enable', 'keep-ineligible'), new Map(), /-keep-ineligible only applies with -disable/],
    ];
    for (const [b, v, re] of bad) expect(() => drainRequest(b, v)).toThrow(re);
  });
});

describe('node drain', () => {
  it('a bad deadline or an unknown node exits 1 with a clear error and changes nothing', async () => {
    const node = cluster.nodes[0]!;
    const before = cluster.server.state().index;
    const r1 = await run(['-enable', '-deadline', 'tomorrow', node.id]);
    expect(r1).toMatchObject({ code: 1, stdout: '' });
    expect(r1.stderr).toContain('-deadline: "tomorrow" is not a positive duration');
    const r2 = await run(['-enable', '-detach', 'ffffffff-0000']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/node/i);
    expect(r2.stderr).toContain('ffffffff-0000');
    const r3 = await run(['-enable', '-bogus', node.id]);
    expect(r3).toMatchObject({ code: 1, stderr: 'Error: unknown flag -bogus\n' });
    expect(cluster.server.state().index).toBe(before);
    expect(cluster.server.state().nodeByID(node.id)!.drainStrategy).toBeNull();
  });

  it('-force drains the node: monitor prints progress until nothing is left; the node stays ineligible', async () => {
    const node = cluster.nodes.find((n) => cluster.server.state().allocsByNode(n.id).length > 0)!;
    const live = cluster.server.state().allocsByNode(node.id).length;
    const r = await run(['-enable', '-force', node.id.slice(0, 8)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Node "${node.id.slice(0, 8)}" drain strategy set (force)\n`);
    expect(r.stdout).toMatch(/Drain progress: \d+ allocations? migrated, \d+ remaining, deadline in 0s\n/);
    expect(r.stdout).toContain(`Drain progress: ${live} allocation${live === 1 ? '' : 's'} migrated, 0 remaining`);
    expect(r.stdout).toMatch(/drain complete \(node remains ineligible\)\n$/);
    const after = cluster.server.state().nodeByID(node.id)!;
    expect(after.drainStrategy).toBeNull();
    expect(after.schedulingEligibility).toBe('ineligible');
    await cluster.settle();
    // The job is whole again, elsewhere.
    const running = cluster.server.state().allocsByJob('default', 'web').filter((a) => a.desiredStatus === 'run');
    expect(running).toHaveLength(8);
    expect(running.some((a) => a.nodeId === node.id)).toBe(false);
    // node eligibility -enable works again once the drain is over.
    let o = '';
    expect(await nodeEligibility(['-enable', node.id], { stdout: (s) => { o += s; }, stderr: () => undefined }, env)).toBe(0);
    expect(o).toContain('eligible');
  }, 20_000);

  it('-enable -detach with a deadline sets the strategy and returns; -disable ends it and makes the node eligible', async () => {
    const node = cluster.nodes[3]!;
    const r = await run(['-enable', '-detach', '-deadline', '45m', '-ignore-system', node.id]);
    expect(r).toMatchObject({ code: 0, stdout: `Node "${node.id.slice(0, 8)}" drain strategy set (deadline 45m, ignoring system jobs)\n` });
    const ds = cluster.server.state().nodeByID(node.id)!.drainStrategy!;
    expect(ds).toMatchObject({ deadline: 2_700_000, ignoreSystemJobs: true });
    expect(ds.forceDeadline - ds.startedAt).toBe(2_700_000);
    expect(cluster.server.state().nodeByID(node.id)!.schedulingEligibility).toBe('ineligible');
    const m = await run(['-disable', node.id]);
    expect(m).toMatchObject({ code: 0, stdout: `Node "${node.id.slice(0, 8)}" drain strategy unset\n` });
    const after = cluster.server.state().nodeByID(node.id)!;
    expect(after.drainStrategy).toBeNull();
    expect(after.schedulingEligibility).toBe('eligible');
    expect(await run(['-monitor', node.id])).toMatchObject({ code: 0, stdout: `Node "${node.id.slice(0, 8)}" is not draining\n` });
  });
});
