import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NomadError, SeededRng } from '../core/lib/index.js';
import type { RpcServerHandle } from '../rpc-server/index.js';
import { startRpcServer } from '../rpc-server/index.js';
import { SystemClock } from '../runtime/index.js';
import { Server } from '../server/index.js';
import { simulatedNodes } from '../sim/index.js';
import type { CertificateBundle } from '../tls/index.js';
import { createCA, createCert } from '../tls/index.js';
import { ApiClient, discoveryFilePath, optionsFromEnv, parseAddress, parseDiscovery, pidAlive, readDiscovery } from './index.js';

function thrown(fn: () => unknown): NomadError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NomadError);
    return err as NomadError;
  }
  throw new Error('expected a NomadError');
}

describe('NOMADTS_ADDR', () => {
  it('accepts host:port, https:// and a trailing slash', () => {
    expect(parseAddress('127.0.0.1:4647')).toBe('127.0.0.1:4647');
    expect(parseAddress('https://server.example:9000/')).toBe('server.example:9000');
    expect(parseAddress('[::1]:4647')).toBe('[::1]:4647');
  });
  it('refuses anything else with a sentence', () => {
    expect(thrown(() => parseAddress('http://127.0.0.1:4647')).message).toBe('NOMADTS_ADDR "http://127.0.0.1:4647": only https:// (or a bare host:port) is supported');
    expect(thrown(() => parseAddress('localhost')).message).toBe('NOMADTS_ADDR "localhost" must be host:port (e.g. 127.0.0.1:4647)');
    expect(thrown(() => parseAddress('localhost:70000')).field).toBe('NOMADTS_ADDR');
  });
});

describe('optionsFromEnv', () => {
  const files: Record<string, string> = { '/ca.pem': 'CA', '/cli.pem': 'CERT', '/cli-key.pem': 'KEY' };
  const read = (p: string): string => {
    const v = files[p];
    if (v === undefined) throw new Error('ENOENT: no such file');
    return v;
  };
  it('reads the three PEM files and defaults the address', () => {
    expect(optionsFromEnv({ NOMADTS_CACERT: '/ca.pem', NOMADTS_CLIENT_CERT: '/cli.pem', NOMADTS_CLIENT_KEY: '/cli-key.pem' }, read)).toEqual({
      address: '127.0.0.1:4647',
      caPem: 'CA',
      certPem: 'CERT',
      keyPem: 'KEY',
    });
  });
  it('names the missing or unreadable variable', () => {
    expect(thrown(() => optionsFromEnv({ NOMADTS_CACERT: '/ca.pem', NOMADTS_CLIENT_CERT: '/cli.pem' }, read)).message).toBe(
      "NOMADTS_CLIENT_KEY is not set: the API needs the cli certificate's private key (PEM file) for mutual TLS",
    );
    expect(thrown(() => optionsFromEnv({ NOMADTS_CACERT: '/nope.pem', NOMADTS_CLIENT_CERT: '/cli.pem', NOMADTS_CLIENT_KEY: '/cli-key.pem' }, read)).message).toBe(
      'NOMADTS_CACERT: cannot read /nope.pem: ENOENT: no such file',
    );
  });
});

