/**
 * A task's environment, as Nomad's client/taskenv env builder makes it: the
 * `NOMAD_*` variables describing the allocation, task, node, resources, ports and
 * meta, then the task's own `env` block interpolated against them.
 *
 * Interpolation (`interpolate`) is shared by the env block, template paths and
 * driver config. It replaces `${NAME}` (any variable of the task environment,
 * e.g. `${NOMAD_ALLOC_ID}`), `${env["NAME"]}` (the same, HCL2 style),
 * `${attr.<key>}`, `${meta.<key>}` (node meta) and `${node.unique.id}`,
 * `${node.unique.name}`, `${node.datacenter}`, `${node.class}`, `${node.region}`,
 * `${node.pool}`. A reference that names nothing known is left exactly as written
 * (Nomad's ReplaceEnv does the same), so a typo shows up verbatim in the task
 * rather than as an empty string, and shell-style `${VAR}` meant for the task's
 * own shell survives.
 *
 * Keys built from labels and meta keys are cleaned as Nomad cleans them: every
 * character outside [A-Za-z0-9_] becomes `_` (so meta key `rack-id` gives
 * `NOMAD_META_rack_id` and `NOMAD_META_RACK_ID`).
 */
import type { Allocation, Node } from '../../core/structs/index.js';
import { allocIndex } from '../../core/structs/index.js';
import { NomadError } from '../../core/lib/index.js';

/** Directories as the task sees them (host paths for raw_exec, `/alloc`, `/local`, `/secrets` in a chroot). */
export interface TaskEnvPaths {
  allocDir: string;
  taskDir: string;
  secretsDir: string;
}

/** What `${...}` can refer to. */
export interface InterpolationVars {
  /** The task environment (NOMAD_* and the env block). */
  env: Readonly<Record<string, string>>;
  /** Node values by their interpolation name: `attr.kernel.name`, `meta.rack`, `node.unique.id`, ... */
  node: Readonly<Record<string, string>>;
}

export interface TaskEnvInput {
  alloc: Allocation;
  task: string;
  /** The node the allocation runs on; without it NOMAD_DC and node references are absent. */
  node?: Node;
  paths: TaskEnvPaths;
  /** Variables from templates with `env = true`; they override the env block, as in Nomad. */
  templateEnv?: Readonly<Record<string, string>>;
}

export interface TaskEnv {
  /** The complete environment handed to the driver. */
  env: Record<string, string>;
  /** The same environment plus node values, for interpolating driver config and template paths. */
  vars: InterpolationVars;
}

/** Node values by interpolation name (Nomad's nodeValues). */
export function nodeVars(node: Node | undefined, region: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (node === undefined) return out;
  out['node.unique.id'] = node.id;
  out['node.unique.name'] = node.name;
  out['node.datacenter'] = node.datacenter;
  out['node.class'] = node.nodeClass;
  out['node.region'] = region;
  out['node.pool'] = node.nodePool;
  for (const [k, v] of Object.entries(node.attributes)) out[`attr.${k}`] = v;
  for (const [k, v] of Object.entries(node.meta)) out[`meta.${k}`] = v;
  return out;
}

