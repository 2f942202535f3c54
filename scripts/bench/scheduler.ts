/**
 * The scheduler benchmark: 5,000 simulated nodes of mixed sizes in three
 * datacenters and four node classes; 1,000 service jobs of count 50 and 100
 * batch jobs, with constraints and spread; everything through the broker,
 * workers, schedulers, plan applier and FSM in one process.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../agent/core/lib/index.js';
import { evaluatePlan } from '../../agent/core/plan/index.js';
import { Fsm, StateStore } from '../../agent/core/state/index.js';
import type { FsmCommand, StateSnapshot } from '../../agent/core/state/index.js';
import { SeededRng } from '../../agent/core/lib/index.js';
import type { Allocation, Job, Plan, StateReader } from '../../agent/core/structs/index.js';
import { allocTerminalStatus } from '../../agent/core/structs/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { SystemClock } from '../../agent/runtime/index.js';
import { SimCluster } from '../../agent/sim/index.js';

/** Wall time with sub-millisecond resolution, for measuring evaluation latency. */
class PreciseClock extends SystemClock implements Clock {
  override now(): number {
    return performance.timeOrigin + performance.now();
  }
}

interface Options {
  nodes: number;
  serviceJobs: number;
  serviceCount: number;
  batchJobs: number;
  batchCount: number;
  workers: number;
  seed: number;
  /** 1: also report `placementHash` (for checking that a change leaves placements identical). */
  hash: number;
  /** 0: workers run evaluations back to back instead of giving the event loop a turn after each. */
  workerYield: number;
  /**
   * N > 0: record the FSM commands and the plans of the timed span, then time applying
   * the commands to a fresh FSM and evaluating the plans again, best of N rounds (CPU
   * time; the scheduler and most of the machine's load left out). Holds every plan's
   * snapshot meanwhile, so peak RSS is not comparable in such a run.
   */
  replay: number;
  /**
   * 1: also report `heapRetainedPerPlacementB`: the heap in use after a full collection at the
   * end of the timed span minus the same just before it, per live allocation (needs --expose-gc).
   */
  heap: number;
}

function parseArgs(args: string[]): Options {
  const o: Options = { nodes: 5_000, serviceJobs: 1_000, serviceCount: 50, batchJobs: 100, batchCount: 50, workers: 2, seed: 42, hash: 0, workerYield: 1, replay: 0, heap: 0 };
  for (const a of args) {
    const m = /^--?([a-z-]+)=(\d+)$/.exec(a);
    if (m === null) throw new Error(`unknown argument ${a} (use --nodes=N --service-jobs=N --service-count=N --batch-jobs=N --batch-count=N --workers=N --seed=N --hash=1 --worker-yield=0 --replay=N --heap=1)`);
    const key = m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof Options;
    if (!(key in o)) throw new Error(`unknown option --${m[1]}`);
    o[key] = Number(m[2]);
  }
  return o;
}

/** HCL for one benchmark job: a mix of constraints, datacenters and (for some) a spread. */
function jobHcl(kind: 'service' | 'batch', i: number, count: number): string {
  const dcs = i % 3 === 0 ? '["dc1", "dc2", "dc3"]' : i % 3 === 1 ? '["dc1", "dc2"]' : '["*"]';
  const cpu = 100 + (i % 5) * 100;
  const mem = 64 + (i % 4) * 64;
  const classConstraint = i % 4 === 0 ? `\n    constraint {\n      attribute = "\${node.class}"\n      operator  = "!="\n      value     = "small"\n    }` : '';
  const spread = kind === 'service' && i % 10 === 0 ? `\n    spread {\n      attribute = "\${node.datacenter}"\n      weight    = 50\n    }` : '';
  const distinct = kind === 'service' && i % 7 === 0 ? `\n    constraint {\n      operator = "distinct_hosts"\n      value    = "true"\n    }` : '';
  return `job "${kind}-${i}" {
  type        = "${kind}"
  datacenters = ${dcs}
  priority    = ${kind === 'service' ? 50 + (i % 3) * 10 : 40}

  constraint {
    attribute = "\${attr.kernel.name}"
    value     = "linux"
  }

  group "g" {
    count = ${count}${classConstraint}${spread}${distinct}

    task "t" {
      driver = "${i % 2 === 0 ? 'raw_exec' : 'exec'}"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = ${cpu}
        memory = ${mem}
      }
    }
  }
}
`;
}

