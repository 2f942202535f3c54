/**
 * Fills in Nomad's defaults (api/jobs.go, api/tasks.go and nomad/structs Canonicalize):
 * the domain `Job` never has a missing field. Pure; the draft is not modified.
 */
import type {
  Affinity, Artifact, Constraint, EphemeralDisk, Job, JobType, LogConfig, MigrateStrategy, NetworkResource, Port,
  ReschedulePolicy, Resources, RestartPolicy, Service, ServiceCheck, Spread, Task, TaskGroup, Template, UpdateStrategy,
} from '../core/structs/index.js';
import { DefaultNamespace, DefaultRegion, JobDefaultPriority } from '../core/structs/index.js';
import type { Draft, JobDraft, TaskDraft, TaskGroupDraft } from './draft.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

export const JobDefaults = {
  count: 1,
  priority: JobDefaultPriority,
  region: DefaultRegion,
  namespace: DefaultNamespace,
  datacenters: ['*'] as readonly string[],
  nodePool: 'default',
  killTimeout: 5 * S,
  killSignal: 'SIGINT',
  dockerKillSignal: 'SIGTERM',
  resources: { cpu: 100, memoryMB: 300, memoryMaxMB: 0, cores: 0 } as Readonly<Resources>,
  ephemeralDisk: { sizeMB: 300, sticky: false, migrate: false } as Readonly<EphemeralDisk>,
  logs: { maxFiles: 10, maxFileSizeMB: 10, disabled: false } as Readonly<LogConfig>,
  update: {
    stagger: 30 * S, maxParallel: 1, healthCheck: 'checks', minHealthyTime: 10 * S, healthyDeadline: 5 * M,
    progressDeadline: 10 * M, autoRevert: false, autoPromote: false, canary: 0,
  } as Readonly<UpdateStrategy>,
  migrate: { maxParallel: 1, healthCheck: 'checks', minHealthyTime: 10 * S, healthyDeadline: 5 * M } as Readonly<MigrateStrategy>,
  checkInterval: 10 * S,
  checkTimeout: 2 * S,
  templateSplay: 5 * S,
} as const;

export function defaultRestart(type: JobType): RestartPolicy {
  // Nomad: service and system share the service policy; batch and sysbatch the batch one.
  return type === 'batch' || type === 'sysbatch'
    ? { attempts: 3, interval: 24 * H, delay: 15 * S, mode: 'fail', renderTemplates: false }
    : { attempts: 2, interval: 30 * M, delay: 15 * S, mode: 'fail', renderTemplates: false };
}

export function defaultReschedule(type: JobType): ReschedulePolicy | null {
  switch (type) {
    case 'service':
      return { attempts: 0, interval: 0, delay: 30 * S, delayFunction: 'exponential', maxDelay: H, unlimited: true };
    case 'batch':
      return { attempts: 1, interval: 24 * H, delay: 5 * S, delayFunction: 'constant', maxDelay: 0, unlimited: false };
    default:
      return null;
  }
}

function fill<T extends object>(defaults: Readonly<T>, draft: NoInfer<Draft<T>> | null | undefined): T {
  const out = { ...defaults } as Record<string, unknown>;
  if (draft !== null && draft !== undefined) {
    for (const [k, v] of Object.entries(draft)) if (v !== undefined) out[k] = v;
  }
  return out as T;
}

const copyMap = (m: Record<string, string | undefined> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).filter((e): e is [string, string] => e[1] !== undefined));

function constraint(c: Draft<Constraint>): Constraint {
  return { lTarget: c.lTarget ?? '', rTarget: c.rTarget ?? (c.operand === 'distinct_hosts' ? 'true' : ''), operand: c.operand ?? '=' };
}

function affinity(a: Draft<Affinity>): Affinity {
  return { lTarget: a.lTarget ?? '', rTarget: a.rTarget ?? '', operand: a.operand ?? '=', weight: a.weight ?? 50 };
}

function spread(s: Draft<Spread>): Spread {
  return {
    attribute: s.attribute ?? '',
    weight: s.weight ?? 50,
    targets: (s.targets ?? []).map((t) => ({ value: t.value ?? '', percent: t.percent ?? 0 })),
  };
}

