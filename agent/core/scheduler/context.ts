/**
 * The evaluation context shared by every step of the placement stack (nomad
 * scheduler/feasible/context.go): the read-only state snapshot, the plan being
 * built, the injected random source, the metrics of the placement being made,
 * the per-computed-class eligibility cache and the proposed allocations per node.
 */
import type { Rng } from '../lib/index.js';
import type {
  AllocMetric,
  Allocation,
  ComparableResources,
  Job,
  NodeUsage,
  Node,
  NodeScoreMeta,
  NodeSlotView,
  Plan,
  PlanRecordLog,
  SchedulerConfiguration,
  StateReader,
  TaskGroup,
} from '../structs/index.js';
import { allocTerminalStatus, allocsUsage, emptyAllocMetric, NetworkIndex, nodeAvailable, planEntries, planRecordLog, usageGroupKey, usageJobKey } from '../structs/index.js';
import { slotView } from './slots.js';

/** Shared, frozen empty records for metrics nobody wrote to (see resetMetrics). */
const NoCounts: Record<string, number> = Object.freeze({});
const NoStrings: string[] = Object.freeze([]) as unknown as string[];

/** How many of the best-scoring nodes each placement's metrics keep. */
export const MaxRetainedNodeScores = 5;

/**
 * What the snapshot has on one node: its live allocations, their usage and
 * per-job/group counts (the state's NodeUsage, memoised per version of the
 * node's allocations), plus what the node offers.
 */
export interface NodeBase {
  readonly node: Node;
  readonly usage: NodeUsage;
  readonly available: ComparableResources;
  readonly cpu: number;
  readonly memoryMB: number;
  readonly diskMB: number;
  /**
   * @internal The proposal object evaluations on this base reuse (see
   * EvalContext.proposal): most evaluations visit each node once, so a fresh
   * proposal per node per evaluation was the ranking loop's largest allocation.
   */
  shared: NodeProposal | null;
}

const baseMemo = new WeakMap<Node, NodeBase>();

/** The node's snapshot allocations and usage. */
export function nodeBase(node: Node, usage: NodeUsage): NodeBase {
  const memo = baseMemo.get(node);
  if (memo !== undefined && memo.usage === usage) return memo;
  const base: NodeBase = {
    node,
    usage,
    available: memo?.available ?? nodeAvailable(node),
    cpu: usage.cpu,
    memoryMB: usage.memoryMB,
    diskMB: usage.diskMB,
    shared: null,
  };
  baseMemo.set(node, base);
  return base;
}

/**
 * What the plan proposes for one node: the existing non-terminal allocations
 * minus the plan's stops/evictions/preemptions, plus the plan's placements
 * (an in-place update replaces the existing allocation with the same id).
 * Cached per node; recomputed only when the plan's entries for that node change.
 */
export class NodeProposal {
  readonly node: Node;
  readonly available: ComparableResources;
  /**
   * The proposed allocations when the plan changes this node; null while it does
   * not (then they are the snapshot's live allocations, listed only if asked for:
   * most nodes are ranked from the state's tallies alone).
   */
  private own: readonly Allocation[] | null = null;
  /** What `allocs` use (structs.allocsUsage). */
  cpu = 0;
  memoryMB = 0;
  diskMB = 0;
  /** Bumped every time `allocs` changes. */
  version = 0;

  private placedRef: readonly Allocation[] | undefined = undefined;
  private placedLen = 0;
  private stoppedRef: readonly Allocation[] | undefined = undefined;
  private stoppedLen = 0;
  private preemptedRef: readonly Allocation[] | undefined = undefined;
  private preemptedLen = 0;

  /** `allocs` is a private copy that appends may extend. */
  private owned = false;
  private ids: Set<string> | null = null;
  private netIdx: NetworkIndex | null = null;
  private netCollision = '';
  private countSet = false;
  private ports = -1;
  private countJob = '';
  private countNs = '';
  private countGroup = '';
  private countValue = 0;

  private readonly usage: NodeUsage;
  /** @internal The serial of the EvalContext using this proposal (0: none). */
  owner = 0;

  constructor(base: NodeBase) {
    this.node = base.node;
    this.usage = base.usage;
    this.available = base.available;
    this.cpu = base.cpu;
    this.memoryMB = base.memoryMB;
    this.diskMB = base.diskMB;
  }

  /**
   * @internal Forget every plan entry and cache: back to the snapshot's
   * allocations, as if new (a reused proposal changes hands between evaluations).
   * Arrays handed out before stay as they were: a later append copies first.
   */
  reclaim(owner: number): void {
    this.owner = owner;
    this.own = null;
    this.owned = false;
    this.cpu = this.usage.cpu;
    this.memoryMB = this.usage.memoryMB;
    this.diskMB = this.usage.diskMB;
    this.version++;
    this.placedRef = undefined;
    this.placedLen = 0;
    this.stoppedRef = undefined;
    this.stoppedLen = 0;
    this.preemptedRef = undefined;
    this.preemptedLen = 0;
    this.ids = null;
    this.netIdx = null;
    this.netCollision = '';
    this.countSet = false;
    this.ports = -1;
  }

