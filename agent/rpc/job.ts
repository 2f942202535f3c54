/** Job ↔ nomadts.v1.Job, with every nested block. */
import type * as d from '../core/structs/index.js';
import * as pb from '../../proto/index.js';
import { copyMap, EnumCodec, invalidField, required } from './codec.js';

export const jobTypeCodec = new EnumCodec<d.JobType, pb.JobType>('job type', {
  service: pb.JobType.JOB_TYPE_SERVICE,
  batch: pb.JobType.JOB_TYPE_BATCH,
  system: pb.JobType.JOB_TYPE_SYSTEM,
  sysbatch: pb.JobType.JOB_TYPE_SYSBATCH,
});

const jobStatusCodec = new EnumCodec<d.JobStatus, pb.JobStatus>('job status', {
  pending: pb.JobStatus.JOB_STATUS_PENDING,
  running: pb.JobStatus.JOB_STATUS_RUNNING,
  dead: pb.JobStatus.JOB_STATUS_DEAD,
});

const O = pb.ConstraintOperator;
const operatorCodec = new EnumCodec<d.ConstraintOperator, pb.ConstraintOperator>('constraint operator', {
  '=': O.CONSTRAINT_OPERATOR_EQ,
  '==': O.CONSTRAINT_OPERATOR_EQ_EQ,
  is: O.CONSTRAINT_OPERATOR_IS,
  '!=': O.CONSTRAINT_OPERATOR_NE,
  not: O.CONSTRAINT_OPERATOR_NOT,
  '>': O.CONSTRAINT_OPERATOR_GT,
  '>=': O.CONSTRAINT_OPERATOR_GE,
  '<': O.CONSTRAINT_OPERATOR_LT,
  '<=': O.CONSTRAINT_OPERATOR_LE,
  regexp: O.CONSTRAINT_OPERATOR_REGEXP,
  version: O.CONSTRAINT_OPERATOR_VERSION,
  semver: O.CONSTRAINT_OPERATOR_SEMVER,
  set_contains: O.CONSTRAINT_OPERATOR_SET_CONTAINS,
  set_contains_all: O.CONSTRAINT_OPERATOR_SET_CONTAINS_ALL,
  set_contains_any: O.CONSTRAINT_OPERATOR_SET_CONTAINS_ANY,
  is_set: O.CONSTRAINT_OPERATOR_IS_SET,
  is_not_set: O.CONSTRAINT_OPERATOR_IS_NOT_SET,
  distinct_hosts: O.CONSTRAINT_OPERATOR_DISTINCT_HOSTS,
  distinct_property: O.CONSTRAINT_OPERATOR_DISTINCT_PROPERTY,
});

