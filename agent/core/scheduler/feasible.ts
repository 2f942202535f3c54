/**
 * Feasibility: which nodes could run the task group at all (nomad
 * scheduler/feasible/feasible.go). Each step is a small iterator over nodes
 * with `next()`/`reset()` wrapping a source; checkers that look only at one
 * node's class-wide values run under `FeasibilityWrapper`, which caches their
 * verdict per computed node class for the whole evaluation.
 */
import type { Rng } from '../lib/index.js';
import type { Constraint, Job, Node, StateReader, TaskGroup } from '../structs/index.js';
import { nodeIsSchedulable, usageGroupKey, usageJobKey } from '../structs/index.js';
import type { EvalContext } from './context.js';
import { targetEscapes } from './context.js';
import { PropertySet } from './propertyset.js';
import { slotView } from './slots.js';
import { compileTarget } from './targets.js';
import { versionMatches } from './version.js';

/** A step that yields feasible nodes one at a time. */
export interface FeasibleIterator {
  next(): Node | null;
  reset(): void;
}

// ---------------------------------------------------------------------------
// Candidate nodes

/** Node pool name that matches every node. */
export const NodePoolAll = 'all';

/** Shared between evaluations (cached): treat every part as read-only. */
export interface ReadyNodes {
  /** Ready, eligible, not draining nodes in the job's datacenters and pool. */
  readonly nodes: readonly Node[];
  /** Each of those nodes' slot in the snapshot's NodeSlotView (same order as `nodes`). */
  readonly slots: Int32Array;
  /** Count of those nodes per datacenter (AllocMetric.nodesAvailable). */
  readonly byDC: Readonly<Record<string, number>>;
  /** Ids of nodes in the datacenters/pool that can't take work right now. */
  readonly notReady: ReadonlySet<string>;
  /** Nodes in the pool, in any state or datacenter (AllocMetric.nodesInPool). */
  readonly nodesInPool: number;
}

/**
 * readyNodesInDCs results, keyed by the snapshot's shared node array (the same
 * object for as long as no node changes), then by pool and datacenters. Most
 * writes do not touch nodes, so consecutive evaluations share one pass over them.
 */
const readyCache = new WeakMap<readonly Node[], Map<string, ReadyNodes>>();

/** Compile datacenter patterns (`dc1`, `*`, `dc*`, `us-*-1`): `*` matches any run of characters. */
export function datacenterMatcher(patterns: readonly string[]): (dc: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const p of patterns) {
    if (!p.includes('*')) exact.add(p);
    else globs.push(new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's'));
  }
  return (dc) => {
    if (exact.has(dc)) return true;
    for (const g of globs) if (g.test(dc)) return true;
    return false;
  };
}

/** The nodes an evaluation may place on (nomad readyNodesInDCsAndPool). */
export function readyNodesInDCs(state: StateReader, datacenters: readonly string[], pool: string): ReadyNodes {
  const all = state.nodesView();
  let byKey = readyCache.get(all);
  if (byKey === undefined) {
    byKey = new Map();
    readyCache.set(all, byKey);
  }
  const key = `${pool}\u0000${datacenters.join('\u0000')}`;
  const hit = byKey.get(key);
  if (hit !== undefined) return hit;
  const computed = computeReadyNodes(state, all, datacenters, pool);
  byKey.set(key, computed);
  return computed;
}

function computeReadyNodes(state: StateReader, all: readonly Node[], datacenters: readonly string[], pool: string): ReadyNodes {
  const matcher = datacenterMatcher(datacenters);
  // Clusters have few datacenters: remember each verdict instead of matching globs per node.
  const verdicts = new Map<string, boolean>();
  const inDC = (dc: string): boolean => {
    let v = verdicts.get(dc);
    if (v === undefined) {
      v = matcher(dc);
      verdicts.set(dc, v);
    }
    return v;
  };
  const out = { nodes: [] as Node[], byDC: {} as Record<string, number>, notReady: new Set<string>(), nodesInPool: 0 };
  for (const node of all) {
    if (pool !== NodePoolAll && node.nodePool !== pool) continue;
    out.nodesInPool++;
    if (!inDC(node.datacenter)) continue;
    if (!nodeIsSchedulable(node)) {
      out.notReady.add(node.id);
      continue;
    }
    out.nodes.push(node);
    out.byDC[node.datacenter] = (out.byDC[node.datacenter] ?? 0) + 1;
  }
  // The snapshot's order is deterministic for a given state; the stack shuffles with the eval's rng.
  const view = slotView(state);
  const slots = new Int32Array(out.nodes.length);
  for (let i = 0; i < out.nodes.length; i++) slots[i] = view.slotOf(out.nodes[i]!.id);
  return { ...out, slots };
}

