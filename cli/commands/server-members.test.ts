import { describe, expect, it } from 'vitest';
import type { ClusterRaftStatus } from '../../agent/raft/transport/index.js';
import { mergeMembers } from './server-members.js';

const raft = (role: string, peers: Array<[id: string, leader: boolean, active: boolean]>): ClusterRaftStatus => ({
  id: 's1', role, term: 3, leader: 's1', commit: 10, applied: 10, lastIndex: 10, storageSyncs: 0, storageEntries: 0,
  peers: peers.map(([id, leader, active]) => ({ id, address: `10.0.0.${id.slice(1)}:4647`, voter: true, leader, matchIndex: 10, lag: 0, state: 'replicate', recentActive: active })),
});
const tags = (n: string): Record<string, string> => ({ role: 'server', region: 'global', dc: 'dc1', build: '0.1.0', raft_addr: `10.0.0.${n}:4647` });

describe('server members: gossip merged with the Raft view', () => {
  it('takes status from gossip and leader/voter from Raft; gossip-only servers are non-voters', () => {
    const rows = mergeMembers([
      { name: 's2', address: '10.0.0.2:4648', status: 'failed', tags: tags('2') },
      { name: 's1', address: '10.0.0.1:4648', status: 'alive', tags: tags('1') },
      { name: 's4', address: '10.0.0.4:4648', status: 'alive', tags: tags('4') },
      { name: 'c1', address: '10.0.0.9:4648', status: 'alive', tags: { role: 'client' } },
    ], raft('leader', [['s1', true, true], ['s2', false, false]]));
    expect(rows).toEqual([
      { name: 's1', address: '10.0.0.1', port: '4648', status: 'alive', leader: true, voter: true, region: 'global', datacenter: 'dc1', build: '0.1.0', raftAddress: '10.0.0.1:4647' },
      { name: 's2', address: '10.0.0.2', port: '4648', status: 'failed', leader: false, voter: true, region: 'global', datacenter: 'dc1', build: '0.1.0', raftAddress: '10.0.0.2:4647' },
      { name: 's4', address: '10.0.0.4', port: '4648', status: 'alive', leader: false, voter: false, region: 'global', datacenter: 'dc1', build: '0.1.0', raftAddress: '10.0.0.4:4647' },
    ]);
  });

  it('a Raft member gossip does not know shows the Raft view: failed when the leader does not hear from it', () => {
    const rows = mergeMembers([{ name: 's1', address: '10.0.0.1:4648', status: 'alive', tags: tags('1') }], raft('leader', [['s1', true, true], ['s3', false, false]]));
    expect(rows.map((r) => [r.name, r.status, r.voter, r.raftAddress])).toEqual([['s1', 'alive', true, '10.0.0.1:4647'], ['s3', 'failed', true, '10.0.0.3:4647']]);
  });
});
