/**
 * The load side of `npm run bench -- top` (a child process): a dev agent (server, client,
 * mutual-TLS gRPC) whose ops bus carries a synthetic stream of operational events at `--rate`
 * per second (the broker and plan steps of made-up evaluations, Raft status), while real batch
 * jobs are registered every 500 ms so state events flow too. Prints one JSON line with the
 * CLI environment, then runs until killed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from '../../agent/dev/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { intOptions } from './stats.js';

async function main(): Promise<void> {
  const o = intOptions(process.argv.slice(2), { rate: 1000 });
  const run = mkdtempSync(join(tmpdir(), 'nomadts-top-load-'));
  const agent = await startAgent({ dev: true, rpcPort: 0, seed: 11, nodeName: 'top-load', env: { XDG_RUNTIME_DIR: run } });
  await agent.client.registered();
  process.stdout.write(`${JSON.stringify({ cliEnv: agent.cliEnv })}\n`);
  const ops = agent.server.ops;
  const steps = ['EvalEnqueued', 'EvalDequeued', 'PlanSubmitted', 'PlanApplied', 'EvalAcked'] as const;
  let n = 0;
  const start = performance.now();
  setInterval(() => {
    // As many events as the rate asks for by now (timers run late on a busy machine).
    const due = Math.floor(((performance.now() - start) / 1000) * o.rate);
    for (; n < due; n++) {
      const evalId = `synthetic-${Math.floor(n / steps.length)}`;
      const step = steps[n % steps.length]!;
      const topic = step.startsWith('Plan') ? 'Plan' : 'Broker';
      ops.emit(topic, step, evalId, { jobId: `load-${n % 50}`, worker: 'worker-0', placements: 1, stops: 0, placed: 1, stopped: 0, rejected: [], scores: [] });
    }
  }, 10);
  let jobs = 0;
  setInterval(() => {
    const id = `top-load-${jobs++}`;
    void parseJobText(`job "${id}" {\n  type = "batch"\n  group "g" {\n    task "t" {\n      driver = "mock"\n      config {\n        run_for = "50ms"\n      }\n    }\n  }\n}\n`, { filename: `${id}.hcl` })
      .then((job) => agent.server.registerJob(job))
      .catch((err: unknown) => process.stderr.write(`${String(err)}\n`));
  }, 500);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
