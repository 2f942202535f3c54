/**
 * A brand-new server joining a running three-server cluster (real processes, the built CLI): it
 * finds the cluster through retry_join, sees that the cluster's membership does not name it, and
 * starts with no Raft membership of its own — it never campaigns — until the leader adds it
 * (gossip reconciliation). Then it holds the same membership as the leader, and a write through it
 * is committed. Waits poll in bounded loops; nothing asserts a duration.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { ApiClient } from '../agent/api/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
import { realCluster } from './cluster-fixture.js';
import { cliMain, pollUntil, trueBatchJobHcl } from './e2e.js';

const built = existsSync(cliMain);

describe.skipIf(!built)('a new server joins a running cluster', () => {
  const fixture = realCluster('join');

  it('starts with no membership, never campaigns, and is added by the leader with the whole membership', async () => {
    const leader = await fixture.cluster.leader();
    const leaderName = fixture.cluster.members[leader]!.name;
    const i = await fixture.cluster.addMember();
    const joiner = fixture.cluster.members[i]!;
    expect(joiner.output).toMatch(new RegExp(`joining the running cluster \\(leader ${leaderName}\\): waiting for the leader to add this server`));

    const c = fixture.cluster.client(i, 5_000);
    const l = fixture.cluster.client(leader, 5_000);
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
      const viaJoiner = ApiClient.fromEnv(fixture.cluster.cliEnv(i));
      const viaLeader = ApiClient.fromEnv(fixture.cluster.cliEnv(leader));
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
