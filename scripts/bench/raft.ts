/**
 * The Raft benchmark: the same write workload against a three-member etcd cluster and a
 * three-server nomadts cluster, both on loopback in this machine, side by side.
 *
 * Workload: 256-byte values written by a gRPC client with 1, 64 and 256 requests in flight, each
 * level for a fixed duration, aimed at the cluster's leader. Per row: commits/s (acknowledged
 * writes ÷ wall time), p50/p99 latency of one write, and entries per fsync on the leader (etcd:
 * from its /metrics, proposals committed ÷ WAL fsyncs; nomadts: from its storage counters).
 * Failover: SIGKILL the leader's process, then time until a write is acknowledged by the
 * survivors; the killed member is restarted and caught up before the next round; median of N.
 *
 * etcd is Debian's `etcd-server` (`apt-get install -y etcd-server`), started here on free loopback
 * ports with temporary data directories on the same disk as nomadts', and stopped after. etcd runs
 * without TLS (the client is the npm `etcd3` package); nomadts runs with mutual TLS, as it always
 * does. A cluster that cannot run is reported as `{ available: false, reason }`, never as zeros.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { NomadtsCluster, procCpuSeconds } from './nomadts-cluster.js';
import { freePort } from './ports.js';
import { intOptions, percentileOf } from './stats.js';

/** One write path into a cluster: resolves when the write is committed (acknowledged). */
export interface BenchWriter {
  put(key: string, value: Buffer): Promise<void>;
  close(): void;
}

/** A cluster under test, started and stopped by the harness. */
export interface BenchCluster {
  readonly name: string;
  start(): Promise<void>;
  /** A writer aimed at the current leader. */
  leaderWriter(): Promise<BenchWriter>;
  /** Cumulative entries committed and fsyncs on the current leader, if the cluster exposes them. */
  fsyncCounters(): Promise<{ entries: number; fsyncs: number } | undefined>;
  /** CPU seconds (user + system) the cluster's processes have used so far (Linux /proc), if known. */
  cpuSeconds(): number | undefined;
  /** SIGKILL the leader's process; returns its member number. */
  killLeader(): Promise<number>;
  /** One write through the surviving members, bounded by `timeoutMs`; true when acknowledged. */
  tryWriteAfterFailover(timeoutMs: number): Promise<boolean>;
  /** Restart a killed member and wait until it has caught up. */
  restart(member: number): Promise<void>;
  stop(): Promise<void>;
}

export interface LoadRow {
  inFlight: number;
  commits: number;
  seconds: number;
  commitsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  entriesPerFsync: number | null;
  /** CPU time of the cluster's three processes per acknowledged write (all of them together). */
  cpuMsPerCommit: number | null;
  errors: number;
}


const ValueBytes = 256;
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** `inFlight` loops writing 256-byte values for `durationMs`; latency of every acknowledged write. */
export async function runLoad(cluster: BenchCluster, inFlight: number, durationMs: number, warmupMs = 0): Promise<LoadRow> {
  const writer = await cluster.leaderWriter();
  const value = Buffer.alloc(ValueBytes, 0x61);
  const latencies: number[] = [];
  let errors = 0;
  try {
    // Warm the connection and the leader's path; then, for `warmupMs`, the same load unmeasured
    // (a fresh Node process runs its first thousands of writes in V8's interpreter and baseline
    // compilers; etcd's code is compiled ahead of time).
    for (let i = 0; i < 20; i++) await writer.put(`warm/${i}`, value);
    const warmEnd = performance.now() + warmupMs;
    await Promise.all(Array.from({ length: inFlight }, async (_, w) => {
      for (let i = 0; performance.now() < warmEnd; i++) await writer.put(`warm/${w}/${i % 64}`, value).catch(() => undefined);
    }));
    const before = await cluster.fsyncCounters();
    const cpu0 = cluster.cpuSeconds();
    const t0 = performance.now();
    const end = t0 + durationMs;
    const loop = async (w: number): Promise<void> => {
      let i = 0;
      while (performance.now() < end) {
        const s = performance.now();
        try {
          await writer.put(`bench/${w}/${i++ % 64}`, value);
          latencies.push(performance.now() - s);
        } catch {
          errors++;
          if (errors > 1000) throw new Error(`${cluster.name}: more than 1000 failed writes at ${inFlight} in flight`);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, (_, w) => loop(w)));
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = cluster.cpuSeconds();
    const after = await cluster.fsyncCounters();
    latencies.sort((a, b) => a - b);
    const fsyncs = before !== undefined && after !== undefined ? after.fsyncs - before.fsyncs : 0;
    return {
      inFlight,
      commits: latencies.length,
      seconds: r2(seconds),
      commitsPerSec: Math.round(latencies.length / seconds),
      p50Ms: r2(percentileOf(latencies, 50)),
      p99Ms: r2(percentileOf(latencies, 99)),
      entriesPerFsync: before !== undefined && after !== undefined && fsyncs > 0 ? r2((after.entries - before.entries) / fsyncs) : null,
      cpuMsPerCommit: cpu0 !== undefined && cpu1 !== undefined && latencies.length > 0 ? Math.round(((cpu1 - cpu0) * 1000 / latencies.length) * 1000) / 1000 : null,
      errors,
    };
  } finally {
    writer.close();
  }
}

/** Kill the leader `rounds` times; each time, ms from the SIGKILL to the first acknowledged write. */
export async function runFailover(cluster: BenchCluster, rounds: number, log: (s: string) => void): Promise<{ samplesMs: number[]; medianMs: number | null }> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    const member = await cluster.killLeader();
    for (;;) {
      if (performance.now() - t0 > 30_000) throw new Error(`${cluster.name}: no write acknowledged within 30 s of killing the leader`);
      if (await cluster.tryWriteAfterFailover(300)) break;
    }
    const ms = performance.now() - t0;
    samples.push(r1(ms));
    log(`  ${cluster.name} failover ${round + 1}/${rounds}: member ${member} killed, write acknowledged after ${r1(ms)} ms`);
    await cluster.restart(member);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { samplesMs: samples, medianMs: sorted.length > 0 ? percentileOf(sorted, 50) : null };
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  child?: ChildProcess;
}

