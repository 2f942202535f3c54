import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { CertificateBundle } from './index.js';
import { createCA, createCert, ensureDevCertificates, loadAgentTls, parseRoleDnsName, roleDnsName, roleOf, verifyPeer } from './index.js';

const T0 = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;

let ca: CertificateBundle;
let otherCa: CertificateBundle;
let server: CertificateBundle;
let client: CertificateBundle;
let cli: CertificateBundle;
let foreignClient: CertificateBundle;

beforeAll(async () => {
  ca = await createCA({ now: T0 });
  otherCa = await createCA({ now: T0 });
  server = await createCert({ ca, role: 'server', now: T0 });
  client = await createCert({ ca, role: 'client', now: T0 });
  cli = await createCert({ ca, role: 'cli', now: T0 });
  foreignClient = await createCert({ ca: otherCa, role: 'client', now: T0 });
});

const AT = T0 + DAY;

describe('names', () => {
  it('round-trips <role>.<region>.<domain>', () => {
    expect(roleDnsName('server', 'global')).toBe('server.global.nomadts');
    expect(parseRoleDnsName('client.east.nomadts')).toEqual({ role: 'client', region: 'east', domain: 'nomadts' });
    expect(parseRoleDnsName('cli.west.corp.example')).toEqual({ role: 'cli', region: 'west', domain: 'corp.example' });
  });
  it('rejects names that are not agent names', () => {
    for (const n of ['localhost', 'admin.global.nomadts', 'server.nomadts', 'server..nomadts', 'server.Bad_Region.nomadts']) {
      expect(parseRoleDnsName(n), n).toBeNull();
    }
  });
});

describe('createCA', () => {
  it('makes a self-signed P-256 CA with CA usages and the requested lifetime', async () => {
    const c = await createCA({ commonName: 'Test CA', days: 10, now: T0 });
    const x = new X509Certificate(c.certPem);
    expect(x.ca).toBe(true);
    expect(x.subject).toContain('CN=Test CA');
    expect(x.checkIssued(x)).toBe(true);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new Date(x.validTo).getTime()).toBe(T0 + 10 * DAY);
    expect(c.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/);
  });
  it('defaults the common name to "<domain> Agent CA <serial>" and the lifetime to 1825 days', async () => {
    const x = new X509Certificate(ca.certPem);
    expect(x.subject).toMatch(/CN=nomadts Agent CA [0-9a-f]{16}/);
    expect(new Date(x.validTo).getTime()).toBe(T0 + 1825 * DAY);
  });
  it('refuses bad days, domains and common names', async () => {
    await expect(createCA({ days: 0 })).rejects.toThrow(/days must be a whole number of days from 1 to 36500, got 0/);
    await expect(createCA({ days: 1.5 })).rejects.toThrow(/got 1.5/);
    await expect(createCA({ domain: 'Bad Domain' })).rejects.toThrow(/domain "Bad Domain" must be a DNS name/);
    await expect(createCA({ commonName: ' ' })).rejects.toThrow(/common-name must be 1 to 64 characters/);
  });
});

