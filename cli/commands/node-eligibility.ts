/** `nomadts node eligibility -enable|-disable <node>`: allow or forbid new placements on a node. */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals, resolveId, shortId, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

export async function nodeEligibility(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['enable', 'disable', 'self'] }, async (client, f) => {
    const enable = f.bool.has('enable');
    if (enable === f.bool.has('disable')) throw new NomadError('invalid_argument', 'give exactly one of -enable or -disable');
    if (f.bool.has('self')) throw new NomadError('invalid_argument', '-self needs a local client agent; give the node id instead');
    const [prefix] = positionals(f, ['node']);
    const id = await resolveId('node', prefix!, (p) => client.listNodes({ prefix: p }));
    await client.updateEligibility(id, enable ? 'eligible' : 'ineligible');
    out.stdout(`Node "${shortId(id)}" scheduling eligibility set: ${enable ? 'eligible' : 'ineligible'} for scheduling\n`);
    return Exit.ok;
  });
}

