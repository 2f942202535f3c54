/**
 * `nomadts agent -dev` wired together (Nomad's command/agent in dev mode): one process that is
 * a server (leader of a one-server cluster, in-memory state) and a client, talking to each
 * other over the same mutual-TLS gRPC listener the CLI uses.
 *
 *   ensureDevCertificates → Server.start → startAgentRpcServer(server cert) →
 *   ClientAgent(client cert, raw_exec, exec, docker, mock) → alloc runners ← onAllocs, → reportAllocs
 *
 * It writes `<dataDir>/agent.json` and the well-known discovery file (agent/api discovery.ts)
 * so the CLI on this machine finds it without any NOMADTS_* variable.
 *
 * With a `-data-dir` of the user's, the server's state is kept in it (agent/dev/server-state.ts)
 * and the client's allocation and task handles too (agent/client/allocrunner/persist.ts): an
 * agent restarted on that dir, even after SIGKILL, reattaches to the tasks still running
 * instead of starting them again, and kills those of allocations the server no longer knows.
 *
 * On stop, as Nomad's dev agent does, every task is killed: the alloc runners are destroyed
 * (tasks stopped, alloc dirs and persisted state removed), then the client, the listener and
 * the server stop, the discovery file is removed, and a temporary data dir is deleted.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AgentDiscovery } from '../api/index.js';
import { discoveryFilePath, parseDiscovery } from '../api/index.js';
import type { ClientAgent } from '../client/agent/index.js';
import { defaultClientConfig } from '../client/fingerprint/index.js';
import type { Clock } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { RpcServerHandle } from '../rpc-server/index.js';
import { startAgentRpcServer } from '../rpc-server/index.js';
import { replaceFileSync, SystemClock, systemRng } from '../runtime/index.js';
import { Server } from '../server/index.js';
import { ClientRpcService } from '../service/index.js';
import { ServerStateFile } from './server-state.js';
import type { ClientNode } from './client-node.js';
import { localLogSource, localTaskControl, startClientNode } from './client-node.js';
import type { DevCertificates } from '../tls/index.js';
import { ensureDevCertificates, loadAgentTls } from '../tls/index.js';

export interface StartAgentOptions {
  /** Only dev mode exists for now: server + client in one process, dev certificates. */
  dev: boolean;
  /** Default: a new temporary directory, deleted on stop. */
  dataDir?: string;
  region?: string;
  /** Address the RPC listener binds (default 127.0.0.1). */
  bindAddr?: string;
  /** RPC port (default 4647; 0 picks a free one). */
  rpcPort?: number;
  clock?: Clock;
  /** Seed of the agent's randomness (default from the OS; reported in `seed`). */
  seed?: number;
  /** Node name (default the host name). */
  nodeName?: string;
  /** Environment used to place the discovery file (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** One call per notable event, for the agent's log. */
  onEvent?(event: AgentEvent): void;
}

export type AgentEvent =
  | { kind: 'node-registered'; nodeId: string; nodeName: string }
  | { kind: 'eval-complete'; evalId: string; jobId: string; triggeredBy: string; status: string; placements: number }
  | { kind: 'alloc-status'; allocId: string; name: string; status: string; description: string }
  | { kind: 'task-event'; allocId: string; task: string; type: string; message: string }
  | { kind: 'restored'; allocId: string; kept: boolean }
  | { kind: 'server-restored'; index: number; path: string }
  | { kind: 'error'; what: string; message: string };

export interface RunningAgent {
  readonly dataDir: string;
  /** True when the data dir is the user's (-data-dir): server and client state survive a restart there. */
  readonly dataDirKept: boolean;
  readonly region: string;
  /** host:port the RPC listener is bound to (the real port when 0 was asked). */
  readonly rpcAddr: string;
  readonly seed: number;
  readonly certs: DevCertificates;
  /** `<dataDir>/agent.json`. */
  readonly infoFile: string;
  /** The well-known file the CLI reads (removed on stop). */
  readonly discoveryFile: string;
  /** NOMADTS_ADDR, NOMADTS_CACERT, NOMADTS_CLIENT_CERT, NOMADTS_CLIENT_KEY pointing at this agent. */
  readonly cliEnv: Readonly<Record<string, string>>;
  readonly server: Server;
  readonly client: ClientAgent;
  /** Allocation ids with a live alloc runner. */
  allocRunnerIds(): string[];
  /** Stop everything (tasks included). Safe to call more than once. */
  stop(): Promise<void>;
}

/** Nomad's dev agent node name falls back to the host name; the datacenter is dc1. */
export const DevDatacenter = 'dc1';

