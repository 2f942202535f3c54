/**
 * From a task's `config { ... }` block to a Docker container-create request, without
 * touching the engine: every option is checked first, and every problem names its field
 * (`config.<key>`), so a bad job creates nothing. What the client configuration must allow
 * (host volumes, privileged mode, host namespaces) is checked here too.
 *
 * Mounts follow Nomad's docker driver: the shared `alloc/` directory at /alloc, the task's
 * `local/` at /local and `secrets/` at /secrets; NOMAD_ALLOC_DIR / NOMAD_TASK_DIR /
 * NOMAD_SECRETS_DIR are rewritten to those container paths. Ports listed in `ports` are
 * published on the host port the scheduler allocated (NOMAD_HOST_PORT_<label>), to the
 * container port `port_map[label]`, else the port's `to`, else the host port (NOMAD_PORT_<label>).
 */
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type Dockerode from 'dockerode';
import { NomadError } from '../../../core/lib/index.js';
import type { TaskConfig } from '../index.js';

/** What the client configuration allows docker tasks to do. */
export interface DockerPolicy {
  /** Host paths outside the task directory in `volumes` (client option `docker.volumes.enabled`). */
  volumesEnabled: boolean;
  /** `privileged = true` (client option `docker.privileged.enabled`). */
  allowPrivileged: boolean;
  /** `network_mode = "host"` / `"container:..."`, `pid_mode = "host"`, `ipc_mode = "host"` (client option `docker.host_namespaces.enabled`). */
  allowHostNamespaces: boolean;
}

/** Labels every container of nomadts carries, so that recovery and garbage collection can find them. */
export const LabelAllocId = 'com.nomadts.alloc_id';
export const LabelTaskName = 'com.nomadts.task_name';
export const LabelTaskId = 'com.nomadts.task_id';
export const LabelManaged = 'com.nomadts.managed';

export const ConfigKeys = [
  'image', 'command', 'args', 'entrypoint', 'labels', 'work_dir', 'ports', 'port_map', 'volumes',
  'privileged', 'network_mode', 'pid_mode', 'ipc_mode', 'hostname', 'memory_hard_limit',
] as const;

const MiB = 1024 * 1024;
const PortLabel = /^[A-Za-z0-9_-]+$/;
/** The smallest CPU share Docker accepts. */
const MinCpuShares = 2;

export interface ContainerSpec {
  image: string;
  name: string;
  create: Dockerode.ContainerCreateOptions;
  /** Published ports (label → host ip/port, container port), for status and tests. */
  ports: { label: string; hostIp: string; hostPort: number; containerPort: number }[];
}

/** Collects problems, each as a NomadError naming `config.<key>`. */
class Checker {
  readonly errors: NomadError[] = [];

  constructor(private readonly config: Record<string, unknown>) {
    for (const key of Object.keys(config).sort()) {
      if (!(ConfigKeys as readonly string[]).includes(key)) this.fail(key, `unknown option for the docker driver (known: ${[...ConfigKeys].sort().join(', ')})`);
    }
  }

  fail(key: string, message: string, code: 'validation' | 'invalid_argument' = 'validation'): undefined {
    const field = `config.${key}`;
    this.errors.push(new NomadError(code, `docker: ${field} ${message}`, { field }));
    return undefined;
  }

  string(key: string, required = false): string | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return required ? this.fail(key, 'is required (a non-empty string)') : undefined;
    if (typeof v !== 'string') return this.fail(key, `must be a string, got ${describe(v)}`);
    if (required && v.trim() === '') return this.fail(key, 'must not be empty');
    return v;
  }

  stringArray(key: string): string[] | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.fail(key, `must be a list of strings, got ${describe(v)}`);
    const out: string[] = [];
    v.forEach((item: unknown, i) => {
      if (typeof item === 'string') out.push(item);
      else this.fail(`${key}[${i}]`, `must be a string, got ${describe(item)}`);
    });
    return out;
  }

  bool(key: string): boolean | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return this.fail(key, `must be true or false, got ${describe(v)}`);
  }

  integer(key: string, min: number, max: number): number | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return this.fail(key, `must be an integer, got ${describe(v)}`);
    if (n < min || n > max) return this.fail(key, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  /** `key = { a = "b" }` or the block form `key { a = "b" }` (which the job spec hands over as a list of objects). */
  map(key: string): Record<string, unknown> | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    const parts = Array.isArray(v) ? v : [v];
    const out: Record<string, unknown> = {};
    for (const part of parts) {
      if (part === null || typeof part !== 'object' || Array.isArray(part)) return this.fail(key, `must be a map, got ${describe(v)}`);
      Object.assign(out, part);
    }
    return out;
  }

  stringMap(key: string): Record<string, string> | undefined {
    const m = this.map(key);
    if (m === undefined) return undefined;
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(m)) {
      if (typeof x === 'string') out[k] = x;
      else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else this.fail(`${key}.${k}`, `must be a string, got ${describe(x)}`);
    }
    return out;
  }
}

/** Problems with a task's config block alone (no task context): what `validateConfig` reports. */
export function checkConfig(config: Record<string, unknown>): NomadError[] {
  const c = new Checker(config);
  readOptions(c);
  return c.errors;
}

