/**
 * Ranking: scoring feasible nodes (nomad scheduler/feasible/rank.go, spread.go).
 * Each step wraps a source of `RankOption`s, adds its score part, and passes the
 * option on; `ScoreNormalizationIterator` averages the parts into `finalScore`.
 *
 * Score parts (all roughly in [-1, 1], named as Nomad names them):
 * `binpack` (fit, always), `job-anti-affinity` (only when the node already runs
 * the group), `node-reschedule-penalty` (-1 on the failed alloc's node),
 * `node-affinity` (when an affinity matches) and `allocation-spread`.
 */
import type { Affinity, AllocatedPort, Job, NetworkResource, Node, Spread, TaskGroup } from '../structs/index.js';
import { groupResources, scoreFitBinPack, scoreFitSpread, SlotChunkMask, SlotChunkShift, SlotUsageStride, usageGroupKey } from '../structs/index.js';
import type { EvalContext, NodeProposal, ScoredNode } from './context.js';
import type { CompiledConstraint, FeasibleIterator } from './feasible.js';
import { compileConstraint } from './feasible.js';
import { ImplicitTarget, PropertySet } from './propertyset.js';

/** Nomad's maximum fit score: the binpack part is fit / 18. */
export const BinPackingMaxFitScore = 18;

export const ScoreNames = {
  binpack: 'binpack',
  jobAntiAffinity: 'job-anti-affinity',
  reschedulePenalty: 'node-reschedule-penalty',
  nodeAffinity: 'node-affinity',
  spread: 'allocation-spread',
} as const;

const NO_PORTS: AllocatedPort[] = [];

/**
 * One node being ranked. Score parts are fields (NaN = not recorded) so a
 * ranked node costs one small object; `scoreRecord()` builds the named map.
 */
export class RankOption implements ScoredNode {
  node: Node;
  finalScore = 0;
  /** Sum and count of the parts that take part in the average. */
  sum = 0;
  parts = 0;
  binpack = NaN;
  antiAffinity = NaN;
  penalty = NaN;
  affinity = NaN;
  spread = NaN;
  /** Ports assigned on this node for the group's networks. */
  ports: AllocatedPort[] = NO_PORTS;
  /** The group's dynamic ports are to be picked only if this node wins. */
  portsDeferred = false;
  /** The node's proposal, once a step has looked it up. */
  proposal: NodeProposal | null = null;
  /** The node's slot in the snapshot's NodeSlotView, or -1 when the source had none. */
  slot = -1;

  constructor(node: Node, slot = -1) {
    this.node = node;
    this.slot = slot;
  }

  /** @internal Back to a fresh option for `node` (FeasibleRankIterator reuses options between selections). */
  reinit(node: Node, slot: number): void {
    this.node = node;
    this.slot = slot;
    this.finalScore = 0;
    this.sum = 0;
    this.parts = 0;
    this.binpack = NaN;
    this.antiAffinity = NaN;
    this.penalty = NaN;
    this.affinity = NaN;
    this.spread = NaN;
    this.ports = NO_PORTS;
    this.portsDeferred = false;
    this.proposal = null;
  }

  /** Add a part to the average. */
  add(score: number): void {
    this.sum += score;
    this.parts++;
  }

  scoreRecord(): Record<string, number> {
    const b = this.binpack;
    const j = this.antiAffinity;
    const p = this.penalty;
    const a = this.affinity;
    // The generic stack's usual parts, as literals: one exact-size object (these are
    // kept for good in every placement's metrics), in the same key order as below.
    if (!Number.isNaN(b) && !Number.isNaN(j) && !Number.isNaN(p) && !Number.isNaN(a)) {
      const sp = this.spread;
      if (Number.isNaN(sp)) {
        if (Object.is(p, 0) && Object.is(a, 0) && !Object.is(b, -0) && !Object.is(j, -0)) return commonScores(b, j);
        return { binpack: b, 'job-anti-affinity': j, 'node-reschedule-penalty': p, 'node-affinity': a };
      }
      return { binpack: b, 'job-anti-affinity': j, 'node-reschedule-penalty': p, 'node-affinity': a, 'allocation-spread': sp };
    }
    const out: Record<string, number> = {};
    if (!Number.isNaN(this.binpack)) out[ScoreNames.binpack] = this.binpack;
    if (!Number.isNaN(this.antiAffinity)) out[ScoreNames.jobAntiAffinity] = this.antiAffinity;
    if (!Number.isNaN(this.penalty)) out[ScoreNames.reschedulePenalty] = this.penalty;
    if (!Number.isNaN(this.affinity)) out[ScoreNames.nodeAffinity] = this.affinity;
    if (!Number.isNaN(this.spread)) out[ScoreNames.spread] = this.spread;
    return out;
  }
}

