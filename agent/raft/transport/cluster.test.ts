import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { NomadError } from '../../core/lib/index.js';
import type { CertificateBundle } from '../../tls/index.js';
import { createCA, createCert } from '../../tls/index.js';
import type { ClusterHandlers } from './index.js';
import { ClusterClient, addClusterService } from './index.js';

let ca: CertificateBundle;
const certs: Record<string, CertificateBundle> = {};
let srv: grpc.Server;
let address = '';
const applied: string[] = [];

const handlers: ClusterHandlers = {
  apply: async (command) => {
    applied.push(Buffer.from(command).toString());
    return applied.length;
  },
  raftStatus: async () => ({ id: 's1', role: 'leader', term: 2, leader: 's1', commit: 5, applied: 5, lastIndex: 5, peers: [{ id: 's1', address: 'a:1', voter: true, leader: true, matchIndex: 5, lag: 0, state: 'replicate', recentActive: true }], storageSyncs: 3, storageEntries: 5 }),
  transferLeadership: async (peerId) => {
    if (peerId === 'nobody') throw new NomadError('not_found', 'server "nobody" is not a voter', { field: 'peer_id' });
    return peerId;
  },
  removePeer: async () => 7,
  addPeer: async () => 8,
  snapshotSave: async () => ({ index: 9, data: Buffer.alloc(2.5 * (1 << 20), 7) }),
};

beforeAll(async () => {
  ca = await createCA();
  for (const role of ['server', 'client', 'cli'] as const) certs[role] = await createCert({ ca, role });
  srv = new grpc.Server();
  addClusterService(srv, { caPem: ca.certPem, region: 'global', handlers });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server!.keyPem), cert_chain: Buffer.from(certs.server!.certPem) }], true);
  const port = await new Promise<number>((res, rej) => srv.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
  address = `127.0.0.1:${port}`;
});
afterAll(() => {
  srv.forceShutdown();
});

const as = (role: string): ClusterClient => new ClusterClient(address, { caPem: ca.certPem, certPem: certs[role]!.certPem, keyPem: certs[role]!.keyPem });

describe('ClusterService', () => {
  it('lets a server forward a write and read the Raft status', async () => {
    const c = as('server');
    try {
      expect(await c.apply(Buffer.from('cmd'))).toBe(1);
      expect(applied).toEqual(['cmd']);
      const st = await c.raftStatus();
      expect(st).toMatchObject({ id: 's1', role: 'leader', storageSyncs: 3, storageEntries: 5 });
      expect(st.peers[0]).toMatchObject({ matchIndex: 5, voter: true });
    } finally {
      c.close();
    }
  });

  it('refuses a write from a cli certificate, and everything from a client certificate', async () => {
    const cli = as('cli');
    const client = as('client');
    try {
      await expect(cli.apply(Buffer.from('x'))).rejects.toMatchObject({ code: 'permission_denied', message: expect.stringMatching(/certificate role cli may not call this endpoint; allowed: server/) as unknown });
      expect((await cli.raftStatus()).id).toBe('s1');
      await expect(client.raftStatus()).rejects.toMatchObject({ code: 'permission_denied' });
      await expect(client.removePeer('s2')).rejects.toMatchObject({ code: 'permission_denied' });
      expect(applied).toEqual(['cmd']);
    } finally {
      cli.close();
      client.close();
    }
  });

  it('streams a snapshot in chunks to a cli certificate, and refuses a client certificate', async () => {
    const cli = as('cli');
    const client = as('client');
    try {
      const snap = await cli.snapshotSave();
      expect(snap.index).toBe(9);
      expect(snap.data.byteLength).toBe(2.5 * (1 << 20));
      expect(snap.data.every((b) => b === 7)).toBe(true);
      await expect(client.snapshotSave()).rejects.toMatchObject({ code: 'permission_denied' });
    } finally {
      cli.close();
      client.close();
    }
  });

  it('carries a handler error back with its code and field; refuses an empty peer id', async () => {
    const cli = as('cli');
    try {
      await expect(cli.transferLeadership('nobody')).rejects.toMatchObject({ code: 'not_found', field: 'peer_id' });
      await expect(cli.removePeer('')).rejects.toMatchObject({ code: 'invalid_argument', field: 'peer_id' });
      expect(await cli.removePeer('s2')).toBe(7);
      expect(await cli.transferLeadership('s2')).toBe('s2');
    } finally {
      cli.close();
    }
  });
});