  /** Non-terminal allocations of the snapshot on this node (fixed for the eval). */
  get existing(): readonly Allocation[] {
    return this.usage.live;
  }

  /** The proposed allocations. Do not mutate. */
  get allocs(): readonly Allocation[] {
    return this.own ?? this.usage.live;
  }

  private setUsage(): void {
    if (this.own === null) {
      this.cpu = this.usage.cpu;
      this.memoryMB = this.usage.memoryMB;
      this.diskMB = this.usage.diskMB;
      return;
    }
    // Empty lists are common and skip the call: mixing empty (small-integer kind) and
    // object arrays at one call site makes V8 deoptimise it over and over.
    if (this.allocs.length === 0) {
      this.cpu = this.memoryMB = this.diskMB = 0;
      return;
    }
    const u = allocsUsage(this.allocs);
    this.cpu = u.cpu;
    this.memoryMB = u.memoryMB;
    this.diskMB = u.diskMB;
  }

  /**
   * @internal Bring `allocs` up to date with the plan's entries for this node.
   * Appended placements are added incrementally; anything else (stops, an
   * in-place update of an existing id, a replaced array) recomputes.
   */
  refresh(placed: readonly Allocation[] | undefined, stopped: readonly Allocation[] | undefined, preempted: readonly Allocation[] | undefined): void {
    const placedLen = placed?.length ?? 0;
    const stoppedLen = stopped?.length ?? 0;
    const preemptedLen = preempted?.length ?? 0;
    if (placed === this.placedRef && placedLen === this.placedLen && stopped === this.stoppedRef && stoppedLen === this.stoppedLen &&
      preempted === this.preemptedRef && preemptedLen === this.preemptedLen) {
      return;
    }
    const appendOnly =
      stopped === this.stoppedRef && stoppedLen === this.stoppedLen && preempted === this.preemptedRef && preemptedLen === this.preemptedLen &&
      placed !== undefined && placedLen > this.placedLen && (placed === this.placedRef || (this.placedRef === undefined && this.placedLen === 0));
    if (appendOnly && this.append(placed, this.placedLen)) {
      this.placedRef = placed;
      this.placedLen = placedLen;
      return;
    }
    this.recompute(placed, stopped, preempted);
  }

  private append(placed: readonly Allocation[], from: number): boolean {
    let ids = this.ids;
    if (ids === null) {
      ids = new Set();
      for (const a of this.allocs) ids.add(a.id);
      this.ids = ids;
    }
    for (let i = from; i < placed.length; i++) if (ids.has(placed[i]!.id)) return false;
    if (!this.owned) {
      this.own = [...this.allocs];
      this.owned = true;
    }
    const list = this.allocs as Allocation[];
    for (let i = from; i < placed.length; i++) {
      const a = placed[i]!;
      ids.add(a.id);
      list.push(a);
      if (!allocTerminalStatus(a)) {
        this.cpu += a.resources.cpu;
        this.memoryMB += a.resources.memoryMB;
        this.diskMB += a.resources.diskMB;
      }
      if (this.netIdx !== null) {
        const c = this.netIdx.addAllocs([a]);
        if (c !== '' && this.netCollision === '') this.netCollision = c;
      }
      if (this.countSet && a.jobId === this.countJob && a.namespace === this.countNs && a.taskGroup === this.countGroup) this.countValue++;
      if (this.ports >= 0) this.ports += a.resources.ports.length;
    }
    this.version++;
    return true;
  }

  private recompute(placed: readonly Allocation[] | undefined, stopped: readonly Allocation[] | undefined, preempted: readonly Allocation[] | undefined): void {
    this.placedRef = placed;
    this.placedLen = placed?.length ?? 0;
    this.stoppedRef = stopped;
    this.stoppedLen = stopped?.length ?? 0;
    this.preemptedRef = preempted;
    this.preemptedLen = preempted?.length ?? 0;
    this.netIdx = null;
    this.netCollision = '';
    this.ids = null;
    this.countSet = false;
    this.ports = -1;
    this.version++;
    if (this.placedLen === 0 && this.stoppedLen === 0 && this.preemptedLen === 0) {
      this.own = null;
      this.owned = false;
    } else {
      let removed: Set<string> | null = null;
      if (this.stoppedLen > 0 || this.preemptedLen > 0) {
        removed = new Set();
        for (const a of stopped ?? []) removed.add(a.id);
        for (const a of preempted ?? []) removed.add(a.id);
      }
      // Later plan entries for the same id win (an in-place update, or an alloc updated twice).
      const latest = new Map<string, Allocation>();
      for (const a of placed ?? []) latest.set(a.id, a);
      const out: Allocation[] = [];
      for (const a of this.existing) {
        if (removed?.has(a.id) === true || latest.has(a.id)) continue;
        out.push(a);
      }
      for (const a of latest.values()) out.push(a);
      this.own = out;
      this.owned = true;
    }
    this.setUsage();
  }

