import { describe, expect, it } from 'vitest';
import { MultiError, NomadError } from '../core/lib/index.js';
import { parseServerConfig } from './config.js';

const good = `name     = "s1"
region   = "global"
data_dir = "/var/lib/nomadts"
bind_addr = "127.0.0.1"
advertise {
  rpc = "10.0.0.1:4647"
}
ports {
  rpc = 4650
}
server {
  enabled          = true
  bootstrap_expect = 3
  raft_multiplier  = 2
}
server_join {
  retry_join = ["10.0.0.2:4647", "10.0.0.3:4647"]
}
tls {
  ca_file   = "ca.pem"
  cert_file = "server.pem"
  key_file  = "server-key.pem"
}
client {
  enabled = false
}
`;

describe('server agent configuration', () => {
  it('reads every server setting', async () => {
    expect(await parseServerConfig(good, 'server.hcl')).toEqual({
      name: 's1', region: 'global', datacenter: 'dc1', dataDir: '/var/lib/nomadts', bindAddr: '127.0.0.1', advertiseRpc: '10.0.0.1:4647', rpcPort: 4650,
      server: { enabled: true, bootstrapExpect: 3, raftMultiplier: 2, deadServerCleanupMs: 120_000, gossipProbeIntervalMs: 1_000 }, retryJoin: ['10.0.0.2:4647', '10.0.0.3:4647'],
      serfPort: undefined, advertiseSerf: '', // issue 6
      tls: { caFile: 'ca.pem', certFile: 'server.pem', keyFile: 'server-key.pem' },
    });
  });

  it('advertises bind_addr:rpc port by default', async () => {
    const cfg = await parseServerConfig(good.replace(/advertise \{\n.*\n\}\n/, ''), 'server.hcl');
    expect(cfg.advertiseRpc).toBe('127.0.0.1:4650');
  });

  it('names the file, line and field of a bad value', async () => {
    const bad = good.replace('bootstrap_expect = 3', 'bootstrap_expect = 9');
    await expect(parseServerConfig(bad, 'server.hcl')).rejects.toThrow(new NomadError('validation', 'server.bootstrap_expect: must be between 1 and 7, got 9', { position: { file: 'server.hcl', line: 13, column: 3 } }).message);
  });

  it('refuses unknown attributes and a bad retry_join address, listing every problem in file order', async () => {
    const bad = good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  bogus = 1').replace('"10.0.0.3:4647"', '"nowhere"');
    const err = await parseServerConfig(bad, 'server.hcl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultiError);
    const msgs = (err as MultiError).errors.map((e) => e.message);
    expect(msgs[0]).toMatch(/^server\.hcl:15:3: server\.bogus: unknown attribute/);
    expect(msgs[1]).toMatch(/^server\.hcl:18:\d+: server_join\.retry_join: must be host:port, got "nowhere"/);
  });

  it('requires data_dir and tls for a server', async () => {
    const bad = good.replace('data_dir = "/var/lib/nomadts"\n', '').replace(/tls \{[^}]*\}\n/, '');
    const err = await parseServerConfig(bad, 'server.hcl').catch((e: unknown) => e);
    const text = (err as MultiError).errors.map((e) => e.message).join('\n');
    expect(text).toMatch(/data_dir: is required for a server/);
    expect(text).toMatch(/tls: is required for a server: servers speak only mutual TLS/);
  });

  // Issue 5 §4: scheduler workers on every server.
  it('reads num_schedulers (0 allowed: a server that schedules nothing) and refuses a bad one by field', async () => {
    expect((await parseServerConfig(good, 'server.hcl')).server.numSchedulers).toBeUndefined();
    expect((await parseServerConfig(good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  num_schedulers = 4'), 'server.hcl')).server.numSchedulers).toBe(4);
    expect((await parseServerConfig(good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  num_schedulers = 0'), 'server.hcl')).server.numSchedulers).toBe(0);
    await expect(parseServerConfig(good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  num_schedulers = -1'), 'server.hcl')).rejects.toThrow(/server\.hcl:15:3: server\.num_schedulers: must be between 0 and 128, got -1/);
    await expect(parseServerConfig(good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  num_schedulers = "two"'), 'server.hcl')).rejects.toThrow(/server\.num_schedulers: must be an integer/);
  });

  it('reads raft_snapshot_threshold, and refuses one below 8', async () => {
    const cfg = await parseServerConfig(good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  raft_snapshot_threshold = 64'), 'server.hcl');
    expect(cfg.server.raftSnapshotThreshold).toBe(64);
    expect((await parseServerConfig(good, 'server.hcl')).server.raftSnapshotThreshold).toBeUndefined();
    await expect(parseServerConfig(good.replace('raft_multiplier  = 2', 'raft_multiplier  = 2\n  raft_snapshot_threshold = 2'), 'server.hcl')).rejects.toThrow(/server\.raft_snapshot_threshold: must be between 8 and 1000000000, got 2/);
  });

  it('reports a syntax error with its position', async () => {
    await expect(parseServerConfig('server {\n  enabled = \n}', 'x.hcl')).rejects.toThrow(/^x\.hcl:\d+:\d+: /);
  });
});
