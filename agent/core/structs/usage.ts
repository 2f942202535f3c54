/**
 * Resource usage of running tasks as their client samples it (Nomad's client stats:
 * ResourceUsage, TaskResourceUsage, AllocResourceUsage), what node and allocation views show
 * against what was allocated. Clients push it to the servers, which keep the latest report
 * per node in memory, outside the replicated state.
 */

/** One task's latest sample. */
export interface TaskResourceUsage {
  /** Client wall-clock ms of the sample. */
  timestamp: number;
  /** Share of one core since the previous sample, in percent (200 = two cores busy). */
  cpuPercent: number;
  /** The same in MHz of the node: cpuPercent / 100 × the node's MHz per core. */
  cpuMhz: number;
  /** Cumulative user + system CPU time. */
  cpuTotalMs: number;
  memoryRssBytes: number;
}

export interface AllocResourceUsage {
  allocId: string;
  /** Task name → its latest sample (tasks not running or not sampled yet are absent). */
  tasks: Record<string, TaskResourceUsage>;
}

/** A node's latest usage report as the server holds it. */
export interface NodeResourceUsage {
  nodeId: string;
  /** Server wall-clock ms when the report arrived. */
  receivedAt: number;
  allocs: AllocResourceUsage[];
}

/** The sum over some tasks. */
export interface UsageTotals {
  cpuMhz: number;
  cpuPercent: number;
  memoryRssBytes: number;
}

export function sumTaskUsage(tasks: Iterable<TaskResourceUsage>): UsageTotals {
  const t: UsageTotals = { cpuMhz: 0, cpuPercent: 0, memoryRssBytes: 0 };
  for (const u of tasks) {
    t.cpuMhz += u.cpuMhz;
    t.cpuPercent += u.cpuPercent;
    t.memoryRssBytes += u.memoryRssBytes;
  }
  return t;
}

/** Totals of one allocation. */
export function allocUsageTotals(a: AllocResourceUsage): UsageTotals {
  return sumTaskUsage(Object.values(a.tasks));
}

/** Totals of a node: every allocation it reported. */
export function nodeUsageTotals(n: NodeResourceUsage): UsageTotals {
  return sumTaskUsage(n.allocs.flatMap((a) => Object.values(a.tasks)));
}
