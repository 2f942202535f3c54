/**
 * `npm run sim -- --seeds N [--from S] [--seed S] [--nodes 3|5] [--ticks T] [--verbose]`: run the
 * seeded Raft simulation (agent/raft/sim) over many seeds, or replay one. A failing seed prints
 * itself, the command that replays it exactly, and the trace leading to the failure. The last
 * line is one JSON object.
 */
import { checkSimulation, replayCommand } from '../agent/raft/sim/index.js';
import type { SimOptions } from '../agent/raft/sim/index.js';

interface Args {
  seeds: number;
  from: number;
  seed: number | undefined;
  nodes: number | undefined;
  ticks: number | undefined;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: 100, from: 1, seed: undefined, nodes: undefined, ticks: undefined, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--verbose') {
      a.verbose = true;
      continue;
    }
    const raw = argv[++i];
    const v = Number(raw);
    if (raw === undefined || !Number.isInteger(v) || v < 0) throw new Error(`${flag}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
    switch (flag) {
      case '--seeds': a.seeds = v; break;
      case '--from': a.from = v; break;
      case '--seed': a.seed = v; break;
      case '--nodes':
        if (v !== 3 && v !== 5) throw new Error(`--nodes: expected 3 or 5, got ${v}`);
        a.nodes = v;
        break;
      case '--ticks': a.ticks = v; break;
      default: throw new Error(`unknown flag ${flag} (flags: --seeds N --from S --seed S --nodes 3|5 --ticks T --verbose)`);
    }
  }
  return a;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const seeds = args.seed !== undefined ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => args.from + i);
  const started = performance.now();
  const failed: number[] = [];
  let unknown = 0;
  let ops = 0;
  for (const seed of seeds) {
    const opts: SimOptions = {
      seed,
      ...(args.nodes !== undefined ? { nodes: args.nodes } : {}),
      ...(args.ticks !== undefined ? { faultTicks: args.ticks } : {}),
      traceLines: args.verbose ? 2000 : 60,
    };
    const r = checkSimulation(opts);
    ops += r.operations;
    if (r.verdict === 'unknown') unknown++;
    if (args.verbose || seeds.length === 1) {
      process.stdout.write(`seed ${seed}: ${r.ok ? 'ok' : 'FAILED'} verdict=${r.verdict} ops=${r.operations} ${JSON.stringify(r.stats ?? {})}\n`);
    }
    if (!r.ok) {
      failed.push(seed);
      process.stdout.write(`FAILED ${r.error ?? ''}\n  replay: ${replayCommand(opts)}\n`);
      for (const line of r.trace ?? []) process.stdout.write(`  ${line}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ sim: 'raft', seeds: seeds.length, failed, unknownVerdicts: unknown, operations: ops, seconds: Number(seconds.toFixed(1)) })}\n`);
  if (failed.length > 0) process.exitCode = 1;
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