/**
 * The source of candidate nodes (nomad StaticIterator/RandomIterator). The
 * stack shuffles the nodes once per evaluation; successive selections continue
 * where the last one stopped, wrapping around, and each selection sees every
 * node at most once.
 */
export class NodeSource implements FeasibleIterator {
  private list: Node[] = [];
  /** Slots parallel to `list` (shuffled with it), or null: the context's visitSlot is then -1. */
  private slotList: Int32Array | null = null;
  /**
   * Shared mode (setSharedNodes): `list`/`slotList` are the caller's and stay as
   * they are; the shuffle permutes indices into them in `order` instead.
   */
  private order: ShuffleOrder | null = null;
  private offset = 0;
  private seen = 0;
  /**
   * Lazy Fisher-Yates: positions [0, shuffled) are final; the next position is
   * drawn only when the source reaches it. The order is a uniform shuffle, as
   * with a full shuffle up front, but an evaluation that looks at 20 of 5,000
   * nodes pays for 20 draws, not 5,000.
   */
  private shuffled = 0;
  private rng: Rng | null = null;
  private readonly ctx: EvalContext;

  constructor(ctx: EvalContext) {
    this.ctx = ctx;
  }

  /**
   * Iterate `nodes` (owned by the source from now on) in order, or shuffled
   * lazily with `rng`; `slots` (also owned) are their snapshot slots, in the same order.
   */
  setNodes(nodes: Node[], rng: Rng | null = null, slots: Int32Array | null = null): void {
    if (slots !== null && slots.length !== nodes.length) throw new Error(`NodeSource.setNodes: ${slots.length} slots for ${nodes.length} nodes`);
    this.list = nodes;
    this.slotList = slots;
    this.order = null;
    this.offset = 0;
    this.seen = 0;
    this.rng = rng;
    this.shuffled = rng === null ? nodes.length : 0;
  }

  /**
   * Iterate `nodes` (and their `slots`) shuffled lazily with `rng`, without
   * changing or copying them: the shuffle permutes indices in `order` (a
   * ShuffleOrder with room for the nodes, started afresh here). The nodes visit
   * in exactly the order `setNodes` on a copy would give for the same rng.
   */
  setSharedNodes(nodes: readonly Node[], slots: Int32Array | null, rng: Rng, order: ShuffleOrder): void {
    if (slots !== null && slots.length !== nodes.length) throw new Error(`NodeSource.setSharedNodes: ${slots.length} slots for ${nodes.length} nodes`);
    if (order.capacity < nodes.length) throw new Error(`NodeSource.setSharedNodes: an order for ${order.capacity} nodes cannot shuffle ${nodes.length}`);
    order.restart();
    this.list = nodes as Node[];
    this.slotList = slots;
    this.order = order;
    this.offset = 0;
    this.seen = 0;
    this.rng = rng;
    this.shuffled = 0;
  }

  /** Position to restore after a temporary `setNodes` (preferred-node selection). */
  save(): SourcePosition {
    return { list: this.list, slots: this.slotList, order: this.order, offset: this.offset, shuffled: this.shuffled, rng: this.rng };
  }

  restore(s: SourcePosition): void {
    this.list = s.list;
    this.slotList = s.slots;
    this.order = s.order;
    this.offset = s.offset;
    this.shuffled = s.shuffled;
    this.rng = s.rng;
    this.seen = 0;
  }

