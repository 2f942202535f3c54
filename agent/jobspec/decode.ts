/**
 * hcl2json's shape → JobDraft. Every attribute and block is read through a `Body`
 * that knows its field path, interpolates variables, checks the value's type and, at
 * the end, refuses anything it did not read (so a typo never passes silently).
 */
import type { Constraint, ConstraintOperator } from '../core/structs/index.js';
import type { FieldPath, Issues } from './path.js';
import { attr, block } from './path.js';
import type { SourceMap } from './source-map.js';
import type { Interpolator } from './variables.js';
import { parseDuration } from './duration.js';
import type { Draft, JobDraft, TaskDraft, TaskGroupDraft } from './draft.js';

type Obj = Record<string, unknown>;

interface Ctx {
  issues: Issues;
  interp: Interpolator | undefined;
  map: SourceMap | undefined;
}

/** Attributes Nomad has that nomadts does not implement: named as such rather than as typos. */
const UNSUPPORTED = new Set([
  'vault', 'consul', 'multiregion', 'volume', 'volume_mount', 'csi_plugin', 'scaling', 'device', 'dispatch_payload',
  'max_client_disconnect', 'stop_after_client_disconnect', 'disconnect', 'shutdown_delay', 'identity', 'ui',
  'consul_namespace', 'vault_namespace', 'connect', 'prevent_reschedule_on_lost', 'sidecar_service', 'numa',
]);

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export class Body {
  private readonly used = new Set<string>();
  constructor(private readonly obj: Obj, readonly path: FieldPath, private readonly ctx: Ctx) {}

  get issues(): Issues { return this.ctx.issues; }
  has(name: string): boolean { return this.obj[name] !== undefined; }
  at(name: string): FieldPath { return [...this.path, attr(name)]; }
  error(name: string, message: string): void { this.ctx.issues.add(this.at(name), message); }

  raw(name: string): unknown {
    this.used.add(name);
    const v = this.obj[name];
    if (v === undefined) return undefined;
    return this.ctx.interp === undefined ? v : this.ctx.interp.value(v, this.at(name));
  }

  str(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.error(name, `must be a string, got ${describe(v)}`);
    return undefined;
  }

  num(name: string, integer = true): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      this.error(name, `must be ${integer ? 'a whole number' : 'a number'}, got ${describe(v)}`);
      return undefined;
    }
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.error(name, `must be true or false, got ${describe(v)}`);
    return undefined;
  }

  dur(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) {
      this.error(name, `must be a duration such as "30s", "1h30m" or "100ms", got ${describe(v)}`);
      return undefined;
    }
    return ms;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      this.error(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v as T;
  }

  strList(name: string): string[] | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((e) => typeof e !== 'string' && typeof e !== 'number' && typeof e !== 'boolean')) {
      this.error(name, `must be a list of strings, got ${describe(v)}`);
      return undefined;
    }
    return v.map((e) => String(e));
  }

  /** `meta { k = "v" }` (a block) or `meta = { k = "v" }` (an attribute). */
  strMap(name: string): Record<string, string> | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const parts = Array.isArray(v) ? v : [v];
    const out: Record<string, string> = {};
    for (const p of parts) {
      if (!isObj(p)) { this.error(name, `must be a map of strings, got ${describe(v)}`); return undefined; }
      for (const [k, e] of Object.entries(p)) {
        if (typeof e === 'string' || typeof e === 'number' || typeof e === 'boolean') out[k] = String(e);
        else { this.error(name, `value for key ${JSON.stringify(k)} must be a string, got ${describe(e)}`); return undefined; }
      }
    }
    return out;
  }

  /** A free-form map passed through (driver `config`): nested blocks stay as arrays of objects. */
  freeMap(name: string): Record<string, unknown> | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    const parts = Array.isArray(v) ? v : [v];
    if (parts.length > 1) { this.error(name, 'may appear only once'); return undefined; }
    if (!isObj(parts[0])) { this.error(name, `must be a block, got ${describe(v)}`); return undefined; }
    return parts[0];
  }

  /** Unlabelled repeated blocks (`constraint { }`), in source order. */
  blocks(name: string): Body[] {
    this.used.add(name);
    const v = this.obj[name];
    if (v === undefined || v === null) return [];
    const parts = Array.isArray(v) ? v : [v];
    const out: Body[] = [];
    parts.forEach((p, index) => {
      const path = [...this.path, block(name, undefined, index)];
      if (!isObj(p)) this.ctx.issues.add(path, `must be a block, got ${describe(p)}`);
      else out.push(new Body(p, path, this.ctx));
    });
    return out;
  }

  /** A block that may appear at most once. */
  single(name: string): Body | undefined {
    const list = this.blocks(name);
    if (list.length > 1) this.ctx.issues.add([...this.path, block(name, undefined, 1)], 'may appear only once');
    const first = list[0];
    return first === undefined ? undefined : new Body(first.obj, [...this.path, block(name)], this.ctx);
  }

  /** Labelled blocks (`group "web" { }`), in source order when the source is known. */
  labelled(name: string): { label: string; body: Body }[] {
    this.used.add(name);
    const v = this.obj[name];
    if (v === undefined || v === null) return [];
    if (!isObj(v)) { this.error(name, `must be a labelled block such as ${name} "label" { ... }`); return []; }
    const order = this.ctx.map?.labelOrder(this.path, name) ?? [];
    const rank = (l: string): number => { const i = order.indexOf(l); return i < 0 ? order.length : i; };
    const labels = Object.keys(v).sort((a, b) => rank(a) - rank(b));
    const out: { label: string; body: Body }[] = [];
    for (const label of labels) {
      const e = v[label];
      const parts = Array.isArray(e) ? e : [e];
      for (const p of parts) {
        const path = [...this.path, block(name, label)];
        if (!isObj(p)) this.ctx.issues.add(path, `must be a block, got ${describe(p)}`);
        else out.push({ label, body: new Body(p, path, this.ctx) });
      }
    }
    return out;
  }

  /** Reports every key that no reader asked for. */
  finish(): void {
    for (const key of Object.keys(this.obj)) {
      if (this.used.has(key)) continue;
      const where = this.path.length === 0 ? 'at the top level' : 'here';
      this.error(key, UNSUPPORTED.has(key) ? `is a Nomad feature that nomadts does not support ${where}` : `is not a known attribute or block ${where}`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a block/map';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}

/** Decodes hcl2json output (minus `variable` blocks) into a draft. */
export function decodeRoot(root: Obj, ctx: Ctx): JobDraft | undefined {
  const top = new Body(root, [], ctx);
  top.labelled('variable'); // handled by the variables step
  const jobs = top.labelled('job');
  top.finish();
  if (jobs.length === 0) {
    ctx.issues.add([], 'no job block: a job file needs exactly one job "name" { ... }');
    return undefined;
  }
  if (jobs.length > 1) ctx.issues.add([block('job', jobs[1]!.label)], 'is a second job block; a job file holds exactly one job');
  const j = jobs[0]!;
  return decodeJob(j.label, j.body);
}

function decodeJob(label: string, b: Body): JobDraft {
  const job: JobDraft = {
    id: b.str('id') ?? label,
    name: b.str('name'),
    type: b.str('type') as JobDraft['type'],
    priority: b.num('priority'),
    region: b.str('region'),
    namespace: b.str('namespace'),
    datacenters: b.strList('datacenters'),
    nodePool: b.str('node_pool'),
    allAtOnce: b.bool('all_at_once'),
    meta: b.strMap('meta'),
    constraints: b.blocks('constraint').map(decodeConstraint),
    affinities: b.blocks('affinity').map(decodeAffinity),
    spreads: b.blocks('spread').map(decodeSpread),
  };
  const upd = b.single('update');
  if (upd !== undefined) job.update = decodeUpdate(upd);
  const per = b.single('periodic');
  if (per !== undefined) job.periodic = decodePeriodic(per);
  const par = b.single('parameterized');
  if (par !== undefined) {
    job.parameterized = {
      payload: par.oneOf('payload', ['optional', 'required', 'forbidden'] as const),
      metaRequired: par.strList('meta_required'),
      metaOptional: par.strList('meta_optional'),
    };
    par.finish();
  }
  // Job-level migrate/reschedule are defaults for every group (Nomad merges them the same way).
  const jobMigrate = b.single('migrate');
  const jobResched = b.single('reschedule');
  const migrateDefaults = jobMigrate === undefined ? undefined : decodeMigrate(jobMigrate);
  const reschedDefaults = jobResched === undefined ? undefined : decodeReschedule(jobResched);
  job.taskGroups = b.labelled('group').map(({ label: name, body }) => decodeGroup(name, body, migrateDefaults, reschedDefaults));
  b.finish();
  return job;
}

const OPS: readonly ConstraintOperator[] = [
  '=', '==', 'is', '!=', 'not', '>', '>=', '<', '<=', 'regexp', 'version', 'semver',
  'set_contains', 'set_contains_all', 'set_contains_any', 'is_set', 'is_not_set', 'distinct_hosts', 'distinct_property',
];

function decodeConstraint(b: Body): Draft<Constraint> {
  const c: Draft<Constraint> = { lTarget: b.str('attribute'), rTarget: b.str('value') };
  const op = b.str('operator');
  if (op !== undefined) {
    if ((OPS as readonly string[]).includes(op)) c.operand = op as ConstraintOperator;
    else b.error('operator', `is ${JSON.stringify(op)}, not a known constraint operator (one of ${OPS.join(', ')})`);
  }
  const dh = b.bool('distinct_hosts');
  if (dh !== undefined) {
    if (op !== undefined && op !== 'distinct_hosts') b.error('distinct_hosts', `cannot be combined with operator ${JSON.stringify(op)}`);
    c.operand = 'distinct_hosts';
    c.rTarget = String(dh);
  }
  const dp = b.str('distinct_property');
  if (dp !== undefined) {
    if (op !== undefined && op !== 'distinct_property') b.error('distinct_property', `cannot be combined with operator ${JSON.stringify(op)}`);
    c.operand = 'distinct_property';
    c.lTarget = dp;
  }
  b.finish();
  return c;
}

function decodeAffinity(b: Body): Draft<JobDraft['affinities']> extends (infer U)[] | undefined ? U : never {
  const a = { lTarget: b.str('attribute'), rTarget: b.str('value'), operand: b.str('operator') as ConstraintOperator | undefined, weight: b.num('weight') };
  if (a.operand !== undefined && !(OPS as readonly string[]).includes(a.operand)) b.error('operator', `is ${JSON.stringify(a.operand)}, not a known operator`);
  b.finish();
  return a;
}

function decodeSpread(b: Body): NonNullable<JobDraft['spreads']>[number] {
  const s = {
    attribute: b.str('attribute'),
    weight: b.num('weight'),
    targets: b.labelled('target').map(({ label, body }) => {
      const t = { value: label, percent: body.num('percent') };
      body.finish();
      return t;
    }),
  };
  b.finish();
  return s;
}

function decodeUpdate(b: Body): NonNullable<JobDraft['update']> {
  const u = {
    stagger: b.dur('stagger'),
    maxParallel: b.num('max_parallel'),
    healthCheck: b.oneOf('health_check', ['checks', 'task_states', 'manual'] as const),
    minHealthyTime: b.dur('min_healthy_time'),
    healthyDeadline: b.dur('healthy_deadline'),
    progressDeadline: b.dur('progress_deadline'),
    autoRevert: b.bool('auto_revert'),
    autoPromote: b.bool('auto_promote'),
    canary: b.num('canary'),
  };
  b.finish();
  return u;
}

function decodeMigrate(b: Body): NonNullable<TaskGroupDraft['migrate']> {
  const m = {
    maxParallel: b.num('max_parallel'),
    healthCheck: b.oneOf('health_check', ['checks', 'task_states'] as const),
    minHealthyTime: b.dur('min_healthy_time'),
    healthyDeadline: b.dur('healthy_deadline'),
  };
  b.finish();
  return m;
}

function decodeReschedule(b: Body): NonNullable<TaskGroupDraft['reschedule']> {
  const r = {
    attempts: b.num('attempts'),
    interval: b.dur('interval'),
    delay: b.dur('delay'),
    delayFunction: b.oneOf('delay_function', ['constant', 'exponential', 'fibonacci'] as const),
    maxDelay: b.dur('max_delay'),
    unlimited: b.bool('unlimited'),
  };
  b.finish();
  return r;
}

function decodeRestart(b: Body): NonNullable<TaskGroupDraft['restart']> {
  const r = {
    attempts: b.num('attempts'),
    interval: b.dur('interval'),
    delay: b.dur('delay'),
    mode: b.oneOf('mode', ['fail', 'delay'] as const),
    renderTemplates: b.bool('render_templates'),
  };
  b.finish();
  return r;
}

function decodePeriodic(b: Body): NonNullable<JobDraft['periodic']> {
  const cron = b.str('cron');
  const crons = b.strList('crons');
  if (cron !== undefined && crons !== undefined) b.error('crons', 'cannot be combined with cron; use one of them');
  const p = {
    enabled: b.bool('enabled'),
    crons: crons ?? (cron === undefined ? [] : [cron]),
    prohibitOverlap: b.bool('prohibit_overlap'),
    timeZone: b.str('time_zone'),
  };
  b.finish();
  return p;
}

function mergeDefined<T extends object>(base: T | undefined, over: T): T {
  if (base === undefined) return over;
  const out: Record<string, unknown> = { ...(base as object) };
  for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = v;
  return out as T;
}

function decodeGroup(
  name: string,
  b: Body,
  migrateDefaults: TaskGroupDraft['migrate'],
  reschedDefaults: TaskGroupDraft['reschedule'],
): TaskGroupDraft {
  const g: TaskGroupDraft = {
    name,
    count: b.num('count'),
    constraints: b.blocks('constraint').map(decodeConstraint),
    affinities: b.blocks('affinity').map(decodeAffinity),
    spreads: b.blocks('spread').map(decodeSpread),
    meta: b.strMap('meta'),
    networks: b.blocks('network').map(decodeNetwork),
    services: b.blocks('service').map(decodeService),
  };
  const upd = b.single('update');
  if (upd !== undefined) g.update = decodeUpdate(upd);
  const mig = b.single('migrate');
  const migrate = mig === undefined ? migrateDefaults : mergeDefined(migrateDefaults ?? undefined, decodeMigrate(mig));
  if (migrate !== undefined) g.migrate = migrate;
  const res = b.single('reschedule');
  const resched = res === undefined ? reschedDefaults : mergeDefined(reschedDefaults ?? undefined, decodeReschedule(res));
  if (resched !== undefined) g.reschedule = resched;
  const rst = b.single('restart');
  if (rst !== undefined) g.restart = decodeRestart(rst);
  const disk = b.single('ephemeral_disk');
  if (disk !== undefined) {
    g.ephemeralDisk = { sizeMB: disk.num('size'), sticky: disk.bool('sticky'), migrate: disk.bool('migrate') };
    disk.finish();
  }
  g.tasks = b.labelled('task').map(({ label, body }) => decodeTask(label, body));
  b.finish();
  return g;
}

function decodeNetwork(b: Body): NonNullable<TaskGroupDraft['networks']>[number] {
  const reservedPorts: { label: string; value?: number | undefined; to?: number | undefined; hostNetwork?: string | undefined }[] = [];
  const dynamicPorts: typeof reservedPorts = [];
  for (const { label, body } of b.labelled('port')) {
    const p = { label, value: body.num('static'), to: body.num('to'), hostNetwork: body.str('host_network') };
    body.finish();
    if (p.value !== undefined) reservedPorts.push(p);
    else dynamicPorts.push({ ...p, value: 0 });
  }
  const n = { mode: b.oneOf('mode', ['host', 'bridge', 'none'] as const), mbits: b.num('mbits'), reservedPorts, dynamicPorts };
  b.finish();
  return n;
}

function decodeService(b: Body): NonNullable<TaskGroupDraft['services']>[number] {
  const s = {
    name: b.str('name'),
    portLabel: b.str('port'),
    tags: b.strList('tags'),
    provider: b.oneOf('provider', ['nomad', 'consul'] as const),
    checks: b.blocks('check').map((c) => {
      const chk = {
        name: c.str('name'),
        type: c.oneOf('type', ['http', 'tcp', 'script', 'grpc'] as const),
        path: c.str('path'),
        portLabel: c.str('port'),
        interval: c.dur('interval'),
        timeout: c.dur('timeout'),
        command: c.str('command'),
        args: c.strList('args'),
      };
      c.finish();
      return chk;
    }),
  };
  b.finish();
  return s;
}

function decodeTask(name: string, b: Body): TaskDraft {
  const t: TaskDraft = {
    name,
    driver: b.str('driver'),
    user: b.str('user'),
    config: b.freeMap('config'),
    env: b.strMap('env'),
    meta: b.strMap('meta'),
    constraints: b.blocks('constraint').map(decodeConstraint),
    affinities: b.blocks('affinity').map(decodeAffinity),
    services: b.blocks('service').map(decodeService),
    leader: b.bool('leader'),
    killTimeout: b.dur('kill_timeout'),
    killSignal: b.str('kill_signal'),
  };
  const res = b.single('resources');
  if (res !== undefined) {
    t.resources = { cpu: res.num('cpu'), memoryMB: res.num('memory'), memoryMaxMB: res.num('memory_max'), cores: res.num('cores') };
    res.finish();
  }
  t.templates = b.blocks('template').map((tb) => {
    const tpl = {
      data: tb.str('data'),
      sourcePath: tb.str('source'),
      destPath: tb.str('destination'),
      changeMode: tb.oneOf('change_mode', ['noop', 'restart', 'signal', 'script'] as const),
      changeSignal: tb.str('change_signal'),
      envvars: tb.bool('env'),
      perms: tb.str('perms'),
      leftDelim: tb.str('left_delimiter'),
      rightDelim: tb.str('right_delimiter'),
      splay: tb.dur('splay'),
    };
    tb.finish();
    return tpl;
  });
  t.artifacts = b.blocks('artifact').map((ab) => {
    const a = { source: ab.str('source'), destination: ab.str('destination'), mode: ab.oneOf('mode', ['any', 'file', 'dir'] as const), options: ab.strMap('options') };
    ab.finish();
    return a;
  });
  const lc = b.single('lifecycle');
  if (lc !== undefined) {
    t.lifecycle = { hook: lc.oneOf('hook', ['prestart', 'poststart', 'poststop'] as const), sidecar: lc.bool('sidecar') };
    if (!lc.has('hook')) lc.error('hook', 'is required: one of "prestart", "poststart", "poststop"');
    lc.finish();
  }
  const logs = b.single('logs');
  if (logs !== undefined) {
    t.logs = { maxFiles: logs.num('max_files'), maxFileSizeMB: logs.num('max_file_size'), disabled: logs.bool('disabled') };
    logs.finish();
  }
  const rst = b.single('restart');
  if (rst !== undefined) t.restart = decodeRestart(rst);
  b.finish();
  return t;
}