const H = pb.HealthCheckMode;
const updateHealthCodec = new EnumCodec<d.UpdateStrategy['healthCheck'], pb.HealthCheckMode>('update health check', {
  checks: H.HEALTH_CHECK_MODE_CHECKS,
  task_states: H.HEALTH_CHECK_MODE_TASK_STATES,
  manual: H.HEALTH_CHECK_MODE_MANUAL,
});
const migrateHealthCodec = new EnumCodec<d.MigrateStrategy['healthCheck'], pb.HealthCheckMode>('migrate health check', {
  checks: H.HEALTH_CHECK_MODE_CHECKS,
  task_states: H.HEALTH_CHECK_MODE_TASK_STATES,
});
const delayFunctionCodec = new EnumCodec<d.ReschedulePolicy['delayFunction'], pb.DelayFunction>('delay function', {
  constant: pb.DelayFunction.DELAY_FUNCTION_CONSTANT,
  exponential: pb.DelayFunction.DELAY_FUNCTION_EXPONENTIAL,
  fibonacci: pb.DelayFunction.DELAY_FUNCTION_FIBONACCI,
});
const restartModeCodec = new EnumCodec<d.RestartPolicy['mode'], pb.RestartMode>('restart mode', {
  fail: pb.RestartMode.RESTART_MODE_FAIL,
  delay: pb.RestartMode.RESTART_MODE_DELAY,
});
const hookCodec = new EnumCodec<d.Lifecycle['hook'], pb.LifecycleHook>('lifecycle hook', {
  prestart: pb.LifecycleHook.LIFECYCLE_HOOK_PRESTART,
  poststart: pb.LifecycleHook.LIFECYCLE_HOOK_POSTSTART,
  poststop: pb.LifecycleHook.LIFECYCLE_HOOK_POSTSTOP,
});
const payloadCodec = new EnumCodec<d.ParameterizedConfig['payload'], pb.PayloadMode>('payload mode', {
  optional: pb.PayloadMode.PAYLOAD_MODE_OPTIONAL,
  required: pb.PayloadMode.PAYLOAD_MODE_REQUIRED,
  forbidden: pb.PayloadMode.PAYLOAD_MODE_FORBIDDEN,
});
const networkModeCodec = new EnumCodec<d.NetworkResource['mode'], pb.NetworkMode>('network mode', {
  host: pb.NetworkMode.NETWORK_MODE_HOST,
  bridge: pb.NetworkMode.NETWORK_MODE_BRIDGE,
  none: pb.NetworkMode.NETWORK_MODE_NONE,
});
const checkTypeCodec = new EnumCodec<d.ServiceCheck['type'], pb.ServiceCheckType>('service check type', {
  http: pb.ServiceCheckType.SERVICE_CHECK_TYPE_HTTP,
  tcp: pb.ServiceCheckType.SERVICE_CHECK_TYPE_TCP,
  script: pb.ServiceCheckType.SERVICE_CHECK_TYPE_SCRIPT,
  grpc: pb.ServiceCheckType.SERVICE_CHECK_TYPE_GRPC,
});
const providerCodec = new EnumCodec<d.Service['provider'], pb.ServiceProvider>('service provider', {
  nomad: pb.ServiceProvider.SERVICE_PROVIDER_NOMAD,
  consul: pb.ServiceProvider.SERVICE_PROVIDER_CONSUL,
});
const changeModeCodec = new EnumCodec<d.Template['changeMode'], pb.TemplateChangeMode>('template change mode', {
  noop: pb.TemplateChangeMode.TEMPLATE_CHANGE_MODE_NOOP,
  restart: pb.TemplateChangeMode.TEMPLATE_CHANGE_MODE_RESTART,
  signal: pb.TemplateChangeMode.TEMPLATE_CHANGE_MODE_SIGNAL,
  script: pb.TemplateChangeMode.TEMPLATE_CHANGE_MODE_SCRIPT,
});
const artifactModeCodec = new EnumCodec<d.Artifact['mode'], pb.ArtifactMode>('artifact mode', {
  any: pb.ArtifactMode.ARTIFACT_MODE_ANY,
  file: pb.ArtifactMode.ARTIFACT_MODE_FILE,
  dir: pb.ArtifactMode.ARTIFACT_MODE_DIR,
});

// ---- small blocks ------------------------------------------------------------------

function constraintToProto(c: d.Constraint, path: string): pb.Constraint {
  return { lTarget: c.lTarget, rTarget: c.rTarget, operand: operatorCodec.encode(c.operand, path, 'operand') };
}
function constraintFromProto(c: pb.Constraint, path: string): d.Constraint {
  return { lTarget: c.lTarget, rTarget: c.rTarget, operand: operatorCodec.decode(c.operand, path, 'operand') };
}
function constraintsToProto(cs: readonly d.Constraint[], path: string): pb.Constraint[] {
  return cs.map((c, i) => constraintToProto(c, `${path}.constraints[${i}]`));
}
function constraintsFromProto(cs: readonly pb.Constraint[], path: string): d.Constraint[] {
  return cs.map((c, i) => constraintFromProto(c, `${path}.constraints[${i}]`));
}

function affinitiesToProto(as: readonly d.Affinity[], path: string): pb.Affinity[] {
  return as.map((a, i) => ({ lTarget: a.lTarget, rTarget: a.rTarget, operand: operatorCodec.encode(a.operand, `${path}.affinities[${i}]`, 'operand'), weight: a.weight }));
}
function affinitiesFromProto(as: readonly pb.Affinity[], path: string): d.Affinity[] {
  return as.map((a, i) => ({ lTarget: a.lTarget, rTarget: a.rTarget, operand: operatorCodec.decode(a.operand, `${path}.affinities[${i}]`, 'operand'), weight: a.weight }));
}

