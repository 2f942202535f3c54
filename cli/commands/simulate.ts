/**
 * `nomadts simulate [-nodes N] [-seed S] [-workers W] [job files...]`: run the real
 * control plane (FSM, eval broker, schedulers, plan applier) in this process on a
 * simulated cluster, submit job files, and explain every placement decision.
 * Nothing is executed on this machine: the nodes are simulated, the scheduling is not.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NomadError, SeededRng } from '../../agent/core/lib/index.js';
import type { AllocMetric, Allocation, Job } from '../../agent/core/structs/index.js';
import { allocTerminalStatus } from '../../agent/core/structs/index.js';
import { parseJobFile } from '../../agent/jobspec/index.js';
import { SystemClock, systemRng } from '../../agent/runtime/index.js';
import { SimCluster } from '../../agent/sim/index.js';
import type { Out } from './jobspec-io.js';
import { formatErrors } from './jobspec-io.js';

interface SimArgs {
  nodes: number;
  seed: number | undefined;
  workers: number;
  files: string[];
}

export function parseSimArgs(args: readonly string[]): SimArgs {
  const out: SimArgs = { nodes: 100, seed: undefined, workers: 2, files: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--?(nodes|seed|workers)(?:=(.*))?$/.exec(a);
    if (m === null) {
      if (a.startsWith('-')) throw new NomadError('invalid_argument', `unknown flag ${a} (flags: -nodes N, -seed S, -workers W)`);
      out.files.push(a);
      continue;
    }
    const raw = m[2] ?? args[++i];
    const n = Number(raw);
    if (raw === undefined || !Number.isInteger(n) || n < 0) throw new NomadError('invalid_argument', `-${m[1]} needs a whole number, got ${raw ?? 'nothing'}`);
    if (m[1] === 'nodes') {
      if (n < 1 || n > 20_000) throw new NomadError('invalid_argument', `-nodes must be between 1 and 20000, got ${n}`);
      out.nodes = n;
    } else if (m[1] === 'workers') {
      if (n < 1 || n > 64) throw new NomadError('invalid_argument', `-workers must be between 1 and 64, got ${n}`);
      out.workers = n;
    } else {
      out.seed = n;
    }
  }
  return out;
}

/** The examples in jobs/, each with its `<name>.vars` variable file when there is one. */
function defaultJobFiles(): { file: string; varFiles: string[] }[] {
  const names = readdirSync('jobs');
  return names
    .filter((f) => f.endsWith('.nomad.hcl'))
    .sort()
    .map((f) => {
      const vars = f.replace(/\.nomad\.hcl$/, '.vars');
      return { file: join('jobs', f), varFiles: names.includes(vars) ? [join('jobs', vars)] : [] };
    });
}

function reasons(m: AllocMetric): string {
  const parts: string[] = [`${m.nodesEvaluated} nodes evaluated`];
  const top = (rec: Record<string, number>) =>
    Object.entries(rec)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ');
  if (m.nodesFiltered > 0) parts.push(`${m.nodesFiltered} filtered${Object.keys(m.constraintFiltered).length > 0 ? `: ${top(m.constraintFiltered)}` : ''}`);
  if (m.nodesExhausted > 0) parts.push(`${m.nodesExhausted} exhausted: ${top(m.dimensionExhausted)}`);
  return parts.join('; ');
}

function explain(a: Allocation, nodeName: (id: string) => string): string {
  const m = a.metrics;
  const best = m.scoreMetaData[0];
  const scores = best === undefined ? '' : Object.entries(best.scores).filter(([k, v]) => v !== 0 || k === 'binpack').map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
  return `${a.name} → ${nodeName(a.nodeId)}: ${reasons(m)}${scores === '' ? '' : `; winner scored ${best!.normScore.toFixed(3)} (${scores})`}`;
}