interface Options {
  image: string | undefined;
  command: string | undefined;
  args: string[] | undefined;
  entrypoint: string[] | undefined;
  labels: Record<string, string>;
  workDir: string | undefined;
  ports: string[];
  portMap: Record<string, number>;
  volumes: string[];
  privileged: boolean;
  networkMode: string;
  pidMode: string;
  ipcMode: string;
  hostname: string | undefined;
  memoryHardLimitMB: number | undefined;
}

function readOptions(c: Checker): Options {
  const image = c.string('image', true);
  const command = c.string('command');
  const args = c.stringArray('args');
  const entrypoint = c.stringArray('entrypoint');
  const labels = c.stringMap('labels') ?? {};
  for (const k of Object.keys(labels)) {
    if (k.startsWith('com.nomadts.')) c.fail(`labels.${k}`, 'uses the prefix com.nomadts., which the driver reserves for its own labels');
  }
  const workDir = c.string('work_dir');
  if (workDir !== undefined && workDir !== '' && !workDir.startsWith('/')) c.fail('work_dir', `must be an absolute path inside the container, got ${JSON.stringify(workDir)}`);
  const ports = c.stringArray('ports') ?? [];
  ports.forEach((p, i) => {
    if (!PortLabel.test(p)) c.fail(`ports[${i}]`, `must be a port label from the group's network block, got ${JSON.stringify(p)}`);
  });
  const portMap: Record<string, number> = {};
  for (const [label, v] of Object.entries(c.map('port_map') ?? {})) {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) c.fail(`port_map.${label}`, `must be a port number 1-65535, got ${describe(v)}`);
    else portMap[label] = n;
  }
  const volumes = c.stringArray('volumes') ?? [];
  volumes.forEach((v, i) => {
    const parts = v.split(':');
    if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '' || !parts[1]!.startsWith('/') || (parts[2] !== undefined && !['ro', 'rw'].includes(parts[2]))) {
      c.fail(`volumes[${i}]`, `must be "host_path:container_path[:ro|rw]" with an absolute container path, got ${JSON.stringify(v)}`);
    }
  });
  const privileged = c.bool('privileged') ?? false;
  const networkMode = c.string('network_mode') ?? '';
  if (networkMode !== '' && !/^(container:)?[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(networkMode)) {
    c.fail('network_mode', `must be "bridge", "host", "none", "container:<name>" or a network name, got ${JSON.stringify(networkMode)}`);
  }
  const pidMode = c.string('pid_mode') ?? '';
  if (!['', 'host'].includes(pidMode)) c.fail('pid_mode', `must be "host" or empty, got ${JSON.stringify(pidMode)}`);
  const ipcMode = c.string('ipc_mode') ?? '';
  if (!['', 'private', 'shareable', 'none', 'host'].includes(ipcMode)) c.fail('ipc_mode', `must be "private", "shareable", "none" or "host", got ${JSON.stringify(ipcMode)}`);
  const hostname = c.string('hostname');
  const memoryHardLimitMB = c.integer('memory_hard_limit', 0, 1 << 30);
  return { image, command, args, entrypoint, labels, workDir, ports, portMap, volumes, privileged, networkMode, pidMode, ipcMode, hostname, memoryHardLimitMB };
}

/** A container name Docker accepts, unique per allocation and task (as Nomad's `<task>-<alloc id>`). */
export function containerName(cfg: Pick<TaskConfig, 'name' | 'allocId'>): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');
  return `${clean(cfg.name)}-${clean(cfg.allocId)}`;
}

function envKey(label: string): string {
  return label.replace(/[^A-Za-z0-9_]/g, '_');
}

/**
 * The container-create request for a task, or the list of problems (nothing to create).
 * The TaskConfig's `dir` is `<allocDir>/<task>`; its shared directory is `<allocDir>/alloc`.
 */