  /** The ports in use on the node (reserved + proposed allocations), built lazily and kept up to date. */
  networkIndex(): NetworkIndex {
    if (this.netIdx === null) {
      this.netIdx = new NetworkIndex(this.node);
      this.netCollision = this.allocs.length === 0 ? '' : this.netIdx.addAllocs(this.allocs);
    }
    return this.netIdx;
  }

  /** '' or the first port collision among the proposed allocations (`network: port collision 8080`). */
  portCollision(): string {
    this.networkIndex();
    return this.netCollision;
  }

  /** How many proposed allocations belong to this job's group (kept up to date for the last group asked). */
  groupCount(namespace: string, jobId: string, group: string, key = usageGroupKey(namespace, jobId, group)): number {
    // Nothing in the plan on this node yet: the state's tallies are the answer.
    if (this.own === null) return this.usage.byGroup.get(key) ?? 0;
    if (!this.countSet || jobId !== this.countJob || group !== this.countGroup || namespace !== this.countNs) {
      let n = 0;
      const list = this.allocs;
      for (let i = 0; i < list.length; i++) {
        const a = list[i]!;
        if (a.jobId === jobId && a.taskGroup === group && a.namespace === namespace) n++;
      }
      this.countSet = true;
      this.countJob = jobId;
      this.countNs = namespace;
      this.countGroup = group;
      this.countValue = n;
    }
    return this.countValue;
  }

  /** How many proposed allocations belong to this job (any group). */
  jobCount(namespace: string, jobId: string, key = usageJobKey(namespace, jobId)): number {
    if (this.own === null) return this.usage.byJob.get(key) ?? 0;
    let n = 0;
    for (const a of this.allocs) if (a.jobId === jobId && a.namespace === namespace) n++;
    return n;
  }

  /** Host ports taken on the node: its reserved ports plus every proposed allocation's ports (an upper bound on distinct ports). */
  portsTaken(): number {
    if (this.ports < 0 && this.own === null) this.ports = this.node.reserved.reservedPorts.length + this.usage.ports;
    if (this.ports < 0) {
      let n = this.node.reserved.reservedPorts.length;
      const list = this.allocs;
      for (let i = 0; i < list.length; i++) n += list[i]!.resources.ports.length;
      this.ports = n;
    }
    return this.ports;
  }

}

/**
 * Per computed node class: has the job (or a task group) been found feasible?
 * `escaped` means a constraint looks at per-node values, so the class can't be trusted.
 */
export type ClassFeasibility = 'unknown' | 'eligible' | 'ineligible' | 'escaped';

const EscapePrefixes = ['${node.unique.', '${attr.unique.', '${meta.unique.'];

/** Does this constraint/affinity look at values unique to one node (so computed classes can't cache it)? */
export function targetEscapes(lTarget: string, rTarget: string): boolean {
  for (const p of EscapePrefixes) if (lTarget.includes(p) || rTarget.includes(p)) return true;
  return false;
}

function constraintsEscape(cs: readonly { lTarget: string; rTarget: string; operand: string }[]): boolean {
  for (const c of cs) {
    // distinct_* are checked outside the class-cached wrapper.
    if (c.operand === 'distinct_hosts' || c.operand === 'distinct_property') continue;
    if (targetEscapes(c.lTarget, c.rTarget)) return true;
  }
  return false;
}

/**
 * The eligibility cache of one evaluation (nomad EvalEligibility): per computed
 * class, '' for eligible or the reason it is not (the failed constraint's string).
 */
export class EvalEligibility {
  private jobEscapedFlag = false;
  private readonly tgEscaped = new Map<string, boolean>();
  private readonly job = new Map<string, string>();
  private readonly groups = new Map<string, Map<string, string>>();
  private jobRef: Job | null = null;
  /**
   * The same verdicts by the slot view's class id (the feasibility wrapper's
   * fast path reads these without touching the node); filled from the maps
   * above and dropped whenever they are reset or written from outside.
   */
  private jobById: (string | undefined)[] = [];
  private readonly groupsById = new Map<string, (string | undefined)[]>();

