/**
 * `npm run bench -- <name>`: run one benchmark and print its figures, the last
 * line being one JSON object. See docs/benchmarks.md for what each measures.
 */
import { cliBench } from './bench/cli.js';
import { evalStormBench } from './bench/eval-storm.js';
import { dockerLogsBench } from './bench/docker-logs.js';
import { driversBench } from './bench/drivers.js';
import { gossipBench } from './bench/gossip.js';
import { jobLatencyBench } from './bench/job-latency.js';
import { logmonBench } from './bench/logmon.js';
import { raftBench } from './bench/raft.js';
import { raftLogBench } from './bench/raft-log.js';
import { schedulerBench } from './bench/scheduler.js';
import { topBench } from './bench/top.js';

const benches: Record<string, (args: string[]) => Promise<Record<string, unknown>>> = {
  scheduler: schedulerBench,
  cli: cliBench,
  'job-latency': jobLatencyBench,
  top: topBench,
  'eval-storm': evalStormBench,
  drivers: driversBench,
  'docker-logs': dockerLogsBench,
  logmon: logmonBench,
  raft: raftBench,
  'raft-log': raftLogBench,
  gossip: gossipBench,
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const run = name === undefined ? undefined : benches[name];
  if (run === undefined) {
    process.stderr.write(`usage: npm run bench -- <name> [options]\nbenchmarks: ${Object.keys(benches).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const result = await run(args);
  process.stdout.write(`${JSON.stringify({ bench: name, ...result })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