describe('createCert', () => {
  it('names each role as Nomad does, with IP 127.0.0.1 for agents only', () => {
    expect(new X509Certificate(server.certPem).subjectAltName).toBe('DNS:server.global.nomadts, DNS:localhost, IP Address:127.0.0.1');
    expect(new X509Certificate(client.certPem).subjectAltName).toBe('DNS:client.global.nomadts, DNS:localhost, IP Address:127.0.0.1');
    expect(new X509Certificate(cli.certPem).subjectAltName).toBe('DNS:cli.global.nomadts');
    expect(new X509Certificate(server.certPem).subject).toBe('CN=server.global.nomadts');
  });
  it('gives server and client both TLS usages and cli only clientAuth', () => {
    const serverAuth = '1.3.6.1.5.5.7.3.1';
    const clientAuth = '1.3.6.1.5.5.7.3.2';
    expect(new X509Certificate(server.certPem).keyUsage.sort()).toEqual([serverAuth, clientAuth]);
    expect(new X509Certificate(client.certPem).keyUsage.sort()).toEqual([serverAuth, clientAuth]);
    expect(new X509Certificate(cli.certPem).keyUsage).toEqual([clientAuth]);
    expect(new X509Certificate(server.certPem).ca).toBe(false);
  });
  it('is signed by the CA and lasts 365 days by default', () => {
    const x = new X509Certificate(server.certPem);
    const c = new X509Certificate(ca.certPem);
    expect(x.checkIssued(c)).toBe(true);
    expect(x.verify(c.publicKey)).toBe(true);
    expect(new Date(x.validTo).getTime()).toBe(T0 + 365 * DAY);
  });
  it('adds extra DNS names and IPs, and uses the region', async () => {
    const c = await createCert({ ca, role: 'server', region: 'east', additionalDnsNames: ['nomad.example.com'], additionalIps: ['10.0.0.5', '::1'], now: T0 });
    expect(new X509Certificate(c.certPem).subjectAltName).toBe('DNS:server.east.nomadts, DNS:localhost, DNS:nomad.example.com, IP Address:127.0.0.1, IP Address:10.0.0.5, IP Address:0:0:0:0:0:0:0:1');
  });
  it('refuses bad names, addresses, regions, roles and lifetimes', async () => {
    await expect(createCert({ ca, role: 'server', additionalIps: ['10.0.0.300'], now: T0 })).rejects.toThrow('additional IP address "10.0.0.300" is not an IPv4 or IPv6 address');
    await expect(createCert({ ca, role: 'server', additionalDnsNames: ['bad name'], now: T0 })).rejects.toThrow('additional DNS name "bad name" is not a valid DNS name');
    await expect(createCert({ ca, role: 'client', additionalDnsNames: ['server.global.nomadts'], now: T0 })).rejects.toThrow(/names another agent role/);
    await expect(createCert({ ca, role: 'server', region: 'Us East', now: T0 })).rejects.toThrow(/region "Us East" must be one DNS label/);
    await expect(createCert({ ca, role: 'admin' as 'server', now: T0 })).rejects.toThrow(/role must be one of server, client, cli, got "admin"/);
    await expect(createCert({ ca, role: 'server', days: 2000, now: T0 })).rejects.toThrow(/would outlive its CA, which expires 2034-12-31/);
  });
  it('refuses a CA whose key does not match, a non-CA certificate, a non-P-256 key and garbage', async () => {
    await expect(createCert({ ca: { certPem: ca.certPem, keyPem: otherCa.keyPem }, role: 'server', now: T0 })).rejects.toThrow('CA key does not belong to CA certificate (the public keys differ)');
    await expect(createCert({ ca: server, role: 'server', now: T0 })).rejects.toThrow(/CA certificate is not a CA certificate/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await expect(createCert({ ca: { certPem: ca.certPem, keyPem: rsa }, role: 'server', now: T0 })).rejects.toThrow(/CA key is not a usable private key: it is a rsa key/);
    await expect(createCert({ ca: { certPem: 'hello', keyPem: ca.keyPem }, role: 'server', now: T0 })).rejects.toThrow(/CA certificate is not a valid PEM certificate/);
    await expect(createCert({ ca: { certPem: ca.certPem, keyPem: 'nope' }, role: 'server', now: T0 })).rejects.toThrow(/CA key is not a usable private key/);
  });
});

describe('roleOf', () => {
  it('reads role and region from the DNS name', async () => {
    expect(roleOf(server.certPem)).toEqual({ role: 'server', region: 'global', domain: 'nomadts' });
    expect(roleOf(cli.certPem)).toEqual({ role: 'cli', region: 'global', domain: 'nomadts' });
    const east = await createCert({ ca, role: 'client', region: 'east', now: T0 });
    expect(roleOf(east.certPem)).toEqual({ role: 'client', region: 'east', domain: 'nomadts' });
  });
  it('returns null for a CA or garbage', () => {
    expect(roleOf(ca.certPem)).toBeNull();
    expect(roleOf('not a certificate')).toBeNull();
  });
});

describe('verifyPeer', () => {
  it('accepts a server certificate as server for its region', () => {
    expect(verifyPeer({ caPem: ca.certPem, certPem: server.certPem, now: AT, allowedRoles: ['server'], region: 'global' }))
      .toEqual({ ok: true, role: 'server', region: 'global', domain: 'nomadts' });
  });
  it('accepts DER bytes, as a TLS socket gives them', () => {
    const der = new X509Certificate(client.certPem).raw;
    expect(verifyPeer({ caPem: ca.certPem, certPem: der, now: new Date(AT), allowedRoles: ['client', 'server'] })).toMatchObject({ ok: true, role: 'client' });
  });
  it('refuses a client certificate on a server-only endpoint', () => {
    expect(verifyPeer({ caPem: ca.certPem, certPem: client.certPem, now: AT, allowedRoles: ['server'], region: 'global' }))
      .toEqual({ ok: false, reason: 'certificate role client may not call this endpoint; allowed: server' });
    expect(verifyPeer({ caPem: ca.certPem, certPem: cli.certPem, now: AT, allowedRoles: ['server', 'client'] }))
      .toEqual({ ok: false, reason: 'certificate role cli may not call this endpoint; allowed: server, client' });
  });
  it('refuses a certificate from another CA', () => {
    const v = verifyPeer({ caPem: ca.certPem, certPem: foreignClient.certPem, now: AT, allowedRoles: ['client'] });
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toMatch(/^certificate was signed by another CA \(issuer "CN=nomadts Agent CA [0-9a-f]+, O=nomadts"\), not this cluster's CA "CN=nomadts Agent CA [0-9a-f]+, O=nomadts"$/);
  });
  it('refuses a certificate from another CA that copies this CA\'s name', async () => {
    const subject = new X509Certificate(ca.certPem).subject.split('\n')[0]!.slice(3);
    const impostor = await createCA({ commonName: subject, now: T0 });
    const forged = await createCert({ ca: impostor, role: 'server', now: T0 });
    expect(verifyPeer({ caPem: ca.certPem, certPem: forged.certPem, now: AT, allowedRoles: ['server'] }).ok).toBe(false);
  });
  it('refuses an expired certificate, naming the date', async () => {
    const short = await createCert({ ca, role: 'server', days: 10, now: T0 });
    expect(verifyPeer({ caPem: ca.certPem, certPem: short.certPem, now: T0 + 10 * DAY, allowedRoles: ['server'] }).ok).toBe(true);
    expect(verifyPeer({ caPem: ca.certPem, certPem: short.certPem, now: T0 + 10 * DAY + 1, allowedRoles: ['server'] }))
      .toEqual({ ok: false, reason: 'certificate expired on 2030-01-11T00:00:00.000Z' });
  });
  it('refuses a certificate that is not yet valid', async () => {
    const later = await createCert({ ca, role: 'server', now: T0 + 100 * DAY });
    expect(verifyPeer({ caPem: ca.certPem, certPem: later.certPem, now: T0 + 50 * DAY, allowedRoles: ['server'] }))
      .toEqual({ ok: false, reason: 'certificate is not valid until 2030-04-10T23:59:00.000Z' });
  });
  it('refuses everything once the CA itself has expired', () => {
    expect(verifyPeer({ caPem: ca.certPem, certPem: server.certPem, now: T0 + 1826 * DAY, allowedRoles: ['server'] }))
      .toEqual({ ok: false, reason: 'the cluster CA expired on 2034-12-31T00:00:00.000Z' });
  });
  it('refuses the wrong region', async () => {
    const east = await createCert({ ca, role: 'server', region: 'east', now: T0 });
    expect(verifyPeer({ caPem: ca.certPem, certPem: east.certPem, now: AT, allowedRoles: ['server'], region: 'global' }))
      .toEqual({ ok: false, reason: 'certificate is for region east, this agent serves region global' });
  });
  it('refuses the CA certificate itself, another domain and garbage', async () => {
    expect(verifyPeer({ caPem: ca.certPem, certPem: ca.certPem, now: AT, allowedRoles: ['server'] }))
      .toEqual({ ok: false, reason: 'certificate is a CA certificate, not an agent certificate' });
    const corpCa = await createCA({ domain: 'corp.example', now: T0 });
    const corp = await createCert({ ca: corpCa, role: 'server', domain: 'corp.example', now: T0 });
    expect(verifyPeer({ caPem: corpCa.certPem, certPem: corp.certPem, now: AT, allowedRoles: ['server'] }))
      .toEqual({ ok: false, reason: 'certificate names no agent role: expected a DNS name like server.<region>.nomadts, it has server.global.corp.example, localhost' });
    expect(verifyPeer({ caPem: corpCa.certPem, certPem: corp.certPem, now: AT, allowedRoles: ['server'], domain: 'corp.example' })).toMatchObject({ ok: true, domain: 'corp.example' });
    const bad = verifyPeer({ caPem: ca.certPem, certPem: 'garbage', now: AT, allowedRoles: ['server'] });
    expect(!bad.ok && bad.reason).toMatch(/^the certificate could not be parsed/);
    const badCa = verifyPeer({ caPem: 'garbage', certPem: server.certPem, now: AT, allowedRoles: ['server'] });
    expect(!badCa.ok && badCa.reason).toMatch(/^the CA certificate could not be parsed/);
  });
});

describe('ensureDevCertificates', () => {
  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'nomadts-tls-dev-')); });
  afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

  it('creates a CA and one certificate per role, keys 0600, and reuses them', async () => {
    const first = await ensureDevCertificates(dir, 'global', { now: T0 });
    expect(first.created).toBe(true);
    expect(first.caFile).toBe(join(dir, 'tls', 'nomadts-agent-ca.pem'));
    expect(first.server).toEqual({ certFile: join(dir, 'tls', 'global-server-nomadts.pem'), keyFile: join(dir, 'tls', 'global-server-nomadts-key.pem') });
    for (const k of [first.caKeyFile, first.server.keyFile, first.client.keyFile, first.cli.keyFile]) expect(statSync(k).mode & 0o777).toBe(0o600);
    expect(statSync(first.dir).mode & 0o777).toBe(0o700);
    const caPem = readFileSync(first.caFile, 'utf8');
    for (const role of ['server', 'client', 'cli'] as const) {
      expect(verifyPeer({ caPem, certPem: readFileSync(first[role].certFile, 'utf8'), now: T0, allowedRoles: [role], region: 'global' }).ok).toBe(true);
    }
    const before = readFileSync(first.server.certFile, 'utf8');
    const second = await ensureDevCertificates(dir, 'global', { now: T0 + DAY });
    expect(second).toEqual({ ...first, created: false });
    expect(readFileSync(second.server.certFile, 'utf8')).toBe(before);
  });
  it('replaces the set when a file is missing or broken, or the certificates are about to expire', async () => {
    const a = await ensureDevCertificates(dir, 'global', { now: T0 });
    unlinkSync(a.client.keyFile);
    const b = await ensureDevCertificates(dir, 'global', { now: T0 });
    expect(b.created).toBe(true);
    writeFileSync(b.server.certFile, 'broken');
    expect((await ensureDevCertificates(dir, 'global', { now: T0 })).created).toBe(true);
    expect((await ensureDevCertificates(dir, 'global', { now: T0 })).created).toBe(false);
    expect((await ensureDevCertificates(dir, 'global', { now: T0 + 360 * DAY })).created).toBe(true);
  });
  it('loads as an agent\'s own TLS material, and loadAgentTls refuses a mismatch naming the files', async () => {
    const d = await ensureDevCertificates(dir, 'global', { now: T0 });
    const server = loadAgentTls({ caFile: d.caFile, ...d.server }, { role: 'server', region: 'global', now: T0 });
    expect(server.identity).toEqual({ role: 'server', region: 'global', domain: 'nomadts' });
    expect(server.keyPem).toBe(readFileSync(d.server.keyFile, 'utf8'));
    expect(() => loadAgentTls({ caFile: d.caFile, certFile: d.server.certFile, keyFile: d.client.keyFile }, { role: 'server', now: T0 }))
      .toThrow(`key ${d.client.keyFile} does not belong to certificate ${d.server.certFile}`);
    expect(() => loadAgentTls({ caFile: d.caFile, ...d.client }, { role: 'server', now: T0 }))
      .toThrow(`${d.client.certFile} cannot serve as this agent's server certificate (CA ${d.caFile}): certificate role client may not call this endpoint; allowed: server`);
    expect(() => loadAgentTls({ caFile: join(dir, 'missing.pem'), ...d.server }, { role: 'server', now: T0 }))
      .toThrow(`cannot read CA certificate ${join(dir, 'missing.pem')}: no such file`);
  });
  it('keeps regions apart and refuses a bad region', async () => {
    const east = await ensureDevCertificates(dir, 'east', { now: T0 });
    expect(east.server.certFile).toBe(join(dir, 'tls', 'east-server-nomadts.pem'));
    expect(roleOf(readFileSync(east.server.certFile, 'utf8'))).toEqual({ role: 'server', region: 'east', domain: 'nomadts' });
    await expect(ensureDevCertificates(dir, 'East Coast')).rejects.toThrow(/region "East Coast" must be one DNS label/);
  });
});

