/**
 * The tables of the replicated state, held in persistent (structurally shared) maps
 * so a snapshot is one pointer and a write copies only the O(log n) path it touches.
 * A `WriteTxn` is the only way to change them: it works on transient copies of the
 * maps, keeps the secondary indexes in step with the primary tables, records what
 * changed (for events), and `commit()` hands back a new, frozen `Tables`. If the
 * transaction is dropped (an error), the old `Tables` are untouched.
 */
import { PMap } from './pmap.js';
import { NodeSlots, SlotWriter } from './slots.js';
import { allocTerminalStatus, defaultSchedulerConfiguration, jobKey, SlotChunkMask, SlotChunkShift, SlotUsageStride, TableNames } from '../structs/index.js';
import type {
  Allocation,
  Deployment,
  Evaluation,
  Job,
  Node,
  PeriodicLaunch,
  SchedulerConfiguration,
  TableName,
} from '../structs/index.js';

export type Index<T> = PMap<PMap<T>>;

export interface Tables {
  /** namespace/id → the current version. */
  readonly jobs: PMap<Job>;
  /** namespace/id → versions, newest first (at most JobTrackedVersions, plus a kept stable one). */
  readonly jobVersions: PMap<readonly Job[]>;
  readonly nodes: PMap<Node>;
  readonly allocs: PMap<Allocation>;
  readonly allocsByNode: Index<Allocation>;
  /**
   * Dense per-node arrays for the scheduler (slots.ts), kept in step with nodes
   * and allocations: they also hold what each node's live allocations use (the
   * only copy of those sums; not in snapshots). nodeSums reads them.
   */
  readonly nodeSlots: NodeSlots;
  /** namespace/jobId → allocId → alloc */
  readonly allocsByJob: Index<Allocation>;
  readonly allocsByEval: Index<Allocation>;
  readonly evals: PMap<Evaluation>;
  /** namespace/jobId → evalId → eval */
  readonly evalsByJob: Index<Evaluation>;
  readonly deployments: PMap<Deployment>;
  /** namespace/jobId → deploymentId → deployment */
  readonly deploymentsByJob: Index<Deployment>;
  /** namespace/jobId → launch */
  readonly periodicLaunch: PMap<PeriodicLaunch>;
  readonly schedulerConfig: SchedulerConfiguration;
  /** The index of the last write to each table. */
  readonly tableIndex: Readonly<Record<TableName, number>>;
  /** The last applied log index (>= every table index). */
  readonly index: number;
}

/** Nomad keeps this many versions of a job (structs.JobTrackedVersions). */
export const JobTrackedVersions = 6;

export function emptyTables(): Tables {
  const tableIndex = {} as Record<TableName, number>;
  for (const t of TableNames) tableIndex[t] = 0;
  return {
    jobs: PMap.empty(),
    jobVersions: PMap.empty(),
    nodes: PMap.empty(),
    allocs: PMap.empty(),
    allocsByNode: PMap.empty(),
    nodeSlots: NodeSlots.empty(),
    allocsByJob: PMap.empty(),
    allocsByEval: PMap.empty(),
    evals: PMap.empty(),
    evalsByJob: PMap.empty(),
    deployments: PMap.empty(),
    deploymentsByJob: PMap.empty(),
    periodicLaunch: PMap.empty(),
    schedulerConfig: Object.freeze(defaultSchedulerConfiguration()),
    tableIndex: Object.freeze(tableIndex),
    index: 0,
  };
}

/** One recorded change: the value after it, or null when deleted (`prev` then holds the old one). */
export interface Change {
  table: TableName;
  key: string;
  value: unknown;
  prev: unknown;
}

const EMPTY: PMap<never> = PMap.empty();

/**
 * A secondary index being written: the outer map is transient, and so is every inner
 * map the transaction touches (made transient on first touch, frozen again at commit),
 * so many writes under one key (50 allocations of one job in one plan) copy its inner
 * map's path once, not once per write.
 */
class IndexWriter<T> {
  private readonly outer: PMap<PMap<T>>;
  private readonly touched = new Map<string, PMap<T>>();

  constructor(private readonly base: Index<T>) {
    this.outer = base.asMutable();
  }

  /** The current inner map for `key` (possibly transient: read it, do not keep it). */
  get(key: string): PMap<T> | undefined {
    const t = this.touched.get(key);
    if (t !== undefined) return t.size === 0 ? undefined : t;
    return this.outer.get(key);
  }

  private inner(key: string): PMap<T> {
    let t = this.touched.get(key);
    if (t === undefined) {
      t = (this.outer.get(key) ?? (EMPTY)).asMutable();
      this.touched.set(key, t);
    }
    return t;
  }

  /** `h`: PMap.hashOf(id), when the caller has it. */
  add(key: string, id: string, v: T, h = PMap.hashOf(id)): void {
    this.inner(key).setHashed(id, h, v);
  }

