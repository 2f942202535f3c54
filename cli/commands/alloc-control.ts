/**
 * `nomadts alloc signal`, `alloc restart` and `alloc stop`, as Nomad's: signal a task (or every
 * running task) of an allocation, restart it in place outside its restart policy, or stop the
 * allocation (the scheduler replaces it; the evaluation is monitored unless -detach). Signal and
 * restart are served by the agent whose client runs the allocation.
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals, resolveId, withClient } from './api-io.js';
import { monitorEval } from './eval-monitor.js';
import type { Out } from './jobspec-io.js';

/** Nomad's default for `alloc signal -s`. */
export const DefaultSignal = 'SIGKILL';

export async function allocSignal(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { value: ['s'] }, async (client, f) => {
    const [prefix, task] = positionals(f, ['alloc', 'task'], true);
    if (prefix === undefined) throw new NomadError('invalid_argument', 'expected <alloc> [<task>], got nothing');
    const sig = f.value.get('s') ?? DefaultSignal;
    if (sig.trim() === '') throw new NomadError('invalid_argument', '-s needs a signal name such as SIGUSR1', { field: 's' });
    const id = await resolveId('allocation', prefix, (p) => client.listAllocs({}, { prefix: p, namespace: '*' }));
    await client.signalAlloc(id, task ?? '', sig);
    out.stdout(`Sent ${sig} to ${task === undefined ? 'the running tasks' : `task "${task}"`} of allocation ${id}\n`);
    return Exit.ok;
  });
}

export async function allocRestart(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, {}, async (client, f) => {
    const [prefix, task] = positionals(f, ['alloc', 'task'], true);
    if (prefix === undefined) throw new NomadError('invalid_argument', 'expected <alloc> [<task>], got nothing');
    const id = await resolveId('allocation', prefix, (p) => client.listAllocs({}, { prefix: p, namespace: '*' }));
    await client.restartAlloc(id, task ?? '');
    out.stdout(`Restarted ${task === undefined ? 'the running tasks' : `task "${task}"`} of allocation ${id}\n`);
    return Exit.ok;
  });
}

export async function allocStop(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['detach'] }, async (client, f) => {
    const [prefix] = positionals(f, ['alloc']);
    const id = await resolveId('allocation', prefix!, (p) => client.listAllocs({}, { prefix: p, namespace: '*' }));
    const alloc = (await client.getAlloc(id)).value;
    const reply = await client.stopAlloc(id);
    if (reply.evalId === '' || f.bool.has('detach')) {
      out.stdout(`${reply.evalId === '' ? `Allocation ${id} stopped` : reply.evalId}\n`);
      return Exit.ok;
    }
    return monitorEval(client, reply.evalId, alloc.namespace, out);
  });
}