  next(): Node | null {
    const list = this.list;
    const slots = this.slotList;
    const n = list.length;
    if (this.seen >= n) return null;
    if (this.offset >= n) this.offset = 0;
    const i = this.offset;
    const order = this.order;
    // k: the index into list/slots of the node at position i.
    let k = i;
    if (order !== null) {
      k = i >= this.shuffled ? order.draw(i, i + this.rng!.int(n - i)) : order.at(i);
      if (i >= this.shuffled) this.shuffled = i + 1;
    } else if (i >= this.shuffled) {
      // The first pass reaches positions in order, so i === shuffled here.
      const j = i + this.rng!.int(n - i);
      const tmp = list[i]!;
      list[i] = list[j]!;
      list[j] = tmp;
      if (slots !== null) {
        const t = slots[i]!;
        slots[i] = slots[j]!;
        slots[j] = t;
      }
      this.shuffled = i + 1;
    }
    this.offset++;
    const node = list[k]!;
    this.seen++;
    const ctx = this.ctx;
    ctx.visitSlot = slots === null ? -1 : slots[k]!;
    ctx.evaluateNode();
    return node;
  }

  reset(): void {
    this.seen = 0;
  }
}

interface SourcePosition {
  list: Node[];
  slots: Int32Array | null;
  order: ShuffleOrder | null;
  offset: number;
  shuffled: number;
  rng: Rng | null;
}

/**
 * A permutation of 0..capacity-1 that starts as the identity and is changed by
 * swaps, for NodeSource's shuffle of a shared list. Restarting is O(1) (entries
 * carry the generation that wrote them), so one order serves evaluation after
 * evaluation without a pass over all nodes.
 */
export class ShuffleOrder {
  readonly capacity: number;
  private readonly value: Int32Array;
  private readonly stamp: Int32Array;
  private gen = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.value = new Int32Array(capacity);
    this.stamp = new Int32Array(capacity);
  }

  /** Back to the identity. */
  restart(): void {
    if (this.gen === 0x7fffffff) {
      this.stamp.fill(0);
      this.gen = 0;
    }
    this.gen++;
  }

  /** The index at position p. */
  at(p: number): number {
    return this.stamp[p] === this.gen ? this.value[p]! : p;
  }

  /** Swap positions i and j; the index now at position i. */
  draw(i: number, j: number): number {
    const gen = this.gen;
    const value = this.value;
    const stamp = this.stamp;
    const vi = stamp[i] === gen ? value[i]! : i;
    const vj = stamp[j] === gen ? value[j]! : j;
    value[j] = vi;
    stamp[j] = gen;
    value[i] = vj;
    stamp[i] = gen;
    return vj;
  }
}

// ---------------------------------------------------------------------------
// Constraint operators

const NUMBER = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

function checkOrder(op: string, l: string, r: string): boolean {
  let a: number | string = l;
  let b: number | string = r;
  if (NUMBER.test(l) && NUMBER.test(r)) {
    a = Number(l);
    b = Number(r);
  }
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      return false;
  }
}

const regexCache = new Map<string, RegExp | null>();
const setCache = new Map<string, string[]>();
const CACHE_LIMIT = 4096;