  /** Called when the stack's job is set; a different job (or version) forgets the cache. */
  setJob(job: Job): void {
    if (this.jobRef !== null && (this.jobRef === job || (this.jobRef.id === job.id && this.jobRef.version === job.version && this.jobRef.jobModifyIndex === job.jobModifyIndex))) {
      this.jobRef = job;
      return;
    }
    this.jobRef = job;
    this.job.clear();
    this.groups.clear();
    this.jobById = [];
    this.groupsById.clear();
    this.tgEscaped.clear();
    this.jobEscapedFlag = constraintsEscape(job.constraints);
    for (const tg of job.taskGroups) this.tgEscaped.set(tg.name, groupEscapes(tg));
  }

  /** Forget every cached result (the system stack checks one node at a time). */
  reset(): void {
    this.job.clear();
    this.groups.clear();
    this.jobById = [];
    this.groupsById.clear();
  }

  /** @internal class id → '' or reason: a cache of jobClasses() for the wrapper's fast path. */
  jobClassIds(): (string | undefined)[] {
    return this.jobById;
  }

  /** @internal class id → '' or reason for one task group. */
  taskGroupClassIds(tg: string): (string | undefined)[] {
    let a = this.groupsById.get(tg);
    if (a === undefined) {
      a = [];
      this.groupsById.set(tg, a);
    }
    return a;
  }

  /** @internal class → '' (eligible) or the reason (ineligible), for the feasibility wrapper. */
  jobClasses(): Map<string, string> {
    return this.job;
  }

  /** @internal */
  jobEscaped(): boolean {
    return this.jobEscapedFlag;
  }

  /** @internal */
  taskGroupEscaped(tg: string): boolean {
    return this.tgEscaped.get(tg) === true;
  }

  /** @internal class → '' or reason for one task group (created on first use). */
  taskGroupClasses(tg: string): Map<string, string> {
    let m = this.groups.get(tg);
    if (m === undefined) {
      m = new Map();
      this.groups.set(tg, m);
    }
    return m;
  }

  jobStatus(cls: string): ClassFeasibility {
    if (this.jobEscapedFlag || cls === '') return 'escaped';
    const v = this.job.get(cls);
    return v === undefined ? 'unknown' : v === '' ? 'eligible' : 'ineligible';
  }

  /** The reason a class was found ineligible for the job ('' when not). */
  jobReason(cls: string): string {
    return this.job.get(cls) ?? '';
  }

  setJobEligibility(cls: string, reason: string): void {
    this.job.set(cls, reason);
    this.jobById = [];
  }

  taskGroupStatus(tg: string, cls: string): ClassFeasibility {
    if (this.tgEscaped.get(tg) === true || cls === '') return 'escaped';
    const v = this.groups.get(tg)?.get(cls);
    return v === undefined ? 'unknown' : v === '' ? 'eligible' : 'ineligible';
  }

  taskGroupReason(tg: string, cls: string): string {
    return this.groups.get(tg)?.get(cls) ?? '';
  }

  setTaskGroupEligibility(tg: string, cls: string, reason: string): void {
    let m = this.groups.get(tg);
    if (m === undefined) {
      m = new Map();
      this.groups.set(tg, m);
    }
    m.set(cls, reason);
    this.groupsById.delete(tg);
  }

  /** True when some constraint looked at a unique attribute (Evaluation.escapedComputedClass). */
  hasEscaped(): boolean {
    if (this.jobEscapedFlag) return true;
    for (const v of this.tgEscaped.values()) if (v) return true;
    return false;
  }

  /**
   * Class → eligible? for blocked evaluations (Evaluation.classEligibility): a
   * class is eligible when the job passes on it and any task group does.
   */
  classes(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const m of this.groups.values()) {
      for (const [cls, reason] of m) {
        if (reason === '') out[cls] = true;
        else if (!(cls in out)) out[cls] = false;
      }
    }
    for (const [cls, reason] of this.job) {
      if (reason !== '') out[cls] = false;
      else if (!(cls in out)) out[cls] = true;
    }
    return out;
  }
}

function groupEscapes(tg: TaskGroup): boolean {
  if (constraintsEscape(tg.constraints)) return true;
  for (const t of tg.tasks) if (constraintsEscape(t.constraints)) return true;
  return false;
}

/** One scored node as the metrics keep it (filled by the ranking steps). */
export interface ScoredNode {
  readonly node: Node;
  readonly finalScore: number;
  scoreRecord(): Record<string, number>;
}

export interface EvalContextOptions {
  /** Overrides the snapshot's scheduler configuration (e.g. per node pool). */
  schedulerConfig?: SchedulerConfiguration;
}

/**
 * Everything the placement stack reads or records during one evaluation. The
 * scheduler appends to `plan` between selections; `proposal(node)` notices.
 */
/** Serials of evaluation contexts: who currently holds a shared NodeProposal. */
let contextSerial = 0;

