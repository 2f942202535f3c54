/**
 * A brand-new server joining a running three-server cluster (real processes, the built CLI): it
 * finds the cluster through retry_join, sees that the cluster's membership does not name it, and
 * starts with no Raft membership of its own — it never campaigns — until the leader adds it
 * (gossip reconciliation). Then it holds the same membership as the leader, and a write through it
 * is committed. Waits poll in bounded loops; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../agent/api/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
// eslint-disable-next-line no-restricted-imports -- the same three-process cluster the raft benchmark drives
import { NomadtsCluster } from '../scripts/bench/nomadts-cluster.js';
import { cliMain, pollUntil, trueBatchJobHcl } from './e2e.js';

const built = existsSync(cliMain);

describe.skipIf(!built)('a new server joins a running cluster', () => {
  let dir: string;
  let cluster: NomadtsCluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nomadts-join-'));
    cluster = new NomadtsCluster(dir, { cliMain });
    await cluster.start();
  }, 120_000);

  afterAll(async () => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('starts with no membership, never campaigns, and is added by the leader with the whole membership', async () => {
    const leader = await cluster.leader();
    const leaderName = cluster.members[leader]!.name;
    const i = await cluster.addMember();
    const joiner = cluster.members[i]!;
    expect(joiner.output).toMatch(new RegExp(`joining the running cluster \\(leader ${leaderName}\\): waiting for the leader to add this server`));

    const c = cluster.client(i, 5_000);
    const l = cluster.client(leader, 5_000);
    try {
      const status = await pollUntil('the joiner added by the leader', async () => {
        const s = await c.raftStatus(2_000);
        return s.peers.some((p) => p.id === joiner.name && p.voter) && s.leader !== '' ? s : undefined;
      }, { tries: 300, everyMs: 200, context: () => joiner.output });
      const onLeader = await l.raftStatus(2_000);
      const voters = (s: typeof status): string[] => s.peers.filter((p) => p.voter).map((p) => p.id).sort();
      expect(voters(status)).toEqual(['s1', 's2', 's3', 's4']);
      expect(voters(onLeader)).toEqual(voters(status));
      expect(status.leader).toBe(onLeader.leader);
      // Until the leader added it, it had no membership to campaign with.
      expect(joiner.output).not.toMatch(/raft: (pre-candidate|candidate)/);
      expect(joiner.output).toMatch(/raft: follower \(leader s\d\)/);

      // It serves: a write through it is committed and read back from the leader.
      const viaJoiner = ApiClient.fromEnv(cluster.cliEnv(i));
      const viaLeader = ApiClient.fromEnv(cluster.cliEnv(leader));
      try {
        await viaJoiner.registerJob(await parseJobText(trueBatchJobHcl('joined'), { filename: 'joined.hcl' }));
        expect((await viaLeader.getJob('default', 'joined')).value.id).toBe('joined');
      } finally {
        viaJoiner.close();
        viaLeader.close();
      }
    } finally {
      c.close();
      l.close();
    }
  }, 180_000);
});
