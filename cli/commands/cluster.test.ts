/**
 * The cluster commands end to end, in process: a real control plane (SimCluster: Server,
 * broker, schedulers, plan applier) with six simulated nodes behind the real gRPC server with
 * mutual TLS on 127.0.0.1, and the commands called with an environment naming the cli
 * certificate written to a temporary directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRng } from '../../agent/core/lib/index.js';
import type { Allocation, Evaluation, Job, Node } from '../../agent/core/structs/index.js';
import type { RpcServerHandle } from '../../agent/rpc-server/index.js';
import { startRpcServer } from '../../agent/rpc-server/index.js';
import { SystemClock } from '../../agent/runtime/index.js';
import { SimCluster } from '../../agent/sim/index.js';
import { createCA, createCert } from '../../agent/tls/index.js';
import { allocStatus } from './alloc-status.js';
import { parseFlags, staleNote, table, uniqueMatch } from './api-io.js';
import { evalList } from './eval-list.js';
import { evalStatus } from './eval-status.js';
import { jobInspect } from './job-inspect.js';
import { jobPlan } from './job-plan.js';
import { jobRun } from './job-run.js';
import { jobStatus } from './job-status.js';
import { jobStop } from './job-stop.js';
import type { Out } from './jobspec-io.js';
import { nodeEligibility } from './node-eligibility.js';
import { nodeStatus } from './node-status.js';
import { status } from './status.js';
import { version } from './version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HELLO = join(ROOT, 'jobs', 'hello-web.nomad.hcl');

interface Captured { out: Out; stdout: () => string; stderr: () => string }
function capture(): Captured {
  let o = '';
  let e = '';
  return { out: { stdout: (s) => { o += s; }, stderr: (s) => { e += s; } }, stdout: () => o, stderr: () => e };
}

type Command = (args: readonly string[], out: Out, env?: Record<string, string | undefined>) => Promise<number>;

let cluster: SimCluster;
let rpc: RpcServerHandle;
let dir: string;
let env: Record<string, string>;

/** Runs a command against the test cluster; returns its exit code and output. */
async function run(cmd: Command, args: readonly string[], withEnv: Record<string, string | undefined> = env): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = capture();
  const code = await cmd(args, c.out, withEnv);
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

function writeJob(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const impossible = `job "impossible" {
  datacenters = ["*"]
  constraint {
    attribute = "\${attr.kernel.name}"
    value     = "plan9"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "true"
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

beforeAll(async () => {
  const ca = await createCA();
  const serverCert = await createCert({ ca, role: 'server' });
  const cli = await createCert({ ca, role: 'cli' });
  const rng = new SeededRng(23);
  const clock = new SystemClock();
  cluster = await SimCluster.start({ clock, rng: rng.fork(), nodes: { count: 6 } });
  rpc = await startRpcServer({ server: cluster.server, tls: { caPem: ca.certPem, ...serverCert }, region: 'global', clock, rng: rng.fork() });
  dir = mkdtempSync(join(tmpdir(), 'nomadts-cli-cluster-'));
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  writeFileSync(join(dir, 'cli.pem'), cli.certPem);
  writeFileSync(join(dir, 'cli-key.pem'), cli.keyPem);
  env = {
    NOMADTS_ADDR: `127.0.0.1:${rpc.port}`,
    NOMADTS_CACERT: join(dir, 'ca.pem'),
    NOMADTS_CLIENT_CERT: join(dir, 'cli.pem'),
    NOMADTS_CLIENT_KEY: join(dir, 'cli-key.pem'),
  };
}, 30_000);

afterAll(async () => {
  await rpc.close();
  await cluster.server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('job run', () => {
  it('places hello-web, prints the monitor lines and exits 0', async () => {
    const r = await run(jobRun, [HELLO]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^==> Monitoring evaluation "[0-9a-f]{8}"$/);
    expect(lines[1]).toBe('    Evaluation triggered by job "hello-web"');
    expect(lines.filter((l) => /^ {4}Allocation "[0-9a-f]{8}" created: node "[0-9a-f]{8}", group "web"$/.test(l))).toHaveLength(2);
    expect(r.stdout).toContain('    Evaluation status changed: "pending" -> "complete"\n');
    expect(r.stdout).toMatch(/==> Evaluation "[0-9a-f]{8}" finished with status "complete"\n$/);
    // As Nomad: the allocations, then the status change, then the verdict.
    expect(r.stdout.indexOf('Allocation "')).toBeLessThan(r.stdout.indexOf('Evaluation status changed'));
  });

  it('exits 2 and names the constraint when nobody can run the job', async () => {
    const r = await run(jobRun, [writeJob('impossible.hcl', impossible)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('finished with status "complete" but failed to place all allocations:');
    expect(r.stdout).toContain('    Task Group "g" (failed to place 1 allocation):');
    expect(r.stdout).toContain('      * Nodes evaluated: 6, filtered: 6, exhausted: 0');
    expect(r.stdout).toMatch(/\* Constraint "[^"]*kernel\.name[^"]*plan9": 6 nodes excluded by filter/);
    expect(r.stdout).toMatch(/Evaluation "[0-9a-f]{8}" waiting for additional capacity to place remainder/);
  });

  it('-detach prints the evaluation id and returns', async () => {
    const file = writeJob('detached.hcl', readFileSync(HELLO, 'utf8').replace('job "hello-web"', 'job "hello-world"'));
    const r = await run(jobRun, ['-detach', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Job registration successful\nEvaluation ID: [0-9a-f-]{36}\n$/);
    await cluster.settle();
  });

  it('a bad job file exits 1 with file:line and contacts nobody', async () => {
    const bad = writeJob('bad.hcl', 'job "x" {\n  group "g" {\n    count = -1\n    task "t" {\n      driver = "raw_exec"\n    }\n  }\n}\n');
    const r = await run(jobRun, [bad], { NOMADTS_ADDR: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:`);
    expect(r.stderr).toMatch(/^Error parsing job:\n {2}\* /);
  });

  it('a -check-index that does not match is refused', async () => {
    const r = await run(jobRun, ['-check-index', '0', HELLO]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: /);
  });
});

