/** `nomadts operator raft remove-peer -peer-id ID`: remove a server from the Raft configuration (a membership change through the leader). */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { withCluster } from './operator-io.js';

export async function operatorRaftRemovePeer(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, { value: ['peer-id'] }, async (c, f) => {
    if (f.positional.length > 0) throw new NomadError('invalid_argument', `unexpected argument ${f.positional.join(' ')}`);
    const id = f.value.get('peer-id');
    if (id === undefined || id === '') throw new NomadError('invalid_argument', '-peer-id is required (see operator raft list-peers)', { field: 'peer-id' });
    const index = await c.removePeer(id);
    out.stdout(`Removed peer ${id} (index ${index})\n`);
    return Exit.ok;
  });
}