function compiledRegexp(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    if (regexCache.size >= CACHE_LIMIT) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** `a, b ,c` → ['a', 'b', 'c'] (cached). */
function setItems(s: string): string[] {
  let items = setCache.get(s);
  if (items === undefined) {
    items = s.split(',').map((x) => x.trim());
    if (setCache.size >= CACHE_LIMIT) setCache.clear();
    setCache.set(s, items);
  }
  return items;
}

/**
 * Does the pair of resolved targets satisfy the operator? `undefined` means the
 * target is not set on the node. distinct_hosts/distinct_property are checked
 * by their own iterators and pass here.
 */
export function checkOperand(operand: string, l: string | undefined, r: string | undefined): boolean {
  switch (operand) {
    case '=':
    case '==':
    case 'is':
      return l !== undefined && r !== undefined && l === r;
    case '!=':
    case 'not':
      return l !== r;
    case '<':
    case '<=':
    case '>':
    case '>=':
      return l !== undefined && r !== undefined && checkOrder(operand, l, r);
    case 'is_set':
      return l !== undefined;
    case 'is_not_set':
      return l === undefined;
    case 'version':
      return l !== undefined && r !== undefined && versionMatches(l, r, 'version');
    case 'semver':
      return l !== undefined && r !== undefined && versionMatches(l, r, 'semver');
    case 'regexp': {
      if (l === undefined || r === undefined) return false;
      const re = compiledRegexp(r);
      return re !== null && re.test(l);
    }
    case 'set_contains':
    case 'set_contains_all': {
      if (l === undefined || r === undefined) return false;
      const have = setItems(l);
      for (const want of setItems(r)) if (!have.includes(want)) return false;
      return true;
    }
    case 'set_contains_any': {
      if (l === undefined || r === undefined) return false;
      const have = setItems(l);
      for (const want of setItems(r)) if (have.includes(want)) return true;
      return false;
    }
    case 'distinct_hosts':
    case 'distinct_property':
      return true;
    default:
      return false;
  }
}

/** A constraint (or affinity) ready to check against nodes. */
export interface CompiledConstraint {
  readonly constraint: Constraint;
  /** `${attr.kernel.name} = linux`: the key in AllocMetric.constraintFiltered. */
  readonly text: string;
  /** Looks at per-node unique values, so computed classes can't cache it. */
  readonly escapes: boolean;
  matches(node: Node): boolean;
}

const compiled = new WeakMap<Constraint, CompiledConstraint>();

/** The string form Nomad shows for a constraint. */
export function constraintString(c: Pick<Constraint, 'lTarget' | 'operand' | 'rTarget'>): string {
  return `${c.lTarget} ${c.operand} ${c.rTarget}`;
}

export function compileConstraint(c: Constraint): CompiledConstraint {
  let cc = compiled.get(c);
  if (cc !== undefined) return cc;
  const l = compileTarget(c.lTarget);
  const r = compileTarget(c.rTarget);
  const operand = c.operand;
  cc = {
    constraint: c,
    text: constraintString(c),
    escapes: targetEscapes(c.lTarget, c.rTarget),
    matches: (node) => checkOperand(operand, l(node), r(node)),
  };
  compiled.set(c, cc);
  return cc;
}

// ---------------------------------------------------------------------------
// Checkers (run under the class-caching wrapper)

/** One feasibility check: '' when the node passes, else the reason it does not. */
export interface FeasibilityChecker {
  check(node: Node): string;
}

/** Every constraint must hold; the reason is the first failing constraint's string. */
export class ConstraintChecker implements FeasibilityChecker {
  private list: CompiledConstraint[] = [];

  setConstraints(constraints: readonly Constraint[]): void {
    const out: CompiledConstraint[] = [];
    for (const c of constraints) {
      if (c.operand === 'distinct_hosts' || c.operand === 'distinct_property') continue;
      out.push(compileConstraint(c));
    }
    this.list = out;
  }

  check(node: Node): string {
    for (const c of this.list) if (!c.matches(node)) return c.text;
    return '';
  }
}

const TRUE_STRINGS = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/** Is the driver usable on the node: detected and healthy, or (older clients) attribute `driver.<name>` true. */
export function nodeHasDriver(node: Node, driver: string): boolean {
  const info = node.drivers[driver];
  if (info !== undefined && typeof info === 'object') return info.detected && info.healthy;
  const attr = node.attributes[`driver.${driver}`];
  return typeof attr === 'string' && TRUE_STRINGS.has(attr);
}

export class DriverChecker implements FeasibilityChecker {
  private drivers: string[] = [];

  setDrivers(drivers: readonly string[]): void {
    this.drivers = [...drivers];
  }

  check(node: Node): string {
    for (const d of this.drivers) if (!nodeHasDriver(node, d)) return 'missing drivers';
    return '';
  }
}

/** The drivers and constraints of a group and its tasks (nomad TaskGroupConstraints). */
export function taskGroupConstraints(tg: TaskGroup): { drivers: string[]; constraints: Constraint[] } {
  const drivers: string[] = [];
  const constraints: Constraint[] = [...tg.constraints];
  for (const t of tg.tasks) {
    if (!drivers.includes(t.driver)) drivers.push(t.driver);
    for (const c of t.constraints) constraints.push(c);
  }
  return { drivers, constraints };
}

/**
 * Runs the job's and the group's checkers, caching each verdict per computed
 * node class (nomad FeasibilityWrapper). A class that failed is skipped with
 * the reason it failed; an escaped job/group runs its checks on every node.
 */
export class FeasibilityWrapper implements FeasibleIterator {
  private tg = '';
  private readonly ctx: EvalContext;
  private readonly source: FeasibleIterator;
  private readonly jobCheckers: readonly FeasibilityChecker[];
  private readonly tgCheckers: readonly FeasibilityChecker[];

  constructor(ctx: EvalContext, source: FeasibleIterator, jobCheckers: readonly FeasibilityChecker[], tgCheckers: readonly FeasibilityChecker[]) {
    this.ctx = ctx;
    this.source = source;
    this.jobCheckers = jobCheckers;
    this.tgCheckers = tgCheckers;
  }

  setTaskGroup(name: string): void {
    this.tg = name;
  }

  next(): Node | null {
    const ctx = this.ctx;
    const elig = ctx.eligibility;
    const jobEscaped = elig.jobEscaped();
    const jobClasses = elig.jobClasses();
    const tgEscaped = elig.taskGroupEscaped(this.tg);
    const tgClasses = elig.taskGroupClasses(this.tg);
    // Verdicts by the slot view's class id: a node whose class was seen is
    // passed or filtered without reading the node object.
    const classIds = ctx.slots.classId;
    const jobById = elig.jobClassIds();
    const tgById = elig.taskGroupClassIds(this.tg);
    for (;;) {
      const node = this.source.next();
      if (node === null) return null;
      const slot = ctx.visitSlot;
      const cid = slot >= 0 ? classIds[slot]! : 0;
      let jobVerdict: string | undefined;
      let tgVerdict: string | undefined;
      if (cid > 0) {
        jobVerdict = jobEscaped ? undefined : jobById[cid];
        tgVerdict = tgEscaped ? undefined : tgById[cid];
        if (jobVerdict !== undefined && tgVerdict !== undefined) {
          // Both verdicts known for the class: pass or filter without the class string.
          if (jobVerdict === '' && tgVerdict === '') return node;
          ctx.filterNode(node, jobVerdict !== '' ? jobVerdict : tgVerdict);
          continue;
        }
      }
      const cls = node.computedClass;
      const cacheable = cls !== '';

      // Job-level checks: cached per class unless the job's constraints escape.
      if (jobVerdict === undefined && !jobEscaped && cacheable) {
        jobVerdict = jobClasses.get(cls);
        if (jobVerdict !== undefined && cid > 0) jobById[cid] = jobVerdict;
      }
      if (jobVerdict === undefined) {
        const reason = runChecks(this.jobCheckers, node);
        if (!jobEscaped && cacheable) {
          jobClasses.set(cls, reason);
          if (cid > 0) jobById[cid] = reason;
        }
        if (reason !== '') {
          ctx.filterNode(node, reason);
          continue;
        }
      } else if (jobVerdict !== '') {
        ctx.filterNode(node, jobVerdict);
        continue;
      }

      // Group-level checks, likewise per group.
      if (tgVerdict === undefined && !tgEscaped && cacheable) {
        tgVerdict = tgClasses.get(cls);
        if (tgVerdict !== undefined && cid > 0) tgById[cid] = tgVerdict;
      }
      if (tgVerdict === undefined) {
        const reason = runChecks(this.tgCheckers, node);
        if (!tgEscaped && cacheable) {
          tgClasses.set(cls, reason);
          if (cid > 0) tgById[cid] = reason;
        }
        if (reason !== '') {
          ctx.filterNode(node, reason);
          continue;
        }
      } else if (tgVerdict !== '') {
        ctx.filterNode(node, tgVerdict);
        continue;
      }
      return node;
    }
  }

  reset(): void {
    this.source.reset();
  }
}

function runChecks(checkers: readonly FeasibilityChecker[], node: Node): string {
  for (const c of checkers) {
    const r = c.check(node);
    if (r !== '') return r;
  }
  return '';
}

// ---------------------------------------------------------------------------
// Checks that depend on other allocations (never class-cached)

function hasDistinctHosts(cs: readonly Constraint[]): boolean {
  return cs.some((c) => c.operand === 'distinct_hosts' && c.rTarget !== 'false');
}

/**
 * distinct_hosts: no other allocation of the job (job-level constraint) or of
 * the same job and group (group-level constraint) on the node, counting the
 * plan's placements and ignoring its stops.
 */
export class DistinctHostsIterator implements FeasibleIterator {
  private readonly ctx: EvalContext;
  private readonly source: FeasibleIterator;
  private jobId = '';
  private namespace = '';
  private group = '';
  private jobKey = '';
  private groupKey = '';
  private jobLevel = false;
  private groupLevel = false;
  /** The snapshot's per-slot counts for the job or group (looked up on first use). */
  private stateCounts: ReadonlyMap<number, number> | null = null;

  constructor(ctx: EvalContext, source: FeasibleIterator) {
    this.ctx = ctx;
    this.source = source;
  }

  setJob(job: Job): void {
    this.stateCounts = null;
    this.jobId = job.id;
    this.namespace = job.namespace;
    this.jobKey = usageJobKey(job.namespace, job.id);
    this.groupKey = usageGroupKey(job.namespace, job.id, this.group);
    this.jobLevel = hasDistinctHosts(job.constraints);
  }

  setTaskGroup(tg: TaskGroup): void {
    this.stateCounts = null;
    this.group = tg.name;
    this.groupKey = usageGroupKey(this.namespace, this.jobId, tg.name);
    this.groupLevel = hasDistinctHosts(tg.constraints);
  }

  next(): Node | null {
    for (;;) {
      const node = this.source.next();
      if (node === null) return null;
      if (!this.jobLevel && !this.groupLevel) return node;
      if (this.satisfied(node)) return node;
      this.ctx.filterNode(node, 'distinct_hosts');
    }
  }

  private satisfied(node: Node): boolean {
    const ctx = this.ctx;
    const slot = ctx.visitSlot;
    if (ctx.planFree(slot)) {
      // Not in the plan: the snapshot's allocations decide.
      let counts = this.stateCounts;
      if (counts === null) {
        counts = this.jobLevel ? ctx.stateJobCounts(this.namespace, this.jobId) : ctx.stateGroupCounts(this.namespace, this.jobId, this.group);
        this.stateCounts = counts;
      }
      return !counts.has(slot);
    }
    const p = ctx.proposal(node);
    if (this.jobLevel) return p.jobCount(this.namespace, this.jobId, this.jobKey) === 0;
    return p.groupCount(this.namespace, this.jobId, this.group, this.groupKey) === 0;
  }

  reset(): void {
    this.source.reset();
  }
}

/**
 * distinct_property: at most N (rTarget, default 1) allocations of the job
 * (job-level) or group (group-level) per value of the property, counting
 * existing allocations and the plan's placements.
 */
export class DistinctPropertyIterator implements FeasibleIterator {
  private readonly ctx: EvalContext;
  private readonly source: FeasibleIterator;
  private job: Job | null = null;
  private jobSets: PropertySet[] = [];
  private readonly groupSets = new Map<string, PropertySet[]>();
  private active: PropertySet[] = [];

  constructor(ctx: EvalContext, source: FeasibleIterator) {
    this.ctx = ctx;
    this.source = source;
  }

  setJob(job: Job): void {
    this.job = job;
    this.groupSets.clear();
    this.jobSets = [];
    for (const c of job.constraints) {
      if (c.operand === 'distinct_property') this.jobSets.push(new PropertySet(this.ctx, job, c.lTarget, '', c.rTarget));
    }
    this.active = this.jobSets;
  }

  setTaskGroup(tg: TaskGroup): void {
    const job = this.job;
    if (job === null) return;
    let sets = this.groupSets.get(tg.name);
    if (sets === undefined) {
      sets = [...this.jobSets];
      for (const c of tg.constraints) {
        if (c.operand === 'distinct_property') sets.push(new PropertySet(this.ctx, job, c.lTarget, tg.name, c.rTarget));
      }
      this.groupSets.set(tg.name, sets);
    }
    this.active = sets;
  }

  next(): Node | null {
    outer: for (;;) {
      const node = this.source.next();
      if (node === null) return null;
      for (const s of this.active) {
        const reason = s.satisfies(node);
        if (reason !== '') {
          this.ctx.filterNode(node, reason);
          continue outer;
        }
      }
      return node;
    }
  }

  reset(): void {
    for (const s of this.active) s.sync();
    this.source.reset();
  }
}