/**
 * Frozen score records of the most common kind (no penalty, no affinity, no
 * spread), shared by every placement whose node scored the same: nodes of one
 * shape with the same load score the same, and each placement keeps the
 * records of its top nodes for good. binpack → job anti-affinity → record.
 */
const commonScoreRecords = new Map<number, Map<number, Readonly<Record<string, number>>>>();
let commonScoreCount = 0;
const MaxCommonScoreRecords = 8_192;

function commonScores(binpack: number, antiAffinity: number): Record<string, number> {
  let byAnti = commonScoreRecords.get(binpack);
  if (byAnti === undefined) {
    if (commonScoreCount >= MaxCommonScoreRecords) {
      commonScoreRecords.clear();
      commonScoreCount = 0;
    }
    byAnti = new Map();
    commonScoreRecords.set(binpack, byAnti);
  }
  let rec = byAnti.get(antiAffinity);
  if (rec === undefined) {
    // Callers never pass -0 (a map key would not tell it from +0).
    rec = Object.freeze({ binpack, 'job-anti-affinity': antiAffinity, 'node-reschedule-penalty': 0, 'node-affinity': 0 });
    byAnti.set(antiAffinity, rec);
    commonScoreCount++;
  }
  return rec;
}

/** A step that yields ranked nodes one at a time. */
export interface RankIterator {
  next(): RankOption | null;
  reset(): void;
}

/**
 * Turns feasible nodes into rank options (nomad FeasibleRankIterator). Options
 * are reused from one selection to the next (`reset` starts a selection): each
 * is distinct within a selection, and nothing keeps one past it (the metrics'
 * top scores are written out when the selection ends). Fresh objects per node
 * visited, with their boxed score fields, were most of the ranking's garbage.
 */
export class FeasibleRankIterator implements RankIterator {
  private readonly source: FeasibleIterator;
  private readonly ctx: EvalContext | null;
  private readonly pool: RankOption[] = [];
  private used = 0;

  /** With `ctx`, options carry the slot of their node (ctx.visitSlot when the source yields it). */
  constructor(source: FeasibleIterator, ctx: EvalContext | null = null) {
    this.source = source;
    this.ctx = ctx;
  }

  next(): RankOption | null {
    const node = this.source.next();
    if (node === null) return null;
    return this.take(node, this.ctx === null ? -1 : this.ctx.visitSlot);
  }

  /** @internal The next pooled option, reinitialised for `node` (FusedRankIterator). */
  take(node: Node, slot: number): RankOption {
    let option = this.pool[this.used];
    if (option === undefined) {
      option = new RankOption(node, slot);
      this.pool.push(option);
    } else {
      option.reinit(node, slot);
    }
    this.used++;
    return option;
  }

  reset(): void {
    this.used = 0;
    this.source.reset();
  }
}

/**
 * Fits the group onto the node's proposed allocations and scores the fit
 * (nomad BinPackIterator). Nodes without room are dropped and recorded as
 * exhausted by dimension: `cpu`, `memory`, `disk`, or a `network: ...` reason.
 */
export class BinPackIterator implements RankIterator {
  private readonly ctx: EvalContext;
  private readonly source: RankIterator;
  private readonly spreadAlgorithm: boolean;
  private readonly pick: (n: number) => number;
  private cpu = 0;
  private memoryMB = 0;
  private diskMB = 0;
  private networks: readonly NetworkResource[] = [];
  private hasPorts = false;
  /** The number of dynamic ports when the group asks for no static ones, else 0. */
  private dynamicOnly = 0;
  /** Reused for every node (the fit functions do not keep it). */
  private readonly util = { cpu: 0, memoryMB: 0, diskMB: 0 };

  constructor(ctx: EvalContext, source: RankIterator, algorithm: 'binpack' | 'spread') {
    this.ctx = ctx;
    this.source = source;
    this.spreadAlgorithm = algorithm === 'spread';
    this.pick = (n) => ctx.rng.int(n);
  }

