/**
 * issue 5: "a snapshot restore brings a cluster back". Three nomadts servers as real processes on
 * loopback (the built CLI: `agent -config sN.hcl`, mutual TLS, Raft on disk, a low
 * raft_snapshot_threshold so the log is compacted past the restore). Jobs are registered,
 * `operator snapshot save` writes a file, the state is then lost (jobs purged, another job
 * registered); bad files are refused with nothing changed; `operator snapshot restore` brings
 * the saved jobs and evaluations back on every server (read from each one); after compaction
 * and a SIGKILL + restart of a follower and of the leader, every server still has exactly them.
 * Waits poll for a state in bounded loops; nothing asserts a duration.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../agent/api/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
import { encodeSnapshotFile, MaxRestoreBytes } from '../agent/raft/transport/index.js';
import { MaxRestorePadding } from '../agent/server/index.js';
import { realCluster } from './cluster-fixture.js';
import { cliMain, pollUntil, runCli, trueBatchJobHcl } from './e2e.js';

const main = cliMain;
const built = existsSync(main);

const jobHcl = trueBatchJobHcl;

const cli = (env: Record<string, string>, args: string[]): ReturnType<typeof runCli> => runCli(args, { ...process.env, ...env });
const until = <T>(what: string, f: () => Promise<T | undefined>, tries = 200): Promise<T> => pollUntil(what, f, { tries, everyMs: 150 });

describe.skipIf(!built)('operator snapshot restore on a three-server cluster of real processes', () => {
  const fixture = realCluster('restore', { raftSnapshotThreshold: 16 });

  const api = (i: number): ApiClient => ApiClient.fromEnv(fixture.cluster.cliEnv(i));
  const jobsOn = async (i: number): Promise<string[]> => (await api(i).listJobs()).value.map((j) => j.id).sort();
  const evalsOn = async (i: number): Promise<string[]> => (await api(i).listEvals()).value.map((e) => e.id);
  /** Polls until every live server's state has `want`. */
  const everyServerHas = async (want: string[], servers = fixture.cluster.alive()): Promise<void> => {
    for (const i of servers) {
      let seen: string[] = [];
      await until(`server s${i + 1} has jobs ${want.join(', ')}`, async () => {
        seen = await jobsOn(i);
        return JSON.stringify(seen) === JSON.stringify(want) ? true : undefined;
      }).catch((err: Error) => {
        throw new Error(`${err.message}; it has ${seen.join(', ') || 'none'}\n--- s${i + 1} log ---\n${fixture.cluster.members[i]!.output.slice(-4000)}`);
      });
    }
  };

  /** Every server's state image (operator snapshot save from each), once all three are byte for byte the same. */
  const sameImageEverywhere = (): Promise<Buffer[]> => until('the same image on every server', async () => {
    const got: Buffer[] = [];
    for (const i of [0, 1, 2]) {
      const p = join(fixture.dir, `image-s${i + 1}.snap`);
      const out = await cli(fixture.cluster.cliEnv(i), ['operator', 'snapshot', 'save', p]);
      if (out.code !== 0) return undefined;
      got.push(readFileSync(p));
    }
    return got.every((g) => g.equals(got[0]!)) ? got : undefined;
  });

  it('a snapshot restore brings a cluster back on every server, and it survives compaction and SIGKILL + restart', async () => {
    const leader = await fixture.cluster.leader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const env = fixture.cluster.cliEnv(follower);
    const saved = ['alpha', 'beta', 'gamma'];
    for (const id of saved) await api(leader).registerJob(await parseJobText(jobHcl(id), { filename: `${id}.hcl` }));
    await everyServerHas(saved);

    const file = join(fixture.dir, 'backup.snap');
    const save = await cli(env, ['operator', 'snapshot', 'save', file]);
    expect(save.stderr).toBe('');
    expect(save.code).toBe(0);
    // The evaluations the file holds (the image after its header line).
    const image = JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!) as { evals: { id: string; jobId: string }[] };
    const savedEvals = image.evals.map((e) => e.id);
    expect(new Set(image.evals.map((e) => e.jobId))).toEqual(new Set(saved));

    // The state is lost: every saved job purged, and a job the snapshot does not know registered.
    for (const id of saved) await api(follower).deregisterJob('default', id, true);
    await api(follower).registerJob(await parseJobText(jobHcl('stray'), { filename: 'stray.hcl' }));
    await everyServerHas(['stray']);

    // Bad files are refused before anything changes, each naming the file and what is wrong.
    const good = readFileSync(file);
    const bad: [string, Buffer, RegExp][] = [
      ['empty.snap', Buffer.alloc(0), /empty\.snap: the file is empty/],
      ['short.snap', good.subarray(0, good.length - 100), /short\.snap: truncated: the header promises \d+ bytes of state, the file holds \d+/],
      ['flipped.snap', Buffer.from(good.toString('latin1').replace('"alpha"', '"alphb"'), 'latin1'), /flipped\.snap: checksum mismatch/],
      ['job.snap', Buffer.from(jobHcl('x')), /job\.snap: not a nomadts state file/],
    ];
    for (const [name, bytes, msg] of bad) {
      const path = join(fixture.dir, name);
      writeFileSync(path, bytes);
      const r = await cli(env, ['operator', 'snapshot', 'restore', path]);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(msg);
    }
    const missing = await cli(env, ['operator', 'snapshot', 'restore', join(fixture.dir, 'nowhere.snap')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nowhere\.snap: cannot read the file: ENOENT/);
    for (const i of [0, 1, 2]) expect(await jobsOn(i)).toEqual(['stray']);

    // The restore, asked of a follower (forwarded to the leader, applied by every server).
    const r = await cli(env, ['operator', 'snapshot', 'restore', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Snapshot .*backup\.snap restored \(saved at index \d+; committed at index \d+, every server applies it there\)$/m);
    const committedAt = Number(/committed at index (\d+)/.exec(r.stdout)![1]);
    expect(await jobsOn(follower)).toEqual(saved); // read-your-writes on the server asked
    await everyServerHas(saved);
    for (const i of [0, 1, 2]) {
      await until(`server s${i + 1} has every saved evaluation`, async () => {
        const have = new Set(await evalsOn(i));
        return savedEvals.every((id) => have.has(id)) ? true : undefined;
      });
    }
    // Exactly the same state on every server: each one's image (saved from it at one index) is
    // byte for byte the same, and its jobs, versions and nodes are the file's.
    const images = await sameImageEverywhere();
    const restoredDoc = JSON.parse(images[0]!.toString('utf8').split('\n')[1]!) as Record<string, unknown>;
    const savedDoc = JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!) as Record<string, unknown>;
    for (const t of ['jobs', 'jobVersions', 'nodes', 'deployments']) expect(restoredDoc[t], t).toEqual(savedDoc[t]);
    expect(restoredDoc.index).toBeGreaterThanOrEqual(committedAt);

    // Writes go on after the restore; then enough entries that every server compacts its log past it.
    await api(follower).registerJob(await parseJobText(jobHcl('delta'), { filename: 'delta.hcl' }));
    const after = [...saved, 'delta'].sort();
    await everyServerHas(after);
    const c = fixture.cluster.client(await fixture.cluster.leader());
    try {
      for (let i = 0; i < 40; i++) await c.apply(Buffer.from([2, i]));
    } finally {
      c.close();
    }
    for (const m of fixture.cluster.members) {
      await until(`${m.name} compacted its log past the restore`, async () => {
        const snaps = readdirSync(join(m.dataDir, 'raft', 'snap')).map((n) => parseInt(/^([0-9a-f]{16})-[0-9a-f]{16}\.snap$/.exec(n)?.[1] ?? '0', 16));
        return snaps.some((n) => n > committedAt) ? true : undefined;
      });
    }

    // SIGKILL a follower and restart it; then the leader: each comes back with exactly that state.
    const victim = [0, 1, 2].find((i) => i !== leader && i !== follower)!;
    const child = fixture.cluster.members[victim]!.child!;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGKILL');
    await exited;
    await fixture.cluster.restart(victim);
    await everyServerHas(after, [victim]);
    const killed = await fixture.cluster.killLeader();
    await fixture.cluster.leader(30_000);
    await fixture.cluster.restart(killed);
    await everyServerHas(after, [0, 1, 2]);
    const final = JSON.parse((await sameImageEverywhere())[0]!.toString('utf8').split('\n')[1]!) as { jobs: { id: string }[] };
    expect(final.jobs.filter((j) => j.id !== 'delta')).toEqual(savedDoc.jobs);
  }, 240_000);

  it('a restore just under the size limit replicates to every server; one above it is refused, naming the limit, with nothing changed', async () => {
    // Asked of a follower: it forwards the 15 MiB image to the leader (ClusterService.SnapshotRestore, chunked).
    const leader = await fixture.cluster.leader();
    const env = fixture.cluster.cliEnv([0, 1, 2].find((i) => i !== leader)!);
    const file = join(fixture.dir, 'base.snap');
    expect((await cli(env, ['operator', 'snapshot', 'save', file])).code).toBe(0);
    const before = await jobsOn(0);
    // The saved image with one job's meta padded: a valid state image of a chosen size.
    const image = JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!) as { jobs: { id: string; meta: Record<string, string> }[] };
    const padded = (bytes: number): Buffer => {
      const doc = structuredClone(image);
      doc.jobs[0]!.meta = { ...doc.jobs[0]!.meta, pad: '' };
      const base = Buffer.byteLength(JSON.stringify(doc));
      doc.jobs[0]!.meta.pad = 'x'.repeat(bytes - base);
      const out = Buffer.from(JSON.stringify(doc));
      expect(out.length).toBe(bytes);
      return out;
    };
    const over = join(fixture.dir, 'over.snap');
    writeFileSync(over, encodeSnapshotFile(padded(MaxRestoreBytes + 1)));
    const refused = await cli(env, ['operator', 'snapshot', 'restore', over]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/over\.snap: the state image is 15728641 bytes; a restore takes at most 15728640 bytes \(15 MiB: it travels as one Raft log entry\)/);

    const big = join(fixture.dir, 'big.snap');
    writeFileSync(big, encodeSnapshotFile(padded(MaxRestoreBytes - 1024)));
    const r = await cli(env, ['operator', 'snapshot', 'restore', big]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const padJob = image.jobs[0]!.id;
    for (const i of [0, 1, 2]) {
      await until(`server s${i + 1} has the padded job`, async () => {
        const job = (await api(i).getJob('default', padJob)).value;
        return job.meta.pad?.length !== undefined && job.meta.pad.length > 15_000_000 ? true : undefined;
      });
      expect(await jobsOn(i)).toEqual(before);
    }
  }, 180_000);

  it('an image saved ahead of this cluster\'s log (as into a fresh cluster) lands past its index on every server', async () => {
    const env = fixture.cluster.cliEnv(await fixture.cluster.leader());
    const file = join(fixture.dir, 'now.snap');
    expect((await cli(env, ['operator', 'snapshot', 'save', file])).code).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8').split('\n')[1]!) as { index: number; jobs: { id: string; modifyIndex: number }[] };
    // Too far ahead: refused before any entry is written.
    const base = doc.index;
    const before = await jobsOn(0);
    const tooFar = join(fixture.dir, 'too-far.snap');
    writeFileSync(tooFar, encodeSnapshotFile(Buffer.from(JSON.stringify({ ...doc, index: base + MaxRestorePadding + 1000 }))));
    const refused = await cli(env, ['operator', 'snapshot', 'restore', tooFar]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`too-far\\.snap: the image was saved at index ${base + MaxRestorePadding + 1000}, \\d+ entries past this cluster's log \\(index \\d+\\); a restore moves the log past the image's index with no-op entries, at most ${MaxRestorePadding}`));
    expect(await jobsOn(0)).toEqual(before);
    // As if saved by a cluster 3,000 entries further along: the rows' indexes go up to there.
    const ahead = base + 3000;
    doc.index = ahead;
    doc.jobs[0]!.modifyIndex = ahead;
    const aheadFile = join(fixture.dir, 'ahead.snap');
    writeFileSync(aheadFile, encodeSnapshotFile(Buffer.from(JSON.stringify(doc))));
    const r = await cli(env, ['operator', 'snapshot', 'restore', aheadFile]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`saved at index ${ahead}; committed at index \\d+`));
    const committedAt = Number(/committed at index (\d+)/.exec(r.stdout)![1]);
    expect(committedAt).toBeGreaterThan(ahead);
    for (const i of [0, 1, 2]) {
      const q = await until(`server s${i + 1} applied the restore`, async () => {
        const res = await api(i).listJobs();
        return res.index >= committedAt ? res : undefined;
      });
      // No row is ahead of the state that holds it.
      for (const j of q.value) expect(j.modifyIndex).toBeLessThanOrEqual(q.index);
    }
    // Writes go on after it, and are evaluated (a worker waits for the state to reach each evaluation's index).
    const reg = await api(0).registerJob(await parseJobText(jobHcl('after-ahead'), { filename: 'after-ahead.hcl' }));
    expect(reg.index).toBeGreaterThan(committedAt);
    await until('the new job\'s evaluation processed', async () => {
      const e = (await api(0).getEval(reg.evalId)).value;
      return e.status !== 'pending' ? true : undefined;
    });
  }, 180_000);
});
