/**
 * docker: runs a task as a container of the local Docker engine, through dockerode (after
 * nomad drivers/docker). Images must already be in the engine: these machines cannot reach
 * a registry, so a missing image is an error that says how to build one
 * (scripts/docker-image.sh), and the driver pulls only when the client allows it.
 *
 * A task is one container named `<task>-<alloc id>` and labelled with its allocation, task
 * name and task id (`com.nomadts.*`). Its output is copied from Docker's log stream into the
 * task's log files; its exit (code, OOM kill) comes from the engine's wait and inspect.
 * `destroy` removes the container. A handle records the container id, so a restarted agent
 * `recover`s: it follows the container again (or reads the exit it had meanwhile) and resumes
 * the log copy where it stopped.
 */
import { unlinkSync } from 'node:fs';
import Docker from 'dockerode';
import type Dockerode from 'dockerode';
import { MultiError, NomadError } from '../../../core/lib/index.js';
import type { Clock } from '../../../core/lib/index.js';
import type { DriverInfo } from '../../../core/structs/index.js';
import { SystemClock } from '../../../runtime/index.js';
import type { ExitResult, TaskConfig, TaskDriver, TaskHandle, TaskStatus, TaskUsage } from '../index.js';
// eslint-disable-next-line no-restricted-imports
import { requireSignal } from '../signals.js';
import { FrameDecoder, LogSink, positionPath, readPosition } from './logs.js';
import type { LogPosition } from './logs.js';
import { buildContainerSpec, checkConfig, LabelAllocId, LabelManaged, LabelTaskId } from './spec.js';
import type { DockerPolicy } from './spec.js';

export interface DockerDriverOptions extends Partial<DockerPolicy> {
  /** Where the engine listens: `unix:///var/run/docker.sock` (default: $DOCKER_HOST, else that socket) or `tcp://host:port`. */
  endpoint?: string;
  /** Pull a missing image (client option `docker.pull.enabled`); off by default, and no registry is reachable here. */
  allowPull?: boolean;
  /** Timers for kill escalation. Default: the wall clock. */
  clock?: Clock;
  /** How long fingerprinting waits for the engine. Default 2000 ms. */
  fingerprintTimeoutMs?: number;
  /** After a container exits, how long to wait for the rest of its output. Default 2000 ms. */
  logDrainMs?: number;
}

/** Client options (`client { options { ... } }`) that configure the docker driver. */
export const DockerClientOptions = {
  endpoint: 'docker.endpoint',
  volumes: 'docker.volumes.enabled',
  privileged: 'docker.privileged.enabled',
  hostNamespaces: 'docker.host_namespaces.enabled',
  pull: 'docker.pull.enabled',
} as const;

/** The driver's options from the client's free-form options ("1", "true", "t" are true). */
export function dockerOptionsFromClient(options: Readonly<Record<string, string>>): DockerDriverOptions {
  const bool = (key: string): boolean => ['1', 't', 'true'].includes((options[key] ?? '').toLowerCase());
  const out: DockerDriverOptions = {
    volumesEnabled: bool(DockerClientOptions.volumes),
    allowPrivileged: bool(DockerClientOptions.privileged),
    allowHostNamespaces: bool(DockerClientOptions.hostNamespaces),
    allowPull: bool(DockerClientOptions.pull),
  };
  const endpoint = options[DockerClientOptions.endpoint];
  if (endpoint !== undefined && endpoint !== '') out.endpoint = endpoint;
  return out;
}

export const ImageHint = 'images cannot be pulled here: build it with scripts/docker-image.sh';

interface DockerTask {
  cfg: TaskConfig;
  handle: TaskHandle;
  container: Dockerode.Container;
  completedAt: number;
  exit: ExitResult | null;
  exited: Promise<ExitResult>;
  resolveExit: (r: ExitResult) => void;
  /** Aborts the wait and log requests (agent shutdown: the container keeps running). */
  detach: AbortController;
  sink: LogSink | null;
  logsDone: Promise<void>;
  /** When the log copy last made progress (a chunk from the engine, or the log FIFO drained). */
  lastLogAt: number;
  pid: number;
  lastCpu: { at: number; totalNs: number } | null;
}

