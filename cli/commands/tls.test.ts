import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { verifyPeer } from '../../agent/tls/index.js';
import { parseTlsFlags, tlsCaCreate } from './tls-ca-create.js';
import { tlsCertCreate } from './tls-cert-create.js';
import { registerCommands } from './index.js';

function capture(): { out: { stdout: (s: string) => void; stderr: (s: string) => void }; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return { out: { stdout: (s) => { o += s; }, stderr: (s) => { e += s; } }, stdout: () => o, stderr: () => e };
}

let cwd = '';
beforeEach(() => { cwd = mkdtempSync(join(tmpdir(), 'nomadts-tls-cli-')); });
afterEach(() => { rmSync(cwd, { recursive: true, force: true }); });

const mode = (f: string): number => statSync(join(cwd, f)).mode & 0o777;
const read = (f: string): string => readFileSync(join(cwd, f), 'utf8');

async function ok(fn: typeof tlsCaCreate, args: string[]): Promise<string> {
  const c = capture();
  const code = await fn(args, c.out, { cwd });
  expect(c.stderr()).toBe('');
  expect(code).toBe(0);
  return c.stdout();
}

async function fails(fn: typeof tlsCaCreate, args: string[]): Promise<string> {
  const c = capture();
  expect(await fn(args, c.out, { cwd })).toBe(1);
  expect(c.stdout()).toBe('');
  return c.stderr();
}

describe('flag parsing', () => {
  it('takes Nomad single-dash flags, = forms, repeats and booleans', () => {
    const f = parseTlsFlags(['-server', '--region=east', '-days', '30', '-additional-dnsname', 'a.example', '-additional-dnsname=b.example'], { values: ['region', 'days'], repeated: ['additional-dnsname'], booleans: ['server'] });
    expect(f.values).toEqual(new Map([['region', 'east'], ['days', '30']]));
    expect(f.repeated.get('additional-dnsname')).toEqual(['a.example', 'b.example']);
    expect(f.booleans).toEqual(new Set(['server']));
  });
  it('refuses unknown flags, missing values, repeats of single flags, values on booleans and positional arguments', () => {
    expect(() => parseTlsFlags(['-bogus'], {})).toThrow('unknown flag -bogus');
    expect(() => parseTlsFlags(['-days'], { values: ['days'] })).toThrow('-days needs a value');
    expect(() => parseTlsFlags(['-days', '1', '-days', '2'], { values: ['days'] })).toThrow('-days given more than once');
    expect(() => parseTlsFlags(['-server=yes'], { booleans: ['server'] })).toThrow('-server takes no value');
    expect(() => parseTlsFlags(['ca.pem'], {})).toThrow('unexpected argument "ca.pem": this command takes only flags');
  });
});

