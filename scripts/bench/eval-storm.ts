/**
 * The eval-storm benchmark: Nomad 1.4.3's load-shedding test. 5,000 simulated
 * nodes run 10 system jobs and 200 service jobs. With the scheduler workers
 * paused (broker paused), nodes go down and come back, each change evaluating
 * every system job and every job with allocations on the node, so ~50,000
 * evaluations queue. Then the workers resume and the clock runs until the broker
 * is empty (nothing ready, in flight, pending or waiting to be cancelled).
 * The same storm runs twice in one process: load shedding ON, then OFF.
 */
import { performance } from 'node:perf_hooks';
import { SeededRng } from '../../agent/core/lib/index.js';
import type { Job } from '../../agent/core/structs/index.js';
import { allocTerminalStatus } from '../../agent/core/structs/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { SystemClock } from '../../agent/runtime/index.js';
import { SimCluster } from '../../agent/sim/index.js';
import { intOptions } from './stats.js';

const Defaults = { nodes: 5_000, systemJobs: 10, serviceJobs: 200, serviceCount: 10, flapping: 2_400, workers: 2, seed: 7, off: 1, offBudgetS: 120 };
type Options = typeof Defaults;

function jobHcl(kind: 'system' | 'service', i: number, count: number): string {
  return `job "${kind}-${i}" {
  type        = "${kind}"
  datacenters = ["*"]
  priority    = ${kind === 'system' ? 70 : 50}
  group "g" {
    ${kind === 'service' ? `count = ${count}` : ''}
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = ${kind === 'system' ? 20 : 100}
        memory = ${kind === 'system' ? 16 : 64}
      }
    }
  }
}
`;
}

export interface StormRun {
  loadShedding: boolean;
  evalsCreated: number;
  evalsProcessed: number;
  evalsCancelled: number;
  cancellationWrites: number;
  blocked: number;
  unblocked: number;
  timeUntilEmptyMs: number;
  /** True when the run was stopped at its time budget and timeUntilEmptyMs extrapolated from the rate so far. */
  extrapolated: boolean;
  peakRssMB: number;
  peakHeapMB: number;
  liveAllocs: number;
  byType: Record<string, unknown>;
}

function sumCounters(evals: Record<string, { created: number; processed: number; cancelled: number; blocked: number; unblocked: number }>) {
  const t = { created: 0, processed: 0, cancelled: 0, blocked: 0, unblocked: 0 };
  for (const c of Object.values(evals)) {
    t.created += c.created;
    t.processed += c.processed;
    t.cancelled += c.cancelled;
    t.blocked += c.blocked;
    t.unblocked += c.unblocked;
  }
  return t;
}

