/**
 * The allocation reconciler of the generic (service and batch) scheduler: a pure
 * function from the desired state (the job) and the current state (the job's
 * allocations, the tainted nodes they sit on, the latest deployment, the time)
 * to the changes that bring one to the other. It decides; it places nothing.
 * Modelled on nomad scheduler/reconciler/reconcile_cluster.go; the comment on
 * each step says where we differ.
 *
 * Per task group, in order:
 *  1. drop allocs that no longer matter (server-stopped service allocs, terminal
 *     batch allocs of older versions, unpromoted canaries of old deployments);
 *  2. sort the rest into untainted / migrate (desiredTransition.migrate) /
 *     lost (node down, disconnected or gone);
 *  3. split failed allocs by their reschedule policy: replace now, follow-up
 *     eval later, or leave;
 *  4. stop what exceeds the count (failed-to-replace first, then migrating, then
 *     the highest indexes);
 *  5. in-place vs destructive updates for allocs of an older job version;
 *  6. canaries, placements (lowest free indexes), destructive updates limited by
 *     update.max_parallel, migrations;
 *  7. the deployment to create, and deployment status changes.
 */
import type {
  Allocation,
  Deployment,
  DeploymentGroupState,
  Evaluation,
  Job,
  Node,
  Plan,
  TaskGroup,
  UpdateStrategy,
} from '../structs/index.js';
import { allocIndex, allocTerminalStatus, deploymentActive, isSystemType, lookupTaskGroup, newEvaluation } from '../structs/index.js';
import type { Rng } from '../lib/index.js';
import { NomadError, uuid } from '../lib/index.js';
import { AllocNameIndex } from './reconcile-names.js';
import { allocReplaced, rescheduleDecision, rescheduleFilter } from './reconcile-reschedule.js';
import type { AllocUpdateFn } from './reconcile-update.js';
import { defaultAllocUpdate, sameJobVersion } from './reconcile-update.js';

export type { AllocUpdateDecision, AllocUpdateFn } from './reconcile-update.js';
export { defaultAllocUpdate, deepEqual, sameJobVersion, tasksUpdated } from './reconcile-update.js';
export type { RescheduleDecision, RescheduleTime } from './reconcile-reschedule.js';
export {
  RescheduleWindowMs,
  allocFailTime,
  allocRanSuccessfully,
  nextRescheduleDelay,
  nextRescheduleTime,
  rescheduleAttemptsInInterval,
  rescheduleDecision,
} from './reconcile-reschedule.js';
export { AllocNameIndex } from './reconcile-names.js';

/** Why an allocation is stopped (shown as its desired description). */
export const AllocStopReasons = {
  notNeeded: 'alloc not needed due to job update',
  jobStopped: 'alloc not needed since job was stopped',
  groupRemoved: 'alloc not needed since its task group was removed',
  scaledDown: 'alloc not needed as the group was scaled down',
  migrating: 'alloc is being migrated',
  updating: 'alloc is being updated due to job update',
  lost: 'alloc is lost since its node is down',
  rescheduled: 'alloc was rescheduled because it failed',
  canaryNotNeeded: 'alloc not needed: canary of an older or failed deployment',
} as const;

export const DeploymentDescriptions = {
  running: 'Deployment is running',
  runningNeedsPromotion: 'Deployment is running but requires manual promotion',
  runningAutoPromotion: 'Deployment is running pending automatic promotion',
  stoppedJob: 'Cancelled because job is stopped',
  newerJob: 'Cancelled due to newer version of job',
  successful: 'Deployment completed successfully',
} as const;

export const FollowupEvalDescription = 'created for delayed rescheduling';

/** Failed allocs whose reschedule times fall within this window share one follow-up eval. */
export const FollowupEvalBatchWindowMs = 5000;

