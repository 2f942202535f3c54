/**
 * `nomadts job plan [-var k=v]... [-var-file f]... <file>`: a dry run of the scheduler for the
 * job in the file against the cluster's current state; nothing is written. Prints what would
 * happen per task group and why placements would fail; for a job that exists, the fields that
 * change (`~ group "web": count: 2 => 3`, `+` added, `-` removed).
 * Exit codes, as Nomad: 0 no changes, 1 allocations would be created, stopped or updated, 255 error.
 */
import type { PlanJobReply } from '../../agent/api/index.js';
import { NomadError } from '../../agent/core/lib/index.js';
import type { Job } from '../../agent/core/structs/index.js';
import { formatDiff, jobDiff } from '../../agent/core/structs/index.js';
import type { Env } from './api-io.js';
import { connect, errorText, formatFailedGroups, json } from './api-io.js';
import { readJobArgs } from './job-run.js';
import type { Out } from './jobspec-io.js';

export const PlanExit = { noChanges: 0, changes: 1, error: 255 } as const;

type GroupUpdates = PlanJobReply['annotations'][string];

/** The words Nomad uses for each kind of change, in its order. */
const Kinds: readonly [keyof GroupUpdates, string][] = [
  ['place', 'create'],
  ['stop', 'destroy'],
  ['migrate', 'migrate'],
  ['inPlaceUpdate', 'in-place update'],
  ['destructiveUpdate', 'create/destroy update'],
  ['canary', 'canary'],
  ['rescheduleNow', 'reschedule now'],
  ['rescheduleLater', 'reschedule later'],
  ['preemptions', 'preemption'],
  ['ignore', 'ignore'],
];

export function groupChanges(u: GroupUpdates): number {
  return u.place + u.stop + u.migrate + u.inPlaceUpdate + u.destructiveUpdate + u.canary + u.rescheduleNow + u.preemptions;
}

/** `Task Group: "web" (1 create, 2 in-place update)` */
export function formatAnnotation(group: string, u: GroupUpdates): string {
  const parts = Kinds.filter(([k]) => u[k] > 0).map(([k, word]) => `${u[k]} ${word}`);
  return `Task Group: "${group}"${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

export async function jobPlan(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  const read = await readJobArgs(args, out, { bool: ['json'], value: [], multi: ['var', 'var-file'] }, env);
  if (read === undefined) return PlanExit.error;
  const { job, flags } = read;
  let client;
  try {
    client = connect(env, flags);
    let current: Job | undefined;
    await client.getJob(job.namespace, job.id).then(
      (r) => {
        current = r.value;
      },
      (err: unknown) => {
        if (!(err instanceof NomadError && err.code === 'not_found')) throw err;
      },
    );
    const exists = current !== undefined;
    const diff = exists ? jobDiff(current, job) : [];
    const plan = await client.planJob(job);
    const groups = Object.entries(plan.annotations).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const changes = groups.reduce((n, [, u]) => n + groupChanges(u), 0);
    const code = changes > 0 ? PlanExit.changes : PlanExit.noChanges;
    if (flags.bool.has('json')) {
      out.stdout(json({ ...plan, diff }));
      return code;
    }
    let s = `${!exists ? '+' : changes > 0 || diff.length > 0 ? '+/-' : ''} Job: "${job.id}"\n`.trimStart();
    for (const d of diff) s += `  ${formatDiff(d)}\n`;
    for (const [g, u] of groups) s += `${groupChanges(u) > 0 ? (exists ? '+/- ' : '+ ') : ''}${formatAnnotation(g, u)}\n`;
    s += '\nScheduler dry-run:\n';
    if (Object.keys(plan.failedTgAllocs).length === 0) s += '- All tasks successfully allocated.\n';
    else s += `- WARNING: Failed to place all allocations.\n${formatFailedGroups(plan.failedTgAllocs, '  ')}`;
    for (const w of plan.warnings) s += `\nWarning: ${w}\n`;
    s += `\nJob Modify Index: ${plan.jobModifyIndex}\n`;
    s += `To submit the job with version verification run:\n\nnomadts job run -check-index ${plan.jobModifyIndex} ${flags.positional[0]!}\n`;
    out.stdout(s);
    return code;
  } catch (err) {
    out.stderr(errorText(err));
    return PlanExit.error;
  } finally {
    client?.close();
  }
}

