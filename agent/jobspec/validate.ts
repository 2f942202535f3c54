/**
 * Checks a canonical Job the way Nomad's Job/TaskGroup/Task Validate do, collecting
 * every problem with the field path it belongs to (which also locates it in the source).
 */
import type { Affinity, Constraint, Job, Spread, Task, TaskGroup, UpdateStrategy } from '../core/structs/index.js';
import { ConstraintOperators, JobMaxPriority, JobMinPriority, JobTypes, isSystemType } from '../core/structs/index.js';
import type { FieldPath, Issues } from './path.js';
import { attr, block } from './path.js';
import { checkCron } from './cron.js';
import { formatDuration } from './duration.js';

const VERSION_CONSTRAINT = /^\s*(=|!=|>=|<=|>|<|~>)?\s*v?\d+(\.\d+)*(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\s*$/;
const SEMVER_CONSTRAINT = /^\s*(=|!=|>=|<=|>|<)?\s*\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\s*$/;
const PORT_LABEL = /^[A-Za-z0-9_]+$/;
const KNOWN_SIGNALS = /^SIG[A-Z0-9]+$/;

const at = (p: FieldPath, ...more: FieldPath[number][]): FieldPath => [...p, ...more];

export function validateJob(job: Job, issues: Issues): void {
  const jp: FieldPath = [block('job', job.id)];
  if (job.id === '') issues.add(at(jp, attr('id')), 'is missing: the job needs an ID (job "id" { ... })');
  if (/\s/.test(job.id)) issues.add(at(jp, attr('id')), `${JSON.stringify(job.id)} contains a space`);
  if (job.id.includes('\0')) issues.add(at(jp, attr('id')), 'contains a null character');
  if (job.name === '') issues.add(at(jp, attr('name')), 'is missing');
  if (job.name.includes('\0')) issues.add(at(jp, attr('name')), 'contains a null character');
  if (!(JobTypes as readonly string[]).includes(job.type)) issues.add(at(jp, attr('type')), `is ${JSON.stringify(job.type)}; must be one of ${JobTypes.join(', ')}`);
  if (!Number.isInteger(job.priority) || job.priority < JobMinPriority || job.priority > JobMaxPriority) {
    issues.add(at(jp, attr('priority')), `must be between ${JobMinPriority} and ${JobMaxPriority}, got ${job.priority}`);
  }
  if (job.region === '') issues.add(at(jp, attr('region')), 'must not be empty');
  if (job.namespace === '') issues.add(at(jp, attr('namespace')), 'must not be empty');
  if (job.datacenters.some((d) => d === '')) issues.add(at(jp, attr('datacenters')), 'must not contain an empty name');
  if (job.taskGroups.length === 0) issues.add(jp, 'has no group: a job needs at least one group "name" { task "name" { ... } }');
  const system = isSystemType(job.type);

  job.constraints.forEach((c, i) => checkConstraint(c, at(jp, block('constraint', undefined, i)), issues));
  job.affinities.forEach((a, i) => checkAffinity(a, at(jp, block('affinity', undefined, i)), issues, system));
  job.spreads.forEach((s, i) => checkSpread(s, at(jp, block('spread', undefined, i)), issues, system));
  if (job.update !== null) checkUpdate(job.update, at(jp, block('update')), issues, job.type);

  if (job.periodic !== null) {
    const pp = at(jp, block('periodic'));
    if (job.type !== 'batch' && job.type !== 'sysbatch') issues.add(pp, `can only be used with "batch" or "sysbatch" jobs, not ${JSON.stringify(job.type)}`);
    if (job.periodic.crons.length === 0) issues.add(at(pp, attr('cron')), 'is required: give a cron expression such as "*/15 * * * *"');
    job.periodic.crons.forEach((c) => {
      const err = checkCron(c);
      if (err !== undefined) issues.add(at(pp, attr(job.periodic!.crons.length > 1 ? 'crons' : 'cron')), `${JSON.stringify(c)} ${err}`);
    });
    if (!validTimeZone(job.periodic.timeZone)) issues.add(at(pp, attr('time_zone')), `${JSON.stringify(job.periodic.timeZone)} is not a known time zone`);
  }
  if (job.parameterized !== null && job.type !== 'batch' && job.type !== 'sysbatch') {
    issues.add(at(jp, block('parameterized')), `can only be used with "batch" or "sysbatch" jobs, not ${JSON.stringify(job.type)}`);
  }
  if (job.parameterized !== null && job.periodic !== null) issues.add(at(jp, block('parameterized')), 'cannot be combined with periodic');

  const seen = new Set<string>();
  for (const g of job.taskGroups) {
    const gp = at(jp, block('group', g.name));
    if (g.name === '') issues.add(gp, 'has no name');
    else if (seen.has(g.name)) issues.add(gp, 'is defined more than once; group names must be unique in a job');
    seen.add(g.name);
    checkGroup(job, g, gp, issues);
  }
}

function validTimeZone(tz: string): boolean {
  if (tz === 'UTC' || tz === 'Local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function checkGroup(job: Job, g: TaskGroup, gp: FieldPath, issues: Issues): void {
  const system = isSystemType(job.type);
  if (!Number.isInteger(g.count) || g.count < 0) issues.add(at(gp, attr('count')), `must be >= 0, got ${g.count}`);
  if (system && g.count > 1) issues.add(at(gp, attr('count')), `is ${g.count}; count cannot exceed 1 for ${job.type} jobs (they run once per node)`);
  if (g.tasks.length === 0) issues.add(gp, 'has no task: a group needs at least one task "name" { ... }');
  g.constraints.forEach((c, i) => checkConstraint(c, at(gp, block('constraint', undefined, i)), issues));
  g.affinities.forEach((a, i) => checkAffinity(a, at(gp, block('affinity', undefined, i)), issues, system));
  g.spreads.forEach((s, i) => checkSpread(s, at(gp, block('spread', undefined, i)), issues, system));
  if (g.update !== null && JSON.stringify(g.update) !== JSON.stringify(job.update)) checkUpdate(g.update, at(gp, block('update')), issues, job.type);
  if (g.migrate !== null) {
    const mp = at(gp, block('migrate'));
    if (!Number.isInteger(g.migrate.maxParallel) || g.migrate.maxParallel < 1) issues.add(at(mp, attr('max_parallel')), `must be >= 1, got ${g.migrate.maxParallel}`);
    if (g.migrate.minHealthyTime < 0) issues.add(at(mp, attr('min_healthy_time')), 'must not be negative');
    if (g.migrate.healthyDeadline <= 0) issues.add(at(mp, attr('healthy_deadline')), 'must be positive');
    else if (g.migrate.minHealthyTime >= g.migrate.healthyDeadline) issues.add(at(mp, attr('min_healthy_time')), `(${formatDuration(g.migrate.minHealthyTime)}) must be less than healthy_deadline (${formatDuration(g.migrate.healthyDeadline)})`);
  }
  if (g.reschedule !== null) {
    const rp = at(gp, block('reschedule'));
    const r = g.reschedule;
    if (system) issues.add(rp, `is not allowed for ${job.type} jobs`);
    else {
      if (r.attempts < 0) issues.add(at(rp, attr('attempts')), `must be >= 0, got ${r.attempts}`);
      const enabled = r.unlimited || r.attempts > 0;
      if (enabled && r.delay < 5000) issues.add(at(rp, attr('delay')), `must be at least 5s, got ${formatDuration(r.delay)}`);
      if (!r.unlimited && r.attempts > 0 && r.interval <= 0) issues.add(at(rp, attr('interval')), 'must be positive when attempts > 0');
      if (enabled && r.delayFunction !== 'constant' && r.maxDelay < r.delay) issues.add(at(rp, attr('max_delay')), `(${formatDuration(r.maxDelay)}) must be >= delay (${formatDuration(r.delay)}) with delay_function ${JSON.stringify(r.delayFunction)}`);
    }
  }
  checkRestart(g.restart, at(gp, block('restart')), issues);
  if (g.ephemeralDisk.sizeMB < 0) issues.add(at(gp, block('ephemeral_disk'), attr('size')), 'must not be negative');

  // Ports: labels valid and unique across the group's networks; static ports in range.
  const labels = new Set<string>();
  g.networks.forEach((n, ni) => {
    const np = at(gp, block('network', undefined, ni));
    if (n.mbits < 0) issues.add(at(np, attr('mbits')), 'must not be negative');
    for (const p of [...n.reservedPorts, ...n.dynamicPorts]) {
      const pp = at(np, block('port', p.label));
      if (!PORT_LABEL.test(p.label)) issues.add(pp, 'label must contain only letters, digits and underscores');
      if (labels.has(p.label)) issues.add(pp, 'is defined more than once; port labels must be unique in a group');
      labels.add(p.label);
      if (n.reservedPorts.includes(p) && (!Number.isInteger(p.value) || p.value < 1 || p.value > 65535)) issues.add(at(pp, attr('static')), `must be between 1 and 65535, got ${p.value}`);
      if (!Number.isInteger(p.to) || p.to < -1 || p.to > 65535) issues.add(at(pp, attr('to')), `must be between 0 and 65535 (or -1), got ${p.to}`);
    }
  });
  if (g.networks.length > 1) issues.add(at(gp, block('network', undefined, 1)), 'may appear only once per group');
  g.services.forEach((s, i) => checkService(s, at(gp, block('service', undefined, i)), labels, issues));

  const names = new Set<string>();
  let leaders = 0;
  for (const t of g.tasks) {
    const tp = at(gp, block('task', t.name));
    if (names.has(t.name)) issues.add(tp, 'is defined more than once; task names must be unique in a group');
    names.add(t.name);
    if (t.leader) leaders++;
    checkTask(job, t, tp, labels, issues);
  }
  if (leaders > 1) issues.add(gp, `has ${leaders} leader tasks; at most one task may set leader = true`);
}

function checkTask(job: Job, t: Task, tp: FieldPath, ports: Set<string>, issues: Issues): void {
  const system = isSystemType(job.type);
  if (t.name === '') issues.add(tp, 'has no name');
  if (t.name.includes('/')) issues.add(tp, 'name must not contain "/"');
  if (t.name.includes('\0')) issues.add(tp, 'name contains a null character');
  if (t.driver === '') issues.add(at(tp, attr('driver')), 'is required (for example "exec", "raw_exec" or "docker")');
  const rp = at(tp, block('resources'));
  const r = t.resources;
  if (r.cores > 0 && r.cpu > 0) issues.add(at(rp, attr('cores')), 'cannot be combined with cpu; reserve either cores or MHz');
  if (r.cores === 0 && (!Number.isInteger(r.cpu) || r.cpu < 1)) issues.add(at(rp, attr('cpu')), `must be >= 1, got ${r.cpu}`);
  if (r.cores < 0 || !Number.isInteger(r.cores)) issues.add(at(rp, attr('cores')), `must be >= 0, got ${r.cores}`);
  if (!Number.isInteger(r.memoryMB) || r.memoryMB < 10) issues.add(at(rp, attr('memory')), `must be >= 10, got ${r.memoryMB}`);
  if (r.memoryMaxMB !== 0 && r.memoryMaxMB < r.memoryMB) issues.add(at(rp, attr('memory_max')), `(${r.memoryMaxMB}) must be >= memory (${r.memoryMB})`);
  if (t.killTimeout < 0) issues.add(at(tp, attr('kill_timeout')), `must not be negative, got ${formatDuration(t.killTimeout)}`);
  if (!KNOWN_SIGNALS.test(t.killSignal)) issues.add(at(tp, attr('kill_signal')), `${JSON.stringify(t.killSignal)} is not a signal name such as "SIGTERM"`);
  if (t.logs.maxFiles < 1) issues.add(at(tp, block('logs'), attr('max_files')), `must be >= 1, got ${t.logs.maxFiles}`);
  if (t.logs.maxFileSizeMB < 1) issues.add(at(tp, block('logs'), attr('max_file_size')), `must be >= 1, got ${t.logs.maxFileSizeMB}`);
  checkRestart(t.restart, at(tp, block('restart')), issues);
  t.constraints.forEach((c, i) => checkConstraint(c, at(tp, block('constraint', undefined, i)), issues));
  t.affinities.forEach((a, i) => checkAffinity(a, at(tp, block('affinity', undefined, i)), issues, system));
  t.services.forEach((s, i) => checkService(s, at(tp, block('service', undefined, i)), ports, issues));
  t.templates.forEach((tpl, i) => {
    const p = at(tp, block('template', undefined, i));
    if (tpl.data === '' && tpl.sourcePath === '') issues.add(p, 'needs data or source');
    if (tpl.data !== '' && tpl.sourcePath !== '') issues.add(at(p, attr('source')), 'cannot be combined with data');
    if (tpl.destPath === '') issues.add(at(p, attr('destination')), 'is required');
    if (tpl.changeMode === 'signal' && tpl.changeSignal === '') issues.add(at(p, attr('change_signal')), 'is required when change_mode = "signal"');
    if (!/^[0-7]{3,4}$/.test(tpl.perms)) issues.add(at(p, attr('perms')), `${JSON.stringify(tpl.perms)} is not an octal mode such as "0644"`);
    if (tpl.splay < 0) issues.add(at(p, attr('splay')), 'must not be negative');
  });
  t.artifacts.forEach((a, i) => {
    if (a.source === '') issues.add(at(tp, block('artifact', undefined, i), attr('source')), 'is required');
  });
  if (t.lifecycle !== null && t.lifecycle.hook === 'poststop' && t.lifecycle.sidecar) {
    issues.add(at(tp, block('lifecycle'), attr('sidecar')), 'cannot be true for a poststop task');
  }
}

function checkRestart(r: TaskGroup['restart'], p: FieldPath, issues: Issues): void {
  if (!Number.isInteger(r.attempts) || r.attempts < 0) issues.add(at(p, attr('attempts')), `must be >= 0, got ${r.attempts}`);
  if (r.delay < 0) issues.add(at(p, attr('delay')), 'must not be negative');
  if (r.interval < 0) issues.add(at(p, attr('interval')), 'must not be negative');
  else if (r.attempts > 0 && r.delay * r.attempts > r.interval) {
    issues.add(at(p, attr('interval')), `(${formatDuration(r.interval)}) is too short for ${r.attempts} attempts with a delay of ${formatDuration(r.delay)}`);
  }
}

function checkUpdate(u: UpdateStrategy, p: FieldPath, issues: Issues, type: Job['type']): void {
  if (!Number.isInteger(u.maxParallel) || u.maxParallel < 0) issues.add(at(p, attr('max_parallel')), `must be >= 0, got ${u.maxParallel}`);
  if (!Number.isInteger(u.canary) || u.canary < 0) issues.add(at(p, attr('canary')), `must be >= 0, got ${u.canary}`);
  if (u.canary > 0 && type === 'batch') issues.add(at(p, attr('canary')), 'is not allowed for batch jobs');
  if (u.canary > 0 && isSystemType(type)) issues.add(at(p, attr('canary')), `is not allowed for ${type} jobs`);
  if (u.autoPromote && u.canary === 0) issues.add(at(p, attr('auto_promote')), 'needs canary > 0');
  if (u.stagger <= 0) issues.add(at(p, attr('stagger')), 'must be positive');
  if (u.minHealthyTime < 0) issues.add(at(p, attr('min_healthy_time')), 'must not be negative');
  if (u.healthyDeadline <= 0) issues.add(at(p, attr('healthy_deadline')), 'must be positive');
  else if (u.minHealthyTime >= u.healthyDeadline) issues.add(at(p, attr('min_healthy_time')), `(${formatDuration(u.minHealthyTime)}) must be less than healthy_deadline (${formatDuration(u.healthyDeadline)})`);
  if (u.progressDeadline < 0) issues.add(at(p, attr('progress_deadline')), 'must not be negative');
  else if (u.progressDeadline !== 0 && u.progressDeadline < u.healthyDeadline) issues.add(at(p, attr('progress_deadline')), `(${formatDuration(u.progressDeadline)}) must be 0 or >= healthy_deadline (${formatDuration(u.healthyDeadline)})`);
}

function checkOperands(op: Constraint['operand'], l: string, r: string, p: FieldPath, issues: Issues): void {
  if (!(ConstraintOperators as readonly string[]).includes(op)) {
    issues.add(at(p, attr('operator')), `${JSON.stringify(op)} is not a known operator`);
    return;
  }
  switch (op) {
    case 'distinct_hosts':
      if (r !== 'true' && r !== 'false' && r !== '') issues.add(at(p, attr('value')), `must be "true" or "false" for distinct_hosts, got ${JSON.stringify(r)}`);
      return;
    case 'distinct_property':
      if (l === '') issues.add(at(p, attr('distinct_property')), 'needs the property to spread over, e.g. "${meta.rack}"');
      if (r !== '' && !/^[1-9]\d*$/.test(r)) issues.add(at(p, attr('value')), `must be a positive whole number (allocations per property value), got ${JSON.stringify(r)}`);
      return;
    case 'is_set':
    case 'is_not_set':
      if (l === '') issues.add(at(p, attr('attribute')), `is required for ${op}`);
      return;
    default:
      break;
  }
  if (l === '') issues.add(at(p, attr('attribute')), `is required for operator ${JSON.stringify(op)}`);
  if (r === '') issues.add(at(p, attr('value')), `is required for operator ${JSON.stringify(op)}`);
  if (r === '') return;
  if (op === 'regexp') {
    try {
      new RegExp(r);
    } catch (e) {
      issues.add(at(p, attr('value')), `is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else if (op === 'version' || op === 'semver') {
    const re = op === 'version' ? VERSION_CONSTRAINT : SEMVER_CONSTRAINT;
    const bad = r.split(',').find((part) => !re.test(part));
    if (bad !== undefined) issues.add(at(p, attr('value')), `${JSON.stringify(bad.trim())} is not a ${op} constraint such as ">= 1.2.0, < 2.0.0"`);
  } else if (op === '>' || op === '>=' || op === '<' || op === '<=') {
    // Nomad compares these lexically or numerically at runtime; any value is acceptable.
  }
}

function checkConstraint(c: Constraint, p: FieldPath, issues: Issues): void {
  checkOperands(c.operand, c.lTarget, c.rTarget, p, issues);
}

function checkAffinity(a: Affinity, p: FieldPath, issues: Issues, system: boolean): void {
  if (system) {
    issues.add(p, 'is not allowed for system or sysbatch jobs');
    return;
  }
  if (a.operand === 'distinct_hosts' || a.operand === 'distinct_property') {
    issues.add(at(p, attr('operator')), `${JSON.stringify(a.operand)} is not allowed in an affinity`);
  } else checkOperands(a.operand, a.lTarget, a.rTarget, p, issues);
  if (!Number.isInteger(a.weight) || a.weight === 0 || a.weight < -100 || a.weight > 100) {
    issues.add(at(p, attr('weight')), `must be a non-zero whole number between -100 and 100, got ${a.weight}`);
  }
}

function checkSpread(s: Spread, p: FieldPath, issues: Issues, system: boolean): void {
  if (system) {
    issues.add(p, 'is not allowed for system or sysbatch jobs');
    return;
  }
  if (s.attribute === '') issues.add(at(p, attr('attribute')), 'is required');
  if (!Number.isInteger(s.weight) || s.weight <= 0 || s.weight > 100) issues.add(at(p, attr('weight')), `must be between 1 and 100, got ${s.weight}`);
  let sum = 0;
  const seen = new Set<string>();
  for (const t of s.targets) {
    const tp = at(p, block('target', t.value));
    if (seen.has(t.value)) issues.add(tp, 'is defined more than once');
    seen.add(t.value);
    if (!Number.isInteger(t.percent) || t.percent < 0 || t.percent > 100) issues.add(at(tp, attr('percent')), `must be between 0 and 100, got ${t.percent}`);
    sum += t.percent;
  }
  if (sum > 100) issues.add(at(p, block('target', s.targets[0]?.value)), `percentages add up to ${sum}; they must not exceed 100`);
}

function checkService(s: TaskGroup['services'][number], p: FieldPath, ports: Set<string>, issues: Issues): void {
  if (s.name === '') issues.add(at(p, attr('name')), 'is required');
  else if (!s.name.includes('${') && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(s.name)) {
    issues.add(at(p, attr('name')), `${JSON.stringify(s.name)} must be letters, digits and dashes (at most 63), not starting or ending with a dash`);
  }
  const portOk = (label: string): boolean => label === '' || ports.has(label) || /^\d+$/.test(label);
  if (!portOk(s.portLabel)) issues.add(at(p, attr('port')), `${JSON.stringify(s.portLabel)} is not a port label of this group's network`);
  s.checks.forEach((c, i) => {
    const cp = at(p, block('check', undefined, i));
    if (c.type === 'http' && c.path === '') issues.add(at(cp, attr('path')), 'is required for an http check');
    if (c.type === 'script' && c.command === '') issues.add(at(cp, attr('command')), 'is required for a script check');
    if ((c.type === 'http' || c.type === 'tcp' || c.type === 'grpc') && c.portLabel === '') issues.add(at(cp, attr('port')), `is required for a ${c.type} check (here or on the service)`);
    else if (c.portLabel !== s.portLabel && !portOk(c.portLabel)) issues.add(at(cp, attr('port')), `${JSON.stringify(c.portLabel)} is not a port label of this group's network`);
    if (c.interval < 1000) issues.add(at(cp, attr('interval')), `must be at least 1s, got ${formatDuration(c.interval)}`);
    if (c.timeout < 1000) issues.add(at(cp, attr('timeout')), `must be at least 1s, got ${formatDuration(c.timeout)}`);
  });
}