describe('optionsFromEnv with a dev agent on this machine (discovery file)', () => {
  const runtime = '/run/user/1000';
  const discovery = { rpcAddr: '127.0.0.1:5000', region: 'eu', caFile: '/dev/ca.pem', certFile: '/dev/cli.pem', keyFile: '/dev/cli-key.pem', pid: 4242, dataDir: '/tmp/d' };
  const files: Record<string, string> = {
    [join(runtime, 'nomadts-dev-agent.json')]: JSON.stringify(discovery),
    '/dev/ca.pem': 'DEV-CA', '/dev/cli.pem': 'DEV-CERT', '/dev/cli-key.pem': 'DEV-KEY',
    '/ca.pem': 'CA', '/cli.pem': 'CERT', '/cli-key.pem': 'KEY',
  };
  const read = (p: string): string => {
    const v = files[p];
    if (v === undefined) throw new Error(`ENOENT: ${p}`);
    return v;
  };
  const alive = (pid: number): boolean => pid === 4242;
  const env = { XDG_RUNTIME_DIR: runtime };

  it('lives in $XDG_RUNTIME_DIR, else the OS temp dir', () => {
    expect(discoveryFilePath(env)).toBe(join(runtime, 'nomadts-dev-agent.json'));
    expect(discoveryFilePath({})).toBe(join(tmpdir(), 'nomadts-dev-agent.json'));
    expect(discoveryFilePath({ XDG_RUNTIME_DIR: '' })).toBe(join(tmpdir(), 'nomadts-dev-agent.json'));
  });

  it('takes the address, region and cli certificate of a live agent when nothing is set', () => {
    expect(optionsFromEnv(env, read, alive)).toEqual({ address: '127.0.0.1:5000', caPem: 'DEV-CA', certPem: 'DEV-CERT', keyPem: 'DEV-KEY', region: 'eu' });
  });

  it('lets every variable that is set win over the discovery file', () => {
    expect(optionsFromEnv({ ...env, NOMADTS_ADDR: 'other:1', NOMADTS_REGION: 'us' }, read, alive)).toEqual({
      address: 'other:1', caPem: 'DEV-CA', certPem: 'DEV-CERT', keyPem: 'DEV-KEY', region: 'us',
    });
    expect(optionsFromEnv({ ...env, NOMADTS_CACERT: '/ca.pem', NOMADTS_CLIENT_CERT: '/cli.pem', NOMADTS_CLIENT_KEY: '/cli-key.pem' }, read, alive)).toEqual({
      address: '127.0.0.1:5000', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', region: 'eu',
    });
    const all = { ...env, NOMADTS_ADDR: 'x:2', NOMADTS_REGION: 'r', NOMADTS_CACERT: '/ca.pem', NOMADTS_CLIENT_CERT: '/cli.pem', NOMADTS_CLIENT_KEY: '/cli-key.pem' };
    let discoveryRead = false;
    const spy = (p: string): string => {
      if (p.endsWith('nomadts-dev-agent.json')) discoveryRead = true;
      return read(p);
    };
    expect(optionsFromEnv(all, spy, alive)).toEqual({ address: 'x:2', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', region: 'r' });
    expect(discoveryRead).toBe(false);
  });

  it('ignores the file of an agent that is gone, and a malformed file', () => {
    expect(thrown(() => optionsFromEnv(env, read, () => false)).message).toBe(
      'NOMADTS_CACERT is not set: the API needs the cluster CA certificate (PEM file) for mutual TLS',
    );
    expect(readDiscovery(env, () => '{"rpcAddr": 5}', alive)).toBeUndefined();
    expect(readDiscovery(env, () => 'not json', alive)).toBeUndefined();
    expect(parseDiscovery(JSON.stringify({ ...discovery, pid: '4242' }))).toBeUndefined();
    expect(parseDiscovery(JSON.stringify({ ...discovery, region: undefined }))?.region).toBe('global');
  });

  it('tells a live pid from a dead one', () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(0)).toBe(false);
    expect(pidAlive(-1)).toBe(false);
    expect(pidAlive(2 ** 30)).toBe(false);
  });
});

describe('ApiClient.fromEnv against a real server', () => {
  let ca: CertificateBundle;
  let server: Server;
  let rpc: RpcServerHandle;
  let dir: string;

  beforeAll(async () => {
    ca = await createCA();
    const serverCert = await createCert({ ca, role: 'server' });
    const rng = new SeededRng(11);
    server = new Server({ clock: new SystemClock(), rng: rng.fork() });
    server.start();
    for (const n of simulatedNodes({ count: 3, rng: rng.fork() })) await server.registerNode(n);
    rpc = await startRpcServer({ server, tls: { caPem: ca.certPem, ...serverCert }, region: 'global', rng: rng.fork() });
    dir = mkdtempSync(join(tmpdir(), 'nomadts-api-'));
  });
  afterAll(async () => {
    await rpc.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the files the environment names and reads the cluster', async () => {
    const cli = await createCert({ ca, role: 'cli' });
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'cli.pem'), cli.certPem);
    writeFileSync(join(dir, 'cli-key.pem'), cli.keyPem);
    const client = ApiClient.fromEnv({
      NOMADTS_ADDR: `https://127.0.0.1:${rpc.port}`,
      NOMADTS_CACERT: join(dir, 'ca.pem'),
      NOMADTS_CLIENT_CERT: join(dir, 'cli.pem'),
      NOMADTS_CLIENT_KEY: join(dir, 'cli-key.pem'),
    });
    try {
      expect((await client.listNodes()).value).toHaveLength(3);
      const err = await client.getAlloc('missing').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NomadError);
      expect((err as NomadError).code).toBe('not_found');
      expect((err as NomadError).message).toBe('allocation "missing" not found');
      expect((err as NomadError).field).toBe('allocId');
    } finally {
      client.close();
    }
  });
});