/** Live allocations of one job in the snapshot, counted per node slot. */
interface JobSlotCounts {
  readonly byJob: Map<number, number>;
  readonly byGroup: Map<string, Map<number, number>>;
}

const NoSlotCounts: ReadonlyMap<number, number> = new Map();

export class EvalContext {
  readonly state: StateReader;
  /** Marks the proposals this context holds; a new serial (setPlan) disowns them all. */
  private serial = ++contextSerial;
  readonly rng: Rng;
  readonly eligibility = new EvalEligibility();
  readonly schedulerConfig: SchedulerConfiguration;
  /** The metrics of the placement being made; replaced by `resetMetrics()` before each selection. */
  metrics: AllocMetric = emptyAllocMetric();

  private planRef: Plan;
  private readonly nodes = new Map<string, Node | null>();
  private nodesAvailable: Record<string, number> = {};
  private nodesInPool = 0;
  private top: ScoredNode[] = [];

  // Plan journal for property sets (spread, distinct_property): which plan entries were seen.
  private journalPlan: Plan | null = null;
  private readonly journalSeen = new Map<string, { placed: readonly Allocation[]; placedLen: number; stopped: readonly Allocation[] | undefined; stoppedLen: number }>();
  /** Bumped when the plan changed in a way that is not an append (a rebuild is needed). */
  journalEpoch = 0;
  /**
   * Placements and stops appended to the plan, in the order they were noticed.
   * Read-only for readers: for a tracked plan they are the records' logs themselves.
   */
  journalPlaced: Allocation[] = [];
  journalStopped: Allocation[] = [];
  /** The logs (and their epochs) the journal is for, when the plan's records are tracked (see trackPlanRecords). */
  private journalLogP: PlanRecordLog | null = null;
  private journalLogU: PlanRecordLog | null = null;
  private journalLogEpochP = 0;
  private journalLogEpochU = 0;

  /**
   * The slot of the node the candidate source handed out last, or -1 when the
   * source has no slots (a preferred node, the system stack). Steps downstream
   * read it for the node they were just given (selections are synchronous).
   */
  visitSlot = -1;
  private slotsRef: NodeSlotView | null = null;
  private readonly slotIds = new Map<string, number>();
  /** planMarks[slot] === fastStamp: the plan has entries for the node (see markPlanSlots). */
  private planMarks: Int32Array | null = null;
  private planStamp = 0;
  private fastStamp = 0;
  /** The plan the marks are for, and the node ids of its three records marked so far (in key order). */
  private markedPlan: Plan | null = null;
  private readonly markedKeys: [string[], string[], string[]] = [[], [], []];
  /**
   * For a tracked plan: the records' logs the marks follow, their epochs, and how
   * many of each log's node ids are marked. All null while marking the slow way.
   */
  private readonly markLogs: [PlanRecordLog | null, PlanRecordLog | null, PlanRecordLog | null] = [null, null, null];
  private readonly markLogEpochs = [0, 0, 0];
  private readonly markLogDone = [0, 0, 0];
  private readonly stateCounts = new Map<string, JobSlotCounts>();

  constructor(state: StateReader, plan: Plan, rng: Rng, opts: EvalContextOptions = {}) {
    this.state = state;
    this.planRef = plan;
    this.rng = rng;
    this.schedulerConfig = opts.schedulerConfig ?? state.schedulerConfig();
  }

  get plan(): Plan {
    return this.planRef;
  }

  /** Swap in a new plan (after a submit): every proposal cache is dropped. */
  setPlan(plan: Plan): void {
    this.planRef = plan;
    this.serial = ++contextSerial;
  }

  /** Per-DC counts of the candidate nodes and the pool size, copied into every placement's metrics. */
  setNodeCounts(byDC: Readonly<Record<string, number>>, nodesInPool: number): void {
    this.nodesAvailable = Object.freeze({ ...byDC });
    this.nodesInPool = nodesInPool;
  }

  /** The snapshot's dense node arrays. */
  get slots(): NodeSlotView {
    let v = this.slotsRef;
    if (v === null) {
      v = slotView(this.state);
      this.slotsRef = v;
    }
    return v;
  }

  /** The node's slot in the snapshot, or -1 (cached). */
  slotOf(nodeId: string): number {
    let s = this.slotIds.get(nodeId);
    if (s === undefined) {
      s = this.slots.slotOf(nodeId);
      this.slotIds.set(nodeId, s);
    }
    return s;
  }

