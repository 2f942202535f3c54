/**
 * The job start latency benchmark: against a dev agent (a child process, found through the
 * discovery file), submit a raw_exec job running `sleep 30` the way `nomadts job run -detach`
 * does (one RegisterJob through ApiClient) and measure from the submit call to the first task of
 * its allocation reported `running`, watched with blocking listAllocs queries. Also split into
 * submit→allocation placed (the scheduler) and placed→running (the client: pull, task runner,
 * driver start, and its status report: a change of client status is sent within 5 ms, other
 * reports in 200 ms batches). Jobs are submitted one after
 * another, each with its own id; every job is stopped (purged) at the end.
 * Target (the issue): median ≤ 300 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../../agent/api/index.js';
import { AllocStatusChangeDelayMs, AllocSyncIntervalMs } from '../../agent/client/agent/index.js';
import type { Allocation } from '../../agent/core/structs/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { devAgentEnv, startDevAgent, stopDevAgent } from './dev-agent.js';
import { intOptions, summarize } from './stats.js';

const TargetMs = 300;

function jobHcl(id: string): string {
  return `job "${id}" {
  type = "service"
  group "g" {
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "sleep"
        args    = ["30"]
      }
      resources {
        cpu    = 10
        memory = 10
      }
    }
  }
}
`;
}

/** The first time (ms, performance clock) each milestone is seen for the job's allocations. */
async function watchUntilRunning(client: ApiClient, jobId: string, t0: number, index: number, deadlineMs: number): Promise<{ placedMs: number; runningMs: number }> {
  let placedMs: number | undefined;
  let at = index;
  for (;;) {
    const left = deadlineMs - (performance.now() - t0);
    if (left <= 0) throw new Error(`job ${jobId}: no task running after ${deadlineMs} ms`);
    const r = await client.listAllocs({ jobId }, { index: at, waitMs: Math.ceil(Math.min(left, 10_000)) });
    const now = performance.now() - t0;
    at = r.index;
    const allocs: Allocation[] = r.value;
    if (allocs.length > 0 && placedMs === undefined) placedMs = now;
    const running = allocs.some((a) => Object.values(a.taskStates).some((s) => s.state === 'running'));
    if (running) return { placedMs: placedMs ?? now, runningMs: now };
    const failed = allocs.find((a) => a.clientStatus === 'failed');
    if (failed !== undefined) throw new Error(`job ${jobId}: allocation ${failed.id} failed: ${JSON.stringify(failed.taskStates)}`);
  }
}

export async function jobLatencyBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { jobs: 50, warmup: 2 });
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const dir = mkdtempSync(join(tmpdir(), 'nomadts-bench-job-'));
  const env = devAgentEnv(dir);
  log(`starting a dev agent (data dir ${dir})...`);
  const agent = await startDevAgent(env, join(dir, 'data')).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const client = ApiClient.fromEnv(env);
  const submitted: string[] = [];
  try {
    log(`agent ready at ${agent.rpcAddr}; submitting ${o.warmup} warm-up and ${o.jobs} measured jobs one by one`);
    const total: number[] = [];
    const placed: number[] = [];
    const start: number[] = [];
    const register: number[] = [];
    for (let i = 0; i < o.warmup + o.jobs; i++) {
      const id = `latency-${i}`;
      const job = await parseJobText(jobHcl(id), { filename: `${id}.hcl` });
      const t0 = performance.now();
      const reply = await client.registerJob(job);
      const registered = performance.now() - t0;
      submitted.push(id);
      const m = await watchUntilRunning(client, id, t0, 0, 60_000);
      if (i < o.warmup) continue;
      register.push(registered);
      total.push(m.runningMs);
      placed.push(m.placedMs);
      start.push(m.runningMs - m.placedMs);
      if ((i - o.warmup + 1) % 10 === 0) log(`${i - o.warmup + 1}/${o.jobs}: last ${m.runningMs.toFixed(1)} ms (eval ${reply.evalId.slice(0, 8)})`);
    }
    const s = summarize(total);
    log(`submit → running: median ${s.medianMs} ms, p90 ${s.p90Ms} ms (target ${TargetMs})`);
    return {
      jobs: o.jobs,
      submitToRunning: s,
      submitToPlaced: summarize(placed),
      placedToRunning: summarize(start),
      registerCall: summarize(register),
      clientStatusBatchMs: AllocSyncIntervalMs,
      clientStatusChangeMs: AllocStatusChangeDelayMs,
      targetMs: TargetMs,
      meetsTarget: s.medianMs <= TargetMs,
    };
  } finally {
    log(`stopping ${submitted.length} jobs...`);
    for (const id of submitted) {
      try {
        await client.deregisterJob('default', id, true);
      } catch (err) {
        log(`could not stop ${id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    client.close();
    log('stopping the agent...');
    await stopDevAgent(agent.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