async function oneRun(o: Options, jobs: Job[], loadShedding: boolean, budgetMs: number, log: (s: string) => void): Promise<StormRun> {
  (globalThis as { gc?: () => void }).gc?.();
  const clock = new SystemClock();
  const rng = new SeededRng(o.seed);
  log(`[shedding ${loadShedding ? 'ON' : 'OFF'}] ${o.nodes} nodes, placing ${jobs.length} jobs...`);
  // Workers chain evaluations through promise callbacks without yielding to the event
  // loop while the broker has work, so timers (a memory sampler, a budget check) would not
  // run: sample and check from the worker's own steps instead.
  const probe = { t0: 0, budgetMs: 0, stop: false, peakRss: 0, peakHeap: 0, steps: 0, onStop: () => undefined as void };
  const sample = (): void => {
    const m = process.memoryUsage();
    probe.peakRss = Math.max(probe.peakRss, m.rss);
    probe.peakHeap = Math.max(probe.peakHeap, m.heapUsed);
  };
  const cluster = await SimCluster.start({
    clock,
    rng,
    workers: o.workers,
    eventBufferSize: 4_096,
    nodes: { count: o.nodes },
    loadShedding,
    onWorkerStep: (s) => {
      if (s.kind !== 'acked' || probe.t0 === 0) return;
      if (++probe.steps % 25 === 0) sample();
      if (!probe.stop && probe.budgetMs > 0 && performance.now() - probe.t0 > probe.budgetMs) {
        probe.stop = true;
        probe.onStop();
      }
    },
  });
  for (const job of jobs) await cluster.submit(job);
  await cluster.settle();
  const server = cluster.server;
  const beforeByType = server.stats().evals;
  const before = sumCounters(beforeByType);
  const writesBefore = server.reaper.stats().writes;

  // The storm: workers see nothing while nodes go down and come back.
  server.broker.pause();
  const flapping = cluster.nodes.slice(0, Math.min(o.flapping, cluster.nodes.length));
  for (const n of flapping) await server.updateNodeStatus(n.id, 'down');
  for (const n of flapping) await server.updateNodeStatus(n.id, 'ready');
  const queued = server.broker.counts;
  log(`[shedding ${loadShedding ? 'ON' : 'OFF'}] ${flapping.length} nodes flapped: ${queued.ready} ready, ${queued.pending} pending; resuming workers`);

  sample();
  const sampler = setInterval(sample, 50);
  const t0 = performance.now();
  probe.t0 = t0;
  probe.budgetMs = budgetMs;
  probe.onStop = () => server.broker.pause();
  server.broker.resume();
  let lastLog = t0;
  let extrapolated = false;
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const c = server.broker.counts;
    if (c.ready + c.unacked + c.pending + c.cancelable + c.delayed === 0 && server.planApplier.stats().queueDepth === 0) break;
    const now = performance.now();
    if (probe.stop) {
      extrapolated = true;
      break;
    }
    if (now - lastLog > 10_000) {
      lastLog = now;
      log(`  ${Math.round((now - t0) / 1000)} s: ${c.ready} ready, ${c.pending} pending, ${c.cancelable} cancelable, ${sumCounters(server.stats().evals).processed - before.processed} processed`);
    }
  }
  let timeUntilEmptyMs = performance.now() - t0;
  if (extrapolated) {
    // Out of budget: the rest would go at the rate so far (evals left ÷ evals per ms).
    const done = sumCounters(server.stats().evals).processed - before.processed;
    const total = sumCounters(server.stats().evals).created - before.created;
    timeUntilEmptyMs = (timeUntilEmptyMs * total) / Math.max(1, done);
    log(`  budget spent after ${done} of ${total} evals: extrapolating`);
  }
  clearInterval(sampler);
  sample();
  // Let a reaper write still in flight land before counting.
  if (!extrapolated) await cluster.settle();
  const stats = server.stats();
  const after = sumCounters(stats.evals);
  const state = server.state();
  let liveAllocs = 0;
  for (const a of state.allocs()) if (!allocTerminalStatus(a)) liveAllocs++;
  await cluster.stop();
  const byType: Record<string, Record<string, number>> = {};
  for (const [t, c] of Object.entries(stats.evals)) {
    const b = beforeByType[t] ?? { created: 0, processed: 0, cancelled: 0, blocked: 0, unblocked: 0 };
    byType[t] = { created: c.created - b.created, processed: c.processed - b.processed, cancelled: c.cancelled - b.cancelled, blocked: c.blocked - b.blocked, unblocked: c.unblocked - b.unblocked };
  }
  return {
    loadShedding,
    evalsCreated: after.created - before.created,
    evalsProcessed: after.processed - before.processed,
    evalsCancelled: after.cancelled - before.cancelled,
    cancellationWrites: stats.reaper.writes - writesBefore,
    blocked: after.blocked - before.blocked,
    unblocked: after.unblocked - before.unblocked,
    timeUntilEmptyMs: Math.round(timeUntilEmptyMs),
    extrapolated,
    peakRssMB: Math.round(probe.peakRss / 2 ** 20),
    peakHeapMB: Math.round(probe.peakHeap / 2 ** 20),
    liveAllocs,
    byType,
  };
}

export async function evalStormBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, Defaults);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const jobs: Job[] = [];
  for (let i = 0; i < o.systemJobs; i++) jobs.push(await parseJobText(jobHcl('system', i, 0), { filename: `system-${i}.hcl` }));
  for (let i = 0; i < o.serviceJobs; i++) jobs.push(await parseJobText(jobHcl('service', i, o.serviceCount), { filename: `service-${i}.hcl` }));

  const on = await oneRun(o, jobs, true, 0, log);
  log(JSON.stringify(on));
  const off = o.off === 0 ? null : await oneRun(o, jobs, false, o.offBudgetS * 1000, log);
  if (off !== null) log(JSON.stringify(off));
  const targets = {
    processedAtMost10PctOfCreated: on.evalsProcessed <= on.evalsCreated * 0.1,
    cancellationWritesAtMostCreatedOver500: on.cancellationWrites <= on.evalsCreated / 500,
    emptyAtLeast10xSooner: off === null ? null : off.timeUntilEmptyMs >= 10 * on.timeUntilEmptyMs,
  };
  return {
    nodes: o.nodes,
    systemJobs: o.systemJobs,
    serviceJobs: o.serviceJobs,
    flappingNodes: Math.min(o.flapping, o.nodes),
    on,
    off,
    speedup: off === null ? null : Math.round((off.timeUntilEmptyMs / Math.max(1, on.timeUntilEmptyMs)) * 10) / 10,
    targets,
  };
}