function spreadsToProto(ss: readonly d.Spread[]): pb.Spread[] {
  return ss.map((s) => ({ attribute: s.attribute, weight: s.weight, targets: s.targets.map((t) => ({ value: t.value, percent: t.percent })) }));
}
function spreadsFromProto(ss: readonly pb.Spread[]): d.Spread[] {
  return ss.map((s) => ({ attribute: s.attribute, weight: s.weight, targets: s.targets.map((t) => ({ value: t.value, percent: t.percent })) }));
}

function updateToProto(u: d.UpdateStrategy, path: string): pb.UpdateStrategy {
  return {
    staggerMs: u.stagger,
    maxParallel: u.maxParallel,
    healthCheck: updateHealthCodec.encode(u.healthCheck, path, 'healthCheck'),
    minHealthyTimeMs: u.minHealthyTime,
    healthyDeadlineMs: u.healthyDeadline,
    progressDeadlineMs: u.progressDeadline,
    autoRevert: u.autoRevert,
    autoPromote: u.autoPromote,
    canary: u.canary,
  };
}
function updateFromProto(u: pb.UpdateStrategy, path: string): d.UpdateStrategy {
  return {
    stagger: u.staggerMs,
    maxParallel: u.maxParallel,
    healthCheck: updateHealthCodec.decode(u.healthCheck, path, 'healthCheck'),
    minHealthyTime: u.minHealthyTimeMs,
    healthyDeadline: u.healthyDeadlineMs,
    progressDeadline: u.progressDeadlineMs,
    autoRevert: u.autoRevert,
    autoPromote: u.autoPromote,
    canary: u.canary,
  };
}

function migrateToProto(m: d.MigrateStrategy, path: string): pb.MigrateStrategy {
  return { maxParallel: m.maxParallel, healthCheck: migrateHealthCodec.encode(m.healthCheck, path, 'healthCheck'), minHealthyTimeMs: m.minHealthyTime, healthyDeadlineMs: m.healthyDeadline };
}
function migrateFromProto(m: pb.MigrateStrategy, path: string): d.MigrateStrategy {
  return { maxParallel: m.maxParallel, healthCheck: migrateHealthCodec.decode(m.healthCheck, path, 'healthCheck'), minHealthyTime: m.minHealthyTimeMs, healthyDeadline: m.healthyDeadlineMs };
}

function rescheduleToProto(r: d.ReschedulePolicy, path: string): pb.ReschedulePolicy {
  return {
    attempts: r.attempts,
    intervalMs: r.interval,
    delayMs: r.delay,
    delayFunction: delayFunctionCodec.encode(r.delayFunction, path, 'delayFunction'),
    maxDelayMs: r.maxDelay,
    unlimited: r.unlimited,
  };
}
function rescheduleFromProto(r: pb.ReschedulePolicy, path: string): d.ReschedulePolicy {
  return {
    attempts: r.attempts,
    interval: r.intervalMs,
    delay: r.delayMs,
    delayFunction: delayFunctionCodec.decode(r.delayFunction, path, 'delayFunction'),
    maxDelay: r.maxDelayMs,
    unlimited: r.unlimited,
  };
}

function restartToProto(r: d.RestartPolicy, path: string): pb.RestartPolicy {
  return { attempts: r.attempts, intervalMs: r.interval, delayMs: r.delay, mode: restartModeCodec.encode(r.mode, path, 'mode'), renderTemplates: r.renderTemplates };
}
function restartFromProto(r: pb.RestartPolicy, path: string): d.RestartPolicy {
  return { attempts: r.attempts, interval: r.intervalMs, delay: r.delayMs, mode: restartModeCodec.decode(r.mode, path, 'mode'), renderTemplates: r.renderTemplates };
}

function portsToProto(ps: readonly d.Port[]): pb.Port[] {
  return ps.map((p) => ({ label: p.label, value: p.value, to: p.to, hostNetwork: p.hostNetwork }));
}
function portsFromProto(ps: readonly pb.Port[]): d.Port[] {
  return ps.map((p) => ({ label: p.label, value: p.value, to: p.to, hostNetwork: p.hostNetwork }));
}

