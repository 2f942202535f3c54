/**
 * The state store: the current `Tables`, O(1) snapshots of them, and blocking
 * queries. Only the FSM writes (through the module-private `commitTables` symbol);
 * everyone else reads immutable snapshots that never change under them.
 */
import type { PMap } from './pmap.js';
import { NomadError } from '../lib/index.js';
import type { Clock, TimerHandle } from '../lib/index.js';
import { allocTerminalStatus, computeNodeUsage, jobKey, TableNames } from '../structs/index.js';
import type {
  Allocation,
  Deployment,
  Evaluation,
  Job,
  CountLookup,
  Node,
  NodeSlotView,
  NodeUsage,
  PeriodicLaunch,
  SchedulerConfiguration,
  StateReader,
  TableName,
} from '../structs/index.js';
import { emptyTables, nodeSums } from './tables.js';
import type { Tables } from './tables.js';

/**
 * Materialised value arrays, cached per persistent map instance. Persistent maps never
 * change, so the cache is always right; a write produces new map instances only along
 * the path it touched, so e.g. `allocsByNode` of an untouched node stays a cache hit
 * across writes. Callers get a fresh copy (they may sort it).
 */
const valueArrays = new WeakMap<object, readonly unknown[]>();

/**
 * The shared empty list. Built as an object array (not `[]`, whose small-integer
 * elements kind, or a frozen one, would make V8 deoptimise loops that also see
 * allocation arrays). Never mutated.
 */
const NONE: readonly never[] = (() => {
  const a: unknown[] = [{}];
  a.pop();
  return a as never[];
})();

/** The cached value array itself (shared: never mutate it). */
function sharedValuesOf<T>(m: PMap<T> | undefined): readonly T[] {
  if (m === undefined) return NONE;
  let cached = valueArrays.get(m) as readonly T[] | undefined;
  if (cached === undefined) {
    const out: T[] = [];
    m.forEach((v) => {
      out.push(v);
    });
    cached = out;
    valueArrays.set(m, cached);
  }
  return cached;
}

/**
 * A node's usage from the FSM-maintained sums (tables.ts nodeSums: O(1) from its
 * slot), with the list of live allocations built only if someone asks for it.
 * One per allocation map of the node: a new map is written exactly when the
 * node's allocations change.
 */
class TalliedUsage implements NodeUsage {
  readonly cpu: number;
  readonly memoryMB: number;
  readonly diskMB: number;
  readonly ports: number;
  private liveList: readonly Allocation[] | null = null;
  /** Per-job/group counts, from the live list when first asked (the sums keep none; h2/sched). */
  private counts: NodeUsage | null = null;

  constructor(
    tally: { readonly cpu: number; readonly memoryMB: number; readonly diskMB: number; readonly ports: number },
    /** The node's allocation map, listed only when `live` is asked for (most ranked nodes never are). */
    private readonly byNode: PMap<Allocation>,
  ) {
    this.cpu = tally.cpu;
    this.memoryMB = tally.memoryMB;
    this.diskMB = tally.diskMB;
    this.ports = tally.ports;
  }

  get byJob(): CountLookup {
    return (this.counts ??= computeNodeUsage(this.live)).byJob;
  }

  get byGroup(): CountLookup {
    return (this.counts ??= computeNodeUsage(this.live)).byGroup;
  }

  get live(): readonly Allocation[] {
    if (this.liveList === null) {
      const out: Allocation[] = [];
      for (const a of sharedValuesOf(this.byNode)) if (!allocTerminalStatus(a)) out.push(a);
      this.liveList = out;
    }
    return this.liveList;
  }
}

/** Keyed by the node's allocation map (allocsByNode's inner map), which changes exactly when its usage may. */
const usageMemo = new WeakMap<PMap<Allocation>, NodeUsage>();
const EmptyUsage: NodeUsage = computeNodeUsage(NONE);

function valuesOf<T>(m: PMap<T> | undefined): T[] {
  if (m === undefined) return [];
  let cached = valueArrays.get(m) as readonly T[] | undefined;
  if (cached === undefined) {
    const out: T[] = [];
    m.forEach((v) => {
      out.push(v);
    });
    cached = out;
    valueArrays.set(m, cached);
  }
  return cached.slice();
}