describe('a real TLS handshake (node:tls, as gRPC uses)', () => {
  // Real time: Node's TLS stack checks validity against the wall clock.
  let live: { ca: CertificateBundle; server: CertificateBundle; client: CertificateBundle; cli: CertificateBundle; foreign: CertificateBundle; foreignServer: CertificateBundle };
  beforeAll(async () => {
    const liveCa = await createCA();
    const other = await createCA();
    live = {
      ca: liveCa,
      server: await createCert({ ca: liveCa, role: 'server' }),
      client: await createCert({ ca: liveCa, role: 'client' }),
      cli: await createCert({ ca: liveCa, role: 'cli' }),
      foreign: await createCert({ ca: other, role: 'client' }),
      foreignServer: await createCert({ ca: other, role: 'server' }),
    };
  });

  interface Outcome { data: string; error: string | null; serverSaw: string | null; serverError: string | null }

  /** One server, one client; resolves when the client socket closes. */
  async function handshake(serverCert: CertificateBundle, clientCert: CertificateBundle, servername = 'server.global.nomadts'): Promise<Outcome> {
    let serverSaw: string | null = null;
    let serverError: string | null = null;
    const srv = tls.createServer({ key: serverCert.keyPem, cert: serverCert.certPem, ca: [live.ca.certPem], requestCert: true, rejectUnauthorized: true }, (socket) => {
      const v = verifyPeer({ caPem: live.ca.certPem, certPem: socket.getPeerCertificate().raw, now: new Date(), allowedRoles: ['client', 'server'], region: 'global' });
      serverSaw = v.ok ? v.role : v.reason;
      socket.end('hello');
    });
    srv.on('tlsClientError', (err) => { serverError = err.message; });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as AddressInfo;
    try {
      return await new Promise<Outcome>((done) => {
        let data = '';
        let error: string | null = null;
        const sock = tls.connect({ host: '127.0.0.1', port, servername, ca: [live.ca.certPem], key: clientCert.keyPem, cert: clientCert.certPem });
        sock.setEncoding('utf8');
        sock.on('data', (d: string) => { data += d; });
        sock.on('error', (e) => { error = e.message; });
        sock.on('close', () => { done({ data, error, serverSaw, serverError }); });
      });
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }

  it('connects with a client certificate, and verifyPeer names the peer a client', async () => {
    const o = await handshake(live.server, live.client);
    expect(o).toEqual({ data: 'hello', error: null, serverSaw: 'client', serverError: null });
  });
  it('connects with a cli certificate (clientAuth only)', async () => {
    expect((await handshake(live.server, live.cli)).data).toBe('hello');
  });
  it('refuses a client certificate from another CA during the handshake', async () => {
    const o = await handshake(live.server, live.foreign);
    // Node's server verifies after the handshake and, with rejectUnauthorized, destroys the
    // socket before 'secureConnection': the peer never reaches application code.
    expect(o.data).toBe('');
    expect(o.serverSaw).toBeNull();
    expect(o.serverError).not.toBeNull();
  });
  it('refuses a server certificate whose name does not match what the client dialled', async () => {
    const o = await handshake(live.server, live.client, 'client.global.nomadts');
    expect(o.data).toBe('');
    expect(o.error).toMatch(/Hostname\/IP does not match certificate's altnames/);
  });
  it('refuses a server certificate from another CA at the client', async () => {
    const o = await handshake(live.foreignServer, live.client);
    expect(o.data).toBe('');
    expect(o.error).toMatch(/unable to get local issuer certificate|unable to verify/i);
  });
  it('refuses a cli certificate used as a server certificate (no serverAuth usage)', async () => {
    // The name matches (cli.global.nomadts), so only the missing serverAuth usage can refuse it.
    const o = await handshake(live.cli, live.client, 'cli.global.nomadts');
    expect(o.data).toBe('');
    expect(o.error).toBe('unsuitable certificate purpose');
  });
});
