/**
 * Five nomadts servers as real processes on loopback (the built CLI: `agent -config sN.hcl`),
 * each with only the first server's gossip address in retry_join: gossip finds the rest and
 * bootstrap_expect = 5 counts them. A SIGKILLed server is failed in every other server's
 * `server members`; restarted, it is alive again. A second one killed and left dead is removed
 * from Raft by the leader after dead_server_cleanup, and added back when it returns; force-leave
 * of a failed server takes it out of gossip and Raft. Gossip timings are shortened by config
 * (gossip_probe_interval = 200ms). Waits poll for a state in bounded loops; nothing asserts a
 * duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../agent/raft/transport/index.js';
import type { ClusterMember } from '../agent/raft/transport/index.js';
import { createCA, createCert } from '../agent/tls/index.js';
import type { CliRun } from './e2e.js';
import { cliMain, pollUntil, runCli } from './e2e.js';
// eslint-disable-next-line no-restricted-imports -- the benchmarks' free-port helper
import { freePort } from '../scripts/bench/ports.js';

const main = cliMain;
const built = existsSync(main);
const N = 5;

interface Proc { name: string; rpc: number; serf: number; config: string; child?: ChildProcess; output: string }

const cli = (env: Record<string, string>, args: string[]): Promise<CliRun> => runCli(args, { ...process.env, ...env }, { timeoutMs: 30_000 });
const until = <T>(what: string, f: () => Promise<T | undefined>, tries = 300): Promise<T> => pollUntil(what, f, { tries, everyMs: 200 });

describe.skipIf(!built)('five servers that gossip, joined through one address', () => {
  let dir: string;
  let tls: { caPem: string; certPem: string; keyPem: string; region: string };
  const procs: Proc[] = [];
  const env = (i: number): Record<string, string> => ({
    NOMADTS_ADDR: `127.0.0.1:${procs[i]!.rpc}`, NOMADTS_CACERT: join(dir, 'ca.pem'), NOMADTS_CLIENT_CERT: join(dir, 'cli.pem'), NOMADTS_CLIENT_KEY: join(dir, 'cli-key.pem'), NOMADTS_REGION: 'global',
  });

  const spawnProc = (i: number): Promise<void> => {
    const p = procs[i]!;
    const child = spawn(process.execPath, [main, 'agent', '-config', p.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.child = child;
    p.output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { p.output += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { p.output += c; });
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`server ${p.name} not ready within 60 s:\n${p.output}`)), 60_000);
      const check = (): void => {
        if (/==> nomadts server ready/.test(p.output)) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          res();
        }
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`server ${p.name} exited (${code}) before it was ready:\n${p.output}`));
      });
    });
  };

  const kill = async (i: number): Promise<void> => {
    const c = procs[i]!.child!;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };

  const members = async (i: number): Promise<ClusterMember[]> => {
    const c = new ClusterClient(`127.0.0.1:${procs[i]!.rpc}`, tls, 2_000);
    try {
      return await c.members();
    } finally {
      c.close();
    }
  };

  /** Every listed server's gossip reports `name` with `status`. */
  const allSee = (on: number[], name: string, status: string): Promise<true> => until(`${on.map((i) => procs[i]!.name).join(',')} see ${name} ${status}`, async () => {
    const views = await Promise.all(on.map((i) => members(i)));
    return views.every((v) => v.find((m) => m.name === name)?.status === status) ? true : undefined;
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nomadts-gossip-cluster-'));
    const ca = await createCA();
    const server = await createCert({ ca, role: 'server' });
    const cliCert = await createCert({ ca, role: 'cli' });
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'server.pem'), server.certPem);
    writeFileSync(join(dir, 'server-key.pem'), server.keyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'cli.pem'), cliCert.certPem);
    writeFileSync(join(dir, 'cli-key.pem'), cliCert.keyPem, { mode: 0o600 });
    tls = { caPem: ca.certPem, certPem: server.certPem, keyPem: server.keyPem, region: 'global' };
    for (let i = 0; i < N; i++) procs.push({ name: `s${i + 1}`, rpc: await freePort(), serf: await freePort(), config: join(dir, `s${i + 1}.hcl`), output: '' });
    for (const p of procs) {
      const dataDir = join(dir, p.name);
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(p.config, `name = "${p.name}"
data_dir  = "${dataDir}"
bind_addr = "127.0.0.1"
ports {
  rpc  = ${p.rpc}
  serf = ${p.serf}
}
server {
  enabled               = true
  bootstrap_expect      = ${N}
  gossip_probe_interval = "200ms"
  dead_server_cleanup   = "12s"
}
server_join {
  retry_join = ["127.0.0.1:${procs[0]!.serf}"]
}
tls {
  ca_file   = "${join(dir, 'ca.pem')}"
  cert_file = "${join(dir, 'server.pem')}"
  key_file  = "${join(dir, 'server-key.pem')}"
}
`);
    }
    await Promise.all(procs.map((_, i) => spawnProc(i)));
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) if (p.child !== undefined && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('forms one cluster; a killed server is failed everywhere, alive again after restart; a dead one is cleaned out of Raft and added back when it returns', async () => {
    // One Raft configuration of all five voters, bootstrapped from what gossip found.
    const c0 = new ClusterClient(`127.0.0.1:${procs[0]!.rpc}`, tls, 5_000);
    const st = await until('a leader with five voters', async () => {
      const s = await c0.raftStatus();
      return s.leader !== '' && s.peers.filter((p) => p.voter).length === N ? s : undefined;
    });
    expect(st.peers.map((p) => p.id).sort()).toEqual(procs.map((p) => p.name));
    c0.close();
    for (const p of procs) await allSee([0, 1, 2, 3, 4], p.name, 'alive');

    const m = await cli(env(1), ['server', 'members']);
    expect(m.stderr).toBe('');
    expect(m.stdout).toMatch(/^Name\s+Address\s+Port\s+Status\s+Leader\s+Voter\s+Raft Version\s+Build\s+Datacenter\s+Region\s+Raft Address/m);
    const rows = m.stdout.split('\n').filter((l) => /^s\d/.test(l));
    expect(rows).toHaveLength(N);
    for (const r of rows) expect(r).toMatch(/\balive\b.*\btrue\b.*\bdc1\s+global\s+127\.0\.0\.1:\d+/);
    expect(rows.filter((r) => /alive\s+true/.test(r))).toHaveLength(1); // exactly one leader

    // SIGKILL s5: everyone else marks it failed; restarted, it is alive again.
    // The ops event stream (what the console's Servers panel reads) carries the gossip verdicts.
    const stream = spawn(process.execPath, [main, 'event', 'stream', '-topic', 'Member:s5', '-topic', 'Raft'], { env: { ...process.env, ...env(0) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let streamed = '';
    stream.stdout.setEncoding('utf8').on('data', (c: string) => { streamed += c; });
    await until('the stream is subscribed (a RaftStatus line, sent every second)', async () => (streamed.includes('"RaftStatus"') ? true : undefined));
    await kill(4);
    await allSee([0, 1, 2, 3], 's5', 'failed');
    const failedLine = await until('a MemberFailed event for s5 on the stream', async () => streamed.split('\n').find((l) => l.includes('"MemberFailed"')));
    stream.kill('SIGKILL');
    expect(JSON.parse(failedLine)).toMatchObject({ kind: 'ops', topic: 'Member', type: 'MemberFailed', key: 's5', payload: { name: 's5', status: 'failed', region: 'global', datacenter: 'dc1' } });
    const failed = JSON.parse((await cli(env(2), ['server', 'members', '-json'])).stdout) as Array<{ name: string; status: string; voter: boolean }>;
    expect(failed.find((r) => r.name === 's5')).toMatchObject({ status: 'failed' });
    await spawnProc(4);
    await allSee([0, 1, 2, 3, 4], 's5', 'alive');

    // Left dead: s4 is removed from Raft by the leader after dead_server_cleanup; four voters stay.
    await kill(3);
    await allSee([0, 1, 2, 4], 's4', 'failed');
    const after = await until('s4 removed from the Raft configuration', async () => {
      const c = new ClusterClient(`127.0.0.1:${procs[0]!.rpc}`, tls, 2_000);
      try {
        const s = await c.raftStatus();
        return s.peers.some((p) => p.id === 's4') ? undefined : s;
      } finally {
        c.close();
      }
    });
    expect(after.peers.map((p) => p.id).sort()).toEqual(['s1', 's2', 's3', 's5']);
    const json = JSON.parse((await cli(env(0), ['server', 'members', '-json'])).stdout) as Array<{ name: string; status: string; voter: boolean }>;
    expect(json.find((r) => r.name === 's4')).toMatchObject({ status: 'failed', voter: false });

    // s4 comes back: alive in gossip, the leader adds it to Raft again and it catches up as a voter.
    await spawnProc(3);
    await allSee([0, 1, 2, 3, 4], 's4', 'alive');
    const back = await until('s4 a voter again, on the leader', async () => {
      for (const p of procs) {
        const c = new ClusterClient(`127.0.0.1:${p.rpc}`, tls, 2_000);
        try {
          const st = await c.raftStatus().catch(() => undefined);
          if (st?.role === 'leader') return st.peers.filter((x) => x.voter).length === N ? st : undefined;
        } finally {
          c.close();
        }
      }
      return undefined;
    });
    expect(back.peers.map((p) => p.id).sort()).toEqual(procs.map((p) => p.name));
  }, 150_000);

  it('server join and force-leave: bad input named, a failed server forced out of gossip and Raft', async () => {
    const noAddr = await cli(env(0), ['server', 'join']);
    expect(noAddr.code).toBe(1);
    expect(noAddr.stderr).toMatch(/gossip address/);
    const unknown = await cli(env(0), ['server', 'force-leave', 'nosuch']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no server named "nosuch"/);
    const alive = await cli(env(0), ['server', 'force-leave', 's2']);
    expect(alive.code).toBe(1);
    expect(alive.stderr).toMatch(/s2 is alive/);
    // force-leave of a failed server: left everywhere, and out of Raft at once (no grace for a left server).
    await kill(3);
    await allSee([0, 1, 2, 4], 's4', 'failed');
    const gone = await cli(env(0), ['server', 'force-leave', 's4']);
    expect(gone.stderr).toBe('');
    expect(gone.stdout).toMatch(/Server s4 marked as left/);
    await allSee([0, 1, 2, 4], 's4', 'left');
    await until('s4 out of Raft after force-leave', async () => {
      const c = new ClusterClient(`127.0.0.1:${procs[0]!.rpc}`, tls, 2_000);
      try {
        return (await c.raftStatus()).peers.some((p) => p.id === 's4') ? undefined : true;
      } finally {
        c.close();
      }
    });
    const joined = await cli(env(4), ['server', 'join', `127.0.0.1:${procs[1]!.serf}`]);
    expect(joined.stderr).toBe('');
    expect(joined.stdout).toMatch(/Joined 1 servers/);
  }, 60_000);
});

describe.skipIf(!built)('a server configuration with bad gossip settings', () => {
  it('is refused with file:line:column and the field, and nothing starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nomadts-gossip-badcfg-'));
    try {
      const file = join(dir, 'bad.hcl');
      writeFileSync(file, `name     = "s1"
data_dir = "${join(dir, 'data')}"
ports {
  serf = 70000
}
server {
  enabled          = true
  gossip_intervall = "1s"
}
tls {
  ca_file   = "ca.pem"
  cert_file = "server.pem"
  key_file  = "server-key.pem"
}
`);
      const r = await cli({}, ['agent', '-config', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file}:4:3: ports.serf: must be between 1 and 65535, got 70000`);
      expect(r.stderr).toContain(`${file}:8:3: server.gossip_intervall: unknown attribute`);
      expect(existsSync(join(dir, 'data'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