  /**
   * Mark the slots of every node the plan has entries for (placements, stops,
   * preemptions) and turn the slot fast path on until `endSlotFastPath`: a node
   * the plan does not touch is ranked from the snapshot's arrays alone, without
   * its proposal. O(nodes in the plan); call at the start of a selection.
   */
  markPlanSlots(): void {
    let marks = this.planMarks;
    const size = this.slots.size;
    const plan = this.planRef;
    if (marks === null || marks.length < size) {
      marks = new Int32Array(size);
      this.planMarks = marks;
      this.markedPlan = null;
    }
    const logA = planRecordLog(plan.nodeAllocation);
    const logU = planRecordLog(plan.nodeUpdate);
    const logP = planRecordLog(plan.nodePreemptions);
    if (logA !== undefined && logU !== undefined && logP !== undefined) {
      // Tracked records: mark the node ids their logs gained since the last call.
      const logs = this.markLogs;
      if (plan !== this.markedPlan || logs[0] !== logA || logs[1] !== logU || logs[2] !== logP ||
        this.markLogEpochs[0] !== logA.epoch || this.markLogEpochs[1] !== logU.epoch || this.markLogEpochs[2] !== logP.epoch) {
        this.restartMarks(plan);
        logs[0] = logA;
        logs[1] = logU;
        logs[2] = logP;
        this.markLogEpochs[0] = logA.epoch;
        this.markLogEpochs[1] = logU.epoch;
        this.markLogEpochs[2] = logP.epoch;
      }
      this.markLogged(marks, logA.nodeIds, 0);
      this.markLogged(marks, logU.nodeIds, 1);
      this.markLogged(marks, logP.nodeIds, 2);
      this.fastStamp = this.planStamp;
      return;
    }
    if (plan !== this.markedPlan || this.markLogs[0] !== null) this.restartMarks(plan);
    // Between selections the scheduler appends to the plan: mark only the node ids added
    // since the last call. Marks are never cleared for a plan, so a node whose entries were
    // removed stays marked (it is ranked through its proposal: correct, just not the fast path).
    if (!this.markNew(marks, plan.nodeAllocation, this.markedKeys[0]) ||
      !this.markNew(marks, plan.nodeUpdate, this.markedKeys[1]) ||
      !this.markNew(marks, plan.nodePreemptions, this.markedKeys[2])) {
      // A key seen before is gone or moved (a record was replaced or lost an entry): mark afresh.
      this.restartMarks(plan);
      this.markNew(marks, plan.nodeAllocation, this.markedKeys[0]);
      this.markNew(marks, plan.nodeUpdate, this.markedKeys[1]);
      this.markNew(marks, plan.nodePreemptions, this.markedKeys[2]);
    }
    this.fastStamp = this.planStamp;
  }

  private restartMarks(plan: Plan): void {
    this.markedPlan = plan;
    this.planStamp++;
    for (const k of this.markedKeys) k.length = 0;
    this.markLogs[0] = this.markLogs[1] = this.markLogs[2] = null;
    this.markLogDone[0] = this.markLogDone[1] = this.markLogDone[2] = 0;
  }

  /** Mark the slots of `nodeIds` past the first `markLogDone[which]` (a log's node ids only grow within an epoch). */
  private markLogged(marks: Int32Array, nodeIds: readonly string[], which: number): void {
    const stamp = this.planStamp;
    for (let i = this.markLogDone[which]!; i < nodeIds.length; i++) {
      const s = this.slotOf(nodeIds[i]!);
      if (s >= 0) marks[s] = stamp;
    }
    this.markLogDone[which] = nodeIds.length;
  }

  /**
   * Mark the keys of `rec` past those in `seen` (which must be its first keys, in
   * order: string keys iterate in insertion order) and append them to `seen`.
   * False, with nothing appended, when a key in `seen` is not where it was.
   */
  private markNew(marks: Int32Array, rec: Readonly<Record<string, unknown>>, seen: string[]): boolean {
    const n = seen.length;
    let i = 0;
    for (const id in rec) {
      if (i < n) {
        if (seen[i] !== id) return false;
      } else {
        seen.push(id);
        const s = this.slotOf(id);
        if (s >= 0) marks[s] = this.planStamp;
      }
      i++;
    }
    return i >= n;
  }

  /** The plan may change from here on: the marks are no longer trusted. */
  endSlotFastPath(): void {
    this.fastStamp = 0;
  }

  /** True when the node in `slot` can be read from the snapshot's arrays: the fast path is on and the plan does not touch it. */
  planFree(slot: number): boolean {
    return this.fastStamp !== 0 && slot >= 0 && this.planMarks![slot] !== this.fastStamp;
  }

  private jobSlotCounts(namespace: string, jobId: string): JobSlotCounts {
    const key = `${namespace}\u0000${jobId}`;
    let c = this.stateCounts.get(key);
    if (c === undefined) {
      c = { byJob: new Map(), byGroup: new Map() };
      for (const a of this.state.allocsByJob(namespace, jobId)) {
        if (allocTerminalStatus(a) || a.jobId !== jobId || a.namespace !== namespace) continue;
        const s = this.slotOf(a.nodeId);
        if (s < 0) continue;
        c.byJob.set(s, (c.byJob.get(s) ?? 0) + 1);
        let g = c.byGroup.get(a.taskGroup);
        if (g === undefined) {
          g = new Map();
          c.byGroup.set(a.taskGroup, g);
        }
        g.set(s, (g.get(s) ?? 0) + 1);
      }
      this.stateCounts.set(key, c);
    }
    return c;
  }

