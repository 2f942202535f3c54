/**
 * TEST FIXTURES for the core's tests, never imported by production code (excluded from
 * the build by tsconfig.build.json): canonical, fully-defaulted Job / TaskGroup / Task /
 * Node / Allocation / Evaluation / Deployment values, in the spirit of nomad's
 * `nomad/mock` package, and a read-only StateReader over plain arrays. Every builder
 * takes a patch shallow-merged over its defaults. Ids come from a per-prefix counter,
 * so a test file always produces the same ids (no randomness, no clock).
 *
 * Modules whose tests want other defaults keep a thin wrapper next to their tests
 * (state/fixtures.ts: id-first builders; broker/test-helpers.ts: evals with growing indexes).
 */
export { HOUR, MINUTE, mockId, SECOND } from './ids.js';
export {
  mockBatchJob,
  mockBatchReschedulePolicy,
  mockJob,
  mockJobVersion,
  mockRestartPolicy,
  mockServiceReschedulePolicy,
  mockTask,
  mockTaskGroup,
  mockUpdateStrategy,
} from './job.js';
export { mockNode, withComputedClass } from './node.js';
export { mockAlloc, mockAllocs, mockTaskState } from './alloc.js';
export type { MockAllocOptions } from './alloc.js';
export { mockEval } from './eval.js';
export { mockDeployment, mockDeploymentGroupState } from './deployment.js';
export { MockState } from './state.js';