describe('job status, status and job inspect', () => {
  it('lists the jobs in a table that fits 80 columns', async () => {
    for (const cmd of [jobStatus, status]) {
      const r = await run(cmd, []);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID +Type +Priority +Status +Submit Date$/);
      expect(lines.slice(1).map((l) => l.split(/ +/)[0])).toEqual(['hello-web', 'hello-world', 'impossible']);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    }
  });

  it('shows one job: the group summary, evaluations and allocations', async () => {
    const r = await run(jobStatus, ['hello-web']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ID += hello-web$/m);
    expect(r.stdout).toMatch(/^Task Group +Desired +Placed +Running +Failed +Complete +Lost\nweb +2 +2 +0 +0 +0 +0$/m);
    expect(r.stdout).toMatch(/^Latest Evaluations\nID +Priority +Triggered By +Job ID +Status +Placement Failures\n[0-9a-f]{8} +50 +job-register +hello-web +complete +false$/m);
    expect(r.stdout.match(/^[0-9a-f]{8} +[0-9a-f]{8} +web +0 +run +pending/gm)).toHaveLength(2);
    for (const l of r.stdout.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('shows the placement failure of a blocked job', async () => {
    const r = await run(jobStatus, ['impossible']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Placement Failure\nTask Group "g" \(failed to place 1 allocation\):\n {2}\* Nodes evaluated: 6, filtered: 6/);
  });

  it('-json prints the domain objects', async () => {
    const r = await run(jobStatus, ['-json', 'hello-web']);
    const v = JSON.parse(r.stdout) as { job: Job; summary: { group: string; placed: number }[]; allocations: Allocation[] };
    expect(v.job.id).toBe('hello-web');
    expect(v.summary).toEqual([expect.objectContaining({ group: 'web', desired: 2, placed: 2 })]);
    expect(v.allocations).toHaveLength(2);
    const list = JSON.parse((await run(status, ['--json'])).stdout) as Job[];
    expect(list.map((j) => j.id)).toEqual(['hello-web', 'hello-world', 'impossible']);
  });

  it('resolves job prefixes: exact wins, unique prefix resolves, ambiguous lists the matches', async () => {
    expect((await run(jobStatus, ['imposs'])).stdout).toMatch(/^ID += impossible$/m);
    const amb = await run(jobStatus, ['hello-w']);
    expect(amb.code).toBe(1);
    expect(amb.stderr).toBe('Error: prefix "hello-w" matches 2 jobs, give more of the id: hello-web, hello-world\n');
    const none = await run(jobStatus, ['nope']);
    expect(none).toMatchObject({ code: 1, stderr: 'Error: no job with id or prefix "nope"\n' });
  });

  it('job inspect prints the registered job as JSON', async () => {
    const r = await run(jobInspect, ['hello-web']);
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout) as Job;
    expect(job.id).toBe('hello-web');
    expect(job.taskGroups[0]!.count).toBe(2);
    expect(job.version).toBe(0);
  });
});

describe('job plan', () => {
  it('an unchanged job plans no changes and exits 0', async () => {
    const r = await run(jobPlan, [HELLO]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Task Group: "web" (2 ignore)');
    expect(r.stdout).toContain('- All tasks successfully allocated.');
    expect(r.stdout).not.toMatch(/^ {2}[~+-] /m); // no field changes
    expect(r.code).toBe(0);
  });

  it('a changed count exits 1 with the annotation, and nothing is written', async () => {
    const file = writeJob('hello-3.hcl', readFileSync(HELLO, 'utf8').replace('count = 2', 'count = 3'));
    const before = cluster.server.state();
    const r = await run(jobPlan, [file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\+\/- Job: "hello-web"\n {2}~ group "web": count: 2 => 3\n\+\/- Task Group: "web" \(1 create[^)]*\)$/m);
    expect(r.stdout).toMatch(/nomadts job run -check-index \d+ /);
    expect(cluster.server.state()).toBe(before);
  });

  it('a plan that cannot place says why; a parse error exits 255', async () => {
    const r = await run(jobPlan, [join(dir, 'impossible.hcl')]);
    expect(r.stdout).toContain('- WARNING: Failed to place all allocations.');
    expect(r.stdout).toMatch(/Constraint "[^"]*plan9": 6 nodes excluded by filter/);
    expect((await run(jobPlan, [join(dir, 'bad.hcl')])).code).toBe(255);
  });
});

describe('node commands', () => {
  it('node status lists the nodes with short ids', async () => {
    const r = await run(nodeStatus, []);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +Node Pool +DC +Name +Class +Drain +Eligibility +Status$/);
    expect(lines).toHaveLength(7);
    for (const n of cluster.nodes) expect(lines.some((l) => l.startsWith(`${n.id.slice(0, 8)}  `))).toBe(true);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('node eligibility -disable changes it (by unique prefix), -enable restores it', async () => {
    const node = cluster.nodes[0]!;
    const others = cluster.nodes.slice(1).map((n) => n.id);
    let len = 1;
    while (others.some((id) => id.startsWith(node.id.slice(0, len)))) len++;
    const prefix = node.id.slice(0, len);
    const r = await run(nodeEligibility, ['-disable', prefix]);
    expect(r).toMatchObject({ code: 0, stdout: `Node "${node.id.slice(0, 8)}" scheduling eligibility set: ineligible for scheduling\n` });
    const shown = JSON.parse((await run(nodeStatus, ['-json', prefix])).stdout) as { node: Node };
    expect(shown.node.schedulingEligibility).toBe('ineligible');
    expect((await run(nodeEligibility, ['-enable', node.id])).code).toBe(0);
    expect(cluster.server.state().nodeByID(node.id)!.schedulingEligibility).toBe('eligible');
    const neither = await run(nodeEligibility, [node.id]);
    expect(neither).toMatchObject({ code: 1, stderr: 'Error: give exactly one of -enable or -disable\n' });
  });

  it('node status of one node lists its allocations', async () => {
    const alloc = cluster.server.state().allocsByJob('default', 'hello-web')[0]!;
    const r = await run(nodeStatus, [alloc.nodeId.slice(0, 8)]);
    expect(r.stdout).toMatch(new RegExp(`^ID +\\= ${alloc.nodeId}$`, 'm'));
    expect(r.stdout).toContain(alloc.id.slice(0, 8));
  });
});

describe('eval and alloc commands', () => {
  it('eval status shows the failed placement metrics', async () => {
    const ev = cluster.server.state().evalsByJob('default', 'impossible').find((e) => e.triggeredBy === 'job-register')!;
    const r = await run(evalStatus, [ev.id.slice(0, 8)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Placement Failures += true$/m);
    expect(r.stdout).toContain('Failed Placements\nTask Group "g" (failed to place 1 allocation):\n  * Nodes evaluated: 6, filtered: 6, exhausted: 0\n');
    expect(r.stdout).toMatch(/Constraint "[^"]*plan9": 6 nodes excluded by filter/);
    const j = JSON.parse((await run(evalStatus, ['-json', ev.id])).stdout) as Evaluation;
    expect(j.failedTgAllocs.g!.nodesFiltered).toBe(6);
  });

  it('eval list filters by job; -json parses', async () => {
    const r = await run(evalList, ['-job', 'hello-web']);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').slice(1).every((l) => / hello-web /.test(l))).toBe(true);
    const all = JSON.parse((await run(evalList, ['-json'])).stdout) as Evaluation[];
    expect(new Set(all.map((e) => e.jobId))).toEqual(new Set(['hello-web', 'hello-world', 'impossible']));
    expect((await run(evalList, ['-status', 'sleepy'])).stderr).toMatch(/^Error: -status must be one of/);
  });

  it('alloc status shows the placement metrics and node scores', async () => {
    const alloc = cluster.server.state().allocsByJob('default', 'hello-web')[0]!;
    const r = await run(allocStatus, [alloc.id.slice(0, 8)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ID +\\= ${alloc.id}$`, 'm'));
    expect(r.stdout).toMatch(/Placement Metrics\n {2}\* Nodes evaluated: \d+, filtered: \d+, exhausted: \d+\n/);
    expect(r.stdout).toMatch(/^Node +.*binpack.*final score$/m);
    expect(r.stdout).toContain(alloc.nodeId.slice(0, 8));
    for (const l of r.stdout.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    const j = JSON.parse((await run(allocStatus, ['-json', alloc.id])).stdout) as Allocation;
    expect(j.metrics.scoreMetaData.length).toBeGreaterThan(0);
  });

  it('an unknown allocation is a clear error', async () => {
    expect(await run(allocStatus, ['ffffffff-nope'])).toMatchObject({ code: 1, stderr: 'Error: no allocation with id or prefix "ffffffff-nope"\n' });
  });
});

describe('job stop', () => {
  it('stops the job and its allocations', async () => {
    const r = await run(jobStop, ['hello-world']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^==> Monitoring evaluation "[0-9a-f]{8}"\n {4}Evaluation triggered by job "hello-world"\n/);
    const job = cluster.server.state().jobByID('default', 'hello-world')!;
    expect(job.stop).toBe(true);
    expect(cluster.server.state().allocsByJob('default', 'hello-world').every((a) => a.desiredStatus === 'stop')).toBe(true);
    expect((await run(jobStatus, ['hello-world'])).stdout).toMatch(/^Status += dead \(stopped\)$/m);
  });

  it('-purge removes it', async () => {
    const r = await run(jobStop, ['-purge', '-detach', 'impossible']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(cluster.server.state().jobByID('default', 'impossible')).toBeUndefined();
  });
});

describe('without a server', () => {
  it('version prints the package version and contacts nobody', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const c = capture();
    expect(await version([], c.out)).toBe(0);
    expect(c.stdout()).toBe(`nomadts v${pkg.version}\n`);
  });

  it('an unreachable address names it and suggests starting an agent', async () => {
    const r = await run(status, ['-address', '127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: cannot reach the server at 127\.0\.0\.1:1: /);
    expect(r.stderr).toContain('nomadts agent -dev');
    const viaEnv = await run(nodeStatus, [], { ...env, NOMADTS_ADDR: 'https://127.0.0.1:1' });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toContain('127.0.0.1:1');
  });

  it('missing TLS settings and bad flags are errors, not stack traces', async () => {
    expect((await run(status, [], {})).stderr).toMatch(/^Error: NOMADTS_CACERT is not set/);
    expect(await run(status, ['-bogus'])).toMatchObject({ code: 1, stderr: 'Error: unknown flag -bogus\n' });
    expect(await run(jobStatus, ['a', 'b'])).toMatchObject({ code: 1 });
  });
});

describe('helpers', () => {
  it('uniqueMatch: exact, unique, ambiguous, none', () => {
    const ids = ['abc123', 'abd456', 'abc'];
    expect(uniqueMatch('node', 'abc', ids)).toBe('abc');
    expect(uniqueMatch('node', 'abd', ids)).toBe('abd456');
    expect(() => uniqueMatch('node', 'ab', ids)).toThrow('prefix "ab" matches 3 nodes, give more of the id: abc123, abd456, abc');
    expect(() => uniqueMatch('node', 'x', ids)).toThrow('no node with id or prefix "x"');
  });

  it('table narrows the widest column to fit 80 columns', () => {
    const t = table(['A', 'B'], [['x'.repeat(100), 'short']]);
    const lines = t.trimEnd().split('\n');
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    expect(lines[1]).toMatch(/x… {2}short$/);
  });

  it('parseFlags: one or two dashes, = or a space, and a missing value', () => {
    const f = parseFlags(['--json', '-address=h:1', 'job'], { bool: ['json'] });
    expect([...f.bool]).toEqual(['json']);
    expect(f.value.get('address')).toBe('h:1');
    expect(f.positional).toEqual(['job']);
    expect(() => parseFlags(['-address'], {})).toThrow('-address needs a value');
    expect(() => parseFlags(['-json=1'], { bool: ['json'] })).toThrow('-json takes no value');
  });

  it('staleNote: says how old a -stale answer may be only when the server is out of touch', () => {
    expect(staleNote(undefined)).toBe('');
    expect(staleNote({ knownLeader: true, lastContactMs: 0 })).toBe('');
    expect(staleNote({ knownLeader: true, lastContactMs: 4_000 })).toBe('');
    expect(staleNote({ knownLeader: true, lastContactMs: 12_345 })).toMatch(/last in contact with the leader 12\.3 s ago/);
    expect(staleNote({ knownLeader: false, lastContactMs: 800 })).toMatch(/knows no leader \(last heard from one 0\.8 s ago\)/);
    expect(staleNote({ knownLeader: false, lastContactMs: -1 })).toMatch(/never heard from a leader/);
  });
});