function connection(endpoint: string | undefined): Dockerode.DockerOptions {
  const ep = endpoint ?? process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
  if (ep.startsWith('unix://')) return { socketPath: ep.slice('unix://'.length) };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(ep);
  if (m !== null) return { host: m[1]!, port: Number(m[2]), protocol: 'http' };
  return { socketPath: ep };
}

export class DockerDriver implements TaskDriver {
  readonly name = 'docker';
  private readonly docker: Docker;
  private readonly probe: Docker;
  private readonly endpoint: string;
  private readonly policy: DockerPolicy;
  private readonly allowPull: boolean;
  private readonly clock: Clock;
  private readonly logDrainMs: number;
  private readonly tasks = new Map<string, DockerTask>();

  constructor(opts: DockerDriverOptions = {}) {
    const conn = connection(opts.endpoint);
    this.endpoint = conn.socketPath ?? `${conn.host}:${conn.port}`;
    this.docker = new Docker(conn);
    this.probe = new Docker({ ...conn, timeout: opts.fingerprintTimeoutMs ?? 2000 });
    this.policy = {
      volumesEnabled: opts.volumesEnabled ?? false,
      allowPrivileged: opts.allowPrivileged ?? false,
      allowHostNamespaces: opts.allowHostNamespaces ?? false,
    };
    this.allowPull = opts.allowPull ?? false;
    this.clock = opts.clock ?? new SystemClock();
    this.logDrainMs = opts.logDrainMs ?? 2000;
  }

  async fingerprint(): Promise<DriverInfo> {
    try {
      const v = await this.probe.version();
      return {
        detected: true,
        healthy: true,
        healthDescription: 'healthy',
        attributes: {
          'driver.docker.version': v.Version,
          'driver.docker.api_version': v.ApiVersion,
          'driver.docker.volumes.enabled': String(this.policy.volumesEnabled),
          'driver.docker.privileged.enabled': String(this.policy.allowPrivileged),
        },
      };
    } catch (e) {
      return { detected: false, healthy: false, healthDescription: `Docker engine not reachable at ${this.endpoint}: ${dockerMessage(e)}`, attributes: {} };
    }
  }

  validateConfig(config: Record<string, unknown>): NomadError[] {
    return checkConfig(config);
  }