  setTaskGroup(tg: TaskGroup): void {
    const r = groupResources(tg);
    this.cpu = r.cpu;
    this.memoryMB = r.memoryMB;
    this.diskMB = tg.ephemeralDisk.sizeMB;
    this.networks = tg.networks;
    let statics = 0;
    let dynamics = 0;
    for (const n of tg.networks) {
      statics += n.reservedPorts.length;
      dynamics += n.dynamicPorts.length;
    }
    this.hasPorts = statics + dynamics > 0;
    this.dynamicOnly = statics === 0 ? dynamics : 0;
  }

  next(): RankOption | null {
    for (;;) {
      const option = this.source.next();
      if (option === null) return null;
      if (this.fit(option)) return option;
    }
  }

  /** Does the group ask for ports (then the fused ranking loop does not apply)? */
  hasPortsToAssign(): boolean {
    return this.hasPorts;
  }

  /** True when the group fits on the option's node (its binpack part added); false when it was recorded as exhausted. */
  fit(option: RankOption): boolean {
    const ctx = this.ctx;
    const util = this.util;
    {
      const node = option.node;
      const slot = option.slot;
      if (!this.hasPorts && ctx.planFree(slot)) {
        // The plan does not touch the node: its usage and capacity are the snapshot's arrays.
        const v = ctx.slots;
        const u = v.usage[slot >> SlotChunkShift]!;
        const o = (slot & SlotChunkMask) * SlotUsageStride;
        util.cpu = u[o]! + this.cpu;
        util.memoryMB = u[o + 1]! + this.memoryMB;
        util.diskMB = u[o + 2]! + this.diskMB;
        const availCpu = v.availCpu[slot]!;
        const availMem = v.availMemoryMB[slot]!;
        if (util.cpu > availCpu) {
          ctx.exhaustedNode(node, 'cpu');
          return false;
        }
        if (util.memoryMB > availMem) {
          ctx.exhaustedNode(node, 'memory');
          return false;
        }
        if (util.diskMB > v.availDiskMB[slot]!) {
          ctx.exhaustedNode(node, 'disk');
          return false;
        }
        const score = fitScore(availCpu, availMem, util.cpu, util.memoryMB, this.spreadAlgorithm) / BinPackingMaxFitScore;
        option.binpack = score;
        option.add(score);
        return true;
      }
      const p = ctx.proposal(node);
      option.proposal = p;

      if (this.hasPorts) {
        const span = node.resources.maxDynamicPort - node.resources.minDynamicPort + 1;
        if (this.dynamicOnly > 0 && p.portsTaken() + this.dynamicOnly <= span) {
          // Enough free dynamic ports for certain: pick them only if this node wins.
          option.portsDeferred = true;
        } else {
          // The proposed allocations must not already collide, and the group's ports must be free.
          const collision = p.portCollision();
          if (collision !== '') {
            ctx.exhaustedNode(node, collision);
            return false;
          }
          const res = p.networkIndex().assign(this.networks, this.pick);
          if ('reason' in res) {
            ctx.exhaustedNode(node, res.reason);
            return false;
          }
          option.ports = res.ports;
        }
      }

      // Same order and arithmetic as structs.allocsFit: cpu, then memory, then disk.
      util.cpu = p.cpu + this.cpu;
      util.memoryMB = p.memoryMB + this.memoryMB;
      util.diskMB = p.diskMB + this.diskMB;
      const avail = p.available;
      if (util.cpu > avail.cpu) {
        ctx.exhaustedNode(node, 'cpu');
        return false;
      }
      if (util.memoryMB > avail.memoryMB) {
        ctx.exhaustedNode(node, 'memory');
        return false;
      }
      if (util.diskMB > avail.diskMB) {
        ctx.exhaustedNode(node, 'disk');
        return false;
      }
      const fit = this.spreadAlgorithm ? scoreFitSpread(node, util) : scoreFitBinPack(node, util);
      const score = fit / BinPackingMaxFitScore;
      option.binpack = score;
      option.add(score);
      return true;
    }
  }