export interface ReconcileInput {
  /** The job as it should be; null (purged) or `stop: true` stops everything. */
  job: Job | null;
  /** Every allocation of the job, terminal ones included. */
  allocs: readonly Allocation[];
  /** Nodes that are down, draining or disconnected (null: the node no longer exists), by id. */
  taintedNodes: ReadonlyMap<string, Node | null>;
  /** The job's latest deployment, if any. */
  deployment: Deployment | null;
  evalId: string;
  evalPriority: number;
  /** ms since epoch. */
  now: number;
  /** Batch semantics (successful completions are never replaced; no update strategy). */
  batch: boolean;
  /** IDs for the deployment and follow-up evals created. */
  rng: Rng;
  /** How an alloc of an older version follows the job; defaults to `defaultAllocUpdate`. */
  allocUpdate?: AllocUpdateFn;
}

export interface PlaceRequest {
  /** `<job>.<group>[i]` */
  name: string;
  taskGroup: TaskGroup;
  /** The alloc being replaced (rescheduled, lost, migrated). */
  previousAlloc?: Allocation;
  /** Replacing a failed alloc: the scheduler penalises its node and extends its reschedule tracker. */
  reschedule?: boolean;
  /** Replacing an alloc lost with its node. */
  lost?: boolean;
  canary?: boolean;
  /** Placed while canaries are unpromoted: the scheduler should place the previous (stable) job version. */
  downgradeNonCanary?: boolean;
  /** The job version of `previousAlloc`. */
  minJobVersion?: number;
}

export interface StopRequest {
  alloc: Allocation;
  statusDescription: string;
  /** Set when the alloc's node is gone: the client will never report it again. */
  clientStatus?: 'lost';
}

export interface DestructiveUpdate {
  placeName: string;
  placeTaskGroup: TaskGroup;
  stopAlloc: Allocation;
  statusDescription: string;
}

/** What `job plan` shows per task group. */
export interface DesiredUpdates {
  ignore: number;
  place: number;
  migrate: number;
  stop: number;
  inPlaceUpdate: number;
  destructiveUpdate: number;
  canary: number;
  preemptions: number;
  rescheduleNow: number;
  rescheduleLater: number;
}

export type DeploymentStatusUpdate = Plan['deploymentUpdates'][number];

export interface ReconcileResult {
  place: PlaceRequest[];
  stop: StopRequest[];
  /** Copies of allocs adopting the new job version where they run. */
  inplaceUpdate: Allocation[];
  destructiveUpdate: DestructiveUpdate[];
  /** Copies of allocs changed in ways unrelated to the job spec (today: `followupEvalId` set for a delayed reschedule). */
  attributeUpdates: Allocation[];
  /** A deployment to create. */
  deployment: Deployment | null;
  deploymentUpdates: DeploymentStatusUpdate[];
  desiredTGUpdates: Record<string, DesiredUpdates>;
  /** Delayed evals (waitUntil) to create, per task group. */
  desiredFollowupEvals: Record<string, Evaluation[]>;
}

export function emptyDesiredUpdates(): DesiredUpdates {
  return { ignore: 0, place: 0, migrate: 0, stop: 0, inPlaceUpdate: 0, destructiveUpdate: 0, canary: 0, preemptions: 0, rescheduleNow: 0, rescheduleLater: 0 };
}

/** Compute the changes that bring the job's allocations to the job. Pure and deterministic. */
export function reconcile(input: ReconcileInput): ReconcileResult {
  return new Reconciler(input).compute();
}

/** Allocations in the reconciler's stable order: by name, then id. */
export function byNameThenId(a: Allocation, b: Allocation): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

interface DelayedReschedule {
  alloc: Allocation;
  time: number;
}

class Reconciler {
  private readonly result: ReconcileResult = {
    place: [],
    stop: [],
    inplaceUpdate: [],
    destructiveUpdate: [],
    attributeUpdates: [],
    deployment: null,
    deploymentUpdates: [],
    desiredTGUpdates: {},
    desiredFollowupEvals: {},
  };
  private readonly allocUpdate: AllocUpdateFn;
  /** The job's deployment for this version that is not yet successful (after cancelling stale ones). */
  private current: Deployment | null = null;
  /** A deployment that is no longer the current one (older version, or successful). */
  private old: Deployment | null = null;
  private paused = false;
  private failed = false;
  /** Groups with nothing left to do in the current deployment. */
  private allGroupsComplete = true;

