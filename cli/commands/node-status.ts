/**
 * `nomadts node status [-json] [<node>]`: every client node, or one node with its allocations,
 * what is allocated there and (once its client has reported) what its tasks use.
 */
import type { Node } from '../../agent/core/structs/index.js';
import { nodeUsageTotals } from '../../agent/core/structs/index.js';
import type { Env } from './api-io.js';
import { Exit, formatMiB, formatTime, json, keyValues, positionals, resolveId, shortId, table, withClient } from './api-io.js';
import { allocsTable } from './job-status.js';
import type { Out } from './jobspec-io.js';

export function nodesTable(nodes: readonly Node[]): string {
  if (nodes.length === 0) return 'No nodes registered\n';
  return table(
    ['ID', 'Node Pool', 'DC', 'Name', 'Class', 'Drain', 'Eligibility', 'Status'],
    nodes.map((n) => [shortId(n.id), n.nodePool, n.datacenter, n.name, n.nodeClass === '' ? '<none>' : n.nodeClass, String(n.drainStrategy !== null), n.schedulingEligibility, n.status]),
  );
}

export async function nodeStatus(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(out, env, args, { bool: ['json', 'stale'] }, async (client, f) => {
    const [prefix] = positionals(f, ['node'], true);
    const asJson = f.bool.has('json');
    if (prefix === undefined) {
      const nodes = (await client.listNodes()).value;
      out.stdout(asJson ? json(nodes) : nodesTable(nodes));
      return Exit.ok;
    }
    const id = await resolveId('node', prefix, (p) => client.listNodes({ prefix: p }));
    const node = (await client.getNode(id)).value;
    const allocs = (await client.listAllocs({ nodeId: id }, { namespace: '*' })).value;
    const usage = (await client.nodeUsage(id).catch(() => [])).at(0);
    if (asJson) {
      out.stdout(json({ node, allocations: allocs, ...(usage !== undefined ? { usage } : {}) }));
      return Exit.ok;
    }
    const live = allocs.filter((a) => a.desiredStatus === 'run' && (a.clientStatus === 'pending' || a.clientStatus === 'running'));
    const cpu = live.reduce((s, a) => s + a.resources.cpu, 0);
    const mem = live.reduce((s, a) => s + a.resources.memoryMB, 0);
    const disk = live.reduce((s, a) => s + a.resources.diskMB, 0);
    let s = keyValues([
      ['ID', node.id],
      ['Name', node.name],
      ['Node Pool', node.nodePool],
      ['Class', node.nodeClass === '' ? '<none>' : node.nodeClass],
      ['DC', node.datacenter],
      ['Drain', node.drainStrategy !== null],
      ['Eligibility', node.schedulingEligibility],
      ['Status', node.status],
      ['Status Updated', formatTime(node.statusUpdatedAt)],
      ['Drivers', Object.entries(node.drivers).filter(([, d]) => d.detected && d.healthy).map(([name]) => name).sort().join(',')],
    ]);
    s += '\nAllocated Resources\n';
    s += table(
      ['CPU', 'Memory', 'Disk'],
      [[`${cpu}/${node.resources.cpu - node.reserved.cpu} MHz`, `${mem}/${node.resources.memoryMB - node.reserved.memoryMB} MiB`, `${disk}/${node.resources.diskMB - node.reserved.diskMB} MiB`]],
    );
    if (usage !== undefined) {
      // What the node's tasks use (their client's latest report) against what is allocated to them.
      const used = nodeUsageTotals(usage);
      s += '\nAllocation Resource Utilization\n';
      s += table(['CPU', 'Memory', 'Reported'], [[`${Math.round(used.cpuMhz)}/${cpu} MHz`, `${formatMiB(used.memoryRssBytes)}/${mem} MiB`, formatTime(usage.receivedAt)]]);
    }
    s += '\nAllocations\n';
    s += allocsTable(allocs, Date.now());
    out.stdout(s);
    return Exit.ok;
  });
}

