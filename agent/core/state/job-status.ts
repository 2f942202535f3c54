/**
 * Job status as Nomad derives it (nomad/state/state_store.go getJobStatus/setJobStatus):
 *  - system, periodic and parameterized jobs are running until stopped, then dead;
 *  - any non-terminal allocation → running;
 *  - stopped (and no allocation still running) → dead;
 *  - any non-terminal evaluation → pending;
 *  - it had allocations or evaluations (all terminal), or its evals were just garbage
 *    collected → dead (a finished batch job);
 *  - otherwise pending (registered, nothing happened yet).
 */
import { allocTerminalStatus, evalTerminal } from '../structs/index.js';
import type { Allocation, Evaluation, Job, JobStatus } from '../structs/index.js';

/** Anything with a short-circuiting `some` (a persistent map) or an array. */
interface Collection<T> {
  some(pred: (v: T) => boolean): boolean;
}

export function deriveJobStatus(
  job: Pick<Job, 'type' | 'stop' | 'periodic' | 'parameterized'>,
  allocs: Collection<Allocation> | undefined,
  evals: Collection<Evaluation> | undefined,
  evalDelete: boolean,
): JobStatus {
  if (job.type === 'system' || job.periodic !== null || job.parameterized !== null) {
    return job.stop ? 'dead' : 'running';
  }
  let hasAlloc = false;
  const running =
    allocs?.some((a) => {
      hasAlloc = true;
      return !allocTerminalStatus(a);
    }) ?? false;
  if (running) return 'running';
  if (job.stop) return 'dead';
  let hasEval = false;
  const pendingEval =
    evals?.some((e) => {
      hasEval = true;
      return !evalTerminal(e);
    }) ?? false;
  if (pendingEval) return 'pending';
  if (evalDelete || hasEval || hasAlloc) return 'dead';
  return 'pending';
}