  /** Slot → live allocations of the job's group in the snapshot (not the plan); absent slots have none. */
  stateGroupCounts(namespace: string, jobId: string, group: string): ReadonlyMap<number, number> {
    return this.jobSlotCounts(namespace, jobId).byGroup.get(group) ?? NoSlotCounts;
  }

  /** Slot → live allocations of the job (any group) in the snapshot. */
  stateJobCounts(namespace: string, jobId: string): ReadonlyMap<number, number> {
    return this.jobSlotCounts(namespace, jobId).byJob;
  }

  /** A node of the snapshot by id (cached). */
  node(id: string): Node | undefined {
    let n = this.nodes.get(id);
    if (n === undefined) {
      n = this.state.nodeByID(id) ?? null;
      this.nodes.set(id, n);
    }
    return n ?? undefined;
  }

  /** The proposal for a node, revalidated against the plan's entries for that node. */
  proposal(node: Node): NodeProposal {
    // The node's current base holds this context's proposal if the context claimed
    // it (then with this snapshot's usage: a claim goes through the snapshot's base).
    let p = baseMemo.get(node)?.shared ?? null;
    if (p === null || p.owner !== this.serial) {
      // Reuse the base's proposal object: no other context can be using it in the
      // middle of a step (selections are synchronous), and a context that finds
      // its proposal taken (owner changed) reclaims it the same way. No per-context
      // map: a visit per node per evaluation made filling one the loop's top allocation.
      const base = nodeBase(node, this.state.nodeUsage(node.id));
      let shared = base.shared;
      if (shared === null) {
        shared = new NodeProposal(base);
        base.shared = shared;
      }
      shared.reclaim(this.serial);
      p = shared;
    }
    const plan = this.planRef;
    const id = node.id;
    p.refresh(planEntries(plan.nodeAllocation, id), planEntries(plan.nodeUpdate, id), planEntries(plan.nodePreemptions, id));
    return p;
  }

  /** The node's proposed allocations (nomad EvalContext.ProposedAllocs). */
  proposedAllocs(nodeId: string): readonly Allocation[] {
    const node = this.node(nodeId);
    if (node === undefined) {
      const out: Allocation[] = [];
      for (const a of planEntries(this.planRef.nodeAllocation, nodeId) ?? []) out.push(a);
      return out;
    }
    return this.proposal(node).allocs;
  }

  /**
   * Bring the plan journal up to date: appends new plan placements/stops to
   * `journalPlaced`/`journalStopped`; bumps `journalEpoch` (and clears the
   * journal) when entries were removed or replaced. O(nodes in the plan).
   */
  syncPlanJournal(): void {
    const plan = this.planRef;
    const logP = planRecordLog(plan.nodeAllocation);
    const logU = planRecordLog(plan.nodeUpdate);
    if (logP !== undefined && logU !== undefined) {
      // Tracked records: the journal is their logs, which only grow until an epoch changes.
      if (logP !== this.journalLogP || logU !== this.journalLogU || logP.epoch !== this.journalLogEpochP || logU.epoch !== this.journalLogEpochU ||
        this.journalPlaced !== logP.allocs || this.journalStopped !== logU.allocs) {
        this.journalLogP = logP;
        this.journalLogU = logU;
        this.journalLogEpochP = logP.epoch;
        this.journalLogEpochU = logU.epoch;
        this.journalPlan = null;
        this.journalSeen.clear();
        this.journalPlaced = logP.allocs;
        this.journalStopped = logU.allocs;
        this.journalEpoch++;
      }
      return;
    }
    if (this.journalLogP !== null) {
      // Back to walking the records: start from scratch, in arrays of the journal's own.
      this.journalLogP = this.journalLogU = null;
      this.journalPlan = null;
    }
    let rebuild = this.journalPlan !== plan;
    if (!rebuild) {
      for (const [nodeId, seen] of this.journalSeen) {
        const placed = planEntries(plan.nodeAllocation, nodeId);
        const stopped = planEntries(plan.nodeUpdate, nodeId);
        if ((seen.placedLen > 0 && (placed === undefined || placed !== seen.placed || placed.length < seen.placedLen)) ||
          (seen.stoppedLen > 0 && (stopped === undefined || stopped !== seen.stopped || stopped.length < seen.stoppedLen))) {
          rebuild = true;
          break;
        }
      }
    }
    if (rebuild) {
      this.journalPlan = plan;
      this.journalSeen.clear();
      this.journalPlaced = [];
      this.journalStopped = [];
      this.journalEpoch++;
    }
    for (const nodeId in plan.nodeAllocation) {
      const placed = plan.nodeAllocation[nodeId]!;
      let seen = this.journalSeen.get(nodeId);
      if (seen === undefined) {
        seen = { placed, placedLen: 0, stopped: undefined, stoppedLen: 0 };
        this.journalSeen.set(nodeId, seen);
      }
      if (seen.placed !== placed) {
        seen.placed = placed;
        seen.placedLen = 0;
      }
      for (let i = seen.placedLen; i < placed.length; i++) this.journalPlaced.push(placed[i]!);
      seen.placedLen = placed.length;
    }
    for (const nodeId in plan.nodeUpdate) {
      const stopped = plan.nodeUpdate[nodeId]!;
      let seen = this.journalSeen.get(nodeId);
      if (seen === undefined) {
        seen = { placed: [], placedLen: 0, stopped, stoppedLen: 0 };
        this.journalSeen.set(nodeId, seen);
      }
      if (seen.stopped !== stopped) {
        seen.stopped = stopped;
        seen.stoppedLen = 0;
      }
      for (let i = seen.stoppedLen; i < stopped.length; i++) this.journalStopped.push(stopped[i]!);
      seen.stoppedLen = stopped.length;
    }
  }

