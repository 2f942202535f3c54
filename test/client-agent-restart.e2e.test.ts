/**
 * A client-only agent (`agent -config client.hcl`, as in a production cluster) SIGKILLed while
 * its tasks run, then started again on the same data dir: it must reattach to the running task
 * (no second start, same pid) once the servers' first allocation update says the allocation is
 * still to run, and stop (not restart) a task whose allocation was stopped while it was down.
 * The cluster is `nomadts dev up -servers 1 -clients 1` (real processes, mutual TLS).
 * Every wait polls in a bounded loop; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliMain, killProcessesWith, numberLines, pollUntil, processAlive, runCli, isolatedEnv } from './e2e.js';

interface DevState {
  members: { name: string; role: string; pid: number; config: string; log: string }[];
  env: Record<string, string>;
}

let dir: string;
let env: NodeJS.ProcessEnv;
const extraPids: number[] = [];

const job = (id: string, d: string): string => `job "${id}" {
  type = "service"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $$ >> ${d}/starts-${id}; exec sleep 1000", "${d}"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`;

interface AllocJson { id: string; clientStatus: string; desiredStatus: string }

async function allocsOf(id: string): Promise<AllocJson[] | undefined> {
  const r = await runCli(['job', 'status', '-json', id], env);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { allocations: AllocJson[] }).allocations;
}

async function runningAlloc(id: string): Promise<AllocJson | undefined> {
  return (await allocsOf(id))?.find((a) => a.clientStatus === 'running' && a.desiredStatus === 'run');
}

beforeAll(async () => {
  if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run \`npm run build\` first (npm test does)`);
  ({ dir, env } = isolatedEnv('client-agent-restart'));
  const up = await runCli(['dev', 'up', '-dir', join(dir, 'cluster'), '-servers', '1', '-clients', '1'], env, { timeoutMs: 120_000 });
  if (up.code !== 0) throw new Error(`dev up failed:\n${up.stdout}\n${up.stderr}`);
  const state = JSON.parse(readFileSync(join(dir, 'cluster', 'cluster.json'), 'utf8')) as DevState;
  env = { ...env, ...state.env };
}, 180_000);

afterAll(async () => {
  for (const pid of extraPids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  await pollUntil('the restarted client to stop', () => (extraPids.every((p) => !processAlive(p)) ? true : undefined), { tries: 60 }).catch(() => undefined);
  await runCli(['dev', 'down', '-dir', join(dir, 'cluster')], env, { timeoutMs: 60_000 });
  killProcessesWith(dir);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('client-only agent restart (SIGKILL)', () => {
  it('reattaches to a task still wanted and stops one whose allocation was stopped meanwhile, starting neither again', async () => {
    for (const id of ['keep', 'gone']) {
      const file = join(dir, `${id}.hcl`);
      writeFileSync(file, job(id, dir));
      const r = await runCli(['job', 'run', '-detach', file], env);
      expect(r.stderr).toBe('');
      await pollUntil(`${id} running`, () => runningAlloc(id));
    }
    await pollUntil('both tasks started', () => (numberLines(join(dir, 'starts-keep')).length === 1 && numberLines(join(dir, 'starts-gone')).length === 1 ? true : undefined));
    const [keepPid] = numberLines(join(dir, 'starts-keep'));
    const [gonePid] = numberLines(join(dir, 'starts-gone'));

    const state = JSON.parse(readFileSync(join(dir, 'cluster', 'cluster.json'), 'utf8')) as DevState;
    const client = state.members.find((m) => m.role === 'client')!;
    process.kill(client.pid, 'SIGKILL');
    await pollUntil('the client agent to die', () => (processAlive(client.pid) ? undefined : true));
    expect(processAlive(keepPid!)).toBe(true);
    expect(processAlive(gonePid!)).toBe(true);

    // While the client is down, the operator stops one job.
    const stop = await runCli(['job', 'stop', '-detach', 'gone'], env);
    expect(stop.code).toBe(0);

    const fd = openSync(client.log, 'a');
    const again = spawn(process.execPath, [cliMain, 'agent', '-config', client.config], { detached: true, stdio: ['ignore', fd, fd], cwd: join(dir, 'cluster'), env });
    closeSync(fd);
    again.unref();
    extraPids.push(again.pid!);
    const log = (): string => readFileSync(client.log, 'utf8');
    await pollUntil('both allocations restored by the new client process', () => {
      const restored = log().match(/client: restored alloc \w+: .*/g) ?? [];
      return restored.length >= 2 ? restored : undefined;
    }, { tries: 240, context: log });
    expect(log()).toMatch(/client: restored alloc \w+: kept/);

    // The kept task is the same process, started once; the stopped job's task is killed.
    await pollUntil('the stopped job\'s task to be killed', () => (processAlive(gonePid!) ? undefined : true), { context: log });
    await pollUntil('keep reported running by the new client', () => runningAlloc('keep'));
    expect(processAlive(keepPid!)).toBe(true);
    expect(numberLines(join(dir, 'starts-keep'))).toEqual([keepPid]);
    expect(numberLines(join(dir, 'starts-gone'))).toEqual([gonePid]);
    const gone = await allocsOf('gone');
    expect(gone?.every((a) => a.desiredStatus !== 'run')).toBe(true);
  }, 300_000);
});
