/**
 * `nomadts dev up` / `nomadts dev down` with the built CLI: three servers and two client agents
 * as real background processes on loopback. Up elects a leader, both nodes become ready, a
 * raw_exec job is placed and runs; up again says it is already up; down leaves no process of
 * the cluster (tasks included) and removes the discovery file; down again says nothing runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, pidAlive } from '../agent/api/index.js';
import type { CliRun } from './e2e.js';
import { cliMain, isolatedEnv, pollUntil, processesWith, runCli } from './e2e.js';

const built = existsSync(cliMain);

let dir: string;
let env: NodeJS.ProcessEnv;

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args, env, { timeoutMs: 120_000 });
const until = <T>(what: string, probe: () => Promise<T | undefined>, tries = 150): Promise<T> => pollUntil(what, probe, { tries, everyMs: 200 });
/** Processes whose command line mentions the cluster dir (agents, and tasks run in its alloc dirs). */
const processesOf = (d: string): number[] => processesWith(d);

beforeAll(() => {
  ({ dir, env } = isolatedEnv('dev-cluster'));
});

afterAll(async () => {
  if (built) await cli(['dev', 'down', '-dir', join(dir, 'cluster')]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!built)('nomadts dev up / dev down', () => {
  it('refuses bad flags, naming them, and starts nothing', async () => {
    const r = await cli(['dev', 'up', '-dir', join(dir, 'bad'), '-servers', '9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/-servers must be a whole number between 1 and 7, got "9"/);
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('starts three servers and two clients, places a job, says when already up, and stops everything', async () => {
    const cdir = join(dir, 'cluster');
    const up = await cli(['dev', 'up', '-dir', cdir]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/3 servers up, leader server-\d/);
    expect(up.stdout).toMatch(/2 clients ready/);
    expect(up.stdout).toMatch(/^export NOMADTS_ADDR=127\.0\.0\.1:\d+$/m);

    const state = JSON.parse(readFileSync(join(cdir, 'cluster.json'), 'utf8')) as { members: { name: string; pid: number; role: string }[]; discoveryFile: string };
    expect(state.members.map((m) => m.name).sort()).toEqual(['client-1', 'client-2', 'server-1', 'server-2', 'server-3']);
    expect(state.members.every((m) => pidAlive(m.pid))).toBe(true);
    expect(existsSync(state.discoveryFile)).toBe(true);

    // The CLI finds the cluster through the discovery file alone.
    const nodes = await cli(['node', 'status']);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout.split('\n').filter((l) => /\bready$/.test(l.trim()))).toHaveLength(2);
    const members = await cli(['server', 'members']);
    expect(members.stdout.split('\n').filter((l) => /^server-\d/.test(l))).toHaveLength(3);

    // A job with a long-running raw_exec task is placed on a client node and runs there.
    const job = join(dir, 'sleeper.nomad.hcl');
    writeFileSync(job, `job "sleeper" {\n  group "g" {\n    count = 2\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "sleep"\n        args    = ["300"]\n      }\n    }\n  }\n}\n`);
    const run = await cli(['job', 'run', '-detach', job]);
    expect(run.code).toBe(0);
    const api = ApiClient.fromEnv(env);
    try {
      const running = await until('both allocations running', async () => {
        const allocs = (await api.listAllocs({ jobId: 'sleeper' })).value;
        return allocs.length === 2 && allocs.every((a) => a.clientStatus === 'running') ? allocs : undefined;
      });
      const nodeIds = new Set((await api.listNodes()).value.map((n) => n.id));
      for (const a of running) expect(nodeIds.has(a.nodeId)).toBe(true);
    } finally {
      api.close();
    }
    expect(processesOf(cdir).length).toBeGreaterThanOrEqual(5);

    const again = await cli(['dev', 'up', '-dir', cdir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already up in .* \(5 processes\)/);

    const down = await cli(['dev', 'down', '-dir', cdir]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/Dev cluster stopped: .*server-1.*client-2/);
    // Exited agents are reaped by init shortly after (they were detached from `dev up`).
    await until('every agent process gone', async () => (state.members.every((m) => !pidAlive(m.pid)) ? true : undefined), 50);
    // No agent nor task (the sleeps run from the clients' alloc dirs under the cluster dir) is left.
    expect(await until('no process of the cluster left', async () => (processesOf(cdir).length === 0 ? true : undefined), 50)).toBe(true);
    expect(existsSync(state.discoveryFile)).toBe(false);

    const downAgain = await cli(['dev', 'down', '-dir', cdir]);
    expect(downAgain.code).toBe(0);
    expect(downAgain.stdout).toMatch(/No dev cluster in .*: nothing to stop/);
  }, 180_000);
});
