/**
 * The job specification as the domain sees it: plain, fully canonicalised
 * TypeScript values (every default filled in by agent/jobspec's canonicalise step).
 * Durations are milliseconds. Memory is MiB, CPU is MHz, disk is MiB.
 */

export const JobTypes = ['service', 'batch', 'system', 'sysbatch'] as const;
export type JobType = (typeof JobTypes)[number];

export const ConstraintOperators = [
  '=', '==', 'is', '!=', 'not', '>', '>=', '<', '<=', 'regexp', 'version', 'semver',
  'set_contains', 'set_contains_all', 'set_contains_any', 'is_set', 'is_not_set',
  'distinct_hosts', 'distinct_property',
] as const;
export type ConstraintOperator = (typeof ConstraintOperators)[number];

export interface Constraint {
  /** e.g. `${attr.kernel.name}`, `${meta.rack}`, `${node.datacenter}`; empty for distinct_hosts. */
  lTarget: string;
  rTarget: string;
  operand: ConstraintOperator;
}

export interface Affinity {
  lTarget: string;
  rTarget: string;
  operand: ConstraintOperator;
  /** -100..100, never 0. */
  weight: number;
}

export interface SpreadTarget {
  value: string;
  percent: number;
}

export interface Spread {
  attribute: string;
  /** 0..100 */
  weight: number;
  targets: SpreadTarget[];
}

export interface UpdateStrategy {
  stagger: number;
  maxParallel: number;
  healthCheck: 'checks' | 'task_states' | 'manual';
  minHealthyTime: number;
  healthyDeadline: number;
  progressDeadline: number;
  autoRevert: boolean;
  autoPromote: boolean;
  canary: number;
}

export interface MigrateStrategy {
  maxParallel: number;
  healthCheck: 'checks' | 'task_states';
  minHealthyTime: number;
  healthyDeadline: number;
}

export interface ReschedulePolicy {
  /** Attempts allowed within `interval`; ignored when `unlimited`. */
  attempts: number;
  interval: number;
  delay: number;
  delayFunction: 'constant' | 'exponential' | 'fibonacci';
  maxDelay: number;
  unlimited: boolean;
}

export interface RestartPolicy {
  attempts: number;
  interval: number;
  delay: number;
  mode: 'fail' | 'delay';
  renderTemplates: boolean;
}

export interface Lifecycle {
  hook: 'prestart' | 'poststart' | 'poststop';
  sidecar: boolean;
}

export interface PeriodicConfig {
  enabled: boolean;
  /** One or more cron expressions. */
  crons: string[];
  prohibitOverlap: boolean;
  timeZone: string;
}

export interface ParameterizedConfig {
  payload: 'optional' | 'required' | 'forbidden';
  metaRequired: string[];
  metaOptional: string[];
}

export interface Port {
  label: string;
  /** Static host port, or 0 for a dynamic one. */
  value: number;
  /** Port inside the task's namespace/container; 0 means same as the host port. */
  to: number;
  hostNetwork: string;
}

export interface NetworkResource {
  mode: 'host' | 'bridge' | 'none';
  mbits: number;
  reservedPorts: Port[];
  dynamicPorts: Port[];
}

export interface ServiceCheck {
  name: string;
  type: 'http' | 'tcp' | 'script' | 'grpc';
  path: string;
  portLabel: string;
  interval: number;
  timeout: number;
  command: string;
  args: string[];
}

export interface Service {
  name: string;
  portLabel: string;
  tags: string[];
  provider: 'nomad' | 'consul';
  checks: ServiceCheck[];
}

export interface Resources {
  cpu: number;
  memoryMB: number;
  memoryMaxMB: number;
  cores: number;
}

export interface Template {
  data: string;
  sourcePath: string;
  destPath: string;
  changeMode: 'noop' | 'restart' | 'signal' | 'script';
  changeSignal: string;
  envvars: boolean;
  perms: string;
  leftDelim: string;
  rightDelim: string;
  splay: number;
}

export interface Artifact {
  source: string;
  destination: string;
  mode: 'any' | 'file' | 'dir';
  options: Record<string, string>;
}

export interface LogConfig {
  maxFiles: number;
  maxFileSizeMB: number;
  disabled: boolean;
}

export interface EphemeralDisk {
  sizeMB: number;
  sticky: boolean;
  migrate: boolean;
}

export interface Task {
  name: string;
  driver: string;
  user: string;
  /** Driver configuration, passed through untouched (`${NOMAD_*}` stays for runtime). */
  config: Record<string, unknown>;
  env: Record<string, string>;
  meta: Record<string, string>;
  resources: Resources;
  constraints: Constraint[];
  affinities: Affinity[];
  services: Service[];
  templates: Template[];
  artifacts: Artifact[];
  lifecycle: Lifecycle | null;
  leader: boolean;
  killTimeout: number;
  killSignal: string;
  logs: LogConfig;
  restart: RestartPolicy;
}

export interface TaskGroup {
  name: string;
  count: number;
  constraints: Constraint[];
  affinities: Affinity[];
  spreads: Spread[];
  update: UpdateStrategy | null;
  migrate: MigrateStrategy | null;
  reschedule: ReschedulePolicy | null;
  restart: RestartPolicy;
  networks: NetworkResource[];
  services: Service[];
  ephemeralDisk: EphemeralDisk;
  meta: Record<string, string>;
  tasks: Task[];
}

export type JobStatus = 'pending' | 'running' | 'dead';

export interface Job {
  id: string;
  name: string;
  namespace: string;
  region: string;
  type: JobType;
  priority: number;
  datacenters: string[];
  nodePool: string;
  allAtOnce: boolean;
  constraints: Constraint[];
  affinities: Affinity[];
  spreads: Spread[];
  update: UpdateStrategy | null;
  periodic: PeriodicConfig | null;
  parameterized: ParameterizedConfig | null;
  /** Set on children launched by a periodic or parameterized job. */
  parentId: string;
  meta: Record<string, string>;
  taskGroups: TaskGroup[];
  /** True once a user asked to stop it (deregister without purge). */
  stop: boolean;

  // Server-maintained.
  status: JobStatus;
  version: number;
  stable: boolean;
  createIndex: number;
  modifyIndex: number;
  /** Index of the last change to the job's specification (not its status). */
  jobModifyIndex: number;
  submitTime: number;
}

export const DefaultNamespace = 'default';
export const DefaultRegion = 'global';
export const JobMinPriority = 1;
export const JobMaxPriority = 100;
export const JobDefaultPriority = 50;

/** Nomad's shape for keying a job: namespace + id. */
export function jobKey(namespace: string, id: string): string {
  return `${namespace}/${id}`;
}

export function isSystemType(type: JobType): boolean {
  return type === 'system' || type === 'sysbatch';
}

export function lookupTaskGroup(job: Job, name: string): TaskGroup | undefined {
  return job.taskGroups.find((g) => g.name === name);
}

/** The sum of a group's task resources (what one allocation of the group asks for). */
export function groupResources(group: TaskGroup): Resources {
  let cpu = 0;
  let memoryMB = 0;
  let memoryMaxMB = 0;
  let cores = 0;
  for (const t of group.tasks) {
    // Prestart non-sidecar tasks run before main tasks; Nomad still reserves their
    // resources for the whole allocation, and so do we (simple and never over-commits).
    cpu += t.resources.cpu;
    memoryMB += t.resources.memoryMB;
    memoryMaxMB += Math.max(t.resources.memoryMaxMB, t.resources.memoryMB);
    cores += t.resources.cores;
  }
  return { cpu, memoryMB, memoryMaxMB, cores };
}