function networksToProto(ns: readonly d.NetworkResource[], path: string): pb.NetworkResource[] {
  return ns.map((n, i) => ({
    mode: networkModeCodec.encode(n.mode, `${path}.networks[${i}]`, 'mode'),
    mbits: n.mbits,
    reservedPorts: portsToProto(n.reservedPorts),
    dynamicPorts: portsToProto(n.dynamicPorts),
  }));
}
function networksFromProto(ns: readonly pb.NetworkResource[], path: string): d.NetworkResource[] {
  return ns.map((n, i) => ({
    mode: networkModeCodec.decode(n.mode, `${path}.networks[${i}]`, 'mode'),
    mbits: n.mbits,
    reservedPorts: portsFromProto(n.reservedPorts),
    dynamicPorts: portsFromProto(n.dynamicPorts),
  }));
}

function servicesToProto(ss: readonly d.Service[], path: string): pb.Service[] {
  return ss.map((s, i) => {
    const sp = `${path}.services[${i}]`;
    return {
      name: s.name,
      portLabel: s.portLabel,
      tags: [...s.tags],
      provider: providerCodec.encode(s.provider, sp, 'provider'),
      checks: s.checks.map((c, j) => ({
        name: c.name,
        type: checkTypeCodec.encode(c.type, `${sp}.checks[${j}]`, 'type'),
        path: c.path,
        portLabel: c.portLabel,
        intervalMs: c.interval,
        timeoutMs: c.timeout,
        command: c.command,
        args: [...c.args],
      })),
    };
  });
}
function servicesFromProto(ss: readonly pb.Service[], path: string): d.Service[] {
  return ss.map((s, i) => {
    const sp = `${path}.services[${i}]`;
    return {
      name: s.name,
      portLabel: s.portLabel,
      tags: [...s.tags],
      provider: providerCodec.decode(s.provider, sp, 'provider'),
      checks: s.checks.map((c, j) => ({
        name: c.name,
        type: checkTypeCodec.decode(c.type, `${sp}.checks[${j}]`, 'type'),
        path: c.path,
        portLabel: c.portLabel,
        interval: c.intervalMs,
        timeout: c.timeoutMs,
        command: c.command,
        args: [...c.args],
      })),
    };
  });
}

function templatesToProto(ts: readonly d.Template[], path: string): pb.Template[] {
  return ts.map((t, i) => ({
    data: t.data,
    sourcePath: t.sourcePath,
    destPath: t.destPath,
    changeMode: changeModeCodec.encode(t.changeMode, `${path}.templates[${i}]`, 'changeMode'),
    changeSignal: t.changeSignal,
    envvars: t.envvars,
    perms: t.perms,
    leftDelim: t.leftDelim,
    rightDelim: t.rightDelim,
    splayMs: t.splay,
  }));
}
function templatesFromProto(ts: readonly pb.Template[], path: string): d.Template[] {
  return ts.map((t, i) => ({
    data: t.data,
    sourcePath: t.sourcePath,
    destPath: t.destPath,
    changeMode: changeModeCodec.decode(t.changeMode, `${path}.templates[${i}]`, 'changeMode'),
    changeSignal: t.changeSignal,
    envvars: t.envvars,
    perms: t.perms,
    leftDelim: t.leftDelim,
    rightDelim: t.rightDelim,
    splay: t.splayMs,
  }));
}

function artifactsToProto(as: readonly d.Artifact[], path: string): pb.Artifact[] {
  return as.map((a, i) => ({ source: a.source, destination: a.destination, mode: artifactModeCodec.encode(a.mode, `${path}.artifacts[${i}]`, 'mode'), options: copyMap(a.options) }));
}
function artifactsFromProto(as: readonly pb.Artifact[], path: string): d.Artifact[] {
  return as.map((a, i) => ({ source: a.source, destination: a.destination, mode: artifactModeCodec.decode(a.mode, `${path}.artifacts[${i}]`, 'mode'), options: copyMap(a.options) }));
}

