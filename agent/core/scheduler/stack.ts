/**
 * The placement stacks (nomad scheduler/feasible/stack.go): a chain of
 * feasibility and ranking iterators assembled in one place. `GenericStack`
 * serves service and batch jobs (random order, a candidate limit, best score
 * wins); `SystemStack` checks one given node at a time.
 */
import { NomadError } from '../lib/index.js';
import type { AllocatedResources, Job, Node, TaskGroup } from '../structs/index.js';
import { groupResources } from '../structs/index.js';
import type { EvalContext } from './context.js';
import {
  ConstraintChecker,
  DistinctHostsIterator,
  DistinctPropertyIterator,
  DriverChecker,
  FeasibilityWrapper,
  NodeSource,
  ShuffleOrder,
  taskGroupConstraints,
} from './feasible.js';
import type { RankOption } from './rank.js';
import {
  BinPackIterator,
  FeasibleRankIterator,
  FusedRankIterator,
  JobAntiAffinityIterator,
  NodeAffinityIterator,
  NodeReschedulingPenaltyIterator,
  ScoreNormalizationIterator,
  SpreadIterator,
} from './rank.js';
import { LimitIterator, MaxScoreIterator } from './select.js';

/** Nomad's default `node_limit_for_feasibility_checks`: nodes ranked per placement when affinities or spreads apply. */
export const DefaultNodeLimitForFeasibilityChecks = 100;

export type TaskResources = Record<string, { cpu: number; memoryMB: number; memoryMaxMB: number }>;

/** The chosen node and everything the scheduler needs to build the allocation. */
export interface RankedNode {
  node: Node;
  finalScore: number;
  /** Score parts by name (`binpack`, `job-anti-affinity`, ...). */
  scores: Record<string, number>;
  /** What the allocation gets, with its assigned ports. */
  resources: AllocatedResources;
  taskResources: TaskResources;
}

export interface SelectOptions {
  /** Nodes to score −1 (where the allocation being replaced failed). */
  penaltyNodeIds?: ReadonlySet<string>;
  /** Try this node first (e.g. the previous node of a sticky-disk allocation); fall back to all nodes. */
  preferredNode?: Node;
}

/**
 * How many ranked nodes a service/batch placement considers (nomad
 * GenericStack.SetNodes): batch 2 (power of two choices), service
 * max(2, ⌈log2 n⌉).
 */
export function candidateLimit(batch: boolean, nodeCount: number): number {
  if (batch || nodeCount <= 0) return 2;
  return Math.max(2, Math.ceil(Math.log2(nodeCount)));
}

/**
 * The limit when the group has affinities or spreads (nomad GenericStack.Select):
 * at least `nodeLimit` (100), or the group's count when larger; never more
 * than the nodes there are (the source sees each node once per selection).
 */
export function affinitySpreadLimit(count: number, nodeLimit = DefaultNodeLimitForFeasibilityChecks): number {
  return Math.max(count, nodeLimit);
}

interface GroupSetup {
  tg: TaskGroup;
  resources: Omit<AllocatedResources, 'ports'>;
  taskResources: TaskResources;
  /**
   * The same, frozen, with no ports: what every placement of the group without
   * ports gets (allocations are never mutated once built, so they may share
   * them; SharedResources keeps these records as they are).
   */
  frozenResources: AllocatedResources;
  frozenTaskResources: TaskResources;
}

const NoPorts = Object.freeze([]) as unknown as AllocatedResources['ports'];

function setupGroup(tg: TaskGroup): GroupSetup {
  const r = groupResources(tg);
  const taskResources: TaskResources = {};
  const frozenTaskResources: TaskResources = {};
  for (const t of tg.tasks) {
    const tr = { cpu: t.resources.cpu, memoryMB: t.resources.memoryMB, memoryMaxMB: Math.max(t.resources.memoryMaxMB, t.resources.memoryMB) };
    taskResources[t.name] = tr;
    frozenTaskResources[t.name] = Object.freeze({ ...tr });
  }
  const resources = { cpu: r.cpu, memoryMB: r.memoryMB, memoryMaxMB: r.memoryMaxMB, diskMB: tg.ephemeralDisk.sizeMB };
  return {
    tg,
    resources,
    taskResources,
    frozenResources: Object.freeze({ ...resources, ports: NoPorts }),
    frozenTaskResources: Object.freeze(frozenTaskResources),
  };
}

/**
 * The chosen option as a RankedNode. Call after ctx.finishMetrics: the winner's
 * score parts are then usually among the metrics' retained scores, and shared.
 */
