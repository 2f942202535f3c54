/** Run one seed end to end: the simulation, then the linearizability check of its history. */
import { checkHistory, registerModel } from '../lincheck/index.js';
import type { Verdict } from '../lincheck/index.js';
import { runSimulation, SimFailure } from './sim.js';
import type { SimOptions, SimStats } from './sim.js';

export interface SeedReport {
  readonly seed: number;
  readonly nodes: number;
  readonly ok: boolean;
  readonly verdict: Verdict | 'not-run';
  /** What failed (safety, liveness or linearizability) and the trace leading to it. */
  readonly error?: string;
  readonly trace?: readonly string[];
  readonly stats?: SimStats;
  readonly operations: number;
}

export function replayCommand(opts: SimOptions): string {
  const extra = [
    opts.nodes !== undefined ? ` --nodes ${opts.nodes}` : '',
    opts.faultTicks !== undefined ? ` --ticks ${opts.faultTicks}` : '',
  ].join('');
  return `npm run sim -- --seed ${opts.seed}${extra}`;
}

/** Simulate `opts.seed` and check its history; never throws for a protocol failure. */
export function checkSimulation(opts: SimOptions, maxSteps = 2_000_000): SeedReport {
  let res;
  try {
    res = runSimulation(opts);
  } catch (err) {
    if (err instanceof SimFailure) {
      return { seed: opts.seed, nodes: opts.nodes ?? 0, ok: false, verdict: 'not-run', error: err.message, trace: err.trace, operations: 0 };
    }
    throw err;
  }
  const check = checkHistory(res.history, registerModel, { maxSteps });
  const ok = check.verdict !== 'not-linearizable';
  return {
    seed: opts.seed, nodes: res.nodes, ok, verdict: check.verdict, stats: res.stats, operations: check.operations,
    ...(ok ? {} : { error: `seed ${opts.seed}: client history is not linearizable (keys: ${check.keys.filter((k) => k.verdict === 'not-linearizable').map((k) => k.key).join(', ')})` }),
  };
}