export async function simulate(args: readonly string[], out: Out): Promise<number> {
  let a: SimArgs;
  const jobs: Job[] = [];
  try {
    a = parseSimArgs(args);
    const files = a.files.length > 0 ? a.files.map((file) => ({ file, varFiles: [] })) : defaultJobFiles();
    // Parse everything first: a bad file changes nothing.
    for (const f of files) jobs.push(await parseJobFile(f.file, { env: process.env, varFiles: f.varFiles }));
  } catch (err) {
    out.stderr(`Error:\n${formatErrors(err)}\n`);
    return 1;
  }
  const { rng, seed } = systemRng(a.seed);
  const clock = new SystemClock();
  const started = performance.now();
  const cluster = await SimCluster.start({ clock, rng: new SeededRng(seed), workers: a.workers, nodes: { count: a.nodes } });
  void rng;
  const byDC = new Map<string, number>();
  for (const n of cluster.nodes) byDC.set(n.datacenter, (byDC.get(n.datacenter) ?? 0) + 1);
  out.stdout(`Simulated cluster: ${a.nodes} nodes (${[...byDC].map(([dc, n]) => `${dc} ${n}`).join(', ')}), seed ${seed}, ${a.workers} scheduler workers\n`);
  out.stdout('The scheduling below is the real nomadts control plane; only the nodes are simulated.\n\n');

  const t0 = performance.now();
  for (const job of jobs) await cluster.submit(job);
  await cluster.settle();
  const schedMs = performance.now() - t0;

  const state = cluster.server.state();
  const nodeName = (id: string) => {
    const n = state.nodeByID(id);
    return n === undefined ? id.slice(0, 8) : `${n.name} (${n.datacenter}, ${n.nodeClass}, rack ${n.meta.rack ?? '-'})`;
  };
  let placements = 0;
  const rows: string[][] = [['Job', 'Type', 'Status', 'Group', 'Desired', 'Placed', 'Unplaced']];
  const notes: string[] = [];
  for (const job of jobs) {
    const stored = state.jobByID(job.namespace, job.id)!;
    const allocs = state.allocsByJob(job.namespace, job.id).filter((x) => !allocTerminalStatus(x));
    placements += allocs.length;
    const latest = state.evalsByJob(job.namespace, job.id).filter((e) => e.status !== 'blocked').sort((x, y) => y.createIndex - x.createIndex)[0];
    for (const g of stored.taskGroups) {
      const mine = allocs.filter((x) => x.taskGroup === g.name).sort((x, y) => x.name.localeCompare(y.name, 'en', { numeric: true }));
      const desired = stored.type === 'system' || stored.type === 'sysbatch' ? 'per node' : String(g.count);
      const unplaced = latest?.queuedAllocations[g.name] ?? 0;
      rows.push([stored.id, stored.type, stored.status, g.name, desired, String(mine.length), String(unplaced)]);
      const failed = latest?.failedTgAllocs[g.name];
      if (failed !== undefined) notes.push(`  ✗ ${stored.id}.${g.name}: ${unplaced} not placed — ${reasons(failed)}`);
      if (mine[0] !== undefined) notes.push(`  ✓ ${explain(mine[0], nodeName)}`);
    }
    if (stored.periodic !== null || stored.parameterized !== null) {
      notes.push(`  • ${stored.id}: ${stored.periodic !== null ? 'periodic' : 'parameterized'} job registered; it launches child jobs under a running agent, not in a one-shot simulation`);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) out.stdout(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
  out.stdout(`\nWhy allocations landed where they did:\n${notes.join('\n')}\n`);

  let cpuUsed = 0;
  let cpuTotal = 0;
  let memUsed = 0;
  let memTotal = 0;
  for (const n of state.nodes()) {
    cpuTotal += n.resources.cpu - n.reserved.cpu;
    memTotal += n.resources.memoryMB - n.reserved.memoryMB;
    for (const x of state.allocsByNode(n.id)) {
      if (allocTerminalStatus(x)) continue;
      cpuUsed += x.resources.cpu;
      memUsed += x.resources.memoryMB;
    }
  }
  const stats = cluster.server.stats();
  out.stdout(
    `\nCluster: ${placements} allocations; CPU ${cpuUsed}/${cpuTotal} MHz allocated (${((cpuUsed / cpuTotal) * 100).toFixed(1)}%), ` +
      `memory ${memUsed}/${memTotal} MiB (${((memUsed / memTotal) * 100).toFixed(1)}%)\n` +
      `Evaluations: ${state.evals().length} (${stats.broker.counters.acked} acked, ${stats.broker.counters.nacked} nacked); ` +
      `plans: ${stats.planApplier.applied} applied, ${stats.planApplier.partiallyRejected} partly rejected; log index ${stats.index}\n` +
      `Scheduling took ${schedMs.toFixed(0)} ms (whole run ${(performance.now() - started).toFixed(0)} ms). Replay with -seed ${seed}.\n`,
  );
  await cluster.stop();
  return 0;
}