function port(p: Draft<Port>): Port {
  return { label: p.label ?? '', value: p.value ?? 0, to: p.to ?? 0, hostNetwork: p.hostNetwork ?? 'default' };
}

function network(n: Draft<NetworkResource>): NetworkResource {
  return {
    mode: n.mode ?? 'host',
    mbits: n.mbits ?? 0,
    reservedPorts: (n.reservedPorts ?? []).map(port),
    dynamicPorts: (n.dynamicPorts ?? []).map(port),
  };
}

function check(c: Draft<ServiceCheck>, service: string, index: number): ServiceCheck {
  return {
    name: c.name ?? `service: ${JSON.stringify(service)} check${index > 0 ? ` ${index}` : ''}`,
    type: c.type ?? 'tcp',
    path: c.path ?? '',
    portLabel: c.portLabel ?? '',
    interval: c.interval ?? JobDefaults.checkInterval,
    timeout: c.timeout ?? JobDefaults.checkTimeout,
    command: c.command ?? '',
    args: c.args ?? [],
  };
}

function service(s: Draft<Service>, defaultName: string): Service {
  const name = s.name ?? defaultName;
  const portLabel = s.portLabel ?? '';
  return {
    name,
    portLabel,
    tags: s.tags ?? [],
    // nomadts has no Consul: the built-in provider is the default.
    provider: s.provider ?? 'nomad',
    checks: (s.checks ?? []).map((c, i) => {
      const out = check(c, name, i);
      if (out.portLabel === '') out.portLabel = portLabel;
      return out;
    }),
  };
}

function template(t: Draft<Template>): Template {
  return {
    data: t.data ?? '',
    sourcePath: t.sourcePath ?? '',
    destPath: t.destPath ?? '',
    changeMode: t.changeMode ?? 'restart',
    changeSignal: t.changeSignal ?? '',
    envvars: t.envvars ?? false,
    perms: t.perms ?? '0644',
    leftDelim: t.leftDelim ?? '{{',
    rightDelim: t.rightDelim ?? '}}',
    splay: t.splay ?? JobDefaults.templateSplay,
  };
}

function artifact(a: Draft<Artifact>): Artifact {
  return { source: a.source ?? '', destination: a.destination ?? 'local/', mode: a.mode ?? 'any', options: copyMap(a.options) };
}

function resources(r: Draft<Resources> | undefined): Resources {
  const cores = r?.cores ?? 0;
  return {
    // With `cores`, CPU is derived from the reserved cores at placement time (Nomad does the same).
    cpu: r?.cpu ?? (cores > 0 ? 0 : JobDefaults.resources.cpu),
    memoryMB: r?.memoryMB ?? JobDefaults.resources.memoryMB,
    memoryMaxMB: r?.memoryMaxMB ?? 0,
    cores,
  };
}

function task(t: TaskDraft, groupRestart: RestartPolicy, jobId: string, groupName: string): Task {
  const name = t.name ?? '';
  const driver = t.driver ?? '';
  return {
    name,
    driver,
    user: t.user ?? '',
    config: t.config ?? {},
    env: copyMap(t.env),
    meta: copyMap(t.meta),
    resources: resources(t.resources),
    constraints: (t.constraints ?? []).map(constraint),
    affinities: (t.affinities ?? []).map(affinity),
    services: (t.services ?? []).map((s) => service(s, `${jobId}-${groupName}-${name}`)),
    templates: (t.templates ?? []).map(template),
    artifacts: (t.artifacts ?? []).map(artifact),
    lifecycle: t.lifecycle === undefined || t.lifecycle === null ? null : { hook: t.lifecycle.hook ?? 'prestart', sidecar: t.lifecycle.sidecar ?? false },
    leader: t.leader ?? false,
    killTimeout: t.killTimeout ?? JobDefaults.killTimeout,
    killSignal: t.killSignal ?? (driver === 'docker' ? JobDefaults.dockerKillSignal : JobDefaults.killSignal),
    logs: fill(JobDefaults.logs, t.logs),
    // A task-level restart block overrides the group's field by field.
    restart: fill(groupRestart, t.restart),
  };
}