export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  if (!opts.dev) {
    throw new NomadError('invalid_argument', 'only dev mode exists for now: run `nomadts agent -dev`', { field: 'dev' });
  }
  const region = opts.region ?? 'global';
  const bindAddr = opts.bindAddr ?? '127.0.0.1';
  const rpcPort = opts.rpcPort ?? 4647;
  if (!Number.isInteger(rpcPort) || rpcPort < 0 || rpcPort > 65535) {
    throw new NomadError('invalid_argument', `rpc port must be a whole number between 0 and 65535, got ${rpcPort}`, { field: 'rpcPort' });
  }
  const clock = opts.clock ?? new SystemClock();
  const { rng, seed } = systemRng(opts.seed);
  const env = opts.env ?? process.env;
  const emit = (e: AgentEvent): void => opts.onEvent?.(e);
  const tempDir = opts.dataDir === undefined;
  const dataDir = resolve(opts.dataDir ?? mkdtempSync(join(tmpdir(), 'nomadts-dev-')));

  const cleanups: (() => Promise<void> | void)[] = [];
  const undo = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // best effort while unwinding a failed start
      }
    }
  };
  if (tempDir) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));

  try {
    const certs = await ensureDevCertificates(dataDir, region, { now: clock.now() });
    const serverTls = loadAgentTls({ caFile: certs.caFile, ...certs.server }, { role: 'server', region, now: clock.now() });
    const clientTls = loadAgentTls({ caFile: certs.caFile, ...certs.client }, { role: 'client', region, now: clock.now() });

    const placements = new Map<string, number>();
    const server = new Server({
      clock,
      rng: rng.fork(),
      onWorkerStep: (step) => {
        if (step.kind === 'plan-submitted') placements.set(step.evalId, (placements.get(step.evalId) ?? 0) + step.placements);
        if (step.kind !== 'acked') return;
        const ev = server.state().evalByID(step.evalId);
        const placed = placements.get(step.evalId) ?? 0;
        placements.delete(step.evalId);
        if (ev !== undefined) emit({ kind: 'eval-complete', evalId: ev.id, jobId: ev.jobId, triggeredBy: ev.triggeredBy, status: ev.status, placements: placed });
      },
    });
    // With a data dir of the user's, the server's state survives a restart (even a crash).
    if (!tempDir) {
      const stateFile = new ServerStateFile(dataDir, server, clock);
      const index = stateFile.load();
      if (index > 0) emit({ kind: 'server-restored', index, path: stateFile.path });
      stateFile.start();
      cleanups.push(() => stateFile.stop());
    }
    server.start();
    cleanups.push(() => server.stop());

    // `alloc logs`, `alloc signal` / `alloc restart` for this agent's own client (set once it exists).
    // eslint-disable-next-line prefer-const -- assigned once the listener is up; logs and tasks need it
    let node: ClientNode | undefined;
    const localNodeId = (): string | undefined => node?.client.node?.id;
    const logs = localLogSource(dataDir, clock, localNodeId);
    const tasks = localTaskControl((allocId) => node?.runner(allocId), localNodeId);

    const clientService = new ClientRpcService({ server, clock, rng: rng.fork() });
    cleanups.push(() => clientService.stop());
    let rpc: RpcServerHandle;
    try {
      rpc = await startAgentRpcServer({
        server,
        tls: { caPem: serverTls.caPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
        region,
        host: bindAddr,
        port: rpcPort,
        clock,
        rng: rng.fork(),
        clientService,
        logs,
        tasks,
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      const inUse = /EADDRINUSE/.test(msg) ? ' (address already in use: is another agent running? pick another with -rpc-port, or 0 for a free one)' : '';
      throw new NomadError('conflict', `cannot listen on ${hostPort(bindAddr, rpcPort)}${inUse}: ${msg}`, { field: 'rpcPort' });
    }
    cleanups.push(() => rpc.close());
    const rpcAddr = hostPort(bindAddr, rpc.port);
    // The client dials the listener; a wildcard bind is reached on loopback.
    const dialAddr = hostPort(bindAddr === '0.0.0.0' || bindAddr === '::' ? '127.0.0.1' : bindAddr, rpc.port);

    const config = defaultClientConfig({ name: opts.nodeName ?? hostname(), datacenter: DevDatacenter, region, dataDir, devMode: true });
    // A client restart: persisted allocations the server still knows are kept (dev state is in memory otherwise).
    node = await startClientNode({
      config,
      dataDir,
      rpc: { address: dialAddr, caPem: clientTls.caPem, certPem: clientTls.certPem, keyPem: clientTls.keyPem },
      clock,
      rng: rng.fork(),
      emit,
    });
    const clientNode = node;
    cleanups.push(() => clientNode.stop());

    const info: AgentDiscovery = { rpcAddr: dialAddr, region, caFile: certs.caFile, certFile: certs.cli.certFile, keyFile: certs.cli.keyFile, pid: process.pid, dataDir };
    const infoFile = join(dataDir, 'agent.json');
    writeJsonAtomic(infoFile, info);
    const discoveryFile = discoveryFilePath(env);
    writeJsonAtomic(discoveryFile, info);
    cleanups.push(() => removeIfOurs(discoveryFile));

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        // Dev mode kills the tasks on exit (Nomad's dev agent does too): the client node's stop does.
        await undo();
      })();
      return stopped;
    };

    return {
      dataDir,
      dataDirKept: !tempDir,
      region,
      rpcAddr,
      seed,
      certs,
      infoFile,
      discoveryFile,
      cliEnv: { NOMADTS_ADDR: dialAddr, NOMADTS_CACERT: certs.caFile, NOMADTS_CLIENT_CERT: certs.cli.certFile, NOMADTS_CLIENT_KEY: certs.cli.keyFile },
      server,
      client: clientNode.client,
      allocRunnerIds: () => clientNode.allocRunnerIds(),
      stop,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function writeJsonAtomic(path: string, value: unknown): void {
  replaceFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

/** Remove the discovery file unless another agent has since taken it over. */
function removeIfOurs(path: string): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  if (parseDiscovery(text)?.pid === process.pid) rmSync(path, { force: true });
}
