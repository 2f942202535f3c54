/**
 * The generic scheduler for service and batch jobs (nomad scheduler/generic_sched.go).
 * It only decides: reconcile the job's allocations against the job, rank nodes
 * for each placement through the GenericStack, submit one plan, and retry on a
 * fresher snapshot when the plan applier refuses part of it.
 */
import type { Allocation, AllocMetric, Deployment, Evaluation, Job, StateReader, TaskGroup } from '../structs/index.js';
import { appendAlloc, deploymentActive, emptyPlan, planIsNoOp, removeAlloc, trackPlanRecords } from '../structs/index.js';
import type { Scheduler, SchedulerDeps } from '../worker/index.js';
import { EvalContext } from './context.js';
import { readyNodesInDCs } from './feasible.js';
import { nextRescheduleDelay, reconcile } from './reconcile.js';
import type { ReconcileResult } from './reconcile.js';
import { GenericStack } from './stack.js';
import type { SelectOptions } from './stack.js';
import { appendStop, assertPlanLogs, deriveEval, placeAlloc, progressMade, recordFailure, setEvalStatus, SharedResources, taintedNodes } from './util.js';

/** Plans a service eval may submit before giving up (nomad maxServiceScheduleAttempts). */
export const MaxServiceScheduleAttempts = 5;
/** Plans a batch eval may submit before giving up (nomad maxBatchScheduleAttempts). */
export const MaxBatchScheduleAttempts = 2;

const ValidTriggers = new Set<string>([
  'job-register', 'job-deregister', 'node-drain', 'node-update', 'alloc-stop', 'rolling-update', 'queued-allocs',
  'periodic-job', 'max-plan-attempts', 'deployment-watcher', 'failed-follow-up', 'preemption', 'job-scaling',
  'max-disconnect-timeout', 'reconnect', 'alloc-failure', 'scheduled',
]);

/** What one pass over the job produced. */
interface Attempt {
  done: boolean;
  failed: Record<string, AllocMetric>;
  queued: Record<string, number>;
  escaped: boolean;
  /** Class → eligible, built only when a blocked evaluation needs it (a record of every class seen, per evaluation). */
  classEligibility: () => Record<string, boolean>;
  /** Set when this pass's plan committed something (nomad progressMade): the attempt count restarts. */
  progress: boolean;
}

export class GenericScheduler implements Scheduler {
  private state: StateReader;

  constructor(private readonly batch: boolean, private readonly deps: SchedulerDeps) {
    this.state = deps.state;
  }

  async process(evaluation: Evaluation): Promise<void> {
    const { planner, now } = this.deps;
    if (!ValidTriggers.has(evaluation.triggeredBy)) {
      await setEvalStatus(planner, now, evaluation, 'failed', `scheduler cannot handle '${evaluation.triggeredBy}' evaluation reason`);
      return;
    }
    const limit = this.batch ? MaxBatchScheduleAttempts : MaxServiceScheduleAttempts;
    let last: Attempt | null = null;
    // nomad retryMax: a pass whose plan committed something resets the count.
    for (let attempts = 0; ; ) {
      last = await this.computeJobAllocs(evaluation);
      if (last.done) break;
      attempts = last.progress ? 0 : attempts + 1;
      if (attempts >= limit) {
        // Give up on this eval; a blocked eval keeps the work from being lost.
        const blocked = deriveEval(this.deps.rng, now, evaluation, {
          status: 'blocked',
          triggeredBy: 'max-plan-attempts',
          statusDescription: 'created due to placement conflicts',
          classEligibility: last.classEligibility(),
          escapedComputedClass: last.escaped,
        });
        await planner.createEval(blocked);
        await setEvalStatus(planner, now, evaluation, 'failed', `maximum attempts reached (${limit})`, {
          blockedEval: blocked.id,
          failedTgAllocs: last.failed,
          queuedAllocations: last.queued,
        });
        return;
      }
    }

    let blockedId = '';
    if (Object.keys(last.failed).length > 0 && evaluation.status !== 'blocked') {
      // Placements failed for lack of a feasible node or capacity: wait for the cluster to change.
      const blocked = deriveEval(this.deps.rng, now, evaluation, {
        status: 'blocked',
        triggeredBy: 'queued-allocs',
        statusDescription: 'created to place remaining allocations',
        classEligibility: last.classEligibility(),
        escapedComputedClass: last.escaped,
      });
      await planner.createEval(blocked);
      blockedId = blocked.id;
    }
    await setEvalStatus(planner, now, evaluation, 'complete', '', {
      blockedEval: blockedId,
      failedTgAllocs: last.failed,
      queuedAllocations: last.queued,
      snapshotIndex: this.state.index,
    });
  }