/**
 * One immutable view of the state at `index`. Lists come back in the persistent map's
 * iteration order: deterministic for a given history of writes, but not sorted; sort
 * if you need an order.
 */
export class StateSnapshot implements StateReader {
  constructor(
    /** The raw tables, for code inside this module (snapshot serialisation). */
    readonly tables: Tables,
  ) {}

  get index(): number {
    return this.tables.index;
  }

  tableIndex(table: TableName): number {
    return this.tables.tableIndex[table];
  }

  jobByID(namespace: string, id: string): Job | undefined {
    return this.tables.jobs.get(jobKey(namespace, id));
  }

  jobVersion(namespace: string, id: string, version: number): Job | undefined {
    return this.tables.jobVersions.get(jobKey(namespace, id))?.find((j) => j.version === version);
  }

  /** Newest first. */
  jobVersions(namespace: string, id: string): Job[] {
    return this.tables.jobVersions.get(jobKey(namespace, id))?.slice() ?? [];
  }

  jobs(): Job[] {
    return valuesOf(this.tables.jobs);
  }

  nodeByID(id: string): Node | undefined {
    return this.tables.nodes.get(id);
  }

  nodes(): Node[] {
    return valuesOf(this.tables.nodes);
  }

  nodesView(): readonly Node[] {
    return sharedValuesOf(this.tables.nodes);
  }

  nodeCount(): number {
    return this.tables.nodes.size;
  }

  allocByID(id: string): Allocation | undefined {
    return this.tables.allocs.get(id);
  }

  allocsByJob(namespace: string, jobId: string): Allocation[] {
    return valuesOf(this.tables.allocsByJob.get(jobKey(namespace, jobId)));
  }

  allocsByNode(nodeId: string): Allocation[] {
    return valuesOf(this.tables.allocsByNode.get(nodeId));
  }

  allocsByNodeView(nodeId: string): readonly Allocation[] {
    return sharedValuesOf(this.tables.allocsByNode.get(nodeId));
  }

  nodeUsage(nodeId: string): NodeUsage {
    const byNode = this.tables.allocsByNode.get(nodeId);
    if (byNode === undefined) return EmptyUsage;
    let u = usageMemo.get(byNode);
    if (u === undefined) {
      u = new TalliedUsage(nodeSums(this.tables.nodeSlots, this.tables.allocsByNode, nodeId), byNode);
      usageMemo.set(byNode, u);
    }
    return u;
  }

  /** Dense per-node arrays of this version (tables.ts nodeSlots; h2/sched). */
  nodeSlots(): NodeSlotView {
    return this.tables.nodeSlots;
  }

  allocsByEval(evalId: string): Allocation[] {
    return valuesOf(this.tables.allocsByEval.get(evalId));
  }

  allocCount(): number {
    return this.tables.allocs.size;
  }

  /** All allocations (not part of StateReader; for the API and tests). */
  allocs(): Allocation[] {
    return valuesOf(this.tables.allocs);
  }

  evalByID(id: string): Evaluation | undefined {
    return this.tables.evals.get(id);
  }

  evalsByJob(namespace: string, jobId: string): Evaluation[] {
    return valuesOf(this.tables.evalsByJob.get(jobKey(namespace, jobId)));
  }

  evals(): Evaluation[] {
    return valuesOf(this.tables.evals);
  }

  deploymentByID(id: string): Deployment | undefined {
    return this.tables.deployments.get(id);
  }

  deploymentsByJob(namespace: string, jobId: string): Deployment[] {
    return valuesOf(this.tables.deploymentsByJob.get(jobKey(namespace, jobId)));
  }

  /** All deployments (not part of StateReader; for the API and tests). */
  deployments(): Deployment[] {
    return valuesOf(this.tables.deployments);
  }

  /** The deployment with the highest createIndex. */
  latestDeploymentByJob(namespace: string, jobId: string): Deployment | undefined {
    let latest: Deployment | undefined;
    this.tables.deploymentsByJob.get(jobKey(namespace, jobId))?.forEach((d) => {
      if (latest === undefined || d.createIndex > latest.createIndex) latest = d;
    });
    return latest;
  }