export function buildContainerSpec(cfg: TaskConfig, policy: DockerPolicy): ContainerSpec | NomadError[] {
  const c = new Checker(cfg.config);
  const o = readOptions(c);

  // What the client allows.
  const enableHint = (opt: string): string => `enable it with the client option "${opt}" = "1"`;
  if (o.privileged && !policy.allowPrivileged) {
    c.fail('privileged', `privileged containers are not allowed on this client: ${enableHint('docker.privileged.enabled')}`, 'invalid_argument');
  }
  const hostNs = (key: string, what: string): void => {
    if (!policy.allowHostNamespaces) c.fail(key, `${what} is not allowed on this client: ${enableHint('docker.host_namespaces.enabled')}`, 'invalid_argument');
  };
  if (o.networkMode === 'host') hostNs('network_mode', 'the host network namespace');
  if (o.networkMode.startsWith('container:')) hostNs('network_mode', 'joining another container\'s network namespace');
  if (o.pidMode === 'host') hostNs('pid_mode', 'the host PID namespace');
  if (o.ipcMode === 'host') hostNs('ipc_mode', 'the host IPC namespace');

  const allocDir = dirname(cfg.dir);
  const binds = [
    `${join(allocDir, 'alloc')}:/alloc`,
    `${join(cfg.dir, 'local')}:/local`,
    `${join(cfg.dir, 'secrets')}:/secrets`,
  ];
  o.volumes.forEach((v, i) => {
    const [host = '', target = '', mode] = v.split(':');
    // As in Nomad: a relative host path is taken from the task directory and may stay inside
    // the allocation directory without any client option; anything else needs docker.volumes.enabled.
    const hostPath = isAbsolute(host) ? host : resolve(cfg.dir, host);
    const rel = relative(allocDir, hostPath);
    const insideAlloc = !isAbsolute(host) && rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    if (!insideAlloc && !policy.volumesEnabled) {
      c.fail(`volumes[${i}]`, `host volume ${JSON.stringify(host)} is not allowed on this client (only paths inside the allocation directory are): ${enableHint('docker.volumes.enabled')}`, 'invalid_argument');
      return;
    }
    binds.push(`${hostPath}:${target}${mode === undefined ? '' : `:${mode}`}`);
  });

  // Ports: allocated by the scheduler, handed to the task in its environment.
  const env: Record<string, string> = { ...cfg.env, NOMAD_ALLOC_DIR: '/alloc', NOMAD_TASK_DIR: '/local', NOMAD_SECRETS_DIR: '/secrets' };
  const ports: ContainerSpec['ports'] = [];
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const hostNetwork = o.networkMode === 'host';
  o.ports.forEach((label, i) => {
    if (!PortLabel.test(label)) return; // already reported
    const key = envKey(label);
    const hostPort = Number(cfg.env[`NOMAD_HOST_PORT_${key}`]);
    if (!Number.isInteger(hostPort) || hostPort <= 0) {
      c.fail(`ports[${i}]`, `port label ${JSON.stringify(label)} is not allocated to this task: declare it in the group's network block (port "${label}" {})`);
      return;
    }
    const mapped = o.portMap[label];
    const containerPort = hostNetwork ? hostPort : mapped ?? (Number(cfg.env[`NOMAD_PORT_${key}`]) || hostPort);
    const hostIp = cfg.env[`NOMAD_IP_${key}`] ?? '';
    env[`NOMAD_PORT_${key}`] = String(containerPort);
    ports.push({ label, hostIp, hostPort, containerPort });
    if (hostNetwork) return;
    for (const proto of ['tcp', 'udp']) {
      exposed[`${containerPort}/${proto}`] = {};
      (bindings[`${containerPort}/${proto}`] ??= []).push({ HostIp: hostIp === '0.0.0.0' ? '' : hostIp, HostPort: String(hostPort) });
    }
  });
  for (const label of Object.keys(o.portMap)) {
    if (!o.ports.includes(label)) c.fail(`port_map.${label}`, `maps a port that is not in config.ports (add "${label}" to ports)`);
  }

  if (c.errors.length > 0 || o.image === undefined) return c.errors;

  // Memory: the hard limit is memory_max (or memory_hard_limit) when given, with `memory` as the
  // soft reservation; else `memory` itself. No swap beyond it. CPU: relative shares.
  const memMB = cfg.resources.memoryMB;
  const hardMB = o.memoryHardLimitMB ?? (cfg.resources.memoryMaxMB > memMB ? cfg.resources.memoryMaxMB : memMB);
  const memory = hardMB > 0 ? hardMB * MiB : 0;
  const hostConfig: Dockerode.HostConfig = {
    Binds: binds,
    PortBindings: bindings,
    Privileged: o.privileged,
    CpuShares: Math.max(MinCpuShares, cfg.resources.cpu),
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
  };
  if (memory > 0) {
    hostConfig.Memory = memory;
    hostConfig.MemorySwap = memory;
    if (memMB > 0 && hardMB > memMB) hostConfig.MemoryReservation = memMB * MiB;
  }
  if (o.networkMode !== '') hostConfig.NetworkMode = o.networkMode;
  if (o.pidMode !== '') hostConfig.PidMode = o.pidMode;
  if (o.ipcMode !== '') hostConfig.IpcMode = o.ipcMode;

  const cmd = o.command === undefined || o.command === '' ? (o.args !== undefined && o.args.length > 0 ? o.args : undefined) : [o.command, ...(o.args ?? [])];
  const create: Dockerode.ContainerCreateOptions = {
    name: containerName(cfg),
    Image: o.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...o.labels, [LabelManaged]: 'true', [LabelAllocId]: cfg.allocId, [LabelTaskName]: cfg.name, [LabelTaskId]: cfg.id },
    ExposedPorts: exposed,
    HostConfig: hostConfig,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
  };
  if (cmd !== undefined) create.Cmd = cmd;
  if (o.entrypoint !== undefined) create.Entrypoint = o.entrypoint;
  if (o.workDir !== undefined && o.workDir !== '') create.WorkingDir = o.workDir;
  if (cfg.user !== '') create.User = cfg.user;
  if (o.hostname !== undefined && o.hostname !== '') create.Hostname = o.hostname;
  return { image: o.image, name: containerName(cfg), create, ports };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
