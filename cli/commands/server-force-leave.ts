/**
 * `nomadts server force-leave <name>`: mark a failed server as left in gossip, cluster-wide (Serf's
 * force-leave); the Raft leader then removes it from the Raft configuration (issue 6).
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { withCluster } from './operator-io.js';

export async function serverForceLeave(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, {}, async (c, f) => {
    if (f.positional.length !== 1) throw new NomadError('invalid_argument', 'exactly one server name is required (see server members)', { field: 'name' });
    const name = f.positional[0]!;
    await c.forceLeave(name);
    out.stdout(`Server ${name} marked as left\n`);
    return Exit.ok;
  });
}