  async start(cfg: TaskConfig): Promise<TaskHandle> {
    const spec = buildContainerSpec(cfg, this.policy);
    if (Array.isArray(spec)) throw spec.length === 1 ? spec[0]! : new MultiError(spec);
    if (this.tasks.has(cfg.id)) throw new NomadError('conflict', `docker: task ${cfg.id} is already running`);
    await this.ensureImage(spec.image);

    const container = await this.create(spec.create);
    try {
      await container.start();
    } catch (e) {
      // Nothing is left behind when the container cannot start (e.g. its host port is taken).
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw new NomadError('invalid_argument', `docker: cannot start container for task "${cfg.name}": ${dockerMessage(e)}`);
    }
    const handle: TaskHandle = {
      taskId: cfg.id,
      driver: this.name,
      config: cfg,
      startedAt: this.clock.now(),
      state: { containerId: container.id, containerName: spec.name, image: spec.image },
    };
    try {
      unlinkSync(positionPath(cfg.dir));
    } catch {
      // No earlier attempt left a position.
    }
    try {
      this.follow(cfg, handle, container, { container: container.id, stdout: '', stderr: '' });
    } catch (e) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      throw new NomadError('internal', `docker: cannot follow the container of task "${cfg.name}": ${e instanceof Error ? e.message : String(e)}`);
    }
    return handle;
  }

  async wait(taskId: string): Promise<ExitResult> {
    return this.get(taskId).exited;
  }

  async stop(taskId: string, timeoutMs: number, signal: string): Promise<void> {
    const t = this.get(taskId);
    // Docker's own `stop` sends SIGTERM; a task's kill_signal replaces it.
    const sig = requireSignal('docker', signal, 'kill_signal', 'SIGTERM');
    if (t.exit !== null) return;
    await this.kill(t, sig);
    // A failed SIGKILL (engine gone) leaves the wait below to report what happened.
    const escalate = this.clock.setTimer(Math.max(0, timeoutMs), () => void this.kill(t, 'SIGKILL').catch(() => undefined));
    try {
      await t.exited;
    } finally {
      escalate.cancel();
    }
  }

  async signal(taskId: string, signal: string): Promise<void> {
    const t = this.get(taskId);
    const sig = requireSignal('docker', signal, 'signal');
    if (t.exit !== null) throw new NomadError('conflict', `docker: task ${taskId} has exited; there is no container to signal`);
    await this.kill(t, sig);
  }

  async destroy(taskId: string): Promise<void> {
    const t = this.get(taskId);
    if (t.exit === null) {
      await this.kill(t, 'SIGKILL');
      await t.exited;
    }
    t.detach.abort();
    t.sink?.abandon();
    try {
      await t.container.remove({ force: true, v: true });
    } catch (e) {
      if (statusOf(e) !== 404) throw new NomadError('internal', `docker: cannot remove container ${shortId(t.container.id)} of task ${taskId}: ${dockerMessage(e)}`);
    }
    this.tasks.delete(taskId);
  }

  inspect(taskId: string): TaskStatus {
    const t = this.get(taskId);
    return {
      id: t.cfg.id,
      name: t.cfg.name,
      state: t.exit === null ? 'running' : 'exited',
      startedAt: t.handle.startedAt,
      completedAt: t.completedAt,
      exitResult: t.exit,
      driverAttributes: { container_id: t.container.id, container_name: String(t.handle.state['containerName'] ?? ''), image: String(t.handle.state['image'] ?? '') },
    };
  }

  async stats(taskId: string): Promise<TaskUsage> {
    const t = this.get(taskId);
    if (t.exit !== null) throw new NomadError('not_found', `docker: task ${taskId} has exited; no usage to sample`);
    if (t.pid === 0) t.pid = (await t.container.inspect()).State.Pid;
    const s = await t.container.stats({ stream: false, 'one-shot': true });
    const now = this.clock.now();
    const mem = s.memory_stats;
    // Working set as `docker stats` shows it: usage less the page cache.
    const cache = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? mem.stats?.cache ?? 0;
    const rss = Math.max(0, (mem.usage ?? 0) - cache);
    const cpu = s.cpu_stats.cpu_usage;
    const totalNs = cpu.total_usage;
    let cpuPercent = 0;
    if (t.lastCpu !== null && now > t.lastCpu.at) {
      cpuPercent = Math.max(0, ((totalNs - t.lastCpu.totalNs) / 1e6 / (now - t.lastCpu.at)) * 100);
    }
    t.lastCpu = { at: now, totalNs };
    return { timestamp: now, pids: t.pid > 0 ? [t.pid] : [], rssBytes: rss, cpuUserMs: cpu.usage_in_usermode / 1e6, cpuSystemMs: cpu.usage_in_kernelmode / 1e6, cpuPercent };
  }

  async recover(handle: TaskHandle): Promise<void> {
    if (handle.driver !== this.name) {
      throw new NomadError('invalid_argument', `docker: cannot recover a handle of driver ${JSON.stringify(handle.driver)}`);
    }
    if (this.tasks.has(handle.taskId)) return;
    const id = handle.state['containerId'];
    if (typeof id !== 'string' || id === '') {
      throw new NomadError('invalid_argument', `docker: cannot recover task ${handle.taskId}: handle has no container id`);
    }
    const container = this.docker.getContainer(id);
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (e) {
      if (statusOf(e) === 404) throw new NomadError('not_found', `docker: cannot recover task ${handle.taskId}: container ${shortId(id)} is gone`);
      throw new NomadError('unavailable', `docker: cannot recover task ${handle.taskId}: ${dockerMessage(e)}`);
    }
    const owner = info.Config.Labels?.[LabelTaskId];
    if (owner !== handle.taskId) {
      throw new NomadError('conflict', `docker: cannot recover task ${handle.taskId}: container ${shortId(id)} belongs to ${JSON.stringify(owner ?? 'no nomadts task')}`);
    }
    const t = this.follow(handle.config, handle, container, readPosition(handle.config.dir, id));
    t.pid = info.State.Pid;
  }

  /**
   * Removes every container of allocation `allocId` that no task of this driver follows
   * (e.g. one created by an agent that died before it could record the handle). For the
   * allocation's garbage collection; returns the ids removed.
   */
  async removeOrphans(allocId: string): Promise<string[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LabelAllocId}=${allocId}`, `${LabelManaged}=true`] } });
    const removed: string[] = [];
    for (const c of list) {
      if ([...this.tasks.values()].some((t) => t.container.id === c.Id)) continue;
      try {
        await this.docker.getContainer(c.Id).remove({ force: true, v: true });
        removed.push(c.Id);
      } catch (e) {
        if (statusOf(e) !== 404) throw new NomadError('internal', `docker: cannot remove container ${shortId(c.Id)} of allocation ${allocId}: ${dockerMessage(e)}`);
      }
    }
    return removed;
  }

  /**
   * Lets go of every task without touching its container (the agent is shutting down): the
   * wait and log requests are cancelled and log positions recorded, so a later agent recovers.
   */
  shutdown(): void {
    for (const t of this.tasks.values()) {
      t.detach.abort();
      void t.sink?.close();
    }
    this.tasks.clear();
  }

  /** Registers a task and starts following its container: its output and its exit. */
  private follow(cfg: TaskConfig, handle: TaskHandle, container: Dockerode.Container, pos: LogPosition): DockerTask {
    let resolveExit!: (r: ExitResult) => void;
    const exited = new Promise<ExitResult>((res) => { resolveExit = res; });
    const detach = new AbortController();
    // The sink first: when the log files cannot be opened, nothing is registered.
    // Position recorded at most every 250 ms: a rename per chunk cost more than the copy itself.
    const sink = new LogSink(cfg.dir, { stdout: cfg.stdoutPath, stderr: cfg.stderrPath }, pos, () => this.clock.now(), 250);
    const t: DockerTask = { cfg, handle, container, completedAt: 0, exit: null, exited, resolveExit, detach, sink, logsDone: Promise.resolve(), lastLogAt: this.clock.now(), pid: 0, lastCpu: null };
    this.tasks.set(cfg.id, t);
    t.logsDone = this.copyLogs(t, sink);
    void this.watchExit(t);
    return t;
  }

  private async copyLogs(t: DockerTask, sink: LogSink): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await t.container.logs({ follow: true, stdout: true, stderr: true, timestamps: true, since: sink.since, abortSignal: t.detach.signal });
    } catch {
      return; // The container is gone or the agent let go: nothing more to copy.
    }
    const decoder = new FrameDecoder(true);
    await new Promise<void>((resolve) => {
      const done = (): void => resolve();
      stream.on('data', (chunk: Buffer) => {
        t.lastLogAt = this.clock.now();
        // The log FIFO full (logmon behind): the engine's stream waits, the event loop does not.
        if (!sink.write(decoder.push(chunk))) {
          stream.pause();
          void sink.drained().then(() => {
            t.lastLogAt = this.clock.now();
            stream.resume();
          });
        }
      });
      stream.once('end', done);
      stream.once('close', done);
      stream.on('error', done); // also the abort of a detached stream
      t.detach.signal.addEventListener('abort', done, { once: true });
    });
  }

  private async watchExit(t: DockerTask): Promise<void> {
    let result: ExitResult;
    try {
      const w = (await t.container.wait({ abortSignal: t.detach.signal })) as { StatusCode?: number };
      let oom = false;
      let code = typeof w.StatusCode === 'number' ? w.StatusCode : -1;
      try {
        const info = await t.container.inspect();
        oom = info.State.OOMKilled;
        code = info.State.ExitCode;
      } catch {
        // Removed already: the wait's status code is all there is.
      }
      result = { exitCode: code, signal: null, oomKilled: oom, err: oom ? 'OOM Killed' : null };
    } catch (e) {
      if (t.detach.signal.aborted) return;
      result = { exitCode: -1, signal: null, oomKilled: false, err: `lost track of container ${shortId(t.container.id)}: ${dockerMessage(e)}` };
    }
    // The engine streams what the container wrote after its exit: wait for the end of that stream
    // (and for it to reach the log FIFO or files) while it still makes progress, giving up only
    // after logDrainMs without any, so a chatty task's last output is not cut off.
    const clock = this.clock;
    const drainMs = this.logDrainMs;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const idle = clock.now() - t.lastLogAt;
        if (idle >= drainMs) resolve();
        else timer = clock.setTimer(drainMs - idle, check);
      };
      let timer = clock.setTimer(drainMs, check);
      void t.logsDone.then(() => t.sink?.close()).then(() => {
        timer.cancel();
        resolve();
      });
    });
    if (t.detach.signal.aborted || t.exit !== null) return;
    void t.sink?.close();
    t.exit = result;
    t.completedAt = this.clock.now();
    t.resolveExit(result);
  }

  private async ensureImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (e) {
      if (statusOf(e) !== 404) throw new NomadError('unavailable', `docker: cannot inspect image ${JSON.stringify(image)}: ${dockerMessage(e)}`, { field: 'config.image' });
    }
    if (!this.allowPull) {
      throw new NomadError('not_found', `docker: config.image: image ${JSON.stringify(image)} not found in the local Docker engine; ${ImageHint} (or allow pulls with the client option "${DockerClientOptions.pull}" = "1")`, { field: 'config.image' });
    }
    try {
      const stream = await this.docker.pull(image);
      await new Promise<void>((resolve, reject) => this.docker.modem.followProgress(stream, (err: Error | null) => (err === null ? resolve() : reject(err))));
    } catch (e) {
      throw new NomadError('not_found', `docker: config.image: cannot pull ${JSON.stringify(image)}: ${dockerMessage(e)}`, { field: 'config.image' });
    }
  }

  /** Creates the container; a leftover of the same task (an earlier attempt or agent) is replaced. */
  private async create(opts: Dockerode.ContainerCreateOptions): Promise<Dockerode.Container> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.docker.createContainer(opts);
      } catch (e) {
        if (statusOf(e) !== 409 || attempt > 0 || opts.name === undefined) {
          throw new NomadError('invalid_argument', `docker: cannot create container ${JSON.stringify(opts.name)}: ${dockerMessage(e)}`);
        }
        const old = this.docker.getContainer(opts.name);
        const info = await old.inspect().catch(() => undefined);
        if (info !== undefined && info.Config.Labels?.[LabelManaged] !== 'true') {
          throw new NomadError('conflict', `docker: a container named ${JSON.stringify(opts.name)} exists and was not created by nomadts; remove it or rename it`);
        }
        if (info !== undefined && this.isFollowed(info.Id)) {
          throw new NomadError('conflict', `docker: container ${JSON.stringify(opts.name)} already runs a task of this client`);
        }
        await old.remove({ force: true, v: true }).catch(() => undefined);
      }
    }
  }

  private isFollowed(containerId: string): boolean {
    for (const t of this.tasks.values()) if (t.container.id === containerId && t.exit === null) return true;
    return false;
  }

  private async kill(t: DockerTask, signal: string): Promise<void> {
    try {
      await t.container.kill({ signal });
    } catch (e) {
      // 404: removed; 409: not running. Either way the exit is (or will be) seen by the wait.
      const s = statusOf(e);
      if (s !== 404 && s !== 409) throw new NomadError('unavailable', `docker: cannot send ${signal} to task ${t.cfg.id}: ${dockerMessage(e)}`);
    }
  }

  private get(taskId: string): DockerTask {
    const t = this.tasks.get(taskId);
    if (t === undefined) throw new NomadError('not_found', `docker: no task ${JSON.stringify(taskId)}`);
    return t;
  }
}


function statusOf(e: unknown): number | undefined {
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The engine's own message when there is one (`{"message": ...}`), else the error's. */
function dockerMessage(e: unknown): string {
  const json = (e as { json?: { message?: unknown } } | null)?.json;
  if (json !== undefined && json !== null && typeof json.message === 'string') return json.message;
  return e instanceof Error ? e.message : String(e);
}

function shortId(id: string): string {
  return id.slice(0, 12);
}