  constructor(private readonly input: ReconcileInput) {
    this.allocUpdate = input.allocUpdate ?? defaultAllocUpdate;
  }

  compute(): ReconcileResult {
    const { job, allocs } = this.input;
    if (job !== null && isSystemType(job.type)) {
      throw new NomadError('invalid_argument', `job "${job.id}": the reconciler handles service and batch jobs, not ${job.type} jobs`, { field: 'type' });
    }
    const jobId = job?.id ?? allocs[0]?.jobId ?? '';
    for (const a of allocs) {
      if (a.jobId !== jobId) {
        throw new NomadError('invalid_argument', `allocation ${a.id} belongs to job "${a.jobId}", not "${jobId}"`, { field: 'allocs' });
      }
    }
    const groups = this.groupAllocs(job, allocs);

    if (job === null || job.stop) {
      const d = this.input.deployment;
      if (d !== null && deploymentActive(d)) this.cancel(d, DeploymentDescriptions.stoppedJob);
      for (const [group, set] of groups) this.stopAll(group, set, AllocStopReasons.jobStopped);
      return this.result;
    }

    this.sortDeployments(job);
    for (const [group, set] of groups) this.computeGroup(job, group, set);

    const cur = this.current;
    if (cur !== null && this.allGroupsComplete && deploymentActive(cur) && this.result.deployment === null) {
      this.result.deploymentUpdates.push({ deploymentId: cur.id, status: 'successful', statusDescription: DeploymentDescriptions.successful });
    }
    const created = this.result.deployment;
    if (created !== null) {
      const groupsNeedingPromotion = Object.values(created.taskGroups).filter((g) => g.desiredCanaries > 0 && !g.promoted);
      if (groupsNeedingPromotion.length > 0) {
        created.statusDescription = groupsNeedingPromotion.every((g) => g.autoPromote)
          ? DeploymentDescriptions.runningAutoPromotion
          : DeploymentDescriptions.runningNeedsPromotion;
      }
    }
    // An alloc being stopped or replaced needs no attribute update.
    const stopped = new Set<string>();
    for (const s of this.result.stop) stopped.add(s.alloc.id);
    for (const d of this.result.destructiveUpdate) stopped.add(d.stopAlloc.id);
    this.result.attributeUpdates = this.result.attributeUpdates.filter((a) => !stopped.has(a.id));
    return this.result;
  }

  /** The job's groups in job order, then groups only allocs still name, by name; allocs sorted. */
  private groupAllocs(job: Job | null, allocs: readonly Allocation[]): Map<string, Allocation[]> {
    const groups = new Map<string, Allocation[]>();
    for (const g of job?.taskGroups ?? []) groups.set(g.name, []);
    const extra: string[] = [];
    for (const a of allocs) {
      let list = groups.get(a.taskGroup);
      if (list === undefined) {
        list = [];
        groups.set(a.taskGroup, list);
        extra.push(a.taskGroup);
      }
      list.push(a);
    }
    for (const list of groups.values()) list.sort(byNameThenId);
    if (extra.length === 0) return groups;
    const ordered = new Map<string, Allocation[]>();
    for (const g of job?.taskGroups ?? []) ordered.set(g.name, groups.get(g.name)!);
    for (const name of extra.sort()) ordered.set(name, groups.get(name)!);
    return ordered;
  }

  private desired(group: string): DesiredUpdates {
    let d = this.result.desiredTGUpdates[group];
    if (d === undefined) {
      d = emptyDesiredUpdates();
      this.result.desiredTGUpdates[group] = d;
    }
    return d;
  }

  private cancel(d: Deployment, why: string): void {
    this.result.deploymentUpdates.push({ deploymentId: d.id, status: 'cancelled', statusDescription: why });
  }

  /** Cancel an active deployment of another job version; keep one of this version as current. */
  private sortDeployments(job: Job): void {
    const d = this.input.deployment;
    if (d === null) return;
    if (d.jobCreateIndex !== job.createIndex || d.jobVersion !== job.version) {
      if (deploymentActive(d)) this.cancel(d, DeploymentDescriptions.newerJob);
      this.old = d;
      return;
    }
    if (d.status === 'successful') {
      this.old = d;
      return;
    }
    this.current = d;
    this.paused = d.status === 'paused' || d.status === 'pending';
    this.failed = d.status === 'failed';
  }

