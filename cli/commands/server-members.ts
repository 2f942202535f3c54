/**
 * `nomadts server members [-json]`: the cluster's servers. Until gossip lands this is the Raft
 * view: every member of the Raft configuration, whether the leader hears from it, its address.
 */
import type { Env } from './api-io.js';
import { Exit, json, table } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { leaderView, withCluster } from './operator-io.js';

export async function serverMembers(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, { bool: ['json'] }, async (c, f) => {
    const st = await leaderView(c, env, f);
    if (f.bool.has('json')) {
      out.stdout(json(st.peers));
      return Exit.ok;
    }
    const host = (addr: string): [string, string] => {
      const i = addr.lastIndexOf(':');
      return i < 0 ? [addr, ''] : [addr.slice(0, i), addr.slice(i + 1)];
    };
    out.stdout(table(
      ['Name', 'Address', 'Port', 'Status', 'Leader', 'Raft Version', 'Voter'],
      st.peers.map((p) => {
        const [h, pt] = host(p.address);
        const alive = st.role !== 'leader' || p.recentActive || p.leader;
        return [p.id, h, pt, alive ? 'alive' : 'failed', String(p.leader), '3', String(p.voter)];
      }),
      120,
    ));
    return Exit.ok;
  });
}
