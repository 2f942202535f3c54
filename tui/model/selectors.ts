/**
 * Selectors: the rows each panel shows, derived from TopState, filtered by the panel's `/`
 * filter. Pure, and memoised on the identity of the maps they read (a frame that changed only
 * the log recomputes nothing else).
 */
import type { AllocView, DrainProgress, EvalView, JobView, LogLine, NodeView, PanelId, ServerView, TopState } from './state.js';

export interface NodeRow extends NodeView {
  cpuAllocated: number;
  memoryAllocatedMB: number;
  allocsRunning: number;
  allocsLive: number;
  drain: DrainProgress | undefined;
}

export interface GroupRow {
  name: string;
  desired: number;
  placed: number;
  running: number;
  failed: number;
}

export interface JobRow extends JobView {
  groupRows: GroupRow[];
}

export interface ServerRow extends ServerView {
  isLeader: boolean;
}

function live(a: AllocView): boolean {
  return a.desiredStatus === 'run' && (a.clientStatus === 'pending' || a.clientStatus === 'running');
}

function memo<A extends object, R>(fn: (a: A) => R): (a: A) => R {
  let lastArg: A | undefined;
  let last: R | undefined;
  return (a: A) => {
    if (a !== lastArg) {
      last = fn(a);
      lastArg = a;
    }
    return last!;
  };
}

const nodeTally = memo((allocs: ReadonlyMap<string, AllocView>) => {
  const t = new Map<string, { cpu: number; mem: number; running: number; live: number }>();
  for (const a of allocs.values()) {
    if (!live(a)) continue;
    const x = t.get(a.nodeId) ?? { cpu: 0, mem: 0, running: 0, live: 0 };
    x.cpu += a.cpu;
    x.mem += a.memoryMB;
    x.live++;
    if (a.clientStatus === 'running') x.running++;
    t.set(a.nodeId, x);
  }
  return t;
});

const groupTally = memo((allocs: ReadonlyMap<string, AllocView>) => {
  const t = new Map<string, { placed: number; running: number; failed: number }>();
  for (const a of allocs.values()) {
    const key = `${a.namespace}/${a.jobId}/${a.taskGroup}`;
    const x = t.get(key) ?? { placed: 0, running: 0, failed: 0 };
    if (live(a)) x.placed++;
    if (a.clientStatus === 'running' && a.desiredStatus === 'run') x.running++;
    if (a.clientStatus === 'failed') x.failed++;
    t.set(key, x);
  }
  return t;
});

function matches(filter: string, ...fields: string[]): boolean {
  if (filter === '') return true;
  const f = filter.toLowerCase();
  return fields.some((x) => x.toLowerCase().includes(f));
}

function filterFor(s: TopState, panel: PanelId): string {
  return s.ui.focus === panel ? s.ui.filter : '';
}

export function serverRows(s: TopState): ServerRow[] {
  const f = filterFor(s, 'servers');
  return [...s.servers.values()]
    .filter((x) => matches(f, x.id, x.role, x.member))
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((x) => ({ ...x, isLeader: x.id === s.leader || x.role === 'leader' }));
}

export function nodeRows(s: TopState): NodeRow[] {
  const f = filterFor(s, 'nodes');
  const tally = nodeTally(s.allocs);
  return [...s.nodes.values()]
    .filter((n) => matches(f, n.name, n.id, n.status, n.datacenter, n.nodeClass, n.eligibility))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => {
      const t = tally.get(n.id);
      return { ...n, cpuAllocated: t?.cpu ?? 0, memoryAllocatedMB: t?.mem ?? 0, allocsRunning: t?.running ?? 0, allocsLive: t?.live ?? 0, drain: s.drains.get(n.id) };
    });
}

export function jobRows(s: TopState): JobRow[] {
  const f = filterFor(s, 'jobs');
  const tally = groupTally(s.allocs);
  return [...s.jobs.values()]
    .filter((j) => matches(f, j.id, j.type, j.status, j.namespace))
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((j) => ({
      ...j,
      groupRows: j.groups.map((g) => {
        const t = tally.get(`${j.key}/${g.name}`);
        return { name: g.name, desired: j.stop ? 0 : g.count, placed: t?.placed ?? 0, running: t?.running ?? 0, failed: t?.failed ?? 0 };
      }),
    }));
}

/** Newest first. */
export function evalRows(s: TopState): EvalView[] {
  const f = filterFor(s, 'evals');
  return [...s.evals.values()].filter((e) => matches(f, e.id, e.jobId, e.status, e.triggeredBy, e.type)).sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
}

/** Newest last (the log reads downwards). */
export function logRows(s: TopState): readonly LogLine[] {
  const f = filterFor(s, 'events');
  return f === '' ? s.log : s.log.filter((l) => matches(f, l.topic, l.text));
}

export function rowCount(s: TopState, panel: PanelId): number {
  switch (panel) {
    case 'servers':
      return serverRows(s).length;
    case 'nodes':
      return nodeRows(s).length;
    case 'jobs':
      return jobRows(s).length;
    case 'evals':
      return evalRows(s).length;
    case 'events':
      return logRows(s).length;
  }
}

/** The selected row of a panel (clamped to what the panel shows now). */
export function selected<T>(rows: readonly T[], index: number): T | undefined {
  if (rows.length === 0) return undefined;
  return rows[Math.min(Math.max(0, index), rows.length - 1)];
}

/** The live allocations of a job, or of a node, for the detail views and `l` (logs). */
export function allocsOf(s: TopState, by: { jobKey?: string; nodeId?: string }): AllocView[] {
  const out: AllocView[] = [];
  for (const a of s.allocs.values()) {
    if (by.jobKey !== undefined && `${a.namespace}/${a.jobId}` !== by.jobKey) continue;
    if (by.nodeId !== undefined && a.nodeId !== by.nodeId) continue;
    out.push(a);
  }
  return out.sort((a, b) => Number(live(b)) - Number(live(a)) || a.name.localeCompare(b.name));
}

/** A one-line summary of the cluster for the header. */
export function summary(s: TopState): { leader: string; term: number; servers: number; nodesReady: number; nodes: number; jobs: number; allocsRunning: number; broker: TopState['broker'] } {
  let nodesReady = 0;
  for (const n of s.nodes.values()) if (n.status === 'ready') nodesReady++;
  let allocsRunning = 0;
  for (const a of s.allocs.values()) if (a.clientStatus === 'running' && a.desiredStatus === 'run') allocsRunning++;
  const leader = s.servers.get(s.leader);
  return { leader: s.leader, term: leader?.term ?? 0, servers: s.servers.size, nodesReady, nodes: s.nodes.size, jobs: s.jobs.size, allocsRunning, broker: s.broker };
}