/** Replace every character Nomad does not allow in an env var name with `_`. */
export function cleanEnvKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_]/g, '_');
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Build the task's environment. Throws if the task is not in the allocation's group. */
export function buildTaskEnv(input: TaskEnvInput): TaskEnv {
  const { alloc, task: taskName, node, paths } = input;
  const job = alloc.job;
  const group = job.taskGroups.find((g) => g.name === alloc.taskGroup);
  const task = group?.tasks.find((t) => t.name === taskName);
  if (group === undefined || task === undefined) {
    throw new NomadError('not_found', `allocation ${alloc.id}: group "${alloc.taskGroup}" has no task "${taskName}"`, { field: 'task' });
  }
  const env: Record<string, string> = {};
  env.NOMAD_ALLOC_DIR = paths.allocDir;
  env.NOMAD_TASK_DIR = paths.taskDir;
  env.NOMAD_SECRETS_DIR = paths.secretsDir;
  env.NOMAD_ALLOC_ID = alloc.id;
  env.NOMAD_SHORT_ALLOC_ID = alloc.id.slice(0, 8);
  env.NOMAD_ALLOC_NAME = alloc.name;
  env.NOMAD_ALLOC_INDEX = String(allocIndex(alloc.name));
  env.NOMAD_JOB_ID = job.id;
  env.NOMAD_JOB_NAME = job.name;
  if (job.parentId !== '') env.NOMAD_JOB_PARENT_ID = job.parentId;
  env.NOMAD_GROUP_NAME = group.name;
  env.NOMAD_TASK_NAME = task.name;
  env.NOMAD_NAMESPACE = alloc.namespace;
  env.NOMAD_REGION = job.region;
  if (node !== undefined) env.NOMAD_DC = node.datacenter;

  const res = alloc.taskResources[task.name];
  const cpu = res?.cpu ?? task.resources.cpu;
  const mem = res?.memoryMB ?? task.resources.memoryMB;
  const memMax = res?.memoryMaxMB ?? task.resources.memoryMaxMB;
  env.NOMAD_CPU_LIMIT = String(cpu);
  env.NOMAD_MEMORY_LIMIT = String(mem);
  // Nomad sets the max only when memory oversubscription gives the task one.
  if (memMax > 0) env.NOMAD_MEMORY_MAX_LIMIT = String(memMax);

  for (const p of alloc.resources.ports) {
    const label = cleanEnvKey(p.label);
    env[`NOMAD_IP_${label}`] = p.hostIp;
    // The port the task listens on: the mapped `to` port when there is one, else the host port.
    env[`NOMAD_PORT_${label}`] = String(p.to > 0 ? p.to : p.value);
    env[`NOMAD_HOST_PORT_${label}`] = String(p.value);
    env[`NOMAD_ADDR_${label}`] = joinHostPort(p.hostIp, p.value);
    env[`NOMAD_HOST_ADDR_${label}`] = joinHostPort(p.hostIp, p.value);
  }

  // Meta: job, then group, then task (the more specific wins), as given and upper-cased.
  for (const meta of [job.meta, group.meta, task.meta]) {
    for (const [k, v] of Object.entries(meta)) {
      const key = cleanEnvKey(k);
      env[`NOMAD_META_${key}`] = v;
      env[`NOMAD_META_${key.toUpperCase()}`] = v;
    }
  }

  // The env block sees the NOMAD_* variables and node values, not its own other
  // entries (Nomad's order there depends on map iteration; ours is deterministic).
  const nv = nodeVars(node, job.region);
  const base: InterpolationVars = { env: { ...env }, node: nv };
  for (const [k, v] of Object.entries(task.env)) env[k] = interpolate(v, base);
  if (input.templateEnv !== undefined) Object.assign(env, input.templateEnv);
  return { env, vars: { env, node: nv } };
}

const REF = /\$\{([^{}]*)\}/g;
const ENV_INDEX = /^env\[\s*"([^"]*)"\s*\]$/;

/**
 * Replace `${...}` references in `text` (see the module comment for what they may
 * name). Unknown references are kept as written.
 */
export function interpolate(text: string, vars: InterpolationVars): string {
  if (!text.includes('${')) return text;
  return text.replace(REF, (whole, inner: string) => {
    const ref = inner.trim();
    const m = ENV_INDEX.exec(ref);
    if (m !== null) return own(vars.env, m[1]!) ?? whole;
    if (ref.startsWith('attr.') || ref.startsWith('meta.') || ref.startsWith('node.')) return own(vars.node, ref) ?? whole;
    if (ref.startsWith('env.')) return own(vars.env, ref.slice(4)) ?? whole;
    return own(vars.env, ref) ?? whole;
  });
}

function own(rec: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(rec, key) ? rec[key] : undefined;
}

/** Interpolate every string inside a driver config (objects and arrays walked, other values kept). */
export function interpolateConfig(value: unknown, vars: InterpolationVars): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateConfig(v, vars));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateConfig(v, vars);
    return out;
  }
  return value;
}
