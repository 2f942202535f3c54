/**
 * `nomadts job run -output [-var k=v]... [-var-file f]... <file>`: print the canonical JSON
 * of a job without submitting it. (Nomad's `job inspect` reads a registered job; that
 * arrives with the API. Submitting — `job run` without -output — needs a running agent.)
 */
import type { Command } from 'commander';
import { jobToJSON } from '../../agent/jobspec/index.js';
import type { Out } from './jobspec-io.js';
import { VAR_HELP, formatErrors, jobGroup, parseJobArgs, processOut, readJob } from './jobspec-io.js';

export const NEEDS_AGENT = 'Submitting a job needs a running nomadts agent, which this build does not have yet (it arrives with the client/server work). Use -output to print the canonical job JSON, or `nomadts job validate` to check it.';

export async function jobRun(args: readonly string[], out: Out): Promise<number> {
  let output: boolean;
  try {
    const a = parseJobArgs(args, ['output']);
    output = a.flags.has('output');
    const job = await readJob(a);
    if (output) {
      out.stdout(jobToJSON(job));
      return 0;
    }
  } catch (err) {
    out.stderr(`Error parsing job:\n${formatErrors(err)}\n`);
    return 1;
  }
  out.stderr(`${NEEDS_AGENT}\n`);
  return 1;
}

export function register(program: Command): void {
  jobGroup(program)
    .command('run')
    .description('Submit a job (needs an agent); with -output, print its canonical JSON instead')
    .argument('[args...]', 'flags and the job file')
    .allowUnknownOption(true)
    .addHelpText('after', `${VAR_HELP}  -output            print the canonical JSON and do not submit\n`)
    .action(async (args: string[]) => {
      process.exitCode = await jobRun(args, processOut);
    });
}
