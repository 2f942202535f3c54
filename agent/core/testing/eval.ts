import type { Evaluation } from '../structs/index.js';
import { newEvaluation } from '../structs/index.js';
import { mockId } from './ids.js';

/** A pending `job-register` evaluation of the service job `my-job`; its id comes from the `eval` counter unless patched. */
export function mockEval(patch: Partial<Evaluation> = {}): Evaluation {
  return newEvaluation({
    id: patch.id ?? mockId('eval'),
    namespace: 'default',
    priority: 50,
    type: 'service',
    triggeredBy: 'job-register',
    jobId: 'my-job',
    ...patch,
  });
}
