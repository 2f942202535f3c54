/**
 * The certificates over @grpc/grpc-js itself: the gRPC layer reads the peer certificate from
 * `call.getAuthContext().sslPeerCertificate` and asks verifyPeer who is calling.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import type { CertificateBundle, Role } from './index.js';
import { createCA, createCert, verifyPeer } from './index.js';

const identity = (b: Buffer): Buffer => b;
const method = (name: string) => ({
  path: `/nomadts.test.Probe/${name}`, requestStream: false, responseStream: false,
  requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
});
const service = { ServerOnly: method('ServerOnly'), AnyAgent: method('AnyAgent') };

let ca: CertificateBundle;
let srv: grpc.Server;
let port = 0;
const certs = {} as Record<Role | 'foreign', CertificateBundle>;

function guarded(allowedRoles: Role[]): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    const peer = call.getAuthContext()?.sslPeerCertificate;
    if (peer === undefined) return callback({ code: grpc.status.UNAUTHENTICATED, details: 'no client certificate' });
    const v = verifyPeer({ caPem: ca.certPem, certPem: peer.raw, now: new Date(), allowedRoles, region: 'global' });
    if (!v.ok) return callback({ code: grpc.status.PERMISSION_DENIED, details: v.reason });
    callback(null, Buffer.from(`${v.role}@${v.region}`));
  };
}

beforeAll(async () => {
  ca = await createCA();
  const other = await createCA();
  for (const role of ['server', 'client', 'cli'] as const) certs[role] = await createCert({ ca, role });
  certs.foreign = await createCert({ ca: other, role: 'server' });
  srv = new grpc.Server();
  srv.addService(service, { ServerOnly: guarded(['server']), AnyAgent: guarded(['server', 'client', 'cli']) });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server.keyPem), cert_chain: Buffer.from(certs.server.certPem) }], true);
  port = await new Promise<number>((resolve, reject) => srv.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
});
afterAll(() => { srv.forceShutdown(); });

const Client = grpc.makeGenericClientConstructor(service, 'Probe');

function call(as: CertificateBundle, name: 'ServerOnly' | 'AnyAgent'): Promise<{ value?: string; code?: number; details?: string }> {
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(as.keyPem), Buffer.from(as.certPem)), {
    'grpc.ssl_target_name_override': 'server.global.nomadts',
  });
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 10_000);
    (client[name] as (req: Buffer, md: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Buffer>) => void)(Buffer.alloc(0), new grpc.Metadata(), { deadline }, (err, res) => {
      client.close();
      resolve(err ? { code: err.code, details: err.details } : { value: res!.toString() });
    });
  });
}

describe('mutual TLS over @grpc/grpc-js', () => {
  it('lets a client certificate call an endpoint open to clients, and names it', async () => {
    expect(await call(certs.client, 'AnyAgent')).toEqual({ value: 'client@global' });
    expect(await call(certs.server, 'ServerOnly')).toEqual({ value: 'server@global' });
  });
  it('refuses a cli certificate on a server-only endpoint with the role sentence', async () => {
    expect(await call(certs.cli, 'ServerOnly')).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'certificate role cli may not call this endpoint; allowed: server' });
  });
  it('refuses a certificate from another CA before any handler runs', async () => {
    const r = await call(certs.foreign, 'AnyAgent');
    expect(r.value).toBeUndefined();
    expect(r.code).toBe(grpc.status.UNAVAILABLE);
  });
});
