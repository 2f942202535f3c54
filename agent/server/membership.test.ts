import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiError, NomadError } from '../core/lib/index.js';
import type { OpsPayload, OpsSink } from '../core/ops/index.js';
import type { ServerAgentConfig } from './config.js';
import { parseServerConfig } from './config.js';
import { gossipTimings, joinCandidates, Membership } from './membership.js';

const base = (extra: string): string => `name     = "s1"
data_dir = "/tmp/x"
${extra}
server {
  enabled = true
}
tls {
  ca_file   = "ca.pem"
  cert_file = "server.pem"
  key_file  = "server-key.pem"
}
`;

async function failure(text: string): Promise<NomadError[]> {
  try {
    await parseServerConfig(text, 'server.hcl');
  } catch (err) {
    if (err instanceof MultiError) return err.errors as NomadError[];
    if (err instanceof NomadError) return [err];
    throw err;
  }
  throw new Error('parsed without error');
}

describe('gossip settings in the server configuration', () => {
  it('reads ports.serf, advertise.serf, dead_server_cleanup and gossip_probe_interval', async () => {
    const cfg = await parseServerConfig(`name = "s1"
data_dir = "/d"
advertise {
  serf = "10.0.0.1:5648"
}
ports {
  rpc  = 5647
  serf = 5648
}
server {
  enabled               = true
  dead_server_cleanup   = "45s"
  gossip_probe_interval = "250ms"
}
tls {
  ca_file   = "a"
  cert_file = "b"
  key_file  = "c"
}
`, 'server.hcl');
    expect(cfg.serfPort).toBe(5648);
    expect(cfg.advertiseSerf).toBe('10.0.0.1:5648');
    expect(cfg.server.deadServerCleanupMs).toBe(45_000);
    expect(cfg.server.gossipProbeIntervalMs).toBe(250);
  });

  it('defaults: serf port unset (rpc + 1 at start), cleanup after 2 minutes, 1 s probes', async () => {
    const cfg = await parseServerConfig(base(''), 'server.hcl');
    expect(cfg.serfPort).toBeUndefined();
    expect(cfg.server.deadServerCleanupMs).toBe(120_000);
    expect(cfg.server.gossipProbeIntervalMs).toBe(1_000);
  });

  it('a bad serf port names the field with file:line:column', async () => {
    const [e] = await failure(base('ports {\n  serf = 70000\n}'));
    expect(e!.message).toMatch(/ports\.serf: must be between 1 and 65535, got 70000/);
    expect(e!.position).toMatchObject({ file: 'server.hcl', line: 4 });
    const [s] = await failure(base('ports {\n  serf = "x"\n}'));
    expect(s!.message).toMatch(/ports\.serf: must be an integer/);
  });

  it('an unknown server field and a bad duration are errors with their lines', async () => {
    const errs = await failure(`name     = "s1"
data_dir = "/tmp/x"
server {
  enabled             = true
  dead_server_cleanup = "soon"
  gossip_interval     = "1s"
}
tls {
  ca_file   = "ca.pem"
  cert_file = "server.pem"
  key_file  = "server-key.pem"
}
`);
    expect(errs.map((e) => e.message)).toEqual([
      'server.hcl:5:3: server.dead_server_cleanup: must be a duration such as "30s", got "soon"',
      expect.stringMatching(/^server\.hcl:6:3: server\.gossip_interval: unknown attribute \(known: .*dead_server_cleanup, gossip_probe_interval\)/),
    ]);
    const [tooShort] = await failure(base('').replace('enabled = true', 'enabled = true\n  dead_server_cleanup = "10ms"'));
    expect(tooShort!.message).toMatch(/server\.dead_server_cleanup: must be between 1000 ms/);
  });
});

describe('gossip helpers', () => {
  it('retry_join addresses are tried as given and at port + 1, without this server\'s own', () => {
    expect(joinCandidates(['10.0.0.2:4647', '10.0.0.3:4648', 'bad', '127.0.0.1:5000'], ['127.0.0.1:5000', '127.0.0.1:5001'])).toEqual(['10.0.0.2:4647', '10.0.0.2:4648', '10.0.0.3:4648', '10.0.0.3:4649']);
  });

  it('timings scale with the probe interval; 1 s is memberlist\'s LAN profile', () => {
    expect(gossipTimings(1000)).toMatchObject({ probeIntervalMs: 1000, probeTimeoutMs: 500, gossipIntervalMs: 200, pushPullIntervalMs: 30_000 });
    expect(gossipTimings(200)).toMatchObject({ probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 40, pushPullIntervalMs: 6_000 });
  });
});