  private async computeJobAllocs(evaluation: Evaluation): Promise<Attempt> {
    const { rng, now, planner } = this.deps;
    const state = this.state;
    const job = state.jobByID(evaluation.namespace, evaluation.jobId) ?? null;
    const allocs = state.allocsByJob(evaluation.namespace, evaluation.jobId);
    const deployment = state.latestDeploymentByJob(evaluation.namespace, evaluation.jobId) ?? null;

    const r = reconcile({
      job,
      allocs,
      taintedNodes: taintedNodes(state, allocs),
      deployment,
      evalId: evaluation.id,
      evalPriority: evaluation.priority,
      now,
      batch: this.batch,
      rng,
    });

    const plan = emptyPlan(evaluation.id, '', evaluation.priority, job, state.index);
    // Written only through appendAlloc/removeAlloc from here on: selections catch up with it in O(new entries).
    trackPlanRecords(plan);
    for (const s of r.stop) appendStop(plan, s.alloc, s.statusDescription, s.clientStatus);
    for (const a of r.inplaceUpdate) appendAlloc(plan.nodeAllocation, a);
    for (const a of r.attributeUpdates) appendAlloc(plan.nodeAllocation, a);
    plan.deployment = r.deployment;
    plan.deploymentUpdates = r.deploymentUpdates;

    for (const evals of Object.values(r.desiredFollowupEvals)) for (const e of evals) await planner.createEval(e);

    const attempt: Attempt = { done: true, failed: {}, queued: {}, escaped: false, classEligibility: () => ({}), progress: false };
    if (job !== null && !job.stop) this.computePlacements(evaluation, job, r, deployment, plan, attempt);

    if (planIsNoOp(plan)) return attempt;
    assertPlanLogs(plan);
    const { result, refreshedState } = await planner.submitPlan(plan);
    if (refreshedState !== null) this.state = refreshedState;
    attempt.progress = progressMade(result);
    if (result.rejectedNodes.length > 0) {
      // Part of the plan did not fit the latest state: run again on the fresher snapshot.
      attempt.done = false;
    }
    return attempt;
  }

  private computePlacements(evaluation: Evaluation, job: Job, r: ReconcileResult, deployment: Deployment | null, plan: ReturnType<typeof emptyPlan>, attempt: Attempt): void {
    const { rng, now } = this.deps;
    for (const [group, d] of Object.entries(r.desiredTGUpdates)) attempt.queued[group] = d.place + d.destructiveUpdate;
    if (r.place.length === 0 && r.destructiveUpdate.length === 0) return;

    const ready = readyNodesInDCs(this.state, job.datacenters, job.nodePool);
    const ctx = new EvalContext(this.state, plan, rng);
    ctx.setNodeCounts(ready.byDC, ready.nodesInPool);
    const stack = new GenericStack(this.batch, ctx);
    stack.setNodes(ready.nodes, ready.slots);
    stack.setJob(job);

    const activeDeployment = r.deployment ?? (deployment !== null && deploymentActive(deployment) && deployment.jobVersion === job.version ? deployment : null);
    const deploymentId = activeDeployment?.id ?? '';

    type Want = { name: string; group: string; previous: Allocation | undefined; reschedule: boolean; canary: boolean; stopFirst?: { alloc: Allocation; description: string } };
    const wants: Want[] = [];
    for (const d of r.destructiveUpdate) {
      wants.push({ name: d.placeName, group: d.placeTaskGroup.name, previous: d.stopAlloc, reschedule: false, canary: false, stopFirst: { alloc: d.stopAlloc, description: d.statusDescription } });
    }
    for (const p of r.place) {
      wants.push({ name: p.name, group: p.taskGroup.name, previous: p.previousAlloc, reschedule: p.reschedule === true, canary: p.canary === true });
    }

    const shared = new SharedResources();
    for (const w of wants) {
      const tg = taskGroupNamed(job, w.group);
      if (tg === undefined) continue;
      if (attempt.failed[tg.name] !== undefined) {
        // One failure per group is enough to know the rest will fail too.
        attempt.failed[tg.name]!.coalescedFailures++;
        continue;
      }
      // A destructive update frees the old allocation's resources first.
      if (w.stopFirst !== undefined) appendStop(plan, w.stopFirst.alloc, w.stopFirst.description);

      let penalty: ReadonlySet<string> = NoPenalty;
      if (w.reschedule && w.previous !== undefined) {
        const nodes = new Set<string>([w.previous.nodeId]);
        for (const ev of w.previous.rescheduleTracker) nodes.add(ev.prevNodeId);
        penalty = nodes;
      }
      const preferred = tg.ephemeralDisk.sticky && w.previous !== undefined ? this.state.nodeByID(w.previous.nodeId) : undefined;
      const opts: SelectOptions = { penaltyNodeIds: penalty };
      if (preferred !== undefined && preferred.status === 'ready') opts.preferredNode = preferred;
      const ranked = stack.select(tg, opts);
      if (ranked === null) {
        if (w.stopFirst !== undefined) removeLastStop(plan, w.stopFirst.alloc);
        recordFailure(attempt.failed, tg.name, ctx.metrics);
        continue;
      }
      placeAlloc(plan, {
        rng,
        now,
        evaluation,
        job,
        tg,
        name: w.name,
        ranked,
        metrics: ctx.metrics,
        deploymentId,
        canary: w.canary,
        previous: w.previous,
        rescheduleDelay: w.reschedule && w.previous !== undefined ? nextRescheduleDelay(w.previous) : null,
        shared,
      });
      attempt.queued[tg.name] = Math.max(0, (attempt.queued[tg.name] ?? 0) - 1);
    }
    stack.release();
    attempt.escaped = ctx.eligibility.hasEscaped();
    const eligibility = ctx.eligibility;
    attempt.classEligibility = () => eligibility.classes();
  }
}

const NoPenalty: ReadonlySet<string> = new Set();

function taskGroupNamed(job: Job, name: string): TaskGroup | undefined {
  for (const g of job.taskGroups) if (g.name === name) return g;
  return undefined;
}

function removeLastStop(plan: ReturnType<typeof emptyPlan>, alloc: Allocation): void {
  removeAlloc(plan.nodeUpdate, alloc.nodeId, alloc.id);
}
