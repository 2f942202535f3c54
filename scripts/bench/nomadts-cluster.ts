/**
 * Three nomadts servers as real processes on loopback (`node dist/cli/main.js agent -config
 * sN.hcl`), with a CA and server certificates made for the run: the nomadts side of the raft
 * benchmark and the cluster tests. Writes go to the leader's ClusterService.Apply with a server
 * certificate (a 0x02-tagged 256-byte benchmark entry: replicated, fsynced and applied as a no-op).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClusterClient, ProposeClient, raftTrace } from '../../agent/raft/transport/index.js';
import type { ClusterRaftStatus } from '../../agent/raft/transport/index.js';
import { createCA, createCert } from '../../agent/tls/index.js';
import type { BenchCluster, BenchWriter } from './raft.js';
import { freePort } from './ports.js';

/** dist/cli/main.js, from dist/scripts/bench/. */
const cliMain = resolve(import.meta.dirname, '..', '..', 'cli', 'main.js');
const BenchTag = 2;

/** CPU seconds (user + system) used by the processes `pids`, from /proc/<pid>/stat; undefined off Linux. */
export function procCpuSeconds(pids: ReadonlyArray<number | undefined>): number | undefined {
  let ticks = 0;
  for (const pid of pids) {
    if (pid === undefined) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    } catch {
      return undefined;
    }
  }
  return ticks / 100; // USER_HZ
}

interface Member {
  name: string;
  port: number;
  dataDir: string;
  config: string;
  child?: ChildProcess;
  output: string;
}

export interface NomadtsClusterOptions {
  servers?: number;
  raftMultiplier?: number;
  /** The process to run a server (default the built CLI). */
  cliMain?: string;
  /** server { raft_snapshot_threshold } (default: unset, the server's 8192). */
  raftSnapshotThreshold?: number;
}

export class NomadtsCluster implements BenchCluster {
  readonly name = 'nomadts';
  readonly members: Member[] = [];
  private tls: { caPem: string; certPem: string; keyPem: string; region: string } | undefined;
  private readonly count: number;
  private readonly multiplier: number;
  private readonly main: string;
  private readonly snapshotThreshold: number | undefined;

  constructor(private readonly dir: string, o: NomadtsClusterOptions = {}) {
    this.count = o.servers ?? 3;
    this.multiplier = o.raftMultiplier ?? 1;
    this.main = o.cliMain ?? cliMain;
    this.snapshotThreshold = o.raftSnapshotThreshold;
  }

  async start(): Promise<void> {
    const ca = await createCA();
    const server = await createCert({ ca, role: 'server' });
    const cli = await createCert({ ca, role: 'cli' });
    const tlsDir = join(this.dir, 'tls');
    mkdirSync(tlsDir, { recursive: true });
    const files = { ca: join(tlsDir, 'ca.pem'), cert: join(tlsDir, 'server.pem'), key: join(tlsDir, 'server-key.pem'), cliCert: join(tlsDir, 'cli.pem'), cliKey: join(tlsDir, 'cli-key.pem') };
    writeFileSync(files.ca, ca.certPem);
    writeFileSync(files.cert, server.certPem);
    writeFileSync(files.key, server.keyPem, { mode: 0o600 });
    writeFileSync(files.cliCert, cli.certPem);
    writeFileSync(files.cliKey, cli.keyPem, { mode: 0o600 });
    this.tls = { caPem: ca.certPem, certPem: server.certPem, keyPem: server.keyPem, region: 'global' };
    for (let i = 0; i < this.count; i++) this.members.push(await this.newMember(i));
    for (const m of this.members) this.writeConfig(m);
    await Promise.all(this.members.map((_, i) => this.spawnMember(i)));
    await this.leader(30_000);
  }

  /**
   * Start one more server, brand new, with every other member in its retry_join and the same
   * bootstrap_expect: it joins the running cluster (the leader adds it once gossip has seen it
   * alive for a while). Resolves with its member index once it is serving.
   */
  async addMember(): Promise<number> {
    const i = this.members.length;
    const m = await this.newMember(i);
    this.members.push(m);
    this.writeConfig(m);
    await this.spawnMember(i);
    return i;
  }

  private async newMember(i: number): Promise<Member> {
    return { name: `s${i + 1}`, port: await freePort(), dataDir: join(this.dir, `nomadts-s${i + 1}`), config: join(this.dir, `s${i + 1}.hcl`), output: '' };
  }

  /** Member `m`'s agent configuration, with every other member in retry_join. */
  private writeConfig(m: Member): void {
    const tlsDir = join(this.dir, 'tls');
    const files = { ca: join(tlsDir, 'ca.pem'), cert: join(tlsDir, 'server.pem'), key: join(tlsDir, 'server-key.pem') };
    const join_ = this.members.filter((x) => x !== m).map((x) => `"127.0.0.1:${x.port}"`).join(', ');
    writeFileSync(m.config, `name = "${m.name}"
data_dir = "${m.dataDir}"
bind_addr = "127.0.0.1"
ports {
  rpc = ${m.port}
}
server {
  enabled          = true
  bootstrap_expect = ${this.count}
  raft_multiplier  = ${this.multiplier}${this.snapshotThreshold !== undefined ? `\n  raft_snapshot_threshold = ${this.snapshotThreshold}` : ''}
}
server_join {
  retry_join = [${join_}]
}
tls {
  ca_file   = "${files.ca}"
  cert_file = "${files.cert}"
  key_file  = "${files.key}"
}
`);
  }

