/**
 * `nomadts job stop [-purge] [-detach] <job>`: deregister a job (its allocations are stopped);
 * -purge also removes it from the state. Monitors the resulting evaluation unless -detach.
 */
import type { Env } from './api-io.js';
import { Exit, positionals, resolveId, withClient } from './api-io.js';
import { monitorEval } from './eval-monitor.js';
import type { Out } from './jobspec-io.js';

export async function jobStop(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['purge', 'detach', 'yes'] }, async (client, f) => {
    const [prefix] = positionals(f, ['job']);
    const id = await resolveId('job', prefix!, (p) => client.listJobs({ prefix: p }));
    const job = (await client.getJob('', id)).value;
    const reply = await client.deregisterJob(job.namespace, id, f.bool.has('purge'));
    if (reply.evalId === '' ) {
      out.stdout(`Job "${id}" ${f.bool.has('purge') ? 'purged' : 'stopped'}\n`);
      return Exit.ok;
    }
    if (f.bool.has('detach')) {
      out.stdout(`${reply.evalId}\n`);
      return Exit.ok;
    }
    return monitorEval(client, reply.evalId, job.namespace, out);
  });
}

