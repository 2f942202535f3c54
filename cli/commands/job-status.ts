/**
 * `nomadts job status [-json] [<job>]`: every job, or one job with its group summary
 * (desired / placed / running / failed / lost from its allocations), latest evaluations,
 * placement failures while an evaluation is blocked, and allocations.
 */
import type { ApiClient } from '../../agent/api/index.js';
import type { Allocation, Evaluation, Job } from '../../agent/core/structs/index.js';
import { allocServerTerminal } from '../../agent/core/structs/index.js';
import type { Env } from './api-io.js';
import { Exit, formatFailedGroups, formatTime, json, keyValues, positionals, resolveId, shortId, table, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

export function jobsTable(jobs: readonly Job[]): string {
  if (jobs.length === 0) return 'No running jobs\n';
  return table(
    ['ID', 'Type', 'Priority', 'Status', 'Submit Date'],
    jobs.map((j) => [j.id, j.type, String(j.priority), j.stop ? 'dead (stopped)' : j.status, formatTime(j.submitTime)]),
  );
}

/** Per group: desired count and what its allocations are doing. */
export function groupSummary(job: Job, allocs: readonly Allocation[]): { group: string; desired: number; placed: number; running: number; failed: number; lost: number; complete: number }[] {
  return job.taskGroups.map((tg) => {
    const mine = allocs.filter((a) => a.taskGroup === tg.name);
    const count = (s: Allocation['clientStatus']): number => mine.filter((a) => a.clientStatus === s).length;
    return {
      group: tg.name,
      desired: job.stop ? 0 : tg.count,
      placed: mine.filter((a) => !allocServerTerminal(a)).length,
      running: count('running'),
      failed: count('failed'),
      lost: count('lost'),
      complete: count('complete'),
    };
  });
}

export function allocsTable(allocs: readonly Allocation[], now: number): string {
  if (allocs.length === 0) return 'No allocations placed\n';
  const sorted = [...allocs].sort((a, b) => b.createIndex - a.createIndex || (a.id < b.id ? -1 : 1));
  return table(
    ['ID', 'Node ID', 'Task Group', 'Version', 'Desired', 'Status', 'Created'],
    sorted.map((a) => [shortId(a.id), shortId(a.nodeId), a.taskGroup, String(a.job.version), a.desiredStatus, a.clientStatus, age(a.createTime, now)]),
  );
}

export function evalsTable(evals: readonly Evaluation[]): string {
  if (evals.length === 0) return 'No evaluations\n';
  return table(
    ['ID', 'Priority', 'Triggered By', 'Job ID', 'Status', 'Placement Failures'],
    evals.map((e) => [shortId(e.id), String(e.priority), e.triggeredBy, e.jobId, e.status, String(Object.keys(e.failedTgAllocs).length > 0)]),
  );
}

/** `5s ago`, `3m ago`, `2h ago`, or the date for anything older than a day. */
export function age(ms: number, now: number): string {
  if (ms <= 0) return '';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return formatTime(ms);
}

async function oneJob(client: ApiClient, prefix: string, asJson: boolean, out: Out): Promise<number> {
  const id = await resolveId('job', prefix, (p) => client.listJobs({ prefix: p }));
  const job = (await client.getJob('', id)).value;
  const allocs = (await client.listAllocs({ jobId: id }, { namespace: job.namespace })).value;
  const evals = (await client.listEvals({ jobId: id }, { namespace: job.namespace })).value;
  const summary = groupSummary(job, allocs);
  if (asJson) {
    out.stdout(json({ job, summary, evaluations: evals, allocations: allocs }));
    return Exit.ok;
  }
  let s = keyValues([
    ['ID', job.id],
    ['Name', job.name],
    ['Namespace', job.namespace],
    ['Type', job.type],
    ['Priority', job.priority],
    ['Datacenters', job.datacenters.join(',')],
    ['Node Pool', job.nodePool],
    ['Status', job.stop ? 'dead (stopped)' : job.status],
    ['Version', job.version],
    ['Submit Date', formatTime(job.submitTime)],
    ['Periodic', job.periodic !== null],
    ['Parameterized', job.parameterized !== null],
  ]);
  s += '\nSummary\n';
  s += table(
    ['Task Group', 'Desired', 'Placed', 'Running', 'Failed', 'Complete', 'Lost'],
    summary.map((g) => [g.group, String(g.desired), String(g.placed), String(g.running), String(g.failed), String(g.complete), String(g.lost)]),
  );
  // Placement failures matter while an evaluation waits for capacity, as Nomad shows them.
  const blocked = evals.find((e) => e.status === 'blocked');
  if (blocked !== undefined) {
    const failedEval = [...evals].reverse().find((e) => Object.keys(e.failedTgAllocs).length > 0);
    if (failedEval !== undefined) {
      s += '\nPlacement Failure\n';
      s += formatFailedGroups(failedEval.failedTgAllocs, '');
      s += `Evaluation "${shortId(blocked.id)}" waiting for additional capacity to place remainder\n`;
    }
  }
  s += '\nLatest Evaluations\n';
  s += evalsTable([...evals].reverse().slice(0, 5));
  s += '\nAllocations\n';
  s += allocsTable(allocs, Date.now());
  out.stdout(s);
  return Exit.ok;
}

export async function jobStatus(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'] }, async (client, f) => {
    const [prefix] = positionals(f, ['job'], true);
    const asJson = f.bool.has('json');
    if (prefix !== undefined) return oneJob(client, prefix, asJson, out);
    const jobs = (await client.listJobs()).value;
    out.stdout(asJson ? json(jobs) : jobsTable(jobs));
    return Exit.ok;
  });
}