/** Three etcd members on loopback (Debian's etcd-server), default timing (100 ms heartbeat, 1 s election). */
export class EtcdCluster implements BenchCluster {
  readonly name = 'etcd';
  private members: EtcdMember[] = [];

  constructor(private readonly dir: string, private readonly binary = 'etcd') {}

  static version(binary = 'etcd'): string | undefined {
    const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) return undefined;
    return /etcd Version: (\S+)/.exec(r.stdout)?.[1] ?? r.stdout.trim();
  }

  async start(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      this.members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(this.dir, `etcd-m${i}`) });
    }
    for (let i = 0; i < 3; i++) this.spawnMember(i, 'new');
    await this.waitHealthy(this.members.map((_, i) => i), 30_000);
  }

  private spawnMember(i: number, state: 'new' | 'existing'): void {
    const m = this.members[i]!;
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    mkdirSync(m.dataDir, { recursive: true });
    const out = createWriteStream(join(this.dir, `etcd-${m.name}.log`), { flags: 'a' });
    const child = spawn(this.binary, [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', 'nomadts-bench',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    m.child = child;
  }

  private client(i: number): Etcd3 {
    return new Etcd3({ hosts: `http://127.0.0.1:${this.members[i]!.clientPort}`, dialTimeout: 2_000 });
  }

  private alive(): number[] {
    return this.members.flatMap((m, i) => (m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null ? [i] : []));
  }

  private async waitHealthy(which: number[], timeoutMs: number): Promise<void> {
    const t0 = performance.now();
    for (;;) {
      const ok = await Promise.all(which.map(async (i) => {
        const c = this.client(i);
        try {
          await withTimeout(c.get('health').string(), 1_000, 'health');
          return true;
        } catch {
          return false;
        } finally {
          c.close();
        }
      }));
      if (ok.every(Boolean)) return;
      if (performance.now() - t0 > timeoutMs) throw new Error(`etcd members ${which.join(',')} not healthy after ${timeoutMs} ms (logs in ${this.dir})`);
      await sleep(200);
    }
  }

  /** The member number of the leader, asked of the live members. */
  private async leader(): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      for (const i of this.alive()) {
        const c = this.client(i);
        try {
          const st = await withTimeout(c.maintenance.status(), 1_000, 'status');
          if (st.leader !== '0' && st.leader === st.header.member_id) return i;
        } catch {
          // not answering yet
        } finally {
          c.close();
        }
      }
      await sleep(100);
    }
    throw new Error('etcd: no leader found');
  }

  async leaderWriter(): Promise<BenchWriter> {
    const c = this.client(await this.leader());
    return { put: async (key, value) => { await c.put(key).value(value).exec(); }, close: () => c.close() };
  }

  async fsyncCounters(): Promise<{ entries: number; fsyncs: number } | undefined> {
    const m = this.members[await this.leader()]!;
    const text = await (await fetch(`http://127.0.0.1:${m.clientPort}/metrics`)).text();
    const metric = (name: string): number | undefined => {
      const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return line === null ? undefined : Number(line[1]);
    };
    const entries = metric('etcd_server_proposals_committed_total');
    const fsyncs = metric('etcd_disk_wal_fsync_duration_seconds_count');
    return entries === undefined || fsyncs === undefined ? undefined : { entries, fsyncs };
  }

  cpuSeconds(): number | undefined {
    return procCpuSeconds(this.members.map((m) => m.child?.pid));
  }

  async killLeader(): Promise<number> {
    const i = await this.leader();
    const child = this.members[i]!.child!;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGKILL');
    await exited;
    return i;
  }

  async tryWriteAfterFailover(timeoutMs: number): Promise<boolean> {
    // A fresh client per attempt, one per survivor: the etcd3 client's circuit breaker would
    // otherwise stop calling a member for 5 s after three failures during the election.
    const attempts = this.alive().map(async (i) => {
      const c = this.client(i);
      try {
        await withTimeout(c.put('failover').value('x').exec(), timeoutMs, 'put');
        return true;
      } catch {
        return false;
      } finally {
        c.close();
      }
    });
    return (await Promise.all(attempts)).some(Boolean);
  }

  async restart(member: number): Promise<void> {
    this.spawnMember(member, 'existing');
    await this.waitHealthy([0, 1, 2], 30_000);
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

type ClusterResult =
  | { available: true; version?: string; rows: LoadRow[]; failover: { samplesMs: number[]; medianMs: number | null } }
  | { available: false; reason: string };

const rowLine = (name: string, row: LoadRow, round: string): string =>
  `  ${name} ${String(row.inFlight).padStart(3)} in flight${round}: ${row.commitsPerSec} commits/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, entries/fsync ${row.entriesPerFsync ?? '-'}, cpu ${row.cpuMsPerCommit ?? '-'} ms/commit${row.errors > 0 ? `, ${row.errors} errors` : ''}`;

/**
 * Both clusters run side by side (the idle one costs next to nothing); each round measures every
 * level on one cluster right after the other, so a change in the machine's load between rows
 * touches both alike. Per level, the round with the median commits/s is reported (all rounds'
 * commits/s too). Then each cluster's failovers, one cluster after the other.
 */
async function measureInterleaved(clusters: BenchCluster[], levels: number[], durationMs: number, warmupMs: number, rounds: number, failovers: number, log: (s: string) => void): Promise<Map<BenchCluster, ClusterResult>> {
  const out = new Map<BenchCluster, ClusterResult>();
  const started: BenchCluster[] = [];
  try {
    for (const c of clusters) {
      log(`starting ${c.name}...`);
      started.push(c);
      await c.start();
    }
    // Once per cluster before the first row: 3 s at 64 in flight, unmeasured (thousands of writes,
    // so the first row does not measure a Node process still compiling its hot paths).
    for (const c of started) if (warmupMs > 0) await runLoad(c, 64, 3 * warmupMs);
    const samples = new Map<BenchCluster, Map<number, LoadRow[]>>(started.map((c) => [c, new Map(levels.map((n) => [n, []]))]));
    for (let r = 0; r < rounds; r++) {
      for (const n of levels) {
        for (const c of started) {
          const row = await runLoad(c, n, durationMs, warmupMs);
          log(rowLine(c.name, row, rounds > 1 ? ` (round ${r + 1}/${rounds})` : ''));
          samples.get(c)!.get(n)!.push(row);
        }
      }
    }
    for (const c of started) {
      const rows = levels.map((n) => {
        const all = samples.get(c)!.get(n)!;
        const median = [...all].sort((a, b) => a.commitsPerSec - b.commitsPerSec)[Math.floor((all.length - 1) / 2)]!;
        return rounds > 1 ? { ...median, roundsCommitsPerSec: all.map((x) => x.commitsPerSec) } : median;
      });
      const failover = failovers > 0 ? await runFailover(c, failovers, log) : { samplesMs: [], medianMs: null };
      out.set(c, { available: true, rows, failover });
    }
    return out;
  } finally {
    await Promise.all(started.map((c) => c.stop()));
  }
}

/** The nomadts side: a factory once the three-server cluster runs; until then the reason it is absent. */
function nomadtsCluster(dir: string): BenchCluster | string {
  return new NomadtsCluster(dir);
}

export async function raftBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { durationMs: 5_000, warmupMs: 1_000, failovers: 5, etcd: 1, nomadts: 1, inFlight: 0, rounds: 1 });
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  // --in-flight=N measures that level only (profiling one level); 0 = all three.
  const levels = o.inFlight > 0 ? [o.inFlight] : [1, 64, 256];
  const dir = mkdtempSync(join(tmpdir(), 'nomadts-bench-raft-'));
  try {
    let etcd: ClusterResult | undefined;
    const version = EtcdCluster.version();
    const etcdCluster = o.etcd !== 0 && version !== undefined ? new EtcdCluster(dir) : undefined;
    if (o.etcd === 0) etcd = { available: false, reason: 'skipped (--etcd=0)' };
    else if (version === undefined) etcd = { available: false, reason: 'etcd not found on PATH (apt-get install -y etcd-server)' };
    let nomadts: ClusterResult | undefined;
    const made = o.nomadts === 0 ? 'skipped (--nomadts=0)' : nomadtsCluster(dir);
    const nomadtsC = typeof made === 'string' ? undefined : made;
    if (typeof made === 'string') nomadts = { available: false, reason: made };
    const results = await measureInterleaved([etcdCluster, nomadtsC].filter((c): c is BenchCluster => c !== undefined), levels, o.durationMs, o.warmupMs, Math.max(1, o.rounds), o.failovers, log);
    if (etcdCluster !== undefined) {
      etcd = results.get(etcdCluster)!;
      if (etcd.available) etcd.version = version;
    }
    if (nomadtsC !== undefined) nomadts = results.get(nomadtsC)!;
    if (etcd === undefined || nomadts === undefined) throw new Error('raft bench: a cluster was neither measured nor skipped');

    const rows = levels.map((n) => {
      const e = etcd.available ? etcd.rows.find((r) => r.inFlight === n) : undefined;
      const t = nomadts.available ? nomadts.rows.find((r) => r.inFlight === n) : undefined;
      return {
        inFlight: n,
        etcdCommitsPerSec: e?.commitsPerSec ?? null,
        nomadtsCommitsPerSec: t?.commitsPerSec ?? null,
        ratioCommitsPerSec: e !== undefined && t !== undefined && e.commitsPerSec > 0 ? r2(t.commitsPerSec / e.commitsPerSec) : null,
        etcdP50Ms: e?.p50Ms ?? null,
        nomadtsP50Ms: t?.p50Ms ?? null,
        etcdP99Ms: e?.p99Ms ?? null,
        nomadtsP99Ms: t?.p99Ms ?? null,
        etcdEntriesPerFsync: e?.entriesPerFsync ?? null,
        nomadtsEntriesPerFsync: t?.entriesPerFsync ?? null,
        etcdCpuMsPerCommit: e?.cpuMsPerCommit ?? null,
        nomadtsCpuMsPerCommit: t?.cpuMsPerCommit ?? null,
      };
    });
    log('');
    log('in flight | etcd commits/s | nomadts commits/s | ratio | etcd p50/p99 ms | nomadts p50/p99 ms | entries/fsync etcd / nomadts | cpu ms/commit etcd / nomadts');
    for (const r of rows) {
      const f = (x: number | null): string => (x === null ? '-' : String(x));
      log(`${String(r.inFlight).padStart(9)} | ${f(r.etcdCommitsPerSec).padStart(14)} | ${f(r.nomadtsCommitsPerSec).padStart(17)} | ${f(r.ratioCommitsPerSec).padStart(5)} | ${`${f(r.etcdP50Ms)}/${f(r.etcdP99Ms)}`.padStart(15)} | ${`${f(r.nomadtsP50Ms)}/${f(r.nomadtsP99Ms)}`.padStart(18)} | ${f(r.etcdEntriesPerFsync)} / ${f(r.nomadtsEntriesPerFsync)} | ${f(r.etcdCpuMsPerCommit)} / ${f(r.nomadtsCpuMsPerCommit)}`);
    }
    const fe = etcd.available ? etcd.failover.medianMs : null;
    const fn = nomadts.available ? nomadts.failover.medianMs : null;
    log(`failover median: etcd ${fe ?? '-'} ms, nomadts ${fn ?? '-'} ms`);
    return {
      valueBytes: ValueBytes,
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      rounds: Math.max(1, o.rounds),
      dataDir: dir,
      rows,
      failover: { etcdMedianMs: fe, nomadtsMedianMs: fn, ratio: fe !== null && fn !== null && fe > 0 ? r2(fn / fe) : null },
      etcd,
      nomadts,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
