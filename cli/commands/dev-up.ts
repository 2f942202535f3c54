/**
 * `nomadts dev up [-dir D] [-servers 3] [-clients 2] [-jobs]`: a local cluster on loopback as
 * detached child processes — N servers (`agent -config sN.hcl`: Raft, mutual TLS) and M client
 * agents (`agent -config cN.hcl`: raw_exec enabled) — with a CA and server/client/cli
 * certificates made for it. Waits for a leader and every node ready, optionally registers the
 * example jobs of jobs/ that run offline with raw_exec, and writes `<dir>/cluster.json` (pids,
 * addresses), `<dir>/env` (NOMADTS_* exports) and the discovery file (agent/api discovery.ts),
 * so the CLI on this machine finds the cluster by itself. `nomadts dev down` (dev-down.ts)
 * stops it. Already up: says so and exits 0.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AgentDiscovery } from '../../agent/api/index.js';
import { ApiClient, discoveryFilePath, pidAlive } from '../../agent/api/index.js';
import { NomadError } from '../../agent/core/lib/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { ClusterClient } from '../../agent/raft/transport/index.js';
import { createCA, createCert } from '../../agent/tls/index.js';
import type { Env } from './api-io.js';
import { Exit, errorText, parseFlags } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { replaceFileSync } from '../../agent/runtime/index.js';

/** One process of the cluster, as `<dir>/cluster.json` records it. */
export interface DevMember {
  name: string;
  role: 'server' | 'client';
  pid: number;
  /** host:port of a server's listener ('' for a client). */
  address: string;
  config: string;
  log: string;
}

export interface DevClusterState {
  dir: string;
  region: string;
  members: DevMember[];
  /** NOMADTS_* for the CLI (the first server, cli certificate). */
  env: Record<string, string>;
  discoveryFile: string;
  jobs: string[];
}

const stateName = 'cluster.json';

/** The default cluster directory: `$XDG_RUNTIME_DIR/nomadts-dev-cluster`, else `<tmpdir>/nomadts-dev-cluster`. */
export function defaultDevDir(env: Env): string {
  const run = env.XDG_RUNTIME_DIR;
  return join(run !== undefined && run !== '' ? run : tmpdir(), 'nomadts-dev-cluster');
}

export function readDevState(dir: string): DevClusterState | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dir, stateName), 'utf8')) as DevClusterState;
    return Array.isArray(v.members) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Is this pid still the agent we started (not a reused pid)? On Linux the command line must name its config. */
export function memberAlive(m: DevMember): boolean {
  if (!pidAlive(m.pid)) return false;
  try {
    return readFileSync(`/proc/${m.pid}/cmdline`, 'utf8').includes(m.config);
  } catch {
    return process.platform !== 'linux';
  }
}

export function writeAtomic(path: string, text: string): void {
  replaceFileSync(path, text, { mode: 0o600 });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() - t0 > timeoutMs) throw new NomadError('timeout', `${what} not reached within ${timeoutMs / 1000} s${last !== '' ? ` (last error: ${last})` : ''}`);
    await sleep(200);
  }
}

/** Example jobs that run offline with raw_exec only and need no variables. */
export function offlineExampleJobs(jobsDir: string): string[] {
  if (!existsSync(jobsDir)) return [];
  return readdirSync(jobsDir).filter((f) => f.endsWith('.nomad.hcl')).sort().filter((f) => {
    const text = readFileSync(join(jobsDir, f), 'utf8');
    const drivers = [...text.matchAll(/^\s*driver\s*=\s*"([^"]+)"/gm)].map((m) => m[1]);
    return drivers.length > 0 && drivers.every((d) => d === 'raw_exec') && !/^\s*variable\s+"/m.test(text);
  }).map((f) => join(jobsDir, f));
}

export interface DevUpArgs {
  dir: string;
  servers: number;
  clients: number;
  jobs: boolean;
}

export function parseDevUpArgs(args: readonly string[], env: Env): DevUpArgs {
  const f = parseFlags(args, { bool: ['jobs'], value: ['dir', 'servers', 'clients'] });
  if (f.positional.length > 0) throw new NomadError('invalid_argument', `unexpected argument ${f.positional.join(' ')}`);
  const count = (name: string, def: number, min: number, max: number): number => {
    const raw = f.value.get(name) ?? String(def);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new NomadError('invalid_argument', `-${name} must be a whole number between ${min} and ${max}, got ${JSON.stringify(raw)}`, { field: name });
    return n;
  };
  return { dir: resolve(f.value.get('dir') ?? defaultDevDir(env)), servers: count('servers', 3, 1, 7), clients: count('clients', 2, 0, 16), jobs: f.bool.has('jobs') };
}