function toRankedNode(ctx: EvalContext, binPack: BinPackIterator, option: RankOption, setup: GroupSetup): RankedNode | null {
  const ports = binPack.finalPorts(option);
  if (typeof ports === 'string') {
    // Cannot happen (ports are deferred only when enough are certainly free); recorded if it does.
    ctx.exhaustedNode(option.node, ports);
    return null;
  }
  let resources = setup.frozenResources;
  let taskResources = setup.frozenTaskResources;
  if (ports.length > 0) {
    resources = { ...setup.resources, ports };
    taskResources = {};
    for (const k in setup.taskResources) taskResources[k] = { ...setup.taskResources[k]! };
  }
  return {
    node: option.node,
    finalScore: option.finalScore,
    scores: retainedScores(ctx, option) ?? option.scoreRecord(),
    resources,
    taskResources,
  };
}

/** The option's score parts as the metrics of this selection keep them, if they do. */
function retainedScores(ctx: EvalContext, option: RankOption): Record<string, number> | undefined {
  const id = option.node.id;
  for (const m of ctx.metrics.scoreMetaData) if (m.nodeId === id && m.normScore === option.finalScore) return m.scores;
  return undefined;
}

/** Shuffle orders stacks released, for the next stacks (evaluations run one at a time per thread, so a few suffice). */
const orderPool: ShuffleOrder[] = [];
const MaxPooledOrders = 4;

function takeOrder(n: number): ShuffleOrder {
  for (let i = orderPool.length - 1; i >= 0; i--) {
    const o = orderPool[i]!;
    if (o.capacity < n) continue;
    orderPool[i] = orderPool[orderPool.length - 1]!;
    orderPool.pop();
    return o;
  }
  return new ShuffleOrder(n);
}

/** The stack for service and batch jobs. */
export class GenericStack {
  readonly ctx: EvalContext;
  private readonly batch: boolean;
  private readonly source: NodeSource;
  private readonly jobConstraint = new ConstraintChecker();
  private readonly tgDrivers = new DriverChecker();
  private readonly tgConstraint = new ConstraintChecker();
  private readonly wrapped: FeasibilityWrapper;
  private readonly distinctHosts: DistinctHostsIterator;
  private readonly distinctProperty: DistinctPropertyIterator;
  private readonly binPack: BinPackIterator;
  private readonly jobAntiAffinity: JobAntiAffinityIterator;
  private readonly reschedulePenalty: NodeReschedulingPenaltyIterator;
  private readonly nodeAffinity: NodeAffinityIterator;
  private readonly spread: SpreadIterator;
  private readonly limit: LimitIterator;
  private readonly maxScore: MaxScoreIterator;
  /** Steps 5-11 in one loop for groups without ports, affinities or spreads (see FusedRankIterator). */
  private readonly fusedLimit: LimitIterator;
  private readonly fusedMaxScore: MaxScoreIterator;
  /** false: always the iterator chain (tests compare the two). */
  fused = true;
  private baseLimit = 2;
  private job: Job | null = null;
  private setup: GroupSetup | null = null;
  /** The pooled shuffle order the source uses (see release), or null. */
  private order: ShuffleOrder | null = null;

