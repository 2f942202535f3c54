import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { NomadError } from '../../core/lib/index.js';
import type { CertificateBundle } from '../../tls/index.js';
import { createCA, createCert } from '../../tls/index.js';
import { ProposeClient, addProposeService } from './index.js';

let ca: CertificateBundle;
const certs: Record<string, CertificateBundle> = {};
let srv: grpc.Server;
let address = '';
const applied: string[] = [];
/** Commands held back until released (to break a stream while writes are in flight). */
const held: Array<() => void> = [];

async function propose(command: Uint8Array): Promise<number> {
  const s = Buffer.from(command).toString();
  if (s === 'bad') throw new NomadError('invalid_argument', 'command: not a command', { field: 'command' });
  if (s === 'full') throw new NomadError('resource_exhausted', '4096 proposals are waiting');
  if (s === 'boom') throw new Error('disk on fire');
  if (s === 'hold') await new Promise<void>((res) => held.push(res));
  applied.push(s);
  return applied.length;
}

beforeAll(async () => {
  ca = await createCA();
  for (const role of ['server', 'client', 'cli'] as const) certs[role] = await createCert({ ca, role });
  srv = new grpc.Server();
  addProposeService(srv, { caPem: ca.certPem, region: 'global', propose });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server!.keyPem), cert_chain: Buffer.from(certs.server!.certPem) }], true);
  const port = await new Promise<number>((res, rej) => srv.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
  address = `127.0.0.1:${port}`;
});
afterAll(() => {
  srv.forceShutdown();
});

const as = (role: string, timeoutMs?: number): ProposeClient => new ProposeClient(address, { caPem: ca.certPem, certPem: certs[role]!.certPem, keyPem: certs[role]!.keyPem }, timeoutMs);

describe('RaftProposeService', () => {
  it('answers every pipelined write with its own index, in one stream', async () => {
    applied.length = 0;
    const c = as('server');
    try {
      const writes = Array.from({ length: 100 }, (_, i) => c.propose(Buffer.from(`w${i}`)));
      expect(c.inFlight()).toBe(100);
      const indexes = await Promise.all(writes);
      // Each write's answer is the index the handler gave that very command.
      for (const [i, index] of indexes.entries()) expect(applied[index - 1]).toBe(`w${i}`);
      expect(new Set(indexes).size).toBe(100);
      expect(c.inFlight()).toBe(0);
      // The stream stays usable after a batch.
      expect(await c.propose(Buffer.from('again'))).toBe(101);
    } finally {
      c.close();
    }
  });

  it("fails only the writes the handler refused, with the handler's error code", async () => {
    applied.length = 0;
    const c = as('server');
    try {
      const [ok, bad, full, boom, ok2] = await Promise.allSettled(['a', 'bad', 'full', 'boom', 'b'].map((s) => c.propose(Buffer.from(s))));
      expect(ok).toEqual({ status: 'fulfilled', value: 1 });
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'invalid_argument', message: 'command: not a command' } });
      expect(full).toMatchObject({ status: 'rejected', reason: { code: 'resource_exhausted' } });
      expect(boom).toMatchObject({ status: 'rejected', reason: { code: 'internal', message: expect.stringContaining('disk on fire') as unknown } });
      expect(ok2).toEqual({ status: 'fulfilled', value: 2 });
      expect(applied).toEqual(['a', 'b']);
    } finally {
      c.close();
    }
  });

  it('refuses cli and client certificates, proposing nothing', async () => {
    applied.length = 0;
    for (const role of ['cli', 'client']) {
      const c = as(role);
      try {
        await expect(c.propose(Buffer.from('x'))).rejects.toMatchObject({ code: 'permission_denied', message: expect.stringMatching(new RegExp(`role ${role}`)) as unknown });
      } finally {
        c.close();
      }
    }
    expect(applied).toEqual([]);
  });

  it('fails a write not answered in time with timeout, and the writes of a closed client with unavailable', async () => {
    applied.length = 0;
    const slow = as('server', 200);
    try {
      await expect(slow.propose(Buffer.from('hold'))).rejects.toMatchObject({ code: 'timeout' });
    } finally {
      slow.close();
    }
    const c = as('server');
    const p = c.propose(Buffer.from('hold'));
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    await expect(p).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('outcome') as unknown });
    for (const f of held.splice(0)) f();
  });

  it('fails writes in flight with unavailable when the server goes away, instead of hanging', async () => {
    const s2 = new grpc.Server();
    const releases: Array<() => void> = [];
    addProposeService(s2, { caPem: ca.certPem, region: 'global', propose: () => new Promise<number>((res) => releases.push(() => res(1))) });
    const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server!.keyPem), cert_chain: Buffer.from(certs.server!.certPem) }], true);
    const port = await new Promise<number>((res, rej) => s2.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
    const c = new ProposeClient(`127.0.0.1:${port}`, { caPem: ca.certPem, certPem: certs.server!.certPem, keyPem: certs.server!.keyPem });
    try {
      const p = c.propose(Buffer.from('x'));
      for (let i = 0; i < 100 && releases.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(releases.length).toBe(1);
      s2.forceShutdown();
      await expect(p).rejects.toMatchObject({ code: 'unavailable' });
    } finally {
      c.close();
    }
  });
});