  remove(key: string, id: string): void {
    if (this.get(key)?.has(id) !== true) return;
    this.inner(key).remove(id);
  }

  commit(): Index<T> {
    for (const [key, inner] of this.touched) {
      if (!inner.wasAltered()) continue;
      if (inner.size === 0) this.outer.remove(key);
      else this.outer.set(key, inner.asImmutable());
    }
    return this.outer.wasAltered() ? this.outer.asImmutable() : this.base;
  }
}

/** The sums of a node's live allocations (the scheduler's NodeUsage without the list). */
interface MutableTally {
  cpu: number;
  memoryMB: number;
  diskMB: number;
  ports: number;
}

/**
 * What a node's live allocations use at one version: its slot's sums, or, for
 * a node with no slot (allocations outlive their node, or precede it), the sum
 * over its allocations. A fresh object (the caller's to change).
 */
export function nodeSums(slots: NodeSlots, byNode: Index<Allocation>, nodeId: string): MutableTally {
  const slot = slots.slotOf(nodeId);
  if (slot >= 0) {
    const chunk = slots.usage[slot >> SlotChunkShift]!;
    const o = (slot & SlotChunkMask) * SlotUsageStride;
    return { cpu: chunk[o]!, memoryMB: chunk[o + 1]!, diskMB: chunk[o + 2]!, ports: chunk[o + 3]! };
  }
  const t: MutableTally = { cpu: 0, memoryMB: 0, diskMB: 0, ports: 0 };
  byNode.get(nodeId)?.forEach((a) => {
    if (allocTerminalStatus(a)) return;
    t.cpu += a.resources.cpu;
    t.memoryMB += a.resources.memoryMB;
    t.diskMB += a.resources.diskMB;
    t.ports += a.resources.ports.length;
  });
  return t;
}

/**
 * Keeps node usage sums in step with allocation writes: O(1) per allocation,
 * plus one read of a node's sums the first time a transaction touches that
 * node. The sums live only in the node slots (no per-node map to copy).
 */
class TallyWriter {
  private readonly touched = new Map<string, MutableTally>();

  constructor(
    private readonly slots: NodeSlots,
    private readonly byNode: Index<Allocation>,
  ) {}

  private tally(nodeId: string): MutableTally {
    let t = this.touched.get(nodeId);
    if (t === undefined) {
      t = nodeSums(this.slots, this.byNode, nodeId);
      this.touched.set(nodeId, t);
    }
    return t;
  }

  /** Add (sign 1) or take away (sign -1) a live allocation. */
  apply(a: Allocation, sign: 1 | -1): void {
    const t = this.tally(a.nodeId);
    t.cpu += sign * a.resources.cpu;
    t.memoryMB += sign * a.resources.memoryMB;
    t.diskMB += sign * a.resources.diskMB;
    t.ports += sign * a.resources.ports.length;
  }

  /** The nodes whose sums this transaction changed. */
  touchedNodes(): Iterable<string> {
    return this.touched.keys();
  }

  /** A node's final sums (as of the transaction's base when it did not touch the node). */
  final(nodeId: string): MutableTally {
    return this.touched.get(nodeId) ?? nodeSums(this.slots, this.byNode, nodeId);
  }
}

export function allocJobKey(a: Pick<Allocation, 'namespace' | 'jobId'>): string {
  return jobKey(a.namespace, a.jobId);
}

/** The finished map, or the base instance itself when the transaction did not change it (keeps caches keyed by it warm). */
function keep<T>(m: PMap<T>, base: PMap<T>): PMap<T> {
  return m.wasAltered() ? m.asImmutable() : base;
}

export class WriteTxn {
  readonly jobs: PMap<Job>;
  readonly jobVersions: PMap<readonly Job[]>;
  readonly nodes: PMap<Node>;
  readonly allocs: PMap<Allocation>;
  readonly allocsByNode: IndexWriter<Allocation>;
  private readonly tallies: TallyWriter;
  private readonly slots: SlotWriter;
  readonly allocsByJob: IndexWriter<Allocation>;
  readonly allocsByEval: IndexWriter<Allocation>;
  readonly evals: PMap<Evaluation>;
  readonly evalsByJob: IndexWriter<Evaluation>;
  readonly deployments: PMap<Deployment>;
  readonly deploymentsByJob: IndexWriter<Deployment>;
  readonly periodicLaunch: PMap<PeriodicLaunch>;
  schedulerConfig: SchedulerConfiguration;
  private readonly touched = new Set<TableName>();
  /** Every change, in first-touch order; a key changed twice keeps its final value. */
  readonly changes: Change[] = [];
  /** table → key → its change in `changes` (no `table:key` string built per write). */
  private readonly changeByKey = new Map<TableName, Map<string, Change>>();
  /** Jobs whose status must be recomputed at the end (value: an eval of theirs was deleted). */
  readonly dirtyJobs = new Map<string, boolean>();