  /**
   * The chosen node's ports: those assigned while ranking, or (dynamic-only
   * groups with ports to spare) picked now. A string is an exhaustion reason.
   */
  finalPorts(option: RankOption): AllocatedPort[] | string {
    if (!option.portsDeferred) return option.ports;
    const p = option.proposal ?? this.ctx.proposal(option.node);
    const res = p.networkIndex().assign(this.networks, this.pick);
    if ('reason' in res) return res.reason;
    option.ports = res.ports;
    option.portsDeferred = false;
    return res.ports;
  }

  reset(): void {
    this.source.reset();
  }
}

/**
 * structs.scoreFitBinPack / scoreFitSpread from the numbers alone (what the
 * node offers, what it would use): the same arithmetic in the same order, so
 * scores are identical to the node-object versions.
 */
export function fitScore(availCpu: number, availMemoryMB: number, utilCpu: number, utilMemoryMB: number, spread: boolean): number {
  const freeCpu = availCpu > 0 ? 1 - utilCpu / availCpu : 0;
  const freeMem = availMemoryMB > 0 ? 1 - utilMemoryMB / availMemoryMB : 0;
  const total = Math.pow(10, freeCpu) + Math.pow(10, freeMem);
  const v = spread ? total - 2 : 20 - total;
  return v < 0 ? 0 : v > 18 ? 18 : v;
}

/**
 * Penalises nodes that already run allocations of the same job and group
 * (nomad JobAntiAffinityIterator): −(collisions + 1) / count.
 */
export class JobAntiAffinityIterator implements RankIterator {
  private readonly ctx: EvalContext;
  private readonly source: RankIterator;
  private jobId = '';
  private namespace = '';
  private group = '';
  private key = '';
  private desired = 1;
  /** The snapshot's counts of the group per slot (looked up on first use per job/group). */
  private stateCounts: ReadonlyMap<number, number> | null = null;

  constructor(ctx: EvalContext, source: RankIterator) {
    this.ctx = ctx;
    this.source = source;
  }

  setJob(job: Job): void {
    this.jobId = job.id;
    this.namespace = job.namespace;
    this.key = usageGroupKey(this.namespace, this.jobId, this.group);
    this.stateCounts = null;
  }

  setTaskGroup(tg: TaskGroup): void {
    this.group = tg.name;
    this.key = usageGroupKey(this.namespace, this.jobId, this.group);
    this.desired = Math.max(1, tg.count);
    this.stateCounts = null;
  }

  next(): RankOption | null {
    const option = this.source.next();
    if (option === null) return null;
    this.score(option);
    return option;
  }

  /** Add the part for one option. */
  score(option: RankOption): void {
    const ctx = this.ctx;
    let collisions: number;
    if (ctx.planFree(option.slot)) {
      // The plan does not touch the node: the snapshot's count is the answer.
      let counts = this.stateCounts;
      if (counts === null) {
        counts = ctx.stateGroupCounts(this.namespace, this.jobId, this.group);
        this.stateCounts = counts;
      }
      collisions = counts.size === 0 ? 0 : (counts.get(option.slot) ?? 0);
    } else {
      const p = option.proposal ?? ctx.proposal(option.node);
      collisions = p.groupCount(this.namespace, this.jobId, this.group, this.key);
    }
    if (collisions > 0) {
      const penalty = -(collisions + 1) / this.desired;
      option.antiAffinity = penalty;
      option.add(penalty);
    } else {
      option.antiAffinity = 0;
    }
  }

  reset(): void {
    this.source.reset();
  }
}

/** −1 on nodes where the allocation being replaced failed (nomad NodeReschedulingPenaltyIterator). */
export class NodeReschedulingPenaltyIterator implements RankIterator {
  private readonly source: RankIterator;
  private penaltyNodes: ReadonlySet<string> | null = null;

  constructor(source: RankIterator) {
    this.source = source;
  }

  setPenaltyNodes(ids: ReadonlySet<string> | undefined): void {
    this.penaltyNodes = ids !== undefined && ids.size > 0 ? ids : null;
  }

  next(): RankOption | null {
    const option = this.source.next();
    if (option === null) return null;
    this.score(option);
    return option;
  }

  /** Add the part for one option. */
  score(option: RankOption): void {
    if (this.penaltyNodes?.has(option.node.id) === true) {
      option.penalty = -1;
      option.add(-1);
    } else {
      option.penalty = 0;
    }
  }

  reset(): void {
    this.source.reset();
  }
}