  constructor(batch: boolean, ctx: EvalContext) {
    this.batch = batch;
    this.ctx = ctx;
    // 1. Candidate nodes, shuffled once per evaluation; selections continue round the list.
    this.source = new NodeSource(ctx);
    // 2. Job constraints, then the group's drivers and constraints (drivers first: cheaper),
    //    with verdicts cached per computed node class.
    this.wrapped = new FeasibilityWrapper(ctx, this.source, [this.jobConstraint], [this.tgDrivers, this.tgConstraint]);
    // 3. distinct_hosts: no other allocation of the job/group on the node (counts the plan).
    this.distinctHosts = new DistinctHostsIterator(ctx, this.wrapped);
    // 4. distinct_property: at most N allocations per property value (counts the plan).
    this.distinctProperty = new DistinctPropertyIterator(ctx, this.distinctHosts);
    // 5. From feasible nodes to rank options.
    const rankSource = new FeasibleRankIterator(this.distinctProperty, ctx);
    // 6. Fit the group's resources and ports; score the fit (binpack or spread algorithm).
    this.binPack = new BinPackIterator(ctx, rankSource, ctx.schedulerConfig.schedulerAlgorithm);
    // 7. Penalise nodes already running this job's group.
    this.jobAntiAffinity = new JobAntiAffinityIterator(ctx, this.binPack);
    // 8. Penalise the node(s) where the allocation being replaced failed.
    this.reschedulePenalty = new NodeReschedulingPenaltyIterator(this.jobAntiAffinity);
    // 9. Affinities.
    this.nodeAffinity = new NodeAffinityIterator(this.reschedulePenalty);
    // 10. Spreads.
    this.spread = new SpreadIterator(ctx, this.nodeAffinity);
    // 11. Average the score parts into the final score.
    const scoreNorm = new ScoreNormalizationIterator(ctx, this.spread);
    // 12. Consider only the first few ranked nodes (skipping up to 3 that score ≤ 0).
    this.limit = new LimitIterator(scoreNorm, 2);
    // 13. The best of them wins.
    this.maxScore = new MaxScoreIterator(this.limit);
    // 5-11 fused, for groups with no ports, affinities or spreads; then 12 and 13 as above.
    const fused = new FusedRankIterator(ctx, this.distinctProperty, rankSource, this.binPack, this.jobAntiAffinity, this.reschedulePenalty);
    this.fusedLimit = new LimitIterator(fused, 2);
    this.fusedMaxScore = new MaxScoreIterator(this.fusedLimit);
  }

  /**
   * The candidate nodes for this evaluation (e.g. `readyNodesInDCs(...).nodes`),
   * shuffled with the eval's rng; `slots` (`ReadyNodes.slots`, same order) lets
   * ranking read nodes the plan does not touch from the snapshot's slot arrays.
   */
  setNodes(nodes: readonly Node[], slots?: Int32Array): void {
    this.release();
    // The source shuffles indices into the caller's (shared, cached) lists: no copy of them.
    const order = takeOrder(nodes.length);
    this.order = order;
    this.source.setSharedNodes(nodes, slots ?? null, this.ctx.rng, order);
    this.baseLimit = candidateLimit(this.batch, nodes.length);
    this.limit.setLimit(this.baseLimit);
  }

  /**
   * The evaluation is done with this stack: its shuffle order goes back to a
   * pool for the next evaluation's stack (a copy of the 5,000 candidate nodes
   * per evaluation was the stack's largest allocation). The stack has no nodes
   * after. Not calling it is fine (the order is then collected).
   */
  release(): void {
    const order = this.order;
    if (order === null) return;
    this.order = null;
    this.source.setNodes([]);
    if (orderPool.length < MaxPooledOrders) orderPool.push(order);
  }

  setJob(job: Job): void {
    if (this.job === job) return;
    this.job = job;
    this.setup = null;
    this.jobConstraint.setConstraints(job.constraints);
    this.distinctHosts.setJob(job);
    this.distinctProperty.setJob(job);
    this.jobAntiAffinity.setJob(job);
    this.nodeAffinity.setJob(job);
    this.spread.setJob(job);
    this.ctx.eligibility.setJob(job);
  }

  /** The number of ranked nodes the last `select` considered at most. */
  currentLimit(): number {
    return this.limit.getLimit();
  }

  private setTaskGroup(tg: TaskGroup): GroupSetup {
    if (this.setup !== null && this.setup.tg === tg) return this.setup;
    const { drivers, constraints } = taskGroupConstraints(tg);
    this.tgDrivers.setDrivers(drivers);
    this.tgConstraint.setConstraints(constraints);
    this.wrapped.setTaskGroup(tg.name);
    this.distinctHosts.setTaskGroup(tg);
    this.distinctProperty.setTaskGroup(tg);
    this.binPack.setTaskGroup(tg);
    this.jobAntiAffinity.setTaskGroup(tg);
    this.nodeAffinity.setTaskGroup(tg);
    this.spread.setTaskGroup(tg);
    this.setup = setupGroup(tg);
    return this.setup;
  }

  /** Pick a node for one allocation of `tg`, or null (the reasons are in `ctx.metrics`). */
  select(tg: TaskGroup, opts: SelectOptions = {}): RankedNode | null {
    if (opts.preferredNode !== undefined) {
      const saved = this.source.save();
      this.source.setNodes([opts.preferredNode]);
      const option = this.selectOnce(tg, opts);
      this.source.restore(saved);
      if (option !== null) return option;
    }
    return this.selectOnce(tg, opts);
  }

