/** `nomadts job inspect [-json] <job>`: the registered job (latest version) as JSON. */
import { jobToJSON } from '../../agent/jobspec/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals, resolveId, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

export async function jobInspect(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'] }, async (client, f) => {
    const [prefix] = positionals(f, ['job']);
    const id = await resolveId('job', prefix!, (p) => client.listJobs({ prefix: p }));
    const job = (await client.getJob('', id)).value;
    // Always JSON (-json is accepted for symmetry with Nomad); `job run` and `job validate` read it back.
    out.stdout(jobToJSON(job));
    return Exit.ok;
  });
}