/**
 * Affinities (job + group + tasks): the sum of the matching affinities' weights
 * over the sum of all |weights|, in [−1, 1] (nomad NodeAffinityIterator).
 * Cached per computed class when no affinity looks at unique values.
 */
export class NodeAffinityIterator implements RankIterator {
  private readonly source: RankIterator;
  private jobAffinities: readonly Affinity[] = [];
  private list: { c: CompiledConstraint; weight: number }[] = [];
  private sumAbs = 0;
  private cacheable = true;
  private readonly byClass = new Map<string, number>();

  constructor(source: RankIterator) {
    this.source = source;
  }

  setJob(job: Job): void {
    this.jobAffinities = job.affinities;
  }

  setTaskGroup(tg: TaskGroup): void {
    const all: Affinity[] = [...this.jobAffinities, ...tg.affinities];
    for (const t of tg.tasks) all.push(...t.affinities);
    this.list = all.map((a) => ({ c: compileConstraint(a), weight: a.weight }));
    this.sumAbs = all.reduce((s, a) => s + Math.abs(a.weight), 0);
    this.cacheable = this.list.every((a) => !a.c.escapes);
    this.byClass.clear();
  }

  hasAffinities(): boolean {
    return this.list.length > 0;
  }

  private total(node: Node): number {
    const cls = node.computedClass;
    if (this.cacheable && cls !== '') {
      const v = this.byClass.get(cls);
      if (v !== undefined) return v;
    }
    let total = 0;
    for (const a of this.list) if (a.c.matches(node)) total += a.weight;
    if (this.cacheable && cls !== '') this.byClass.set(cls, total);
    return total;
  }

  next(): RankOption | null {
    const option = this.source.next();
    if (option === null) return null;
    if (this.list.length === 0) {
      option.affinity = 0;
      return option;
    }
    const total = this.total(option.node);
    if (total !== 0 && this.sumAbs > 0) {
      const score = total / this.sumAbs;
      option.affinity = score;
      option.add(score);
    }
    return option;
  }

  reset(): void {
    this.source.reset();
  }
}

interface SpreadPart {
  set: PropertySet;
  weight: number;
  /** Desired allocations per value; null when the spread has no targets (even spread). */
  desired: Map<string, number> | null;
}

interface GroupSpread {
  parts: SpreadPart[];
  sumWeights: number;
  lowestBoost: number;
}

/**
 * Spread (nomad SpreadIterator): with targets, boosts values below their
 * target share ((desired − used) / desired × weight / Σweights); without
 * targets, boosts the least used values so allocations spread evenly.
 * Nodes lacking the attribute get −1.
 */
export class SpreadIterator implements RankIterator {
  private readonly ctx: EvalContext;
  private readonly source: RankIterator;
  private job: Job | null = null;
  private readonly groups = new Map<string, GroupSpread>();
  private current: GroupSpread | null = null;

  constructor(ctx: EvalContext, source: RankIterator) {
    this.ctx = ctx;
    this.source = source;
  }

  setJob(job: Job): void {
    this.job = job;
    this.groups.clear();
    this.current = null;
  }

  setTaskGroup(tg: TaskGroup): void {
    const job = this.job;
    if (job === null) return;
    let g = this.groups.get(tg.name);
    if (g === undefined) {
      const spreads: Spread[] = [...job.spreads, ...tg.spreads];
      g = { parts: [], sumWeights: 0, lowestBoost: -1 };
      for (const s of spreads) {
        const set = new PropertySet(this.ctx, job, s.attribute, tg.name, 0, s.targets.map((t) => t.value));
        let desired: Map<string, number> | null = null;
        if (s.targets.length > 0) {
          desired = new Map();
          let sum = 0;
          for (const t of s.targets) {
            const d = (t.percent / 100) * tg.count;
            desired.set(t.value, d);
            sum += d;
          }
          // Values not named by a target share what the targets leave over.
          if (sum > 0 && sum < tg.count) desired.set(ImplicitTarget, tg.count - sum);
        }
        g.parts.push({ set, weight: s.weight, desired });
        g.sumWeights += s.weight;
      }
      this.groups.set(tg.name, g);
    }
    this.current = g.parts.length > 0 ? g : null;
  }

  hasSpreads(): boolean {
    return this.current !== null;
  }

