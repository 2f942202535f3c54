/**
 * Three nomadts servers as real processes on loopback (the built CLI: `agent -config sN.hcl`,
 * mutual TLS, Raft on disk). Jobs are registered through a follower (forwarded to the leader);
 * the leader is SIGKILLed; a new leader is elected and still has every acknowledged job; the
 * killed server restarts from its data dir and catches up. Waits poll for a state in bounded
 * loops; nothing asserts a duration.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../agent/api/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
import { realCluster } from './cluster-fixture.js';
import { cliMain, pollUntil, runCli, trueBatchJobHcl } from './e2e.js';

const main = cliMain;
const built = existsSync(main);

const jobHcl = trueBatchJobHcl;

const cli = (env: Record<string, string>, args: string[]): ReturnType<typeof runCli> => runCli(args, { ...process.env, ...env });
const until = <T>(what: string, f: () => Promise<T | undefined>, tries = 200): Promise<T> => pollUntil(what, f, { tries, everyMs: 150 });

describe.skipIf(!built)('a three-server cluster of real processes', () => {
  const fixture = realCluster('raft-cluster');

  it('loses no acknowledged job when the leader is SIGKILLed, and the killed server catches up', async () => {
    const leader = await fixture.cluster.leader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const viaFollower = ApiClient.fromEnv(fixture.cluster.cliEnv(follower));
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = `job-${i}`;
      const job = await parseJobText(jobHcl(id), { filename: `${id}.hcl` });
      const r = await viaFollower.registerJob(job);
      expect(r.index).toBeGreaterThan(0);
      acked.push(id);
    }
    // Read-your-writes on the follower that forwarded them.
    expect((await viaFollower.listJobs()).value.map((j) => j.id).sort()).toEqual(acked);

    const killed = await fixture.cluster.killLeader();
    expect(killed).toBe(leader);
    const next = await fixture.cluster.leader(30_000);
    expect(next).not.toBe(killed);
    const viaNew = ApiClient.fromEnv(fixture.cluster.cliEnv(next));
    expect((await viaNew.listJobs()).value.map((j) => j.id).sort()).toEqual(acked);
    const after = await parseJobText(jobHcl('job-after'), { filename: 'after.hcl' });
    await viaNew.registerJob(after);

    await fixture.cluster.restart(killed);
    const viaRestarted = ApiClient.fromEnv(fixture.cluster.cliEnv(killed));
    const ids = await until('the restarted server has every job', async () => {
      const got = (await viaRestarted.listJobs()).value.map((j) => j.id).sort();
      return got.length === acked.length + 1 ? got : undefined;
    });
    expect(ids).toEqual([...acked, 'job-after'].sort());
  }, 180_000);

  it('operator raft list-peers shows every server with its match index; server members the Raft view', async () => {
    const env = fixture.cluster.cliEnv(0);
    const r = await until('list-peers names all three servers with a leader', async () => {
      const out = await cli(env, ['operator', 'raft', 'list-peers']);
      return out.code === 0 && /leader/.test(out.stdout) && ['s1', 's2', 's3'].every((s) => out.stdout.includes(s)) ? out : undefined;
    });
    expect(r.stdout).toMatch(/^Node\s+ID\s+Address\s+State\s+Voter\s+Match Index\s+Lag/m);
    const m = await cli(env, ['server', 'members']);
    expect(m.code).toBe(0);
    expect(m.stdout.split('\n').filter((l) => /^s\d/.test(l))).toHaveLength(3);
    const cert = await cli({ ...env, NOMADTS_CLIENT_CERT: join(fixture.dir, 'tls', 'server.pem'), NOMADTS_CLIENT_KEY: join(fixture.dir, 'tls', 'server-key.pem') }, ['operator', 'raft', 'remove-peer']);
    expect(cert.code).toBe(1);
    expect(cert.stderr).toMatch(/-peer-id is required/);
  }, 120_000);

  it('operator snapshot save writes the state at a read point; inspect shows its index and rows', async () => {
    const env = fixture.cluster.cliEnv(1);
    const file = join(fixture.dir, 'state.snap');
    const saved = await cli(env, ['operator', 'snapshot', 'save', file]);
    expect(saved.stderr).toBe('');
    expect(saved.stdout).toMatch(/^State file written to .*state\.snap \(index \d+, \d+ bytes\)$/m);
    const r = await cli(env, ['operator', 'snapshot', 'inspect', '-json', file]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { format: string; index: number; rows: Record<string, number> };
    expect(info.format).toBe('nomadts-state');
    expect(info.index).toBeGreaterThan(0);
    expect(info.rows.jobs).toBe(6);
    const bad = await cli(env, ['operator', 'snapshot', 'inspect', join(fixture.dir, 's1.hcl')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a nomadts state file/);
  }, 120_000);

  it('transfers leadership on request', async () => {
    const env = fixture.cluster.cliEnv(0);
    const before = await fixture.cluster.leader();
    const target = [0, 1, 2].find((i) => i !== before)!;
    const r = await cli(env, ['operator', 'raft', 'transfer-leadership', '-peer-id', `s${target + 1}`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await fixture.cluster.leader()).toBe(target);
  }, 120_000);
});