/** JSON with object keys sorted, so the hash does not depend on construction order. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/**
 * A hash of every live allocation's id, name, node and metrics (score metadata
 * included; `allocationTime` is wall time and left out), in id order: equal
 * hashes for one seed mean a change left every placement and its scores alone.
 */
function placementHash(allocs: readonly Allocation[]): string {
  const h = createHash('sha256');
  for (const a of [...allocs].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    if (allocTerminalStatus(a)) continue;
    const { allocationTime: _t, ...metrics } = a.metrics;
    h.update(`${a.id} ${a.name} ${a.nodeId} ${canonical(metrics)}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

interface Recording {
  base: StateSnapshot | null;
  commands: [number, FsmCommand][];
  /** Each plan with the state the applier checked it against. */
  plans: { state: StateReader; plan: Plan }[];
  /** Log index of a plan result → the state just before it was applied. */
  before: Map<number, StateSnapshot>;
}

function cpuMsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Best-of-`rounds` CPU time of re-applying the recorded commands and re-evaluating the plans. */
function replay(rec: Recording, rounds: number, placements: number): Record<string, number> {
  let fsmAll = Infinity;
  let fsmPlans = Infinity;
  let evals = Infinity;
  for (let r = 0; r < rounds; r++) {
    const fsm = new Fsm({ store: new StateStore(rec.base!.tables), freezeObjects: false });
    let plansMs = 0;
    const t0 = cpuMsNow();
    for (const [index, cmd] of rec.commands) {
      if (cmd.type !== 'ApplyPlanResults') {
        fsm.apply(index, cmd);
        continue;
      }
      const t = cpuMsNow();
      fsm.apply(index, cmd);
      plansMs += cpuMsNow() - t;
    }
    fsmAll = Math.min(fsmAll, cpuMsNow() - t0);
    fsmPlans = Math.min(fsmPlans, plansMs);
    const t1 = cpuMsNow();
    for (const { state, plan } of rec.plans) evaluatePlan(state, plan);
    evals = Math.min(evals, cpuMsNow() - t1);
  }
  const us = (ms: number) => Number(((ms * 1000) / Math.max(1, placements)).toFixed(2));
  return { rounds, commands: rec.commands.length, plans: rec.plans.length, fsmAllMs: Math.round(fsmAll), fsmPlanResultsUsPerPlacement: us(fsmPlans), evaluatePlanUsPerPlacement: us(evals) };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function schedulerBench(args: string[]): Promise<Record<string, unknown>> {
  const o = parseArgs(args);
  const log = (s: string) => process.stderr.write(`${s}\n`);

  log(`building ${o.nodes} nodes, parsing ${o.serviceJobs + o.batchJobs} jobs...`);
  const jobs: Job[] = [];
  for (let i = 0; i < o.serviceJobs; i++) jobs.push(await parseJobText(jobHcl('service', i, o.serviceCount), { filename: `service-${i}.hcl` }));
  for (let i = 0; i < o.batchJobs; i++) jobs.push(await parseJobText(jobHcl('batch', i, o.batchCount), { filename: `batch-${i}.hcl` }));

  const clock = new PreciseClock();
  const rec: Recording | null = o.replay > 0 ? { base: null, commands: [], plans: [], before: new Map() } : null;
  const dequeuedAt = new Map<string, number>();
  const evalMs: number[] = [];
  let plansRejected = 0;
  const cluster = await SimCluster.start({
    clock,
    rng: new SeededRng(o.seed),
    workers: o.workers,
    workerYield: o.workerYield !== 0,
    eventBufferSize: 8_192,
    nodes: { count: o.nodes },
    onWorkerStep: (s) => {
      if (s.kind === 'dequeued') dequeuedAt.set(s.evalId, s.at);
      else if (s.kind === 'acked' || s.kind === 'nacked') {
        const t0 = dequeuedAt.get(s.evalId);
        if (t0 !== undefined) evalMs.push(s.at - t0);
        dequeuedAt.delete(s.evalId);
      }
    },
    onPlanApplied: (p, r) => {
      if (rec !== null && rec.base !== null) rec.plans.push({ plan: p, state: r.allocIndex > 0 ? rec.before.get(r.allocIndex)! : cluster.server.state() });
      if (r.rejectedNodes.length > 0) plansRejected++;
    },
  });

  if (rec !== null) {
    const fsm = cluster.server.fsm;
    const apply = fsm.apply.bind(fsm);
    rec.base = fsm.store.snapshot();
    fsm.apply = (index, cmd) => {
      if (cmd.type === 'ApplyPlanResults') rec.before.set(index, fsm.store.snapshot());
      rec.commands.push([index, cmd]);
      return apply(index, cmd);
    };
  }

  const fullGc = (): number => {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g === undefined) throw new Error('--heap=1 needs node --expose-gc');
    g();
    g();
    return process.memoryUsage().heapUsed;
  };
  const heap0 = o.heap === 1 ? fullGc() : 0;

  log('scheduling...');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (const job of jobs) await cluster.submit(job);
  await cluster.settle();
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  // The kernel's high-water mark of this process's resident set (no sampler in the timed span:
  // process.memoryUsage() every 50 ms cost ~1% of it).
  const peakRss = process.resourceUsage().maxRSS * 1024;

  const state = cluster.server.state();
  let placed = 0;
  let evaluated = 0;
  let scored = 0;
  for (const a of state.allocs()) {
    if (allocTerminalStatus(a)) continue;
    placed++;
    evaluated += a.metrics.nodesEvaluated;
    scored += a.metrics.nodesEvaluated - a.metrics.nodesFiltered - a.metrics.nodesExhausted;
  }
  const hash = o.hash === 1 ? placementHash(state.allocs()) : undefined;
  const heapRetained = o.heap === 1 ? fullGc() - heap0 : undefined;
  const wanted = o.serviceJobs * o.serviceCount + o.batchJobs * o.batchCount;
  const evals = state.evals();
  const stats = cluster.server.stats();
  await cluster.stop();
  const replayed = rec !== null ? replay(rec, o.replay, placed) : undefined;
  evalMs.sort((a, b) => a - b);

  const result = {
    nodes: o.nodes,
    jobs: jobs.length,
    placementsWanted: wanted,
    placements: placed,
    elapsedMs: Math.round(elapsedMs),
    placementsPerSec: Math.round((placed / elapsedMs) * 1000),
    // CPU time of the process over the same span (all threads, GC helpers included): on a
    // shared, loaded machine this is the steadier figure for comparing versions.
    cpuMs: Math.round(cpuMs),
    placementsPerCpuSec: Math.round((placed / cpuMs) * 1000),
    evaluations: evals.length,
    evalsComplete: evals.filter((e) => e.status === 'complete').length,
    evalsBlocked: evals.filter((e) => e.status === 'blocked').length,
    evalP50Ms: Number(percentile(evalMs, 50).toFixed(2)),
    evalP99Ms: Number(percentile(evalMs, 99).toFixed(2)),
    nodesEvaluatedPerPlacement: Number((evaluated / Math.max(1, placed)).toFixed(1)),
    nodesScoredPerPlacement: Number((scored / Math.max(1, placed)).toFixed(1)),
    plansApplied: stats.planApplier.applied,
    plansPartlyRejected: plansRejected,
    workers: o.workers,
    peakRssMB: Math.round(peakRss / 1024 / 1024),
    ...(hash !== undefined ? { placementHash: hash } : {}),
    ...(heapRetained !== undefined ? { heapRetainedPerPlacementB: Math.round(heapRetained / Math.max(1, placed)) } : {}),
    ...(replayed !== undefined ? { replay: replayed } : {}),
    targets: { placementsPerSec: 20_000, peakRssMB: 2_048 },
  };
  log(`placed ${placed}/${wanted} in ${result.elapsedMs} ms: ${result.placementsPerSec} placements/s (${result.placementsPerCpuSec} per CPU-second), eval p50 ${result.evalP50Ms} ms p99 ${result.evalP99Ms} ms, peak RSS ${result.peakRssMB} MB`);
  return result;
}
