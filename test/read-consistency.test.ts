/**
 * Consistent and stale reads on a three-server cluster of real processes (the built CLI,
 * `agent -config sN.hcl`, mutual TLS, Raft on disk). By default a read on any server takes a
 * linearizable read point (ReadIndex confirmed by a quorum) before it answers; with -stale (the
 * API's allow_stale) a server answers from its own state at once. A server cut off from the rest
 * (the others SIGSTOPped) refuses consistent reads with a message that says what to do, and still
 * answers stale ones. Waits poll in bounded loops; nothing asserts a duration.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { ApiClient, optionsFromEnv } from '../agent/api/index.js';
import { NomadError } from '../agent/core/lib/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
import { realCluster } from './cluster-fixture.js';
import { cliMain, runCli, trueBatchJobHcl } from './e2e.js';

/** The CLI notes a -stale answer's age past this many ms of no contact (cli/commands/api-io.ts StaleNoteAfterMs). */
const StaleNoteAfterMs = 5_000;

const main = cliMain;
const built = existsSync(main);

const jobHcl = trueBatchJobHcl;

const cli = (env: Record<string, string>, args: string[]): ReturnType<typeof runCli> => runCli(args, { ...process.env, ...env });

describe.skipIf(!built)('consistent and stale reads on a three-server cluster', () => {
  const fixture = realCluster('reads');
  const stopped: number[] = [];

  // Before the fixture stops the cluster (after-hooks run in reverse order).
  afterAll(() => {
    for (const i of stopped) fixture.cluster.members[i]?.child?.kill('SIGCONT');
  });

  it('a write through one server is seen at once by a consistent read on another', async () => {
    const leader = await fixture.cluster.leader();
    const [a, b] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    const viaA = ApiClient.fromEnv(fixture.cluster.cliEnv(a));
    const viaB = ApiClient.fromEnv(fixture.cluster.cliEnv(b));
    try {
      for (let i = 0; i < 15; i++) {
        const job = await parseJobText(jobHcl(`read-${i}`), { filename: `read-${i}.hcl` });
        const w = await viaA.registerJob(job);
        // No waiting: B's answer must already reflect the acknowledged write.
        const r = await viaB.getJob('default', `read-${i}`);
        expect(r.value.id).toBe(`read-${i}`);
        expect(r.index).toBeGreaterThanOrEqual(w.index);
      }
    } finally {
      viaA.close();
      viaB.close();
    }
  }, 120_000);

  it('a server without a quorum refuses consistent reads and answers stale ones', async () => {
    const leader = await fixture.cluster.leader();
    const lone = [0, 1, 2].find((i) => i !== leader)!;
    const env = fixture.cluster.cliEnv(lone);
    for (const i of [0, 1, 2].filter((x) => x !== lone)) {
      fixture.cluster.members[i]!.child!.kill('SIGSTOP');
      stopped.push(i);
    }
    const consistent = ApiClient.fromEnv(env);
    const stale = new ApiClient({ ...optionsFromEnv(env), stale: true });
    try {
      const err = await consistent.listJobs().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(NomadError);
      expect((err as NomadError).code).toBe('unavailable');
      expect((err as NomadError).message).toMatch(/cannot confirm a consistent read with a quorum.*pass -stale/);

      const jobs = await stale.listJobs();
      expect(jobs.value.map((j) => j.id)).toContain('read-0');

      // The answering server says how long since it heard from the leader; past a few
      // seconds, the CLI says how old a -stale answer may be.
      expect(stale.lastReadMeta()!.lastContactMs).toBeGreaterThan(0);
      for (let t = 0; t < 100 && stale.lastReadMeta()!.lastContactMs <= StaleNoteAfterMs; t++) {
        await new Promise((r) => setTimeout(r, 200));
        await stale.listJobs();
      }
      expect(stale.lastReadMeta()!.lastContactMs).toBeGreaterThan(StaleNoteAfterMs);
      const viaCli = await cli(env, ['job', 'status', '-stale']);
      expect(viaCli.stderr).toMatch(/^Note: -stale answer from a server .*\d+\.\d s ago.*its state may be that old\n$/);
      expect(viaCli.code).toBe(0);
      expect(viaCli.stdout).toMatch(/read-14/);
      const refused = await cli(env, ['job', 'status']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/pass -stale/);
    } finally {
      for (const i of stopped.splice(0)) fixture.cluster.members[i]!.child!.kill('SIGCONT');
    }

    // Healed: consistent reads work again on the same server.
    let ok = false;
    for (let t = 0; t < 100 && !ok; t++) {
      ok = await consistent.listJobs().then((r) => r.value.length >= 15, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ok).toBe(true);
    // In touch again: a -stale answer comes without the note.
    await stale.listJobs();
    expect(stale.lastReadMeta()!.knownLeader).toBe(true);
    expect(stale.lastReadMeta()!.lastContactMs).toBeLessThanOrEqual(StaleNoteAfterMs);
    const fresh = await cli(env, ['job', 'status', '-stale']);
    expect(fresh.stderr).toBe('');
    consistent.close();
    stale.close();
  }, 180_000);
});