  /** The environment for the CLI to reach member `i` (NOMADTS_* with the cli certificate). */
  cliEnv(i: number): Record<string, string> {
    const tlsDir = join(this.dir, 'tls');
    return { NOMADTS_ADDR: `127.0.0.1:${this.members[i]!.port}`, NOMADTS_CACERT: join(tlsDir, 'ca.pem'), NOMADTS_CLIENT_CERT: join(tlsDir, 'cli.pem'), NOMADTS_CLIENT_KEY: join(tlsDir, 'cli-key.pem'), NOMADTS_REGION: 'global' };
  }

  private spawnMember(i: number): Promise<void> {
    const m = this.members[i]!;
    mkdirSync(m.dataDir, { recursive: true });
    const log = createWriteStream(join(this.dir, `${m.name}.log`), { flags: 'a' });
    // NOMADTS_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to each server's node.
    const nodeArgs = (process.env.NOMADTS_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...nodeArgs, this.main, 'agent', '-config', m.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    m.output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { m.output += c; log.write(c); });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { m.output += c; log.write(c); });
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`server ${m.name} not ready within 60 s:\n${m.output}`)), 60_000);
      const check = (): void => {
        if (/==> nomadts server ready/.test(m.output)) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          res();
        }
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`server ${m.name} exited (${code}) before it was ready:\n${m.output}`));
      });
    });
  }

  client(i: number, timeoutMs = 15_000): ClusterClient {
    return new ClusterClient(`127.0.0.1:${this.members[i]!.port}`, this.tls!, timeoutMs);
  }

  alive(): number[] {
    return this.members.flatMap((m, i) => (m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null ? [i] : []));
  }

  async statusOf(i: number): Promise<ClusterRaftStatus | undefined> {
    const c = this.client(i, 1_000);
    try {
      return await c.raftStatus(1_000);
    } catch {
      return undefined;
    } finally {
      c.close();
    }
  }

  /** The member number of the leader all live members agree on. */
  async leader(timeoutMs = 15_000): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      for (const i of this.alive()) {
        const st = await this.statusOf(i);
        if (st !== undefined && st.role === 'leader') return i;
      }
      if (performance.now() - t0 > timeoutMs) throw new Error(`nomadts: no leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async leaderWriter(): Promise<BenchWriter> {
    const i = await this.leader();
    // NOMADTS_BENCH_UNARY=1: one ClusterService.Apply call per write instead of the propose stream.
    const c = process.env.NOMADTS_BENCH_UNARY === '1' ? this.client(i) : new ProposeClient(`127.0.0.1:${this.members[i]!.port}`, this.tls!, 15_000);
    return {
      put: async (_key, value) => {
        const data = Buffer.allocUnsafe(value.length + 1);
        data[0] = BenchTag;
        value.copy(data, 1);
        raftTrace('client-send', 0);
        const index = c instanceof ProposeClient ? await c.propose(data) : await c.apply(data);
        raftTrace('client-done', index);
      },
      close: () => c.close(),
    };
  }

  async fsyncCounters(): Promise<{ entries: number; fsyncs: number } | undefined> {
    const st = await this.statusOf(await this.leader());
    return st === undefined ? undefined : { entries: st.storageEntries, fsyncs: st.storageSyncs };
  }

  cpuSeconds(): number | undefined {
    return procCpuSeconds(this.members.map((m) => m.child?.pid));
  }

  async killLeader(): Promise<number> {
    const i = await this.leader();
    const child = this.members[i]!.child!;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    raftTrace(`kill-${this.members[i]!.name}`, child.pid ?? 0);
    child.kill('SIGKILL');
    await exited;
    return i;
  }

  async tryWriteAfterFailover(timeoutMs: number): Promise<boolean> {
    const attempts = this.alive().map(async (i) => {
      const c = this.client(i, timeoutMs);
      try {
        raftTrace(`fo-try-${i}`, 0);
        await c.apply(Buffer.from([BenchTag, 0x78]));
        raftTrace(`fo-ok-${i}`, 0);
        return true;
      } catch (err) {
        raftTrace(`fo-fail-${i}-${(err as Error).message.replace(/\s+/g, '_').slice(0, 80)}`, 0);
        return false;
      } finally {
        c.close();
      }
    });
    return (await Promise.all(attempts)).some(Boolean);
  }

  async restart(member: number): Promise<void> {
    await this.spawnMember(member);
    const target = await this.statusOf(await this.leader());
    const t0 = performance.now();
    for (;;) {
      const st = await this.statusOf(member);
      if (st !== undefined && target !== undefined && st.applied >= target.commit) return;
      if (performance.now() - t0 > 30_000) throw new Error(`server ${this.members[member]!.name} did not catch up within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map(async (m) => {
      const child = m.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((res) => child.once('exit', () => res()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }));
  }
}
