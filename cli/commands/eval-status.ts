/**
 * `nomadts eval status [-json] <eval>`: one evaluation, its placement failures (nodes
 * evaluated, filtered by which constraint, exhausted on which dimension) and what it placed.
 */
import type { Env } from './api-io.js';
import { Exit, formatFailedGroups, formatTime, json, keyValues, positionals, resolveId, shortId, table, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

export async function evalStatus(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'] }, async (client, f) => {
    const [prefix] = positionals(f, ['eval']);
    const id = await resolveId('evaluation', prefix!, (p) => client.listEvals({}, { prefix: p, namespace: '*' }));
    const ev = (await client.getEval(id)).value;
    if (f.bool.has('json')) {
      out.stdout(json(ev));
      return Exit.ok;
    }
    const failed = Object.keys(ev.failedTgAllocs).length > 0;
    let s = keyValues([
      ['ID', ev.id],
      ['Create Time', formatTime(ev.createTime)],
      ['Modify Time', formatTime(ev.modifyTime)],
      ['Status', ev.status],
      ['Status Description', ev.statusDescription === '' ? '<none>' : ev.statusDescription],
      ['Type', ev.type],
      ['TriggeredBy', ev.triggeredBy],
      ...(ev.nodeId !== '' ? [['Node ID', ev.nodeId] as const] : []),
      ['Job ID', ev.jobId],
      ['Namespace', ev.namespace],
      ['Priority', ev.priority],
      ['Placement Failures', failed],
      ...(ev.previousEval !== '' ? [['Previous Eval', shortId(ev.previousEval)] as const] : []),
      ...(ev.nextEval !== '' ? [['Next Eval', shortId(ev.nextEval)] as const] : []),
      ...(ev.blockedEval !== '' ? [['Blocked Eval', shortId(ev.blockedEval)] as const] : []),
    ]);
    const placed = (await client.listAllocs({ jobId: ev.jobId }, { namespace: ev.namespace })).value.filter((a) => a.evalId === ev.id);
    if (placed.length > 0) {
      s += '\nPlaced Allocations\n';
      s += table(['ID', 'Node ID', 'Task Group', 'Desired', 'Status'], placed.map((a) => [shortId(a.id), shortId(a.nodeId), a.taskGroup, a.desiredStatus, a.clientStatus]));
    }
    if (failed) {
      s += '\nFailed Placements\n';
      s += formatFailedGroups(ev.failedTgAllocs, '');
      if (ev.blockedEval !== '') s += `\nEvaluation "${shortId(ev.blockedEval)}" waiting for additional capacity to place remainder\n`;
    }
    out.stdout(s);
    return Exit.ok;
  });
}

