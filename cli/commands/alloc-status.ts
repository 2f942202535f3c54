/**
 * `nomadts alloc status [-json] <alloc>`: one allocation, its tasks, and why it landed where it
 * did (nodes evaluated / filtered / exhausted and the score parts of the best nodes), and each
 * task's CPU and memory used against allocated when its client has reported usage.
 */
import type { Env } from './api-io.js';
import { Exit, formatAllocMetrics, formatMiB, formatScores, formatTime, json, keyValues, positionals, resolveId, shortId, table, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

export async function allocStatus(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'] }, async (client, f) => {
    const [prefix] = positionals(f, ['alloc']);
    const id = await resolveId('allocation', prefix!, (p) => client.listAllocs({}, { prefix: p, namespace: '*' }));
    const a = (await client.getAlloc(id)).value;
    if (f.bool.has('json')) {
      out.stdout(json(a));
      return Exit.ok;
    }
    let s = keyValues([
      ['ID', a.id],
      ['Eval ID', shortId(a.evalId)],
      ['Name', a.name],
      ['Node ID', shortId(a.nodeId)],
      ['Node Name', a.nodeName],
      ['Job ID', a.jobId],
      ['Job Version', a.job.version],
      ['Client Status', a.clientStatus],
      ['Client Description', a.clientDescription === '' ? '<none>' : a.clientDescription],
      ['Desired Status', a.desiredStatus],
      ['Desired Description', a.desiredDescription === '' ? '<none>' : a.desiredDescription],
      ['Created', formatTime(a.createTime)],
      ['Modified', formatTime(a.modifyTime)],
      ...(a.previousAllocation !== '' ? [['Replaces', shortId(a.previousAllocation)] as const] : []),
      ...(a.nextAllocation !== '' ? [['Replaced By', shortId(a.nextAllocation)] as const] : []),
    ]);
    s += '\nResources\n';
    s += table(
      ['CPU', 'Memory', 'Disk', 'Ports'],
      [[`${a.resources.cpu} MHz`, `${a.resources.memoryMB} MiB`, `${a.resources.diskMB} MiB`, a.resources.ports.map((p) => `${p.label}:${p.value}`).join(' ')]],
    );
    const tasks = Object.entries(a.taskStates).sort((x, y) => (x[0] < y[0] ? -1 : 1));
    if (tasks.length > 0) {
      s += '\nTasks\n';
      s += table(['Task', 'State', 'Failed', 'Restarts', 'Last Event'], tasks.map(([name, t]) => [name, t.state, String(t.failed), String(t.restarts), t.events.at(-1)?.message ?? '']));
    }
    // Used against allocated, from the latest usage report of the node's client (if any).
    const usage = (await client.nodeUsage(a.nodeId).catch(() => [])).at(0)?.allocs.find((u) => u.allocId === a.id);
    if (usage !== undefined) {
      const group = a.job.taskGroups.find((g) => g.name === a.taskGroup);
      s += '\nTask Resources (used/allocated)\n';
      s += table(['Task', 'CPU', 'Memory'], (group?.tasks ?? []).map((t) => {
        const u = usage.tasks[t.name];
        return [t.name, `${u === undefined ? '-' : Math.round(u.cpuMhz)}/${t.resources.cpu} MHz`, `${u === undefined ? '-' : formatMiB(u.memoryRssBytes)}/${t.resources.memoryMB} MiB`];
      }));
    }
    s += '\nPlacement Metrics\n';
    s += formatAllocMetrics(a.metrics, '  ');
    const scores = formatScores(a.metrics);
    if (scores !== '') s += `\n${scores}`;
    out.stdout(s);
    return Exit.ok;
  });
}

