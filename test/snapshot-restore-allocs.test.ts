/**
 * operator snapshot restore with client agents: `nomadts dev up` (three servers, two raw_exec
 * clients, real processes). A service job runs two allocations; `operator snapshot save`; the job
 * is purged (its allocations stopped); `operator snapshot restore` brings the job and the saved
 * allocations back on every server (read from each), with the status the file recorded; the
 * clients, whose runners for them had ended, report that again (no phantom `running`), and running
 * the job again places new allocations.
 * Waits poll for a state in bounded loops; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../agent/api/index.js';
import { cliMain, pollUntil, runCli, isolatedEnv } from './e2e.js';

const built = existsSync(cliMain);

let dir: string;
let env: NodeJS.ProcessEnv;

const cli = (args: readonly string[], extra: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => runCli(args, { ...env, ...extra }, { timeoutMs: 120_000 });
const until = <T>(what: string, probe: () => Promise<T | undefined>, tries = 150): Promise<T> => pollUntil(what, probe, { tries, everyMs: 200 });

beforeAll(() => {
  ({ dir, env } = isolatedEnv('restore-allocs'));
});

afterAll(async () => {
  if (built) await cli(['dev', 'down', '-dir', join(dir, 'cluster')]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!built)('operator snapshot restore with client agents (dev up)', () => {
  it('brings a purged job and its allocations back on every server', async () => {
    const cdir = join(dir, 'cluster');
    const up = await cli(['dev', 'up', '-dir', cdir]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const servers = (JSON.parse(readFileSync(join(cdir, 'cluster.json'), 'utf8')) as { members: { name: string; role: string; address: string }[] }).members.filter((m) => m.role === 'server');
    expect(servers).toHaveLength(3);
    const opened: ApiClient[] = [];
    const api = (address: string): ApiClient => {
      const c = ApiClient.fromEnv({ ...env, NOMADTS_ADDR: address });
      opened.push(c);
      return c;
    };

    const job = join(dir, 'sleeper.nomad.hcl');
    writeFileSync(job, `job "sleeper" {\n  group "g" {\n    count = 2\n    task "t" {\n      driver = "raw_exec"\n      config {\n        command = "sleep"\n        args    = ["300"]\n      }\n    }\n  }\n}\n`);
    expect((await cli(['job', 'run', '-detach', job])).code).toBe(0);
    const a0 = api(servers[0]!.address);
    const running = await until('both allocations running', async () => {
      const allocs = (await a0.listAllocs({ jobId: 'sleeper' })).value;
      return allocs.length === 2 && allocs.every((a) => a.clientStatus === 'running') ? allocs : undefined;
    });
    const savedIds = running.map((a) => a.id).sort();

    const file = join(dir, 'backup.snap');
    const save = await cli(['operator', 'snapshot', 'save', file]);
    expect(save.stderr).toBe('');

    const stop = await cli(['job', 'stop', '-purge', '-detach', 'sleeper']);
    expect(stop.code).toBe(0);
    await until('the job purged and its allocations stopped', async () => {
      const jobs = (await a0.listJobs()).value;
      const allocs = (await a0.listAllocs({ jobId: 'sleeper' })).value;
      return jobs.length === 0 && allocs.every((a) => a.clientStatus !== 'running') ? true : undefined;
    });

    const r = await cli(['operator', 'snapshot', 'restore', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const s of servers) {
      const c = api(s.address);
      await until(`${s.name} has the job and its saved allocations`, async () => {
        const jobs = (await c.listJobs()).value.map((j) => j.id);
        const allocs = (await c.listAllocs({ jobId: 'sleeper' })).value;
        return jobs.includes('sleeper') && JSON.stringify(allocs.map((a) => a.id).sort()) === JSON.stringify(savedIds) && allocs.every((a) => a.desiredStatus === 'run') ? true : undefined;
      });
    }
    // The clients had stopped those allocations: they say so again, so no server shows an
    // allocation running whose task is gone (as in Nomad, a completed allocation is not replaced
    // by itself; running the job again does).
    await until('the saved allocations reported ended on every server', async () => {
      for (const s of servers) {
        const allocs = (await api(s.address).listAllocs({ jobId: 'sleeper' })).value;
        if (allocs.length !== 2 || allocs.some((a) => a.clientStatus === 'running')) return undefined;
      }
      return true;
    });
    expect((await cli(['job', 'run', '-detach', job])).code).toBe(0);
    await until('the job running again with new allocations', async () => {
      const fresh = (await a0.listAllocs({ jobId: 'sleeper' })).value.filter((a) => !savedIds.includes(a.id) && a.clientStatus === 'running');
      return fresh.length === 2 ? true : undefined;
    });
    for (const c of opened) c.close();
  }, 240_000);
});