  /**
   * @param freeze Object.freeze every stored row (catches accidental mutation; costs about a
   *   quarter of the apply time on allocation-heavy writes, so a benchmark may turn it off).
   */
  constructor(
    private readonly base: Tables,
    readonly index: number,
    private readonly freeze = true,
  ) {
    this.jobs = base.jobs.asMutable();
    this.jobVersions = base.jobVersions.asMutable();
    this.nodes = base.nodes.asMutable();
    this.allocs = base.allocs.asMutable();
    this.allocsByNode = new IndexWriter(base.allocsByNode);
    this.tallies = new TallyWriter(base.nodeSlots, base.allocsByNode);
    this.slots = new SlotWriter(base.nodeSlots);
    this.allocsByJob = new IndexWriter(base.allocsByJob);
    this.allocsByEval = new IndexWriter(base.allocsByEval);
    this.evals = base.evals.asMutable();
    this.evalsByJob = new IndexWriter(base.evalsByJob);
    this.deployments = base.deployments.asMutable();
    this.deploymentsByJob = new IndexWriter(base.deploymentsByJob);
    this.periodicLaunch = base.periodicLaunch.asMutable();
    this.schedulerConfig = base.schedulerConfig;
  }

  private seal<T extends object>(row: T): T {
    return this.freeze ? Object.freeze(row) : row;
  }

  private record(table: TableName, key: string, value: unknown, prev: unknown): void {
    this.touched.add(table);
    let byKey = this.changeByKey.get(table);
    if (byKey === undefined) {
      byKey = new Map();
      this.changeByKey.set(table, byKey);
    }
    const seen = byKey.get(key);
    if (seen !== undefined) {
      seen.value = value;
      return;
    }
    const c: Change = { table, key, value, prev };
    byKey.set(key, c);
    this.changes.push(c);
  }

  /** Mark a table written without a row changing (e.g. a deployment counter table). */
  touch(table: TableName): void {
    this.touched.add(table);
  }

  putJob(job: Job): void {
    const k = jobKey(job.namespace, job.id);
    const prev = this.jobs.get(k);
    this.jobs.set(k, this.seal(job));
    this.record('jobs', k, job, prev);
  }

  deleteJob(namespace: string, id: string): void {
    const k = jobKey(namespace, id);
    const prev = this.jobs.get(k);
    if (prev === undefined) return;
    this.jobs.remove(k);
    this.record('jobs', k, null, prev);
    if (this.jobVersions.has(k)) {
      this.jobVersions.remove(k);
      this.touched.add('job_versions');
    }
    if (this.periodicLaunch.has(k)) {
      const launch = this.periodicLaunch.get(k);
      this.periodicLaunch.remove(k);
      this.record('periodic_launch', k, null, launch);
    }
  }

  putJobVersions(namespace: string, id: string, versions: readonly Job[]): void {
    this.jobVersions.set(jobKey(namespace, id), this.seal(versions));
    this.touched.add('job_versions');
  }

  putNode(node: Node): void {
    const prev = this.nodes.get(node.id);
    this.nodes.set(node.id, this.seal(node));
    this.slots.putNode(node);
    this.record('nodes', node.id, node, prev);
  }

  deleteNode(id: string): void {
    const prev = this.nodes.get(id);
    if (prev === undefined) return;
    this.nodes.remove(id);
    this.slots.deleteNode(id);
    this.record('nodes', id, null, prev);
  }

  /** `prev`: the stored allocation with this id, when the caller has just read it (saves a lookup). */
  putAlloc(alloc: Allocation, prev: Allocation | undefined = this.allocs.get(alloc.id)): void {
    this.seal(alloc);
    // One hash of the id for the four maps it is written to.
    const h = PMap.hashOf(alloc.id);
    this.allocs.setHashed(alloc.id, h, alloc);
    if (prev !== undefined) {
      // An allocation never changes node, job or eval in practice, but stay right if it does.
      if (prev.nodeId !== alloc.nodeId) this.allocsByNode.remove(prev.nodeId, prev.id);
      if (prev.namespace !== alloc.namespace || prev.jobId !== alloc.jobId) {
        this.allocsByJob.remove(allocJobKey(prev), prev.id);
        this.dirtyJobs.set(allocJobKey(prev), this.dirtyJobs.get(allocJobKey(prev)) ?? false);
      }
      if (prev.evalId !== alloc.evalId) this.allocsByEval.remove(prev.evalId, prev.id);
    }
    if (prev !== undefined && !allocTerminalStatus(prev)) this.tallies.apply(prev, -1);
    if (!allocTerminalStatus(alloc)) this.tallies.apply(alloc, 1);
    this.allocsByNode.add(alloc.nodeId, alloc.id, alloc, h);
    const jk = allocJobKey(alloc);
    this.allocsByJob.add(jk, alloc.id, alloc, h);
    this.allocsByEval.add(alloc.evalId, alloc.id, alloc, h);
    if (!this.dirtyJobs.has(jk)) this.dirtyJobs.set(jk, false);
    this.record('allocs', alloc.id, alloc, prev);
  }

