/** `nomadts server join <serf host:port>...`: the addressed server joins the gossip of the servers at these addresses (issue 6). */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { withCluster } from './operator-io.js';

export async function serverJoin(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, {}, async (c, f) => {
    if (f.positional.length === 0) throw new NomadError('invalid_argument', 'at least one gossip address (host:port) is required', { field: 'addresses' });
    const n = await c.join(f.positional);
    out.stdout(`Joined ${n} servers successfully\n`);
    return Exit.ok;
  });
}