  next(): RankOption | null {
    const option = this.source.next();
    const g = this.current;
    if (option === null || g === null) return option;
    let total = 0;
    for (const part of g.parts) {
      // PropertySet.usedCount without its result object (one per node and part visited).
      const value = part.set.error === '' ? part.set.valueOf(option.node) : undefined;
      if (value === undefined) {
        total -= 1;
        continue;
      }
      const count = part.set.combinedUse().get(value) ?? 0;
      if (part.desired === null) {
        total += evenSpreadBoost(part.set, value, count);
        continue;
      }
      const desired = part.desired.get(value) ?? part.desired.get(ImplicitTarget);
      if (desired === undefined) {
        total -= 1;
        continue;
      }
      if (desired === 0) {
        total += g.lowestBoost;
        continue;
      }
      const weight = g.sumWeights > 0 ? part.weight / g.sumWeights : 0;
      // Count this placement too.
      const boost = ((desired - (count + 1)) / desired) * weight;
      total += boost;
      if (boost < g.lowestBoost) g.lowestBoost = boost;
    }
    if (total !== 0) {
      option.spread = total;
      option.add(total);
    }
    return option;
  }

  reset(): void {
    const g = this.current;
    if (g !== null) for (const p of g.parts) p.set.sync();
    this.source.reset();
  }
}

/**
 * Even spread without targets (nomad evenSpreadScoreBoost): a value used less
 * than the least used value gets a boost, the most used ones a penalty, and an
 * even distribution gives every value −1 (so other parts decide).
 */
function evenSpreadBoost(set: PropertySet, value: string, current: number): number {
  if (set.combinedUse().size === 0) return 0;
  const min = set.useMin();
  const max = set.useMax();
  if (current !== min) return min === 0 ? -1 : (min - current) / min;
  if (min === max) return -1;
  if (min === 0) return 1;
  return (max - min) / min;
}

/** Averages the applicable score parts into `finalScore` (nomad ScoreNormalizationIterator). */
export class ScoreNormalizationIterator implements RankIterator {
  private readonly ctx: EvalContext;
  private readonly source: RankIterator;

  constructor(ctx: EvalContext, source: RankIterator) {
    this.ctx = ctx;
    this.source = source;
  }

  next(): RankOption | null {
    const option = this.source.next();
    if (option === null || option.parts === 0) return option;
    option.finalScore = option.sum / option.parts;
    this.ctx.scoreNode(option);
    return option;
  }

  reset(): void {
    this.source.reset();
  }
}

/**
 * The ranking steps of a group with no ports, affinities or spreads in one
 * loop: fit and binpack score, job anti-affinity, the reschedule penalty, an
 * affinity part of 0 and the normalised score, calling the same step code as
 * the chain (BinPackIterator.fit, JobAntiAffinityIterator.score, ...) without
 * six iterator layers between the feasible nodes and the limit. The stack
 * uses it only when the group qualifies; the results are the chain's.
 */
export class FusedRankIterator implements RankIterator {
  private readonly ctx: EvalContext;
  private readonly source: FeasibleIterator;
  private readonly options: FeasibleRankIterator;
  private readonly binPack: BinPackIterator;
  private readonly antiAffinity: JobAntiAffinityIterator;
  private readonly penalty: NodeReschedulingPenaltyIterator;

  constructor(
    ctx: EvalContext,
    source: FeasibleIterator,
    options: FeasibleRankIterator,
    binPack: BinPackIterator,
    antiAffinity: JobAntiAffinityIterator,
    penalty: NodeReschedulingPenaltyIterator,
  ) {
    this.ctx = ctx;
    this.source = source;
    this.options = options;
    this.binPack = binPack;
    this.antiAffinity = antiAffinity;
    this.penalty = penalty;
  }

  next(): RankOption | null {
    const ctx = this.ctx;
    for (;;) {
      const node = this.source.next();
      if (node === null) return null;
      const option = this.options.take(node, ctx.visitSlot);
      if (!this.binPack.fit(option)) continue;
      this.antiAffinity.score(option);
      this.penalty.score(option);
      // NodeAffinityIterator without affinities; SpreadIterator without spreads adds nothing.
      option.affinity = 0;
      option.finalScore = option.sum / option.parts;
      ctx.scoreNode(option);
      return option;
    }
  }

  /** Starts a selection: the options' pool and the feasible chain (as the chain's reset would). */
  reset(): void {
    this.options.reset();
  }
}
