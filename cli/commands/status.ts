/** `nomadts status [-json]`: Nomad's top-level status, the list of jobs. */
import type { Env } from './api-io.js';
import { Exit, json, positionals, withClient } from './api-io.js';
import { jobsTable } from './job-status.js';
import type { Out } from './jobspec-io.js';

export async function status(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'] }, async (client, f) => {
    positionals(f, []);
    const jobs = (await client.listJobs()).value;
    out.stdout(f.bool.has('json') ? json(jobs) : jobsTable(jobs));
    return Exit.ok;
  });
}