/** The lines `dev up` prints so another shell can point the CLI at the cluster. */
export function envLines(state: DevClusterState): string {
  return Object.entries(state.env).map(([k, v]) => `export ${k}=${v}\n`).join('');
}

export async function devUp(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  let a: DevUpArgs;
  try {
    a = parseDevUpArgs(args, env);
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  const existing = readDevState(a.dir);
  if (existing !== undefined && existing.members.some(memberAlive)) {
    out.stdout(`==> A dev cluster is already up in ${a.dir} (${existing.members.filter(memberAlive).length} processes); \`nomadts dev down\` stops it.\n${envLines(existing)}`);
    return Exit.ok;
  }
  const started: DevMember[] = [];
  try {
    const state = await startDevCluster(a, env, out, started);
    out.stdout(`==> Dev cluster up: ${a.servers} servers, ${a.clients} clients (logs and state in ${a.dir}).\n`);
    out.stdout(`==> The CLI on this machine finds it by itself (${state.discoveryFile}); from elsewhere:\n${envLines(state)}`);
    out.stdout('==> `nomadts top` watches it; `nomadts dev down` stops it.\n');
    return Exit.ok;
  } catch (err) {
    // Leave nothing running behind a failed start.
    for (const m of started) if (memberAlive(m)) process.kill(m.pid, 'SIGKILL');
    rmSync(join(a.dir, stateName), { force: true });
    out.stderr(errorText(err));
    for (const m of started) {
      try {
        const tail = readFileSync(m.log, 'utf8').split('\n').slice(-8).join('\n    ');
        out.stderr(`--- ${m.name} (${m.log}):\n    ${tail}\n`);
      } catch {
        // no log
      }
    }
    return Exit.error;
  }
}

async function startDevCluster(a: DevUpArgs, env: Env, out: Out, started: DevMember[]): Promise<DevClusterState> {
  const region = 'global';
  const dir = a.dir;
  // A cluster that is down: start from a clean directory (old Raft logs would confuse bootstrap).
  for (const e of existsSync(dir) ? readdirSync(dir) : []) rmSync(join(dir, e), { recursive: true, force: true });
  mkdirSync(join(dir, 'tls'), { recursive: true, mode: 0o700 });
  const ca = await createCA();
  const tlsFile = (name: string, text: string, secret = false): string => {
    const p = join(dir, 'tls', name);
    writeFileSync(p, text, { mode: secret ? 0o600 : 0o644 });
    return p;
  };
  const caFile = tlsFile('ca.pem', ca.certPem);
  const files: Record<'server' | 'client' | 'cli', { cert: string; key: string }> = { server: { cert: '', key: '' }, client: { cert: '', key: '' }, cli: { cert: '', key: '' } };
  for (const role of ['server', 'client', 'cli'] as const) {
    const c = await createCert({ ca, role, region });
    files[role] = { cert: tlsFile(`${role}.pem`, c.certPem), key: tlsFile(`${role}-key.pem`, c.keyPem, true) };
  }
  const tlsBlock = (role: 'server' | 'client'): string => `tls {\n  ca_file   = ${JSON.stringify(caFile)}\n  cert_file = ${JSON.stringify(files[role].cert)}\n  key_file  = ${JSON.stringify(files[role].key)}\n}\n`;

  const ports: number[] = [];
  while (ports.length < a.servers) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const main = resolve(import.meta.dirname, '..', 'main.js');
  const spawnMember = (name: string, role: 'server' | 'client', address: string, config: string, text: string): DevMember => {
    writeFileSync(config, text);
    const log = join(dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(process.execPath, [main, 'agent', '-config', config], { detached: true, stdio: ['ignore', fd, fd], cwd: dir, env: { ...process.env } });
    closeSync(fd);
    child.unref();
    if (child.pid === undefined) throw new NomadError('internal', `cannot start ${name}`);
    const m: DevMember = { name, role, pid: child.pid, address, config, log };
    started.push(m);
    return m;
  };
  const servers = ports.map((port, i) => {
    const name = `server-${i + 1}`;
    const join_ = addresses.filter((_, j) => j !== i).map((x) => JSON.stringify(x)).join(', ');
    return spawnMember(name, 'server', addresses[i]!, join(dir, `${name}.hcl`), `name      = "${name}"
region    = "${region}"
data_dir  = ${JSON.stringify(join(dir, name))}
bind_addr = "127.0.0.1"
ports {
  rpc = ${port}
}
server {
  enabled          = true
  bootstrap_expect = ${a.servers}
}
server_join {
  retry_join = [${join_}]
}
${tlsBlock('server')}`);
  });
  const readyIn = (m: DevMember, re: RegExp) => async (): Promise<true | undefined> => {
    if (!memberAlive(m)) throw new NomadError('unavailable', `${m.name} exited: see ${m.log}`);
    return re.test(readFileSync(m.log, 'utf8')) ? true : undefined;
  };
  await Promise.all(servers.map((m) => until(`${m.name} ready`, 60_000, readyIn(m, /==> nomadts server ready/))));
  const cliEnv = { NOMADTS_ADDR: addresses[0]!, NOMADTS_CACERT: caFile, NOMADTS_CLIENT_CERT: files.cli.cert, NOMADTS_CLIENT_KEY: files.cli.key, NOMADTS_REGION: region };
  const clusterTls = { caPem: ca.certPem, certPem: readFileSync(files.cli.cert, 'utf8'), keyPem: readFileSync(files.cli.key, 'utf8'), region };
  const leader = await until('a cluster leader', 60_000, async () => {
    const c = new ClusterClient(addresses[0]!, clusterTls, 2_000);
    try {
      const st = await c.raftStatus(2_000);
      return st.leader !== '' ? st.leader : undefined;
    } finally {
      c.close();
    }
  });
  out.stdout(`==> ${a.servers} servers up, leader ${leader}\n`);

  const clients = Array.from({ length: a.clients }, (_, i) => {
    const name = `client-${i + 1}`;
    // Each client tries the servers from a different one first, spreading them.
    const servers_ = [...addresses.slice(i % addresses.length), ...addresses.slice(0, i % addresses.length)];
    return spawnMember(name, 'client', '', join(dir, `${name}.hcl`), `name       = "${name}"
region     = "${region}"
datacenter = "dc1"
data_dir   = ${JSON.stringify(join(dir, name))}
client {
  enabled    = true
  servers    = [${servers_.map((x) => JSON.stringify(x)).join(', ')}]
  node_class = "dev"
  meta {
    rack = "r${(i % 2) + 1}"
  }
  options = {
    "driver.raw_exec.enable" = "1"
  }
}
${tlsBlock('client')}`);
  });

  const api = ApiClient.fromEnv(cliEnv);
  try {
    await until(`${a.clients} nodes ready`, 60_000, async () => {
      for (const m of clients) if (!memberAlive(m)) throw new NomadError('unavailable', `${m.name} exited: see ${m.log}`);
      const nodes = (await api.listNodes()).value;
      return nodes.filter((n) => n.status === 'ready').length >= a.clients ? true : undefined;
    });
    if (a.clients > 0) out.stdout(`==> ${a.clients} clients ready\n`);

    const jobs: string[] = [];
    if (a.jobs) {
      // jobs/ of the package: two levels up from cli/commands in the sources, three from dist/.
      const jobsDir = [resolve(import.meta.dirname, '..', '..', 'jobs'), resolve(import.meta.dirname, '..', '..', '..', 'jobs')].find((d) => existsSync(d)) ?? '';
      for (const file of offlineExampleJobs(jobsDir)) {
        try {
          const job = await parseJobText(readFileSync(file, 'utf8'), { filename: file });
          await api.registerJob(job);
          jobs.push(job.id);
          out.stdout(`==> Registered job ${job.id} (${file})\n`);
        } catch (err) {
          out.stderr(`==> Skipped ${file}: ${errorText(err).trim()}\n`);
        }
      }
    }

    const first = servers[0]!;
    const discovery: AgentDiscovery = { rpcAddr: first.address, region, caFile, certFile: files.cli.cert, keyFile: files.cli.key, pid: first.pid, dataDir: dir };
    const discoveryFile = discoveryFilePath(env);
    writeAtomic(discoveryFile, `${JSON.stringify(discovery, null, 2)}\n`);
    const state: DevClusterState = { dir, region, members: started, env: cliEnv, discoveryFile, jobs };
    writeAtomic(join(dir, stateName), `${JSON.stringify(state, null, 2)}\n`);
    writeAtomic(join(dir, 'env'), envLines(state));
    return state;
  } finally {
    api.close();
  }
}