function group(g: TaskGroupDraft, type: JobType, jobUpdate: UpdateStrategy | null, jobId: string): TaskGroup {
  const name = g.name ?? '';
  const restart = fill(defaultRestart(type), g.restart);
  const rDefault = defaultReschedule(type);
  let reschedule: ReschedulePolicy | null = null;
  if (rDefault !== null) reschedule = fill(rDefault, g.reschedule);
  else if (g.reschedule !== undefined && g.reschedule !== null) {
    // Kept (not dropped) so that validation can refuse it for system jobs.
    reschedule = fill<ReschedulePolicy>({ attempts: 0, interval: 0, delay: 0, delayFunction: 'constant', maxDelay: 0, unlimited: false }, g.reschedule);
  }
  let update: UpdateStrategy | null = null;
  if (g.update !== undefined && g.update !== null) update = fill(jobUpdate ?? JobDefaults.update, g.update);
  else if (jobUpdate !== null) update = { ...jobUpdate };
  let migrate: MigrateStrategy | null = null;
  if (type === 'service') migrate = fill(JobDefaults.migrate, g.migrate);
  else if (g.migrate !== undefined && g.migrate !== null) migrate = fill(JobDefaults.migrate, g.migrate);
  return {
    name,
    count: g.count ?? JobDefaults.count,
    constraints: (g.constraints ?? []).map(constraint),
    affinities: (g.affinities ?? []).map(affinity),
    spreads: (g.spreads ?? []).map(spread),
    update,
    migrate,
    reschedule,
    restart,
    networks: (g.networks ?? []).map(network),
    services: (g.services ?? []).map((s) => service(s, `${jobId}-${name}`)),
    ephemeralDisk: fill(JobDefaults.ephemeralDisk, g.ephemeralDisk),
    meta: copyMap(g.meta),
    tasks: (g.tasks ?? []).map((t) => task(t, restart, jobId, name)),
  };
}

/** Draft → canonical Job. Server-maintained fields get their initial values. */
export function canonicalizeJob(d: JobDraft): Job {
  const id = d.id ?? '';
  const type: JobType = d.type ?? 'service';
  const known = type === 'service' || type === 'batch' || type === 'system' || type === 'sysbatch';
  const effType: JobType = known ? type : 'service';
  const jobUpdate = d.update === undefined || d.update === null ? null : fill(JobDefaults.update, d.update);
  return {
    id,
    name: d.name ?? id,
    namespace: d.namespace ?? JobDefaults.namespace,
    region: d.region ?? JobDefaults.region,
    type,
    priority: d.priority ?? JobDefaults.priority,
    datacenters: d.datacenters !== undefined && d.datacenters.length > 0 ? [...d.datacenters] : [...JobDefaults.datacenters],
    nodePool: d.nodePool ?? JobDefaults.nodePool,
    allAtOnce: d.allAtOnce ?? false,
    constraints: (d.constraints ?? []).map(constraint),
    affinities: (d.affinities ?? []).map(affinity),
    spreads: (d.spreads ?? []).map(spread),
    update: jobUpdate,
    periodic: d.periodic === undefined || d.periodic === null ? null : {
      enabled: d.periodic.enabled ?? true,
      crons: d.periodic.crons ?? [],
      prohibitOverlap: d.periodic.prohibitOverlap ?? false,
      timeZone: d.periodic.timeZone ?? 'UTC',
    },
    parameterized: d.parameterized === undefined || d.parameterized === null ? null : {
      payload: d.parameterized.payload ?? 'optional',
      metaRequired: d.parameterized.metaRequired ?? [],
      metaOptional: d.parameterized.metaOptional ?? [],
    },
    parentId: d.parentId ?? '',
    meta: copyMap(d.meta),
    taskGroups: (d.taskGroups ?? []).map((g) => group(g, effType, jobUpdate, id)),
    stop: d.stop ?? false,
    status: 'pending',
    version: 0,
    stable: false,
    createIndex: 0,
    modifyIndex: 0,
    jobModifyIndex: 0,
    submitTime: 0,
  };
}
