/**
 * The servers' usage table: the latest resource usage report of each node's client, kept in
 * memory with the time it arrived (as Nomad keeps client stats out of Raft: usage changes every
 * second and is worth nothing after a restart). A node that is marked down loses its entry.
 */
import type { Clock } from '../core/lib/index.js';
import type { AllocResourceUsage, NodeResourceUsage } from '../core/structs/index.js';

export class UsageTable {
  private readonly byNode = new Map<string, NodeResourceUsage>();

  constructor(private readonly clock: Clock) {}

  /** Replace the node's report. */
  put(nodeId: string, allocs: readonly AllocResourceUsage[]): NodeResourceUsage {
    const entry: NodeResourceUsage = { nodeId, receivedAt: this.clock.now(), allocs: allocs.map((a) => ({ allocId: a.allocId, tasks: { ...a.tasks } })) };
    this.byNode.set(nodeId, entry);
    return entry;
  }

  get(nodeId: string): NodeResourceUsage | undefined {
    return this.byNode.get(nodeId);
  }

  /** Every node's latest report, by node id. */
  list(): NodeResourceUsage[] {
    return [...this.byNode.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  remove(nodeId: string): void {
    this.byNode.delete(nodeId);
  }

  get size(): number {
    return this.byNode.size;
  }
}
