/** `nomadts job validate [-var k=v]... [-var-file f]... <file>`: parse and validate offline. */
import type { Out } from './jobspec-io.js';
import { formatErrors, parseJobArgs, readJob } from './jobspec-io.js';

/** Returns the exit code: 0 when the job is valid, 1 otherwise (every error printed). */
export async function jobValidate(args: readonly string[], out: Out): Promise<number> {
  try {
    const a = parseJobArgs(args, []);
    await readJob(a);
    out.stdout('Job validation successful\n');
    return 0;
  } catch (err) {
    out.stderr(`Job validation errors:\n${formatErrors(err)}\n`);
    return 1;
  }
}