  private selectOnce(tg: TaskGroup, opts: SelectOptions): RankedNode | null {
    if (this.job === null) throw new NomadError('internal', 'GenericStack.select: setJob was not called');
    this.ctx.resetMetrics();
    const setup = this.setTaskGroup(tg);
    this.reschedulePenalty.setPenaltyNodes(opts.penaltyNodeIds);
    const scored = this.nodeAffinity.hasAffinities() || this.spread.hasSpreads();
    this.limit.setLimit(scored ? affinitySpreadLimit(tg.count) : this.baseLimit);
    const useFused = this.fused && !scored && !this.binPack.hasPortsToAssign();
    let maxScore = this.maxScore;
    if (useFused) {
      this.fusedLimit.setLimit(this.baseLimit);
      maxScore = this.fusedMaxScore;
    }
    maxScore.reset();
    // The plan is fixed during a selection: mark the nodes it touches, rank the rest from the slot arrays.
    this.ctx.markPlanSlots();
    let best: RankOption | null;
    try {
      best = maxScore.next();
    } finally {
      this.ctx.endSlotFastPath();
    }
    this.ctx.finishMetrics();
    return best === null ? null : toRankedNode(this.ctx, this.binPack, best, setup);
  }
}

/**
 * The stack for system and sysbatch jobs: every node is checked on its own, so
 * there is no shuffling, limit or anti-affinity; the one node either fits or not.
 */
export class SystemStack {
  readonly ctx: EvalContext;
  private readonly source: NodeSource;
  private readonly jobConstraint = new ConstraintChecker();
  private readonly tgDrivers = new DriverChecker();
  private readonly tgConstraint = new ConstraintChecker();
  private readonly wrapped: FeasibilityWrapper;
  private readonly distinctProperty: DistinctPropertyIterator;
  private readonly binPack: BinPackIterator;
  private readonly scoreNorm: ScoreNormalizationIterator;
  private job: Job | null = null;
  private setup: GroupSetup | null = null;

  constructor(sysbatch: boolean, ctx: EvalContext) {
    void sysbatch; // preemption (which differs between system and sysbatch) is not implemented
    this.ctx = ctx;
    // 1. The node(s) to check, in the order given.
    this.source = new NodeSource(ctx);
    // 2. Job constraints, group drivers and constraints, cached per computed class.
    this.wrapped = new FeasibilityWrapper(ctx, this.source, [this.jobConstraint], [this.tgDrivers, this.tgConstraint]);
    // 3. distinct_property.
    this.distinctProperty = new DistinctPropertyIterator(ctx, this.wrapped);
    // 4. Fit resources and ports, score the fit.
    this.binPack = new BinPackIterator(ctx, new FeasibleRankIterator(this.distinctProperty), ctx.schedulerConfig.schedulerAlgorithm);
    // 5. Final score (binpack only).
    this.scoreNorm = new ScoreNormalizationIterator(ctx, this.binPack);
  }

  setNodes(nodes: readonly Node[]): void {
    this.source.setNodes([...nodes]);
  }

  setJob(job: Job): void {
    if (this.job === job) return;
    this.job = job;
    this.setup = null;
    this.jobConstraint.setConstraints(job.constraints);
    this.distinctProperty.setJob(job);
    this.ctx.eligibility.setJob(job);
  }

  private setTaskGroup(tg: TaskGroup): GroupSetup {
    if (this.setup !== null && this.setup.tg === tg) return this.setup;
    const { drivers, constraints } = taskGroupConstraints(tg);
    this.tgDrivers.setDrivers(drivers);
    this.tgConstraint.setConstraints(constraints);
    this.wrapped.setTaskGroup(tg.name);
    this.distinctProperty.setTaskGroup(tg);
    this.binPack.setTaskGroup(tg);
    this.setup = setupGroup(tg);
    return this.setup;
  }

  /** The first node of those set that can take one allocation of `tg`, or null. */
  select(tg: TaskGroup, _opts: SelectOptions = {}): RankedNode | null {
    if (this.job === null) throw new NomadError('internal', 'SystemStack.select: setJob was not called');
    this.ctx.resetMetrics();
    const setup = this.setTaskGroup(tg);
    this.scoreNorm.reset();
    const option = this.scoreNorm.next();
    this.ctx.finishMetrics();
    return option === null ? null : toRankedNode(this.ctx, this.binPack, option, setup);
  }

  /** Check exactly `node` for one allocation of `tg`. */
  selectOn(node: Node, tg: TaskGroup, opts: SelectOptions = {}): RankedNode | null {
    this.source.setNodes([node]);
    return this.select(tg, opts);
  }
}