/** Driver config travels as JSON text (see job.proto, Task.config_json). */
function configToJSON(config: Record<string, unknown>, path: string): string {
  try {
    return JSON.stringify(config);
  } catch (e) {
    throw invalidField(path, 'config', `driver config is not JSON-serialisable: ${(e as Error).message}`);
  }
}
function configFromJSON(text: string, path: string): Record<string, unknown> {
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalidField(path, 'config', `driver config is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidField(path, 'config', 'driver config must be a JSON object');
  return v as Record<string, unknown>;
}

// ---- task, group, job --------------------------------------------------------------

function taskToProto(t: d.Task, path: string): pb.Task {
  return {
    name: t.name,
    driver: t.driver,
    user: t.user,
    configJson: configToJSON(t.config, path),
    env: copyMap(t.env),
    meta: copyMap(t.meta),
    resources: { cpu: t.resources.cpu, memoryMb: t.resources.memoryMB, memoryMaxMb: t.resources.memoryMaxMB, cores: t.resources.cores },
    constraints: constraintsToProto(t.constraints, path),
    affinities: affinitiesToProto(t.affinities, path),
    services: servicesToProto(t.services, path),
    templates: templatesToProto(t.templates, path),
    artifacts: artifactsToProto(t.artifacts, path),
    lifecycle: t.lifecycle === null ? undefined : { hook: hookCodec.encode(t.lifecycle.hook, `${path}.lifecycle`, 'hook'), sidecar: t.lifecycle.sidecar },
    leader: t.leader,
    killTimeoutMs: t.killTimeout,
    killSignal: t.killSignal,
    logs: { maxFiles: t.logs.maxFiles, maxFileSizeMb: t.logs.maxFileSizeMB, disabled: t.logs.disabled },
    restart: restartToProto(t.restart, `${path}.restart`),
  };
}

function taskFromProto(t: pb.Task, path: string): d.Task {
  const res = required(t.resources, path, 'resources');
  const logs = required(t.logs, path, 'logs');
  return {
    name: t.name,
    driver: t.driver,
    user: t.user,
    config: configFromJSON(t.configJson, path),
    env: copyMap(t.env),
    meta: copyMap(t.meta),
    resources: { cpu: res.cpu, memoryMB: res.memoryMb, memoryMaxMB: res.memoryMaxMb, cores: res.cores },
    constraints: constraintsFromProto(t.constraints, path),
    affinities: affinitiesFromProto(t.affinities, path),
    services: servicesFromProto(t.services, path),
    templates: templatesFromProto(t.templates, path),
    artifacts: artifactsFromProto(t.artifacts, path),
    lifecycle: t.lifecycle === undefined ? null : { hook: hookCodec.decode(t.lifecycle.hook, `${path}.lifecycle`, 'hook'), sidecar: t.lifecycle.sidecar },
    leader: t.leader,
    killTimeout: t.killTimeoutMs,
    killSignal: t.killSignal,
    logs: { maxFiles: logs.maxFiles, maxFileSizeMB: logs.maxFileSizeMb, disabled: logs.disabled },
    restart: restartFromProto(required(t.restart, path, 'restart'), `${path}.restart`),
  };
}

function groupToProto(g: d.TaskGroup, path: string): pb.TaskGroup {
  return {
    name: g.name,
    count: g.count,
    constraints: constraintsToProto(g.constraints, path),
    affinities: affinitiesToProto(g.affinities, path),
    spreads: spreadsToProto(g.spreads),
    update: g.update === null ? undefined : updateToProto(g.update, `${path}.update`),
    migrate: g.migrate === null ? undefined : migrateToProto(g.migrate, `${path}.migrate`),
    reschedule: g.reschedule === null ? undefined : rescheduleToProto(g.reschedule, `${path}.reschedule`),
    restart: restartToProto(g.restart, `${path}.restart`),
    networks: networksToProto(g.networks, path),
    services: servicesToProto(g.services, path),
    ephemeralDisk: { sizeMb: g.ephemeralDisk.sizeMB, sticky: g.ephemeralDisk.sticky, migrate: g.ephemeralDisk.migrate },
    meta: copyMap(g.meta),
    tasks: g.tasks.map((t, i) => taskToProto(t, `${path}.tasks[${i}]`)),
  };
}

function groupFromProto(g: pb.TaskGroup, path: string): d.TaskGroup {
  const disk = required(g.ephemeralDisk, path, 'ephemeralDisk');
  return {
    name: g.name,
    count: g.count,
    constraints: constraintsFromProto(g.constraints, path),
    affinities: affinitiesFromProto(g.affinities, path),
    spreads: spreadsFromProto(g.spreads),
    update: g.update === undefined ? null : updateFromProto(g.update, `${path}.update`),
    migrate: g.migrate === undefined ? null : migrateFromProto(g.migrate, `${path}.migrate`),
    reschedule: g.reschedule === undefined ? null : rescheduleFromProto(g.reschedule, `${path}.reschedule`),
    restart: restartFromProto(required(g.restart, path, 'restart'), `${path}.restart`),
    networks: networksFromProto(g.networks, path),
    services: servicesFromProto(g.services, path),
    ephemeralDisk: { sizeMB: disk.sizeMb, sticky: disk.sticky, migrate: disk.migrate },
    meta: copyMap(g.meta),
    tasks: g.tasks.map((t, i) => taskFromProto(t, `${path}.tasks[${i}]`)),
  };
}

/** `path` names the job in error messages (e.g. `alloc.job`); default `job`. */
export function jobToProto(j: d.Job, path = 'job'): pb.Job {
  return {
    id: j.id,
    name: j.name,
    namespace: j.namespace,
    region: j.region,
    type: jobTypeCodec.encode(j.type, path, 'type'),
    priority: j.priority,
    datacenters: [...j.datacenters],
    nodePool: j.nodePool,
    allAtOnce: j.allAtOnce,
    constraints: constraintsToProto(j.constraints, path),
    affinities: affinitiesToProto(j.affinities, path),
    spreads: spreadsToProto(j.spreads),
    update: j.update === null ? undefined : updateToProto(j.update, `${path}.update`),
    periodic: j.periodic === null ? undefined : { enabled: j.periodic.enabled, crons: [...j.periodic.crons], prohibitOverlap: j.periodic.prohibitOverlap, timeZone: j.periodic.timeZone },
    parameterized:
      j.parameterized === null
        ? undefined
        : {
            payload: payloadCodec.encode(j.parameterized.payload, `${path}.parameterized`, 'payload'),
            metaRequired: [...j.parameterized.metaRequired],
            metaOptional: [...j.parameterized.metaOptional],
          },
    parentId: j.parentId,
    meta: copyMap(j.meta),
    taskGroups: j.taskGroups.map((g, i) => groupToProto(g, `${path}.taskGroups[${i}]`)),
    stop: j.stop,
    status: jobStatusCodec.encode(j.status, path, 'status'),
    version: j.version,
    stable: j.stable,
    createIndex: j.createIndex,
    modifyIndex: j.modifyIndex,
    jobModifyIndex: j.jobModifyIndex,
    submitTimeMs: j.submitTime,
  };
}

export function jobFromProto(j: pb.Job, path = 'job'): d.Job {
  if (j.id === '') throw invalidField(path, 'id', 'required field is missing');
  return {
    id: j.id,
    name: j.name,
    namespace: j.namespace,
    region: j.region,
    type: jobTypeCodec.decode(j.type, path, 'type'),
    priority: j.priority,
    datacenters: [...j.datacenters],
    nodePool: j.nodePool,
    allAtOnce: j.allAtOnce,
    constraints: constraintsFromProto(j.constraints, path),
    affinities: affinitiesFromProto(j.affinities, path),
    spreads: spreadsFromProto(j.spreads),
    update: j.update === undefined ? null : updateFromProto(j.update, `${path}.update`),
    periodic: j.periodic === undefined ? null : { enabled: j.periodic.enabled, crons: [...j.periodic.crons], prohibitOverlap: j.periodic.prohibitOverlap, timeZone: j.periodic.timeZone },
    parameterized:
      j.parameterized === undefined
        ? null
        : {
            payload: payloadCodec.decode(j.parameterized.payload, `${path}.parameterized`, 'payload'),
            metaRequired: [...j.parameterized.metaRequired],
            metaOptional: [...j.parameterized.metaOptional],
          },
    parentId: j.parentId,
    meta: copyMap(j.meta),
    taskGroups: j.taskGroups.map((g, i) => groupFromProto(g, `${path}.taskGroups[${i}]`)),
    stop: j.stop,
    status: jobStatusCodec.decode(j.status, path, 'status'),
    version: j.version,
    stable: j.stable,
    createIndex: j.createIndex,
    modifyIndex: j.modifyIndex,
    jobModifyIndex: j.jobModifyIndex,
    submitTime: j.submitTimeMs,
  };
}
