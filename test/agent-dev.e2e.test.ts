/**
 * `nomadts agent -dev` end to end, as a newcomer uses it: the built CLI (dist/, `npm test` builds
 * first) starts a dev agent in a child process; other CLI processes find it through the
 * discovery file alone (a private XDG_RUNTIME_DIR, no NOMADTS_* variable) and run real jobs with
 * raw_exec on this machine, every connection on mutual TLS. Every wait polls for a state in a
 * bounded loop; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { createCA, createCert } from '../agent/tls/index.js';
import type { CliRun } from './e2e.js';
import { cliMain, killAll, pollUntil, processesWith, root, runCli, sleeperJobHcl, isolatedEnv } from './e2e.js';

const main = cliMain;

let dir: string;
let env: NodeJS.ProcessEnv;
let agent: ChildProcess | undefined;
let agentOut = '';
let agentExit: Promise<number | null>;
// The output of every agent process, for the messages of failed waits.
let rpcAddr = '';

const cli = (args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> => runCli(args, { ...env, ...extraEnv }, { timeoutMs: 30_000 });

const until = <T>(what: string, probe: () => Promise<T | undefined>, tries = 120, everyMs = 250): Promise<T> =>
  pollUntil(what, probe, { tries, everyMs, context: () => `--- agent output ---\n${agentOut}` });

interface AllocJson {
  id: string;
  clientStatus: string;
  desiredStatus: string;
  resources: { ports: { label: string; value: number }[] };
  taskStates: Record<string, { state: string; failed: boolean; restarts: number }>;
}

async function jobAllocs(job: string): Promise<AllocJson[] | undefined> {
  const r = await cli(['job', 'status', job, '-json']);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { allocations: AllocJson[] }).allocations;
}

function httpGet(port: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((res) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 2_000 }, (resp) => {
      let body = '';
      resp.setEncoding('utf8');
      resp.on('data', (c: string) => (body += c));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, body }));
    });
    req.on('error', () => res(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => { s.destroy(); res(true); });
    s.on('error', () => res(false));
  });
}

interface AgentProcess {
  child: ChildProcess;
  exit: Promise<number | null>;
  rpcAddr: string;
  output: () => string;
}

/** Start `nomadts agent -dev` on a free port and wait until its node has registered. */
async function startAgentProcess(dataDir: string): Promise<AgentProcess> {
  const child = spawn(process.execPath, [main, 'agent', '-dev', '-data-dir', dataDir, '-rpc-port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; agentOut += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; agentOut += c; });
  const addr = await until('the agent to be ready', async () => /==> nomadts agent ready: rpc (\S+)/.exec(out)?.[1] ?? (child.exitCode !== null ? 'exited' : undefined), 120);
  if (addr === 'exited') throw new Error(`the agent exited early:\n${out}`);
  return { child, exit, rpcAddr: addr, output: () => out };
}

const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  ({ dir, env } = isolatedEnv('e2e'));
  const a = await startAgentProcess(join(dir, 'data'));
  agent = a.child;
  agentExit = a.exit;
  rpcAddr = a.rpcAddr;
});

afterAll(async () => {
  await killAll(children, dir);
  rmSync(dir, { recursive: true, force: true });
});

