/**
 * The node drainer (nomad/drainer): what to do next for every draining node, as a
 * pure function of the state and the time. The server calls `drainStep` on a tick
 * and writes what it returns: allocations to mark for migration (the schedulers
 * stop them and place replacements elsewhere), one evaluation per job touched, and
 * the nodes whose drain is complete.
 *
 * Nomad's rules:
 * - Service allocations migrate respecting their group's `migrate.max_parallel`:
 *   an allocation is marked only while the group keeps at least
 *   count − max_parallel healthy allocations that are not migrating.
 * - Batch allocations run on until the deadline.
 * - System allocations drain last, once nothing else is left on the node, unless
 *   the drain ignores system jobs (then they stay).
 * - At the deadline (or at once with `force`, deadline < 0) everything left is
 *   marked; with no deadline (0) nothing is ever forced.
 * - A drain is complete when no allocation it must move is left running on the
 *   node (server-terminal allocations count as gone).
 */
import type { Allocation, Job, Node, StateReader, TaskGroup } from '../structs/index.js';
import { allocTerminalStatus, isSystemType, jobKey } from '../structs/index.js';

/** One group's migrations this step (for tests and the monitor). */
export interface GroupDrain {
  namespace: string;
  jobId: string;
  group: string;
  healthy: number;
  threshold: number;
  marked: number;
}

export interface NodeDrainProgress {
  nodeId: string;
  /** Allocations still to move (non-terminal, subject to the drain). */
  remaining: number;
  /** Absolute time the deadline falls due (ms), or null for no deadline. */
  deadlineAt: number | null;
  pastDeadline: boolean;
}

export interface DrainActions {
  /** Allocations to mark with desiredTransition.migrate. */
  migrate: Allocation[];
  /** Jobs to evaluate (one evaluation each) because allocations of theirs were marked. */
  jobs: Job[];
  /** Draining nodes with nothing left to move. */
  done: string[];
  groups: GroupDrain[];
  progress: NodeDrainProgress[];
}

/** When a node's drain deadline falls due: null for none, startedAt for force. */
export function drainDeadlineAt(node: Node): number | null {
  const ds = node.drainStrategy;
  if (ds === null) return null;
  if (ds.deadline < 0) return ds.startedAt;
  if (ds.deadline === 0) return null;
  return ds.startedAt + ds.deadline;
}

/** Healthy for the drainer: running, meant to run, not itself migrating, and not reported unhealthy. */
export function allocHealthyForDrain(a: Allocation): boolean {
  return a.clientStatus === 'running' && a.desiredStatus === 'run' && !a.desiredTransition.migrate && a.deploymentStatus?.healthy !== false;
}

function migrateMaxParallel(tg: TaskGroup | undefined): number {
  return Math.max(1, tg?.migrate?.maxParallel ?? 1);
}

/**
 * The next drain actions. `drainingNodeIds` lists the nodes with a drain strategy
 * (the server keeps the set); nodes no longer draining are skipped.
 */
export function drainStep(state: StateReader, now: number, drainingNodeIds: Iterable<string>): DrainActions {
  const out: DrainActions = { migrate: [], jobs: [], done: [], groups: [], progress: [] };
  const draining = new Map<string, Node>();
  for (const id of drainingNodeIds) {
    const n = state.nodeByID(id);
    if (n !== undefined && n.drainStrategy !== null) draining.set(id, n);
  }
  const marked = new Set<string>();
  const jobsTouched = new Map<string, Job>();
  const mark = (a: Allocation, job: Job | undefined): void => {
    if (marked.has(a.id) || a.desiredTransition.migrate) return;
    marked.add(a.id);
    out.migrate.push(a);
    if (job !== undefined) jobsTouched.set(jobKey(job.namespace, job.id), job);
  };
  // Service groups with allocations on a node still before its deadline: decided per group below.
  const serviceGroups = new Map<string, { job: Job; group: string }>();

  for (const node of draining.values()) {
    const ds = node.drainStrategy!;
    const deadlineAt = drainDeadlineAt(node);
    const pastDeadline = deadlineAt !== null && now >= deadlineAt;
    let remaining = 0;
    let nonSystemLeft = 0;
    const system: { a: Allocation; job: Job | undefined }[] = [];
    for (const a of state.allocsByNode(node.id)) {
      if (allocTerminalStatus(a)) continue;
      const job = state.jobByID(a.namespace, a.jobId);
      const type = job?.type ?? a.job?.type ?? 'service';
      if (isSystemType(type)) {
        if (ds.ignoreSystemJobs) continue;
        remaining++;
        system.push({ a, job });
        continue;
      }
      remaining++;
      nonSystemLeft++;
      if (pastDeadline || job === undefined || job.stop) {
        mark(a, job);
      } else if (type === 'service') {
        if (!a.desiredTransition.migrate) serviceGroups.set(`${jobKey(job.namespace, job.id)}\u0000${a.taskGroup}`, { job, group: a.taskGroup });
      }
      // batch: runs until the deadline
    }
    if (pastDeadline || nonSystemLeft === 0) for (const s of system) mark(s.a, s.job);
    if (remaining === 0) out.done.push(node.id);
    out.progress.push({ nodeId: node.id, remaining, deadlineAt, pastDeadline });
  }

  for (const { job, group } of serviceGroups.values()) {
    const tg = job.taskGroups.find((g) => g.name === group);
    const maxParallel = migrateMaxParallel(tg);
    const count = tg?.count ?? 0;
    const threshold = count - maxParallel;
    let healthy = 0;
    const drainable: Allocation[] = [];
    for (const a of state.allocsByJob(job.namespace, job.id)) {
      if (a.taskGroup !== group || allocTerminalStatus(a)) continue;
      if (allocHealthyForDrain(a)) healthy++;
      if (!a.desiredTransition.migrate && !marked.has(a.id)) {
        const n = draining.get(a.nodeId);
        if (n !== undefined) {
          const at = drainDeadlineAt(n);
          if (at === null || now < at) drainable.push(a);
        }
      }
    }
    drainable.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    const n = tg === undefined ? drainable.length : Math.max(0, Math.min(drainable.length, healthy - threshold));
    for (let i = 0; i < n; i++) mark(drainable[i]!, job);
    out.groups.push({ namespace: job.namespace, jobId: job.id, group, healthy, threshold, marked: n });
  }
  out.jobs = [...jobsTouched.values()];
  return out;
}