  // ----- metrics of the current placement -----

  /** Start a new placement's metrics. */
  resetMetrics(): void {
    // Every placement keeps its metrics for good, so records nobody writes stay shared
    // (frozen, replaced on first write) and nodesAvailable is one frozen copy per eval.
    this.metrics = {
      nodesEvaluated: 0,
      nodesFiltered: 0,
      nodesInPool: this.nodesInPool,
      nodesAvailable: this.nodesAvailable,
      classFiltered: NoCounts,
      constraintFiltered: NoCounts,
      nodesExhausted: 0,
      classExhausted: NoCounts,
      dimensionExhausted: NoCounts,
      quotaExhausted: NoStrings,
      scoreMetaData: [],
      allocationTime: 0,
      coalescedFailures: 0,
    };
    this.top.length = 0;
  }

  /** A node was pulled from the source. */
  evaluateNode(): void {
    this.metrics.nodesEvaluated++;
  }

  /** A feasibility step filtered `node`; `reason` is the constraint's string or a short cause. */
  filterNode(node: Node, reason: string): void {
    const m = this.metrics;
    m.nodesFiltered++;
    if (m.classFiltered === NoCounts) m.classFiltered = {};
    if (m.constraintFiltered === NoCounts) m.constraintFiltered = {};
    if (node.nodeClass !== '') m.classFiltered[node.nodeClass] = (m.classFiltered[node.nodeClass] ?? 0) + 1;
    if (reason !== '') m.constraintFiltered[reason] = (m.constraintFiltered[reason] ?? 0) + 1;
  }

  /** A feasible node lacked room in `dimension` (`cpu`, `memory`, `disk`, `network: ...`). */
  exhaustedNode(node: Node, dimension: string): void {
    const m = this.metrics;
    m.nodesExhausted++;
    if (m.classExhausted === NoCounts) m.classExhausted = {};
    if (m.dimensionExhausted === NoCounts) m.dimensionExhausted = {};
    if (node.nodeClass !== '') m.classExhausted[node.nodeClass] = (m.classExhausted[node.nodeClass] ?? 0) + 1;
    if (dimension !== '') m.dimensionExhausted[dimension] = (m.dimensionExhausted[dimension] ?? 0) + 1;
  }

  /** A node got its normalised score: keep it if it is among the best `MaxRetainedNodeScores`. */
  scoreNode(option: ScoredNode): void {
    const top = this.top;
    if (top.length === MaxRetainedNodeScores && option.finalScore <= top[top.length - 1]!.finalScore) return;
    let i = top.length;
    while (i > 0 && top[i - 1]!.finalScore < option.finalScore) i--;
    // Insert at i, dropping the last when full (no splice: it allocates a result array per call).
    let j = top.length;
    if (j < MaxRetainedNodeScores) top.push(option);
    else j--;
    for (; j > i; j--) top[j] = top[j - 1]!;
    top[i] = option;
  }

  /** Write the retained scores into the metrics (end of a selection). */
  finishMetrics(): void {
    // Kept for good with the allocation: an array of exactly the retained entries (push would leave spare capacity).
    this.metrics.scoreMetaData = this.top.map((o): NodeScoreMeta => ({ nodeId: o.node.id, scores: o.scoreRecord(), normScore: o.finalScore }));
    this.metrics.allocationTime = 0;
  }
}
