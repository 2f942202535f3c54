/** `nomadts eval list [-json] [-job <job>] [-status <status>]`: evaluations, oldest first. */
import { NomadError } from '../../agent/core/lib/index.js';
import type { EvalStatus } from '../../agent/core/structs/index.js';
import type { Env } from './api-io.js';
import { Exit, json, positionals, withClient } from './api-io.js';
import { evalsTable } from './job-status.js';
import type { Out } from './jobspec-io.js';

const Statuses: readonly EvalStatus[] = ['blocked', 'pending', 'complete', 'failed', 'canceled'];

export async function evalList(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'], value: ['job', 'status'] }, async (client, f) => {
    positionals(f, []);
    const jobId = f.value.get('job');
    const status = f.value.get('status');
    if (status !== undefined && !(Statuses as readonly string[]).includes(status)) {
      throw new NomadError('invalid_argument', `-status must be one of ${Statuses.join(', ')}, got ${JSON.stringify(status)}`);
    }
    const evals = (await client.listEvals({ ...(jobId !== undefined ? { jobId } : {}), ...(status !== undefined ? { status: status as EvalStatus } : {}) }, { namespace: '*' })).value;
    out.stdout(f.bool.has('json') ? json(evals) : evalsTable(evals));
    return Exit.ok;
  });
}