  deleteAlloc(id: string): void {
    const prev = this.allocs.get(id);
    if (prev === undefined) return;
    this.allocs.remove(id);
    if (!allocTerminalStatus(prev)) this.tallies.apply(prev, -1);
    this.allocsByNode.remove(prev.nodeId, id);
    const jk = allocJobKey(prev);
    this.allocsByJob.remove(jk, id);
    this.allocsByEval.remove(prev.evalId, id);
    if (!this.dirtyJobs.has(jk)) this.dirtyJobs.set(jk, false);
    this.record('allocs', id, null, prev);
  }

  putEval(ev: Evaluation): void {
    this.seal(ev);
    const prev = this.evals.get(ev.id);
    this.evals.set(ev.id, ev);
    if (prev !== undefined && (prev.namespace !== ev.namespace || prev.jobId !== ev.jobId)) {
      const pk = jobKey(prev.namespace, prev.jobId);
      this.evalsByJob.remove(pk, prev.id);
      if (!this.dirtyJobs.has(pk)) this.dirtyJobs.set(pk, false);
    }
    const jk = jobKey(ev.namespace, ev.jobId);
    this.evalsByJob.add(jk, ev.id, ev);
    if (!this.dirtyJobs.has(jk)) this.dirtyJobs.set(jk, false);
    this.record('evals', ev.id, ev, prev);
  }

  deleteEval(id: string): void {
    const prev = this.evals.get(id);
    if (prev === undefined) return;
    this.evals.remove(id);
    const jk = jobKey(prev.namespace, prev.jobId);
    this.evalsByJob.remove(jk, id);
    this.dirtyJobs.set(jk, true);
    this.record('evals', id, null, prev);
  }

  putDeployment(d: Deployment): void {
    this.seal(d);
    const prev = this.deployments.get(d.id);
    this.deployments.set(d.id, d);
    if (prev !== undefined && (prev.namespace !== d.namespace || prev.jobId !== d.jobId)) {
      this.deploymentsByJob.remove(jobKey(prev.namespace, prev.jobId), prev.id);
    }
    this.deploymentsByJob.add(jobKey(d.namespace, d.jobId), d.id, d);
    this.record('deployments', d.id, d, prev);
  }

  deleteDeployment(id: string): void {
    const prev = this.deployments.get(id);
    if (prev === undefined) return;
    this.deployments.remove(id);
    this.deploymentsByJob.remove(jobKey(prev.namespace, prev.jobId), id);
    this.record('deployments', id, null, prev);
  }

  putPeriodicLaunch(launch: PeriodicLaunch): void {
    this.seal(launch);
    const k = jobKey(launch.namespace, launch.jobId);
    const prev = this.periodicLaunch.get(k);
    this.periodicLaunch.set(k, launch);
    this.record('periodic_launch', k, launch, prev);
  }

  putSchedulerConfig(config: SchedulerConfiguration): void {
    const prev = this.schedulerConfig;
    this.schedulerConfig = this.seal(config);
    this.record('scheduler_config', 'config', config, prev);
  }

  /** The new tables: every touched table's index moves to this transaction's index. */
  commit(): Tables {
    let tableIndex = this.base.tableIndex;
    if (this.touched.size > 0) {
      const t = { ...tableIndex };
      for (const name of this.touched) t[name] = this.index;
      tableIndex = Object.freeze(t);
    }
    const tallies = this.tallies;
    const nodeSlots = this.slots.commit(tallies.touchedNodes(), (id) => tallies.final(id));
    return {
      jobs: keep(this.jobs, this.base.jobs),
      jobVersions: keep(this.jobVersions, this.base.jobVersions),
      nodes: keep(this.nodes, this.base.nodes),
      allocs: keep(this.allocs, this.base.allocs),
      allocsByNode: this.allocsByNode.commit(),
      nodeSlots,
      allocsByJob: this.allocsByJob.commit(),
      allocsByEval: this.allocsByEval.commit(),
      evals: keep(this.evals, this.base.evals),
      evalsByJob: this.evalsByJob.commit(),
      deployments: keep(this.deployments, this.base.deployments),
      deploymentsByJob: this.deploymentsByJob.commit(),
      periodicLaunch: keep(this.periodicLaunch, this.base.periodicLaunch),
      schedulerConfig: this.schedulerConfig,
      tableIndex,
      index: this.index,
    };
  }
}
