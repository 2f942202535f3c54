import type { Command } from 'commander';
import { register as registerAgent } from './agent.js';
import { register as registerAllocStatus } from './alloc-status.js';
import { register as registerEvalList } from './eval-list.js';
import { register as registerEvalStatus } from './eval-status.js';
import { register as registerJobInspect } from './job-inspect.js';
import { register as registerJobPlan } from './job-plan.js';
import { register as registerJobRun } from './job-run.js';
import { register as registerJobStatus } from './job-status.js';
import { register as registerJobStop } from './job-stop.js';
import { register as registerJobValidate } from './job-validate.js';
import { register as registerNodeEligibility } from './node-eligibility.js';
import { register as registerNodeStatus } from './node-status.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerStatus } from './status.js';
import { register as registerTlsCaCreate } from './tls-ca-create.js';
import { register as registerTlsCertCreate } from './tls-cert-create.js';
import { register as registerVersion } from './version.js';

/** Each command file exports one `register(program)`; the order here is the order in `--help`. */
const registrars: ((program: Command) => void)[] = [
  registerAgent,
  registerJobRun,
  registerJobStatus,
  registerJobStop,
  registerJobPlan,
  registerJobInspect,
  registerJobValidate,
  registerNodeStatus,
  registerNodeEligibility,
  registerEvalStatus,
  registerEvalList,
  registerAllocStatus,
  registerStatus,
  registerSimulate,
  registerTlsCaCreate,
  registerTlsCertCreate,
  registerVersion,
];

export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
