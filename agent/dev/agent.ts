/**
 * `nomadts agent -dev` wired together (Nomad's command/agent in dev mode): one process that is
 * a server (leader of a one-server cluster, in-memory state) and a client, talking to each
 * other over the same mutual-TLS gRPC listener the CLI uses.
 *
 *   ensureDevCertificates → Server.start → startAgentRpcServer(server cert) →
 *   ClientAgent(client cert, raw_exec + mock) → alloc runners ← onAllocs, → reportAllocs
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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AgentDiscovery } from '../api/index.js';
import { discoveryFilePath, parseDiscovery } from '../api/index.js';
import { AllocRunner, listPersistedAllocs } from '../client/allocrunner/index.js';
import type { AllocRunnerOptions, ClientStatus } from '../client/allocrunner/index.js';
import { ClientAgent } from '../client/agent/index.js';
import type { TaskDriver } from '../client/drivers/index.js';
import { DockerDriver, dockerOptionsFromClient, ExecDriver, execOptionsFromClient, MockDriver, RawExecDriver } from '../client/drivers/index.js';
import { defaultClientConfig, rawExecEnabled } from '../client/fingerprint/index.js';
import { AllocDir, TaskLogs } from '../client/taskrunner/index.js';
import type { Clock } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { Allocation, TaskState } from '../core/structs/index.js';
import type { AllocLogSource, AllocTaskControl, RpcServerHandle } from '../rpc-server/index.js';
import { startAgentRpcServer } from '../rpc-server/index.js';
import { SystemClock, systemRng } from '../runtime/index.js';
import { Server } from '../server/index.js';
import { ClientRpcService } from '../service/index.js';
import { ServerStateFile } from './server-state.js';
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

    // `alloc logs` for this agent's own client: its alloc dirs' log files (set once the client exists).
    let localNodeId = (): string | undefined => undefined;
    const logs: AllocLogSource = {
      servesNode: (nodeId) => nodeId !== '' && nodeId === localNodeId(),
      read: (allocId, task, stream, o) => {
        const dir = new AllocDir(dataDir, allocId).logDir;
        if (!existsSync(dir)) {
          throw new NomadError('not_found', `allocation ${allocId} has no log directory on this node (not started yet, or garbage-collected)`, { field: 'alloc_id' });
        }
        return new TaskLogs(dir, clock).readLogs(task, stream, o);
      },
    };

    // `alloc signal` / `alloc restart` for this agent's own client: its alloc runners (set once they exist).
    let localRunner: (allocId: string) => AllocRunner | undefined = () => undefined;
    const runnerOf = (allocId: string): AllocRunner => {
      const ar = localRunner(allocId);
      if (ar === undefined) throw new NomadError('conflict', `allocation ${allocId} is not running on this agent's client (not started yet, or already stopped)`, { field: 'alloc_id' });
      return ar;
    };
    const tasks: AllocTaskControl = {
      servesNode: (nodeId) => nodeId !== '' && nodeId === localNodeId(),
      signal: (allocId, task, sig) => runnerOf(allocId).signalTasks(task, sig),
      restart: (allocId, task) => runnerOf(allocId).restartTasks(task),
    };

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
    const docker = new DockerDriver({ ...dockerOptionsFromClient(config.options), clock });
    cleanups.push(() => docker.shutdown()); // containers keep running; a restarted agent recovers them
    const drivers: TaskDriver[] = [new RawExecDriver({ enabled: rawExecEnabled(config), clock }), new ExecDriver(execOptionsFromClient(config.options, { clock, stateDir: join(dataDir, 'client', 'exec') })), docker, new MockDriver({ clock })];
    const byName = new Map(drivers.map((d) => [d.name, d]));

    const runners = new Map<string, AllocRunner>();
    localRunner = (allocId) => runners.get(allocId);
    const updates = new Map<string, Promise<void>>();
    const names = new Map<string, string>();
    const lastStatus = new Map<string, string>();
    const seenEvents = new Map<string, string>();
    let stopping = false;
    // onAllocs / removals / restore run one at a time, in order.
    let queue: Promise<void> = Promise.resolve();
    const serial = (what: string, fn: () => Promise<void>): void => {
      queue = queue.then(fn).catch((err: unknown) => emit({ kind: 'error', what, message: err instanceof Error ? err.message : String(err) }));
    };

    // eslint-disable-next-line prefer-const -- assigned once the client exists; the runners' callbacks need it
    let client: ClientAgent;
    const onUpdate = (allocId: string, status: ClientStatus, taskStates: Record<string, TaskState>): void => {
      const ar = runners.get(allocId);
      for (const [task, ts] of Object.entries(taskStates)) {
        // Task states keep only the latest events: find the last one already logged, log those after it.
        const key = `${allocId}/${task}`;
        const last = seenEvents.get(key);
        let from = 0;
        if (last !== undefined) {
          const at = ts.events.findLastIndex((e) => eventKey(e) === last);
          from = at >= 0 ? at + 1 : ts.events.findIndex((e) => e.time > Number(last.split('|')[0]));
          if (from < 0) from = ts.events.length;
        }
        for (const e of ts.events.slice(from)) emit({ kind: 'task-event', allocId, task, type: e.type, message: e.message });
        const newest = ts.events[ts.events.length - 1];
        if (newest !== undefined) seenEvents.set(key, eventKey(newest));
      }
      if (lastStatus.get(allocId) !== status.status) {
        lastStatus.set(allocId, status.status);
        emit({ kind: 'alloc-status', allocId, name: names.get(allocId) ?? allocId, status: status.status, description: status.description });
      }
      // Only allocations the server gave this client are reported (not orphans being cleaned up).
      if (ar !== undefined) client.reportAllocs([{ id: allocId, clientStatus: status.status, clientDescription: status.description, taskStates, modifyTime: clock.now() }]);
    };
    const runnerOpts = (): Omit<AllocRunnerOptions, 'alloc'> => ({
      dataDir,
      driver: (name) => byName.get(name),
      clock,
      rng: rng.fork(),
      ...(client.node !== undefined ? { node: client.node } : {}),
      onUpdate,
      // Task output goes through logmon processes, so logs rotate even while the agent is down;
      // docker's output is copied by the agent itself from the engine (resumed after a restart).
      logmon: (driver) => driver !== 'docker',
    });

    const handleAllocs = async (allocs: Allocation[]): Promise<void> => {
      for (const alloc of allocs) {
        if (stopping) return;
        const existing = runners.get(alloc.id);
        if (existing !== undefined) {
          // Updates of one runner stay in order; a stop (which waits for the tasks to die)
          // does not hold up the other allocations.
          const prev = updates.get(alloc.id) ?? Promise.resolve();
          const next = prev.then(() => existing.update(alloc)).catch((err: unknown) => emit({ kind: 'error', what: `alloc ${alloc.id}`, message: String(err) }));
          updates.set(alloc.id, next);
          continue;
        }
        if (alloc.desiredStatus !== 'run' || isTerminal(alloc.clientStatus)) continue;
        const ar = new AllocRunner({ ...runnerOpts(), alloc });
        runners.set(alloc.id, ar);
        names.set(alloc.id, alloc.name);
        void ar.run().catch((err: unknown) => emit({ kind: 'error', what: `alloc ${alloc.id}`, message: String(err) }));
      }
    };
    const handleRemoved = async (ids: string[]): Promise<void> => {
      for (const id of ids) {
        const ar = runners.get(id);
        if (ar === undefined) continue;
        runners.delete(id);
        await (updates.get(id) ?? Promise.resolve());
        updates.delete(id);
        await ar.destroy();
      }
    };

    client = new ClientAgent({
      config,
      dataDir,
      drivers,
      rpc: { address: dialAddr, caPem: clientTls.caPem, certPem: clientTls.certPem, keyPem: clientTls.keyPem },
      clock,
      rng: rng.fork(),
      onAllocs: (allocs) => serial('allocs', () => handleAllocs(allocs)),
      onAllocsRemoved: (ids) => serial('alloc removal', () => handleRemoved(ids)),
      usage: () => [...runners.values()].map((ar) => ar.resourceUsage()),
      onError: (what, err) => emit({ kind: 'error', what, message: err instanceof Error ? err.message : String(err) }),
    });
    cleanups.push(() => client.stop());
    localNodeId = () => client.node?.id;
    await client.start();

    // A client restart: pick the persisted allocations up again. The server keeps what it still
    // knows of (the watch then updates them); the rest are orphans of an earlier run (dev state is
    // in memory) whose leftover tasks are killed and whose state is removed.
    serial('restore', async () => {
      for (const id of await listPersistedAllocs(dataDir)) {
        if (runners.has(id)) continue;
        let ar: AllocRunner | undefined;
        try {
          ar = await AllocRunner.restore(runnerOpts(), id);
        } catch (err) {
          emit({ kind: 'error', what: `restore ${id}`, message: err instanceof Error ? err.message : String(err) });
          rmSync(join(dataDir, 'client', 'allocs', id), { recursive: true, force: true });
          continue;
        }
        if (ar === undefined) continue;
        names.set(id, ar.allocation.name);
        // The events up to the crash were logged by the earlier run.
        for (const [task, ts] of Object.entries(ar.taskStates())) {
          const newest = ts.events[ts.events.length - 1];
          if (newest !== undefined) seenEvents.set(`${id}/${task}`, eventKey(newest));
        }
        const known = server.state().allocByID(id);
        const kept = known !== undefined && known.desiredStatus === 'run' && !isTerminal(known.clientStatus);
        emit({ kind: 'restored', allocId: id, kept });
        if (kept) {
          // Reattach to the tasks still alive; a task that ended meanwhile has its exit read
          // and its restart policy applied.
          runners.set(id, ar);
          await ar.run();
        } else {
          // An orphan: its tasks are reattached only to be stopped, then its state goes.
          await ar.destroy().catch((err: unknown) => emit({ kind: 'error', what: `remove orphan ${id}`, message: String(err) }));
        }
      }
    });

    void client.registered().then(() => {
      if (!stopping) emit({ kind: 'node-registered', nodeId: client.node?.id ?? '', nodeName: config.name });
    });

    const info: AgentDiscovery = { rpcAddr: dialAddr, region, caFile: certs.caFile, certFile: certs.cli.certFile, keyFile: certs.cli.keyFile, pid: process.pid, dataDir };
    const infoFile = join(dataDir, 'agent.json');
    writeJsonAtomic(infoFile, info);
    const discoveryFile = discoveryFilePath(env);
    writeJsonAtomic(discoveryFile, info);
    cleanups.push(() => removeIfOurs(discoveryFile));

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        stopping = true;
        await queue.catch(() => undefined);
        await Promise.allSettled(updates.values());
        // Dev mode kills the tasks on exit (Nomad's dev agent does too).
        const all = [...runners.values()];
        runners.clear();
        await Promise.allSettled(all.map((ar) => ar.destroy()));
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
      client,
      allocRunnerIds: () => [...runners.keys()].sort(),
      stop,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

function eventKey(e: { time: number; type: string; message: string }): string {
  return `${e.time}|${e.type}|${e.message}`;
}

function isTerminal(status: string): boolean {
  return status === 'complete' || status === 'failed' || status === 'lost';
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
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