  private nodeLost(alloc: Allocation): boolean {
    const tainted = this.input.taintedNodes;
    if (!tainted.has(alloc.nodeId)) return false;
    const node = tainted.get(alloc.nodeId);
    return node === null || node === undefined || node.status === 'down' || node.status === 'disconnected';
  }

  private stopRequest(alloc: Allocation, why: string): StopRequest {
    return this.nodeLost(alloc)
      ? { alloc, statusDescription: AllocStopReasons.lost, clientStatus: 'lost' }
      : { alloc, statusDescription: why };
  }

  /** Stop every non-terminal alloc of the group (job stopped, group removed or scaled to zero). */
  private stopAll(group: string, set: readonly Allocation[], why: string): void {
    const desired = this.desired(group);
    for (const a of set) {
      if (allocTerminalStatus(a)) continue;
      this.result.stop.push(this.stopRequest(a, why));
      desired.stop++;
    }
  }

  private computeGroup(job: Job, group: string, set: readonly Allocation[]): void {
    const { batch, now, evalId } = this.input;
    const desired = this.desired(group);
    const tg = lookupTaskGroup(job, group);
    if (tg === undefined) return this.stopAll(group, set, AllocStopReasons.groupRemoved);
    if (tg.count === 0) return this.stopAll(group, set, AllocStopReasons.scaledDown);

    const strategy: UpdateStrategy | null = batch ? null : tg.update;
    const existingState = this.current?.taskGroups[group];
    // A copy: the input deployment is never mutated (changes to it travel as deploymentUpdates).
    const dstate: DeploymentGroupState = existingState !== undefined ? { ...existingState } : newGroupState(strategy);

    // 1. What still matters.
    const live: Allocation[] = [];
    for (const a of set) {
      // Server-stopped service allocs are done; batch keeps them (a stopped
      // successful run must not be re-run), except ones flagged to reschedule.
      if (a.desiredStatus !== 'run' && !(batch && !a.desiredTransition.reschedule)) continue;
      // Terminal batch allocs of an older job version do not count towards the new one.
      if (batch && allocTerminalStatus(a) && !sameJobVersion(a.job, job)) {
        desired.ignore++;
        continue;
      }
      live.push(a);
    }
    const { all, canaries } = this.handleCanaries(group, live);

    // 2. Where the allocs sit.
    let untainted: Allocation[] = [];
    let migrate: Allocation[] = [];
    const lost: Allocation[] = [];
    for (const a of all) {
      if (allocTerminalStatus(a)) untainted.push(a);
      else if (this.nodeLost(a)) lost.push(a);
      else if (a.desiredTransition.migrate) migrate.push(a);
      else untainted.push(a);
    }

    // 3. Failed allocs and their reschedule policy.
    const kept: Allocation[] = [];
    let rescheduleNow: Allocation[] = [];
    const rescheduleLater: DelayedReschedule[] = [];
    for (const a of untainted) {
      if (allocReplaced(a)) continue;
      const filter = rescheduleFilter(a, batch);
      if (filter === 'ignore') continue;
      if (filter === 'keep') {
        kept.push(a);
        continue;
      }
      const d = rescheduleDecision(a, now, evalId, this.current);
      if (d.kind === 'now') {
        rescheduleNow.push(a);
        continue;
      }
      kept.push(a);
      if (d.kind === 'later') rescheduleLater.push({ alloc: a, time: d.time });
    }
    untainted = kept;
    if (rescheduleLater.length > 0) this.createFollowupEvals(job, group, rescheduleLater);
    desired.rescheduleLater += rescheduleLater.length;

    const nameIndex = new AllocNameIndex(job.id, group, [...untainted, ...migrate, ...rescheduleNow, ...lost]);
    let isCanarying = dstate.desiredCanaries !== 0 && !dstate.promoted;

    // 4. Stops: lost allocs, then whatever exceeds the count.
    for (const a of lost) this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.lost, clientStatus: 'lost' });
    desired.stop += lost.length;
    ({ untainted, migrate, rescheduleNow } = this.computeStop(tg, nameIndex, untainted, migrate, rescheduleNow, canaries, isCanarying));
    desired.rescheduleNow += rescheduleNow.length;

    // 5. Updates for allocs of an older version.
    const inplace: Allocation[] = [];
    const destructive: Allocation[] = [];
    for (const a of untainted) {
      const d = this.allocUpdate(a, job, tg);
      if (d.kind === 'ignore') desired.ignore++;
      else if (d.kind === 'destructive') destructive.push(a);
      else inplace.push(d.alloc);
    }
    this.result.inplaceUpdate.push(...inplace);
    desired.inPlaceUpdate += inplace.length;
    if (existingState === undefined) dstate.desiredTotal += destructive.length + inplace.length;

    // 6. Canaries, placements, destructive updates, migrations.
    if (isCanarying) untainted = untainted.filter((a) => !canaries.has(a.id));
    const requiresCanaries = strategy !== null && destructive.length > 0 && canaries.size < strategy.canary && !dstate.promoted;
    if (requiresCanaries) this.placeCanaries(tg, strategy, dstate, destructive, canaries, nameIndex);
    isCanarying = dstate.desiredCanaries !== 0 && !dstate.promoted;

    let budget = this.destructiveBudget(strategy, untainted, destructive, migrate, isCanarying);
    const place = this.computePlacements(tg, nameIndex, untainted, migrate, rescheduleNow, lost, isCanarying);
    if (existingState === undefined) dstate.desiredTotal += place.length;

    const placeReady = !this.paused && !this.failed && !isCanarying;
    budget = this.placeAllocs(group, placeReady, place, rescheduleNow, budget);

    if (placeReady) {
      const n = Math.min(destructive.length, budget);
      for (const a of destructive.slice(0, n)) {
        this.result.destructiveUpdate.push({ placeName: a.name, placeTaskGroup: tg, stopAlloc: a, statusDescription: AllocStopReasons.updating });
      }
      desired.destructiveUpdate += n;
      desired.ignore += destructive.length - n;
    } else {
      desired.ignore += destructive.length;
    }

    for (const a of migrate) {
      this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.migrating });
      const canary = a.deploymentStatus?.canary === true;
      this.result.place.push({
        name: a.name,
        taskGroup: tg,
        previousAlloc: a,
        canary,
        downgradeNonCanary: isCanarying && !canary,
        minJobVersion: a.job.version,
      });
    }
    desired.migrate += migrate.length;

    // 7. The deployment.
    this.createDeployment(job, group, strategy, existingState !== undefined, dstate, all, destructive.length + inplace.length);
    const groupComplete =
      destructive.length + inplace.length + place.length + migrate.length + rescheduleNow.length + rescheduleLater.length === 0 &&
      !requiresCanaries &&
      dstate.healthyAllocs >= Math.max(dstate.desiredTotal, dstate.desiredCanaries) &&
      (dstate.desiredCanaries === 0 || dstate.promoted);
    this.allGroupsComplete = this.allGroupsComplete && groupComplete;
  }

  /**
   * Stops unpromoted canaries of an old or failed deployment, and canaries of the
   * current deployment whose node is lost or draining (they are not migrated:
   * the canary step places new ones). Returns the current deployment's canaries
   * that remain (by id) and the group's allocs without the stopped ones.
   */
  private handleCanaries(group: string, all: Allocation[]): { all: Allocation[]; canaries: Set<string> } {
    const desired = this.desired(group);
    const stopIds = new Set<string>();
    const unpromotedCanaries = (d: Deployment | null): void => {
      if (d === null) return;
      for (const name in d.taskGroups) {
        const s = d.taskGroups[name]!;
        if (!s.promoted) for (const id of s.placedCanaries) stopIds.add(id);
      }
    };
    unpromotedCanaries(this.old);
    if (this.failed) unpromotedCanaries(this.current);

    const currentIds = new Set<string>();
    const cur = this.current;
    if (cur !== null) {
      for (const name in cur.taskGroups) for (const id of cur.taskGroups[name]!.placedCanaries) currentIds.add(id);
    }
    const canaries = new Set<string>();
    if (stopIds.size === 0 && cur === null) return { all, canaries };

    const keep: Allocation[] = [];
    for (const a of all) {
      if (stopIds.has(a.id)) {
        if (!allocTerminalStatus(a)) {
          this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.canaryNotNeeded });
          desired.stop++;
        }
        continue;
      }
      const isCanary = currentIds.has(a.id) || (cur !== null && a.deploymentId === cur.id && a.deploymentStatus?.canary === true);
      if (isCanary && !allocTerminalStatus(a)) {
        if (this.nodeLost(a)) {
          this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.lost, clientStatus: 'lost' });
          continue;
        }
        if (a.desiredTransition.migrate) {
          this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.migrating });
          continue;
        }
        canaries.add(a.id);
      }
      keep.push(a);
    }
    return { all: keep, canaries };
  }

  /**
   * Stops what exceeds the count. Counted: untainted allocs (including terminal
   * ones that stay, like successful batch runs), migrating allocs and failed
   * allocs about to be replaced. Victims, in order: failed allocs (dropping a
   * replacement costs nothing), allocs sharing a name with a promoted canary,
   * migrating allocs, then running allocs — duplicated names first, then the
   * highest index. Terminal allocs cannot be stopped.
   */
  private computeStop(
    tg: TaskGroup,
    nameIndex: AllocNameIndex,
    untainted: Allocation[],
    migrate: Allocation[],
    rescheduleNow: Allocation[],
    canaries: ReadonlySet<string>,
    isCanarying: boolean,
  ): { untainted: Allocation[]; migrate: Allocation[]; rescheduleNow: Allocation[] } {
    const counted = isCanarying ? untainted.filter((a) => !canaries.has(a.id)).length : untainted.length;
    let remove = counted + migrate.length + rescheduleNow.length - tg.count;
    if (remove <= 0) return { untainted, migrate, rescheduleNow };

    const desired = this.desired(tg.name);
    const stopped = new Set<string>();
    const stop = (a: Allocation): void => {
      stopped.add(a.id);
      nameIndex.unset(allocIndex(a.name));
      this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.notNeeded });
      desired.stop++;
      remove--;
    };

    for (const a of highestFirst(rescheduleNow)) {
      if (remove <= 0) break;
      stop(a);
    }
    if (remove > 0 && !isCanarying && canaries.size > 0) {
      const canaryNames = new Set<string>();
      for (const a of untainted) if (canaries.has(a.id)) canaryNames.add(a.name);
      for (const a of highestFirst(untainted)) {
        if (remove <= 0) break;
        if (!canaries.has(a.id) && canaryNames.has(a.name) && !allocTerminalStatus(a)) stop(a);
      }
    }
    for (const a of highestFirst(migrate)) {
      if (remove <= 0) break;
      stop(a);
    }
    if (remove > 0) {
      const seen = new Set<string>();
      const duplicate = new Set<string>();
      for (const a of untainted) {
        if (seen.has(a.name)) duplicate.add(a.id);
        else seen.add(a.name);
      }
      const candidates = untainted.filter((a) => !stopped.has(a.id) && !allocTerminalStatus(a) && !(isCanarying && canaries.has(a.id)));
      candidates.sort((x, y) => {
        const cx = canaries.has(x.id) ? 1 : 0;
        const cy = canaries.has(y.id) ? 1 : 0;
        if (cx !== cy) return cx - cy;
        const dx = duplicate.has(x.id) ? 0 : 1;
        const dy = duplicate.has(y.id) ? 0 : 1;
        if (dx !== dy) return dx - dy;
        return allocIndex(y.name) - allocIndex(x.name) || byNameThenId(y, x);
      });
      for (const a of candidates) {
        if (remove <= 0) break;
        stop(a);
      }
    }
    const keep = (list: Allocation[]): Allocation[] => list.filter((a) => !stopped.has(a.id));
    return { untainted: keep(untainted), migrate: keep(migrate), rescheduleNow: keep(rescheduleNow) };
  }

  /**
   * Places `strategy.canary` canaries (less those running). Canaries take the
   * names of the allocs they will replace, then free indexes. While canaries are
   * unpromoted nothing else of the new version is placed.
   */
  private placeCanaries(
    tg: TaskGroup,
    strategy: UpdateStrategy,
    dstate: DeploymentGroupState,
    destructive: Allocation[],
    canaries: ReadonlySet<string>,
    nameIndex: AllocNameIndex,
  ): void {
    dstate.desiredCanaries = strategy.canary;
    if (this.paused || this.failed) return;
    const n = strategy.canary - canaries.size;
    const taken = new Set<string>();
    for (const a of this.input.allocs) if (canaries.has(a.id)) taken.add(a.name);
    const names: string[] = [];
    for (const a of [...destructive].sort((x, y) => allocIndex(x.name) - allocIndex(y.name))) {
      if (names.length >= n) break;
      if (taken.has(a.name)) continue;
      taken.add(a.name);
      names.push(a.name);
    }
    if (names.length < n) names.push(...nameIndex.next(n - names.length));
    for (const name of names) this.result.place.push({ name, taskGroup: tg, canary: true });
    this.desired(tg.name).canary += names.length;
  }

  /**
   * How many destructive updates this eval may start: unlimited without an
   * update strategy (or for batch); `max_parallel` when no deployment is under
   * way; otherwise `max_parallel` less the allocs of the current deployment not
   * yet healthy, and none at all once one is unhealthy, or while the deployment
   * is paused, failed or waiting for canary promotion.
   */
  private destructiveBudget(
    strategy: UpdateStrategy | null,
    untainted: readonly Allocation[],
    destructive: readonly Allocation[],
    migrate: readonly Allocation[],
    isCanarying: boolean,
  ): number {
    if (strategy === null || destructive.length + migrate.length === 0) return Number.POSITIVE_INFINITY;
    const cur = this.current;
    if (cur === null) return strategy.maxParallel;
    if (this.paused || this.failed || isCanarying) return 0;
    let budget = strategy.maxParallel;
    for (const a of untainted) {
      if (a.deploymentId !== cur.id) continue;
      const healthy = a.deploymentStatus?.healthy ?? null;
      if (healthy === false) return 0;
      if (healthy !== true) budget--;
    }
    return Math.max(budget, 0);
  }

  /** Replacements for failed and lost allocs, then new allocs at the lowest free indexes up to the count. */
  private computePlacements(
    tg: TaskGroup,
    nameIndex: AllocNameIndex,
    untainted: readonly Allocation[],
    migrate: readonly Allocation[],
    rescheduleNow: readonly Allocation[],
    lost: readonly Allocation[],
    isCanarying: boolean,
  ): PlaceRequest[] {
    const place: PlaceRequest[] = [];
    for (const a of rescheduleNow) {
      const canary = a.deploymentStatus?.canary === true;
      place.push({ name: a.name, taskGroup: tg, previousAlloc: a, reschedule: true, canary, downgradeNonCanary: isCanarying && !canary, minJobVersion: a.job.version });
    }
    let existing = untainted.length + migrate.length + rescheduleNow.length;
    for (const a of lost) {
      if (existing >= tg.count) break;
      existing++;
      const canary = a.deploymentStatus?.canary === true;
      place.push({ name: a.name, taskGroup: tg, previousAlloc: a, lost: true, canary, downgradeNonCanary: isCanarying && !canary, minJobVersion: a.job.version });
    }
    if (existing < tg.count) {
      for (const name of nameIndex.next(tg.count - existing)) place.push({ name, taskGroup: tg, downgradeNonCanary: isCanarying });
    }
    return place;
  }

  /**
   * Applies the placements. With the deployment able to proceed, all of them
   * (and the failed allocs being replaced are stopped); otherwise only
   * replacements of lost allocs and of failed allocs outside a failed deployment.
   * Returns the destructive-update budget left.
   */
  private placeAllocs(group: string, ready: boolean, place: PlaceRequest[], rescheduleNow: readonly Allocation[], budget: number): number {
    const desired = this.desired(group);
    if (ready) {
      this.result.place.push(...place);
      desired.place += place.length;
      for (const a of rescheduleNow) this.result.stop.push({ alloc: a, statusDescription: AllocStopReasons.rescheduled });
      desired.stop += rescheduleNow.length;
      return budget - Math.min(place.length, budget);
    }
    const cur = this.current;
    for (const p of place) {
      const prev = p.previousAlloc;
      if (p.lost === true) {
        this.result.place.push(p);
        desired.place++;
      } else if (p.reschedule === true && prev !== undefined && !(this.failed && cur !== null && prev.deploymentId === cur.id)) {
        this.result.place.push(p);
        desired.place++;
        this.result.stop.push({ alloc: prev, statusDescription: AllocStopReasons.rescheduled });
        desired.stop++;
      }
    }
    return budget;
  }

  /** Follow-up evals for delayed reschedules, one per 5 s window, each alloc annotated with its eval. */
  private createFollowupEvals(job: Job, group: string, later: DelayedReschedule[]): void {
    const { rng, evalPriority, evalId, now } = this.input;
    const sorted = [...later].sort((x, y) => x.time - y.time || byNameThenId(x.alloc, y.alloc));
    const evals: Evaluation[] = [];
    let current: Evaluation | null = null;
    for (const { alloc, time } of sorted) {
      if (current === null || time - current.waitUntil >= FollowupEvalBatchWindowMs) {
        current = followupEval(uuid(rng), job, evalPriority, evalId, time, now);
        evals.push(current);
      }
      this.result.attributeUpdates.push({ ...alloc, followupEvalId: current.id });
    }
    (this.result.desiredFollowupEvals[group] ??= []).push(...evals);
  }

  /**
   * A deployment for a service group with an update strategy when there is
   * something to deploy: the first run of this job version, or allocs to update.
   * One deployment holds every group's state.
   */
  private createDeployment(
    job: Job,
    group: string,
    strategy: UpdateStrategy | null,
    existing: boolean,
    dstate: DeploymentGroupState,
    all: readonly Allocation[],
    updates: number,
  ): void {
    if (existing || strategy === null || dstate.desiredTotal === 0) return;
    const hadRunning = all.some((a) => sameJobVersion(a.job, job));
    if (hadRunning && updates === 0) return;
    let d = this.result.deployment;
    if (d === null) {
      d = newDeployment(uuid(this.input.rng), job, this.input.now);
      this.result.deployment = d;
      this.current = d;
    }
    d.taskGroups[group] = dstate;
  }
}

