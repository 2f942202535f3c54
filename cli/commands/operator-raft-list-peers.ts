/** `nomadts operator raft list-peers [-json]`: the Raft members with state, voter, match index and lag (from the leader). */
import type { Env } from './api-io.js';
import { Exit, json, table } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { leaderView, withCluster } from './operator-io.js';

export async function operatorRaftListPeers(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, { bool: ['json'] }, async (c, f) => {
    const st = await leaderView(c, env, f);
    if (f.bool.has('json')) {
      out.stdout(json(st));
      return Exit.ok;
    }
    out.stdout(table(
      ['Node', 'ID', 'Address', 'State', 'Voter', 'Match Index', 'Lag'],
      st.peers.map((p) => [p.id, p.id, p.address, p.leader ? 'leader' : 'follower', String(p.voter), st.role === 'leader' ? String(p.matchIndex) : '?', st.role === 'leader' ? String(p.lag) : '?']),
      120,
    ));
    return Exit.ok;
  });
}