describe('nomadts agent -dev', () => {
  it('prints the exports and publishes itself in the discovery file', () => {
    expect(agentOut).toContain(`export NOMADTS_ADDR=${rpcAddr}`);
    expect(agentOut).toMatch(/export NOMADTS_CACERT=\S+\.pem/);
    const discovery = JSON.parse(readFileSync(join(dir, 'run', 'nomadts-dev-agent.json'), 'utf8')) as Record<string, unknown>;
    expect(discovery.rpcAddr).toBe(rpcAddr);
    expect(discovery.pid).toBe(agent!.pid);
    expect(JSON.parse(readFileSync(join(dir, 'data', 'agent.json'), 'utf8'))).toEqual(discovery);
  });

  it('runs the batch job to completion through its restarts (CLI found the agent by itself)', async () => {
    const run = await cli(['job', 'run', 'jobs/batch-retry.nomad.hcl']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/finished with status "complete"/);
    const alloc = await until('batch-retry to complete', async () => {
      const allocs = await jobAllocs('batch-retry');
      const a = allocs?.[0];
      return a !== undefined && (a.clientStatus === 'complete' || a.clientStatus === 'failed') ? a : undefined;
    });
    expect(alloc.clientStatus).toBe('complete');
    // The task fails twice, then succeeds on its third attempt (restart attempts = 3).
    expect(alloc.taskStates.flaky).toMatchObject({ state: 'dead', failed: false, restarts: 2 });
  });

  it('refuses a job no node can run with exit 2, naming the constraint', async () => {
    const file = join(dir, 'impossible.nomad.hcl');
    writeFileSync(file, `job "impossible" {
  group "g" {
    constraint {
      attribute = "\${attr.kernel.name}"
      value     = "plan9"
    }
    task "t" {
      driver = "raw_exec"
      config {
        command = "sleep"
        args    = ["1"]
      }
    }
  }
}
`);
    const run = await cli(['job', 'run', file]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/Constraint ".*kernel\.name.*plan9.*": 1 node excluded by filter/);
  });

  it('serves hello-web on its allocated ports, and stops it', async () => {
    const run = await cli(['job', 'run', 'jobs/hello-web.nomad.hcl']);
    expect(run.code).toBe(0);
    const allocs = await until('both hello-web allocations to run', async () => {
      const a = await jobAllocs('hello-web');
      return a !== undefined && a.length === 2 && a.every((x) => x.clientStatus === 'running') ? a : undefined;
    });
    const ports: number[] = [];
    for (const a of allocs) {
      const st = await cli(['alloc', 'status', '-json', a.id]);
      expect(st.code).toBe(0);
      const port = (JSON.parse(st.stdout) as AllocJson).resources.ports.find((p) => p.label === 'http')?.value;
      expect(port).toBeGreaterThan(0);
      ports.push(port!);
      const got = await until(`http on port ${port}`, () => httpGet(port!));
      expect(got.status).toBe(200);
      expect(got.body).toContain(`hello from ${a.id}`);
    }
    const stop = await cli(['job', 'stop', 'hello-web']);
    expect(stop.code).toBe(0);
    for (const port of ports) await until(`port ${port} to close`, async () => ((await portOpen(port)) ? undefined : true));
    await until('hello-web allocations to be complete', async () => {
      const a = await jobAllocs('hello-web');
      return a !== undefined && a.every((x) => x.clientStatus === 'complete' || x.clientStatus === 'failed') ? true : undefined;
    });
  });

  it('refuses a client certificate from another CA', async () => {
    const ca = await createCA({ commonName: 'Some other CA' });
    const cli2 = await createCert({ ca, role: 'cli' });
    writeFileSync(join(dir, 'other-ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'other-cli.pem'), cli2.certPem);
    writeFileSync(join(dir, 'other-cli-key.pem'), cli2.keyPem);
    const discovery = JSON.parse(readFileSync(join(dir, 'run', 'nomadts-dev-agent.json'), 'utf8')) as { caFile: string };
    // The server refuses the foreign client certificate (our CA still verifies the server) ...
    const foreignClient = await cli(['job', 'status'], {
      NOMADTS_ADDR: rpcAddr, NOMADTS_CACERT: discovery.caFile, NOMADTS_CLIENT_CERT: join(dir, 'other-cli.pem'), NOMADTS_CLIENT_KEY: join(dir, 'other-cli-key.pem'),
    });
    expect(foreignClient.code).toBe(1);
    // gRPC reports the refused handshake as a failure to connect (ECONNRESET or "Failed to connect").
    expect(foreignClient.stderr).toMatch(/^Error: cannot reach the server at /);
    expect(foreignClient.stderr).toContain('the TLS handshake failed');
    // ... and a CLI trusting only the other CA refuses the server.
    const foreignAll = await cli(['job', 'status'], {
      NOMADTS_ADDR: rpcAddr, NOMADTS_CACERT: join(dir, 'other-ca.pem'), NOMADTS_CLIENT_CERT: join(dir, 'other-cli.pem'), NOMADTS_CLIENT_KEY: join(dir, 'other-cli-key.pem'),
    });
    expect(foreignAll.code).toBe(1);
    expect(foreignAll.stderr).toMatch(/^Error: cannot reach the server at /);
    expect(foreignAll.stderr).toContain('the TLS handshake failed');
    // The agent's own cli certificate still works.
    expect((await cli(['job', 'status'])).code).toBe(0);
  });

  it('stops on SIGINT with exit 0, killing its tasks and removing the discovery file', async () => {
    const marker = `nomadts-e2e-sleeper-${process.pid}`;
    const file = join(dir, 'sleeper.nomad.hcl');
    writeFileSync(file, sleeperJobHcl('sleeper', marker, dir));
    expect((await cli(['job', 'run', file])).code).toBe(0);
    await until('the sleeper task to run', async () => (processesWith(marker).length > 0 ? true : undefined));
    agent!.kill('SIGINT');
    expect(await agentExit).toBe(0);
    expect(agentOut).toContain('==> nomadts agent stopped');
    await until('no task process to remain', async () => (processesWith(marker).length === 0 ? true : undefined), 40);
    expect(existsSync(join(dir, 'run', 'nomadts-dev-agent.json'))).toBe(false);
  });

  it('after a crash, a restarted agent whose server lost the allocation kills the tasks the old one left behind, once', async () => {
    const dataDir = join(dir, 'data2');
    const first = await startAgentProcess(dataDir);
    const marker = `nomadts-e2e-orphan-${process.pid}`;
    const file = join(dir, 'orphan.nomad.hcl');
    writeFileSync(file, sleeperJobHcl('orphan', marker, dir));
    expect((await cli(['job', 'run', file])).code).toBe(0);
    await until('the task to run', async () => (processesWith(marker).length > 0 ? true : undefined));
    // The task's state is persisted before the agent can be killed without a goodbye.
    await until('the task handle to be persisted', async () => {
      const allocs = join(dataDir, 'client', 'allocs');
      const ids = existsSync(allocs) ? readdirSync(allocs) : [];
      return ids.some((id) => existsSync(join(allocs, id, 'sleep.json')) && readFileSync(join(allocs, id, 'sleep.json'), 'utf8').includes('"pid"')) ? true : undefined;
    });
    // The task itself (python3), not the short-lived shells around its start, must outlive the agent.
    const task = (list: number[]): number[] => list.filter((pid) => {
      try {
        return /(^|\/)python3[.\d]*$/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '');
      } catch {
        return false;
      }
    });
    const taskPids = await until('the task process itself', async () => (task(processesWith(marker)).length > 0 ? task(processesWith(marker)) : undefined));
    first.child.kill('SIGKILL');
    await first.exit;
    expect(task(processesWith(marker))).toEqual(taskPids);
    // The discovery file names a dead agent now: the CLI ignores it.
    const stale = await cli(['job', 'status']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/NOMADTS_CACERT is not set/);

    // The server's state (kept in the data dir) is lost: the allocation is unknown to it now.
    rmSync(join(dataDir, 'server'), { recursive: true, force: true });
    const second = await startAgentProcess(dataDir);
    await until('the orphaned task to be killed', async () => (processesWith(marker).length === 0 ? true : undefined), 80);
    expect(second.output()).toMatch(/restored alloc \w+: unknown to the server, stopped and removed/);
    await until('the orphan\'s state to be removed', async () => (readdirSync(join(dataDir, 'client', 'allocs')).length === 0 ? true : undefined), 40);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });
});