function cfgFor(name: string, dataDir: string, o: { serfPort?: number; retryJoin?: string[]; bootstrapExpect?: number } = {}): ServerAgentConfig {
  return {
    name, region: 'global', datacenter: 'dc1', dataDir, bindAddr: '127.0.0.1', advertiseRpc: '127.0.0.1:1', rpcPort: 1,
    server: { enabled: true, bootstrapExpect: o.bootstrapExpect ?? 3, raftMultiplier: 1, deadServerCleanupMs: 1_000, gossipProbeIntervalMs: 100 },
    retryJoin: o.retryJoin ?? [], tls: undefined, serfPort: o.serfPort ?? 0, advertiseSerf: '', // 0: any free port
  };
}

async function until<T>(what: string, f: () => T | undefined, tries = 200): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not reached`);
}

describe('Membership on loopback', () => {
  const started: Membership[] = [];
  let dir = '';
  afterEach(() => {
    for (const m of started.splice(0)) m.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('an explicit serf port that is taken is an error naming ports.serf', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nomadts-members-'));
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await Membership.start({ cfg: cfgFor('a', dir, { serfPort: port }), rpcAddr: '127.0.0.1:9', ops: { emit: () => undefined } }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(NomadError);
      expect((err as NomadError).field).toBe('ports.serf');
      expect((err as NomadError).message).toMatch(new RegExp(`ports\\.serf: cannot listen for gossip on 127\\.0\\.0\\.1:${port}`));
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('joins through one address, emits Member events, and cleans dead voters out of Raft down to a majority of bootstrap_expect', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nomadts-members-'));
    const events: Array<{ type: string; key: string; payload: OpsPayload }> = [];
    const ops: OpsSink = { emit: (topic, type, key, payload) => { if (topic === 'Member') events.push({ type, key, payload }); } };
    const a = await Membership.start({ cfg: cfgFor('a', dir), rpcAddr: '127.0.0.1:7001', ops });
    started.push(a);
    for (const [name, rpc] of [['b', '127.0.0.1:7002'], ['c', '127.0.0.1:7003']] as const) {
      started.push(await Membership.start({ cfg: cfgFor(name, dir, { retryJoin: [a.address] }), rpcAddr: rpc, ops: { emit: () => undefined } }));
    }
    await until('a sees three alive servers', () => (a.servers().length === 3 ? true : undefined));
    const peers: Record<string, string> = {};
    expect(a.mergeInto(peers, 'a')).toBe(true);
    expect(peers).toEqual({ b: '127.0.0.1:7002', c: '127.0.0.1:7003' });
    expect(a.members().map((m) => [m.name, m.status, m.region, m.datacenter, m.raftAddr])).toEqual([
      ['a', 'alive', 'global', 'dc1', '127.0.0.1:7001'], ['b', 'alive', 'global', 'dc1', '127.0.0.1:7002'], ['c', 'alive', 'global', 'dc1', '127.0.0.1:7003'],
    ]);
    expect(events.find((e) => e.type === 'MemberAlive' && e.key === 'b')?.payload).toMatchObject({ name: 'b', status: 'alive', raftAddr: '127.0.0.1:7002' });
    await until('a MemberStatus repeat for c', () => (events.some((e) => e.type === 'MemberStatus' && e.key === 'c' && e.payload.status === 'alive') ? true : undefined));

    // Raft as the leader sees it: voters a, b, c; removals shrink the list.
    let voters = ['a', 'b', 'c'];
    const removed: string[] = [];
    const added: string[] = [];
    a.startCleanup({
      isLeader: () => true, voters: () => voters,
      remove: async (id) => { removed.push(id); voters = voters.filter((v) => v !== id); },
      add: async (id, raftAddr) => { added.push(`${id}@${raftAddr}`); voters = [...voters, id]; },
    });
    started[2]!.stop(); // c crashes
    await until('c failed and removed', () => (removed.includes('c') ? true : undefined));
    expect(events.some((e) => e.type === 'MemberFailed' && e.key === 'c' && e.payload.status === 'failed')).toBe(true);
    expect(voters).toEqual(['a', 'b']);
    // bootstrap_expect 3: a majority is 2, so b's failure leaves it in the configuration.
    started[1]!.stop();
    await until('b failed', () => (a.members().find((m) => m.name === 'b')?.status === 'failed' ? true : undefined));
    await new Promise((r) => setTimeout(r, 2_500)); // past the 1 s grace, across two cleanup checks
    expect(removed).toEqual(['c']);
    expect(voters).toEqual(['a', 'b']);
    // c comes back: once stable in gossip the leader adds it as a voter again; with three voters, b's removal is allowed.
    started.push(await Membership.start({ cfg: cfgFor('c', dir, { retryJoin: [a.address] }), rpcAddr: '127.0.0.1:7013', ops: { emit: () => undefined } }));
    await until('c added back and b removed', () => (removed.includes('b') ? true : undefined));
    expect(added).toEqual(['c@127.0.0.1:7013']);
    expect(removed).toEqual(['c', 'b']);
    expect(voters).toEqual(['a', 'c']);
  }, 30_000);
});