  periodicLaunch(namespace: string, jobId: string): PeriodicLaunch | undefined {
    return this.tables.periodicLaunch.get(jobKey(namespace, jobId));
  }

  /** All periodic launches (not part of StateReader; for the API and tests). */
  periodicLaunches(): PeriodicLaunch[] {
    return valuesOf(this.tables.periodicLaunch);
  }

  schedulerConfig(): SchedulerConfiguration {
    return this.tables.schedulerConfig;
  }
}

/** How long a blocking query may wait, measured on the injected clock. No options = no time limit. */
export interface WaitOptions {
  clock: Clock;
  timeoutMs: number;
}

interface Waiter {
  /** Resolve with the snapshot if it satisfies the waiter; return true when done. */
  offer(snap: StateSnapshot): boolean;
}

/** The FSM's write handle: not exported from index.ts, so only this module can commit. */
export const commitTables = Symbol('commitTables');

export class StateStore {
  private current: StateSnapshot;
  private readonly waiters = new Set<Waiter>();

  constructor(tables: Tables = emptyTables()) {
    this.current = new StateSnapshot(tables);
  }

  /** O(1): the current state, immutable. */
  snapshot(): StateSnapshot {
    return this.current;
  }

  /** The last applied log index. */
  get index(): number {
    return this.current.index;
  }

  /**
   * A snapshot whose index is >= minIndex. Resolves at once if the store is there already,
   * otherwise when an apply gets it there. On timeout it REJECTS with a NomadError
   * (code 'timeout') naming both indexes: a caller that asked for an index must not
   * silently plan on older state.
   */
  waitForIndex(minIndex: number, opts?: WaitOptions): Promise<StateSnapshot> {
    if (this.current.index >= minIndex) return Promise.resolve(this.current);
    return new Promise<StateSnapshot>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const waiter: Waiter = {
        offer: (snap) => {
          if (snap.index < minIndex) return false;
          timer?.cancel();
          resolve(snap);
          return true;
        },
      };
      this.waiters.add(waiter);
      if (opts !== undefined) {
        timer = opts.clock.setTimer(opts.timeoutMs, () => {
          if (!this.waiters.delete(waiter)) return;
          reject(
            new NomadError('timeout', `timed out after ${opts.timeoutMs}ms waiting for state index ${minIndex} (state is at ${this.current.index})`, {
              field: 'minIndex',
            }),
          );
        });
      }
    });
  }

  /**
   * Nomad's blocking query: resolves with a snapshot as soon as any of `tables` has an
   * index > minIndex (at once if one already has). On timeout it RESOLVES with the
   * current snapshot, as an HTTP long poll does; compare its table indexes to tell.
   */
  blockingQuery(tables: readonly TableName[], minIndex: number, opts?: WaitOptions): Promise<StateSnapshot> {
    for (const t of tables) {
      if (!(TableNames as readonly string[]).includes(t)) {
        return Promise.reject(new NomadError('invalid_argument', `blocking query: unknown table "${String(t)}"`, { field: 'tables' }));
      }
    }
    const passed = (snap: StateSnapshot): boolean => tables.some((t) => snap.tableIndex(t) > minIndex);
    if (passed(this.current)) return Promise.resolve(this.current);
    return new Promise<StateSnapshot>((resolve) => {
      let timer: TimerHandle | undefined;
      const waiter: Waiter = {
        offer: (snap) => {
          if (!passed(snap)) return false;
          timer?.cancel();
          resolve(snap);
          return true;
        },
      };
      this.waiters.add(waiter);
      if (opts !== undefined) {
        timer = opts.clock.setTimer(opts.timeoutMs, () => {
          if (this.waiters.delete(waiter)) resolve(this.current);
        });
      }
    });
  }

  /** Number of blocking queries waiting (for tests and metrics). */
  waiting(): number {
    return this.waiters.size;
  }

  /** Install new tables (FSM only) and wake the waiters they satisfy. */
  [commitTables](tables: Tables): StateSnapshot {
    this.current = new StateSnapshot(tables);
    if (this.waiters.size > 0) {
      for (const w of [...this.waiters]) {
        if (w.offer(this.current)) this.waiters.delete(w);
      }
    }
    return this.current;
  }
}
