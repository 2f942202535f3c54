/**
 * `nomadts server members [-json]`: the cluster's servers as the addressed server's gossip sees
 * them (status alive, suspect, failed or left; region, datacenter, build, Raft address), merged
 * with the Raft view for leader and voter. A Raft member gossip does not know is listed with the
 * Raft view's status (alive when the leader hears from it).
 */
import type { ClusterMember, ClusterRaftStatus } from '../../agent/raft/transport/index.js';
import type { Env } from './api-io.js';
import { Exit, json, table } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { leaderView, withCluster } from './operator-io.js';

export interface ServerMemberRow {
  name: string;
  address: string;
  port: string;
  status: string;
  leader: boolean;
  voter: boolean;
  region: string;
  datacenter: string;
  build: string;
  raftAddress: string;
}

const split = (addr: string): [string, string] => {
  const i = addr.lastIndexOf(':');
  return i < 0 ? [addr, ''] : [addr.slice(0, i), addr.slice(i + 1)];
};

/** Gossip members (servers) merged with the Raft view; sorted by name. */
export function mergeMembers(gossip: readonly ClusterMember[], raft: ClusterRaftStatus): ServerMemberRow[] {
  const rows = new Map<string, ServerMemberRow>();
  const peers = new Map(raft.peers.map((p) => [p.id, p]));
  for (const m of gossip) {
    if ((m.tags.role ?? 'server') !== 'server') continue;
    const [h, pt] = split(m.address);
    const p = peers.get(m.name);
    rows.set(m.name, {
      name: m.name, address: h, port: pt, status: m.status, leader: p?.leader ?? false, voter: p?.voter ?? false,
      region: m.tags.region ?? '', datacenter: m.tags.dc ?? '', build: m.tags.build ?? '', raftAddress: m.tags.raft_addr ?? p?.address ?? '',
    });
  }
  for (const p of raft.peers) {
    if (rows.has(p.id)) continue;
    const [h, pt] = split(p.address);
    const alive = raft.role !== 'leader' || p.recentActive || p.leader;
    rows.set(p.id, { name: p.id, address: h, port: pt, status: alive ? 'alive' : 'failed', leader: p.leader, voter: p.voter, region: '', datacenter: '', build: '', raftAddress: p.address });
  }
  return [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export async function serverMembers(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, { bool: ['json'] }, async (c, f) => {
    const [gossip, st] = await Promise.all([c.members(), leaderView(c, env, f)]);
    const rows = mergeMembers(gossip, st);
    if (f.bool.has('json')) {
      out.stdout(json(rows));
      return Exit.ok;
    }
    out.stdout(table(
      ['Name', 'Address', 'Port', 'Status', 'Leader', 'Voter', 'Raft Version', 'Build', 'Datacenter', 'Region', 'Raft Address'],
      rows.map((r) => [r.name, r.address, r.port, r.status, String(r.leader), String(r.voter), '3', r.build, r.datacenter, r.region, r.raftAddress]),
      160,
    ));
    return Exit.ok;
  });
}
