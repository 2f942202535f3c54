/** `nomadts operator raft transfer-leadership [-peer-id ID | -peer-address HOST:PORT]`: hand leadership to a voter (default: the most up-to-date one). */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { withCluster } from './operator-io.js';

export async function operatorRaftTransferLeadership(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, { value: ['peer-id', 'peer-address'] }, async (c, f) => {
    if (f.positional.length > 0) throw new NomadError('invalid_argument', `unexpected argument ${f.positional.join(' ')}`);
    let id = f.value.get('peer-id') ?? '';
    const address = f.value.get('peer-address');
    if (id !== '' && address !== undefined) throw new NomadError('invalid_argument', 'give -peer-id or -peer-address, not both');
    if (address !== undefined) {
      const st = await c.raftStatus();
      const p = st.peers.find((x) => x.address === address);
      if (p === undefined) throw new NomadError('not_found', `no server at ${address} (servers: ${st.peers.map((x) => `${x.id}=${x.address}`).join(', ')})`, { field: 'peer-address' });
      id = p.id;
    }
    const leader = await c.transferLeadership(id);
    out.stdout(`Leadership transferred to ${leader}\n`);
    return Exit.ok;
  });
}
