import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { NomadError } from '../../core/lib/index.js';
import type { CertificateBundle } from '../../tls/index.js';
import { createCA, createCert } from '../../tls/index.js';
import * as pb from '../../../proto/index.js';
import { clientChannel } from '../../rpc/index.js';
import type { ClusterHandlers } from './index.js';
import { ClusterClient, MaxRestoreBytes, addClusterService } from './index.js';
import { sha256Hex } from './snapshot-file.js';

let ca: CertificateBundle;
const certs: Record<string, CertificateBundle> = {};
let srv: grpc.Server;
let address = '';
const applied: string[] = [];
const restored: Buffer[] = [];

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
  snapshotRestore: async (image) => {
    if (image[0] === 0) throw new NomadError('invalid_argument', 'snapshot refused: not valid JSON', { field: 'snapshot' });
    restored.push(Buffer.from(image));
    return { index: 40 + restored.length, snapshotIndex: 9 };
  },
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

  it('takes a restore in chunks from a cli certificate, refuses a client certificate, and carries the handler\'s refusal back', async () => {
    const cli = as('cli');
    const client = as('client');
    try {
      const image = Buffer.alloc(2.5 * (1 << 20), 5);
      expect(await cli.snapshotRestore(image)).toEqual({ index: 41, snapshotIndex: 9 });
      expect(restored).toHaveLength(1);
      expect(restored[0]!.equals(image)).toBe(true);
      await expect(client.snapshotRestore(image)).rejects.toMatchObject({ code: 'permission_denied' });
      await expect(cli.snapshotRestore(Buffer.alloc(10, 0))).rejects.toMatchObject({ code: 'invalid_argument', field: 'snapshot', message: 'snapshot refused: not valid JSON' });
      await expect(cli.snapshotRestore(Buffer.alloc(0))).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(/an empty state image cannot be restored/) as unknown });
      await expect(cli.snapshotRestore(Buffer.alloc(MaxRestoreBytes + 1, 5))).rejects.toMatchObject({ code: 'too_large', message: expect.stringMatching(/a restore takes at most 15728640 bytes \(15 MiB/) as unknown });
      expect(restored).toHaveLength(1);
    } finally {
      cli.close();
      client.close();
    }
  });

  it('refuses a restore stream whose bytes do not match the announced size or SHA-256, before the handler sees it', async () => {
    const { creds, options } = clientChannel({ caPem: ca.certPem, certPem: certs.cli!.certPem, keyPem: certs.cli!.keyPem });
    const raw = new pb.ClusterServiceClient(address, creds, options);
    const send = (chunks: pb.SnapshotRestoreChunk[]): Promise<grpc.ServiceError | null> => new Promise((res) => {
      const call = raw.snapshotRestore((err) => res(err));
      for (const c of chunks) call.write(c);
      call.end();
    });
    try {
      const data = Buffer.from('{"state":1}');
      const short = await send([{ size: 100, sha256: sha256Hex(data), data }]);
      expect(short?.details).toBe('the state image was cut short in transit: 11 of 100 bytes arrived');
      const altered = await send([{ size: data.length, sha256: sha256Hex(Buffer.from('{"state":2}')), data }]);
      expect(altered?.details).toMatch(/^checksum mismatch: the image hashes to [0-9a-f]{64}, not the announced [0-9a-f]{64}$/);
      const long = await send([{ size: 4, sha256: sha256Hex(data), data }]);
      expect(long?.details).toBe('more than the announced 4 bytes arrived');
      const none = await send([]);
      expect(none?.details).toBe('no snapshot data arrived');
      expect(restored).toHaveLength(1);
    } finally {
      raw.close();
    }
  });

  it('says clearly that an agent without the cluster service (a dev agent) cannot save or restore', async () => {
    const bare = new grpc.Server();
    const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server!.keyPem), cert_chain: Buffer.from(certs.server!.certPem) }], true);
    const port = await new Promise<number>((res, rej) => bare.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
    const c = new ClusterClient(`127.0.0.1:${port}`, { caPem: ca.certPem, certPem: certs.cli!.certPem, keyPem: certs.cli!.keyPem });
    try {
      await expect(c.snapshotRestore(Buffer.from('{}'))).rejects.toThrow(/^the agent at 127\.0\.0\.1:\d+ is not a cluster server \(a dev agent, `agent -dev`, runs no Raft cluster\): operator snapshot restore needs a server started with `agent -config`$/);
      await expect(c.snapshotSave()).rejects.toThrow(/is not a cluster server .*operator snapshot save needs a server started with `agent -config`/);
    } finally {
      c.close();
      bare.forceShutdown();
    }
  });
});