describe('tls ca create', () => {
  it('writes nomadts-agent-ca.pem and its key (0600) in the current directory', async () => {
    expect(await ok(tlsCaCreate, [])).toBe('==> CA certificate saved to: nomadts-agent-ca.pem\n==> CA certificate key saved to: nomadts-agent-ca-key.pem\n');
    expect(readdirSync(cwd).sort()).toEqual(['nomadts-agent-ca-key.pem', 'nomadts-agent-ca.pem']);
    expect(mode('nomadts-agent-ca-key.pem')).toBe(0o600);
    expect(mode('nomadts-agent-ca.pem') & 0o022).toBe(0);
    const x = new X509Certificate(read('nomadts-agent-ca.pem'));
    expect(x.ca).toBe(true);
    expect(x.subject).toMatch(/^CN=nomadts Agent CA /);
  });
  it('honours -domain, -days and -common-name', async () => {
    await ok(tlsCaCreate, ['-domain', 'corp.example', '-days=30', '-common-name', 'Corp CA']);
    const x = new X509Certificate(read('corp.example-agent-ca.pem'));
    expect(x.subject).toContain('CN=Corp CA');
    expect(new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()).toBe(30 * 86_400_000 + 60_000);
    expect(existsSync(join(cwd, 'corp.example-agent-ca-key.pem'))).toBe(true);
  });
  it('refuses to overwrite and leaves the existing files untouched', async () => {
    await ok(tlsCaCreate, []);
    const before = read('nomadts-agent-ca.pem');
    const err = await fails(tlsCaCreate, []);
    expect(err).toBe(`Error: refusing to overwrite ${join(cwd, 'nomadts-agent-ca.pem')}, ${join(cwd, 'nomadts-agent-ca-key.pem')}: move or delete them first\n`);
    expect(read('nomadts-agent-ca.pem')).toBe(before);
  });
  it('writes nothing when only one of the two files exists', async () => {
    writeFileSync(join(cwd, 'nomadts-agent-ca-key.pem'), 'mine');
    expect(await fails(tlsCaCreate, [])).toMatch(/refusing to overwrite .*nomadts-agent-ca-key\.pem: move or delete it first/);
    expect(readdirSync(cwd)).toEqual(['nomadts-agent-ca-key.pem']);
    expect(read('nomadts-agent-ca-key.pem')).toBe('mine');
  });
  it('refuses bad flags and values', async () => {
    expect(await fails(tlsCaCreate, ['-days', 'ten'])).toBe('Error: -days must be a whole number of days, got "ten"\n');
    expect(await fails(tlsCaCreate, ['-days', '0'])).toBe('Error: days must be a whole number of days from 1 to 36500, got 0\n');
    expect(await fails(tlsCaCreate, ['-domain', 'Not_A_Domain'])).toMatch(/domain "Not_A_Domain" must be a DNS name/);
    expect(await fails(tlsCaCreate, ['-server'])).toBe('Error: unknown flag -server\n');
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('tls cert create', () => {
  beforeEach(async () => { await ok(tlsCaCreate, []); });

  it('writes <region>-<role>-nomadts.pem for each role, keys 0600, and they verify', async () => {
    expect(await ok(tlsCertCreate, ['-server'])).toBe('==> Using CA file nomadts-agent-ca.pem and CA key nomadts-agent-ca-key.pem\n==> Server Certificate saved to global-server-nomadts.pem\n==> Server Certificate key saved to global-server-nomadts-key.pem\n');
    await ok(tlsCertCreate, ['-client', '-region', 'east']);
    await ok(tlsCertCreate, ['--cli']);
    expect(readdirSync(cwd).sort()).toEqual([
      'east-client-nomadts-key.pem', 'east-client-nomadts.pem',
      'global-cli-nomadts-key.pem', 'global-cli-nomadts.pem',
      'global-server-nomadts-key.pem', 'global-server-nomadts.pem',
      'nomadts-agent-ca-key.pem', 'nomadts-agent-ca.pem',
    ]);
    for (const k of ['global-server-nomadts-key.pem', 'east-client-nomadts-key.pem', 'global-cli-nomadts-key.pem']) expect(mode(k)).toBe(0o600);
    const caPem = read('nomadts-agent-ca.pem');
    const now = new Date();
    expect(verifyPeer({ caPem, certPem: read('global-server-nomadts.pem'), now, allowedRoles: ['server'], region: 'global' })).toEqual({ ok: true, role: 'server', region: 'global', domain: 'nomadts' });
    expect(verifyPeer({ caPem, certPem: read('east-client-nomadts.pem'), now, allowedRoles: ['client'], region: 'east' })).toMatchObject({ ok: true, role: 'client' });
    expect(verifyPeer({ caPem, certPem: read('global-cli-nomadts.pem'), now, allowedRoles: ['server'], region: 'global' }))
      .toEqual({ ok: false, reason: 'certificate role cli may not call this endpoint; allowed: server' });
  });
  it('adds -additional-dnsname and -additional-ipaddress and honours -days', async () => {
    await ok(tlsCertCreate, ['-server', '-days', '30', '-additional-dnsname', 'nomad.example.com', '-additional-ipaddress', '10.1.2.3', '-additional-ipaddress=10.1.2.4']);
    const x = new X509Certificate(read('global-server-nomadts.pem'));
    expect(x.subjectAltName).toBe('DNS:server.global.nomadts, DNS:localhost, DNS:nomad.example.com, IP Address:127.0.0.1, IP Address:10.1.2.3, IP Address:10.1.2.4');
    expect(new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()).toBe(30 * 86_400_000 + 60_000);
  });
  it('reads the CA from -ca and -key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nomadts-tls-ca-'));
    try {
      await tlsCaCreate([], capture().out, { cwd: dir });
      rmSync(join(cwd, 'nomadts-agent-ca.pem'));
      const out = await ok(tlsCertCreate, ['-client', '-ca', join(dir, 'nomadts-agent-ca.pem'), '-key', join(dir, 'nomadts-agent-ca-key.pem')]);
      expect(out).toContain(`==> Using CA file ${join(dir, 'nomadts-agent-ca.pem')}`);
      expect(verifyPeer({ caPem: readFileSync(join(dir, 'nomadts-agent-ca.pem'), 'utf8'), certPem: read('global-client-nomadts.pem'), now: new Date(), allowedRoles: ['client'] }).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('needs exactly one of -server, -client, -cli', async () => {
    expect(await fails(tlsCertCreate, [])).toBe('Error: say which certificate to create: one of -server, -client or -cli\n');
    expect(await fails(tlsCertCreate, ['-server', '-cli'])).toBe('Error: give exactly one of -server, -client or -cli, got -server -cli\n');
  });
  it('refuses a missing, unreadable or invalid CA, naming the file, and writes nothing', async () => {
    const before = readdirSync(cwd).sort();
    expect(await fails(tlsCertCreate, ['-server', '-ca', 'nope.pem'])).toBe(`Error: cannot read CA certificate ${join(cwd, 'nope.pem')}: no such file\n`);
    expect(await fails(tlsCertCreate, ['-server', '-ca', '.'])).toBe(`Error: cannot read CA certificate ${cwd}: it is a directory\n`);
    writeFileSync(join(cwd, 'junk.pem'), 'not a certificate');
    expect(await fails(tlsCertCreate, ['-server', '-ca', 'junk.pem'])).toMatch(/^Error: CA certificate junk\.pem is not a valid PEM certificate/);
    expect(await fails(tlsCertCreate, ['-server', '-key', 'junk.pem'])).toMatch(/^Error: CA key junk\.pem is not a usable private key/);
    await tlsCertCreate(['-client'], capture().out, { cwd });
    expect(await fails(tlsCertCreate, ['-server', '-ca', 'global-client-nomadts.pem'])).toBe('Error: CA certificate global-client-nomadts.pem is not a CA certificate (basic constraints CA:TRUE missing)\n');
    expect(await fails(tlsCertCreate, ['-server', '-key', 'global-client-nomadts-key.pem'])).toBe('Error: CA key global-client-nomadts-key.pem does not belong to CA certificate nomadts-agent-ca.pem (the public keys differ)\n');
    expect(readdirSync(cwd).sort()).toEqual([...before, 'global-client-nomadts-key.pem', 'global-client-nomadts.pem', 'junk.pem'].sort());
  });
  // Root reads any file, so this only means something for an ordinary user.
  it.skipIf(process.getuid?.() === 0)('refuses an unreadable CA key', async () => {
    const { chmodSync } = await import('node:fs');
    chmodSync(join(cwd, 'nomadts-agent-ca-key.pem'), 0o000);
    expect(await fails(tlsCertCreate, ['-server'])).toBe(`Error: cannot read CA key ${join(cwd, 'nomadts-agent-ca-key.pem')}: permission denied\n`);
  });
  it('refuses to overwrite, bad regions, addresses and names', async () => {
    writeFileSync(join(cwd, 'global-server-nomadts-key.pem'), 'mine');
    expect(await fails(tlsCertCreate, ['-server'])).toMatch(/^Error: refusing to overwrite .*global-server-nomadts-key\.pem: move or delete it first\n$/);
    expect(existsSync(join(cwd, 'global-server-nomadts.pem'))).toBe(false);
    expect(await fails(tlsCertCreate, ['-client', '-region', 'US East'])).toMatch(/region "US East" must be one DNS label/);
    expect(await fails(tlsCertCreate, ['-client', '-additional-ipaddress', 'localhost'])).toBe('Error: additional IP address "localhost" is not an IPv4 or IPv6 address\n');
    expect(await fails(tlsCertCreate, ['-client', '-additional-dnsname', 'server.global.nomadts'])).toMatch(/names another agent role/);
    expect(await fails(tlsCertCreate, ['-client', '-days', '4000'])).toMatch(/would outlive its CA/);
  });
});

describe('wiring into the nomadts program', () => {
  it('routes `tls ca create` and `tls cert create -server` with single-dash flags through commander', async () => {
    const program = new Command().exitOverride();
    registerCommands(program);
    const tls = program.commands.find((c) => c.name() === 'tls')!;
    expect(tls.commands.map((c) => c.name()).sort()).toEqual(['ca', 'cert']);
    const prev = process.cwd();
    const write = process.stdout.write.bind(process.stdout);
    process.chdir(cwd);
    process.stdout.write = () => true;
    try {
      await program.parseAsync(['tls', 'ca', 'create', '-common-name', 'Wired CA'], { from: 'user' });
      await program.parseAsync(['tls', 'cert', 'create', '-server', '-region', 'west', '-days', '30'], { from: 'user' });
    } finally {
      process.stdout.write = write;
      process.chdir(prev);
    }
    expect(process.exitCode ?? 0).toBe(0);
    process.exitCode = undefined;
    expect(readdirSync(cwd).sort()).toEqual(['nomadts-agent-ca-key.pem', 'nomadts-agent-ca.pem', 'west-server-nomadts-key.pem', 'west-server-nomadts.pem']);
  });
});