function highestFirst(list: readonly Allocation[]): Allocation[] {
  return [...list].sort((x, y) => allocIndex(y.name) - allocIndex(x.name) || byNameThenId(y, x));
}

function newGroupState(strategy: UpdateStrategy | null): DeploymentGroupState {
  return {
    autoRevert: strategy?.autoRevert ?? false,
    autoPromote: strategy?.autoPromote ?? false,
    progressDeadline: strategy?.progressDeadline ?? 0,
    promoted: false,
    placedCanaries: [],
    desiredCanaries: 0,
    desiredTotal: 0,
    placedAllocs: 0,
    healthyAllocs: 0,
    unhealthyAllocs: 0,
    requireProgressBy: 0,
  };
}

function newDeployment(id: string, job: Job, now: number): Deployment {
  return {
    id,
    namespace: job.namespace,
    jobId: job.id,
    jobVersion: job.version,
    jobModifyIndex: job.jobModifyIndex,
    jobCreateIndex: job.createIndex,
    taskGroups: {},
    status: 'running',
    statusDescription: DeploymentDescriptions.running,
    createIndex: 0,
    modifyIndex: 0,
    createTime: now,
    modifyTime: now,
  };
}

function followupEval(id: string, job: Job, priority: number, previousEval: string, waitUntil: number, now: number): Evaluation {
  return newEvaluation({
    id,
    namespace: job.namespace,
    priority,
    type: job.type,
    triggeredBy: 'alloc-failure',
    jobId: job.id,
    jobModifyIndex: job.jobModifyIndex,
    statusDescription: FollowupEvalDescription,
    waitUntil,
    previousEval,
    createTime: now,
    modifyTime: now,
  });
}
