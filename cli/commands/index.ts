import type { Command } from 'commander';
import { register as registerJobValidate } from './job-validate.js';
import { register as registerJobRun } from './job-inspect.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerTlsCaCreate } from './tls-ca-create.js';
import { register as registerTlsCertCreate } from './tls-cert-create.js';

/** Each command file exports one `register(program)`; the order here is the order in `--help`. */
const registrars: ((program: Command) => void)[] = [
  registerJobValidate,
  registerJobRun,
  registerSimulate,
  registerTlsCaCreate,
  registerTlsCertCreate,
];

export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
