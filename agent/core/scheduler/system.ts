/**
 * The system scheduler for `system` and `sysbatch` jobs (nomad scheduler/scheduler_system.go):
 * one allocation of each group on every eligible node. Each node is checked on
 * its own through the SystemStack; a node filtered by a constraint is simply
 * not a place for the job (not a failure), a node without room is.
 */
import type { Allocation, AllocMetric, Evaluation, Job, Node, Plan, StateReader, TaskGroup } from '../structs/index.js';
import { allocName, allocTerminalStatus, appendAlloc, emptyPlan, planIsNoOp, trackPlanRecords } from '../structs/index.js';
import type { Scheduler, SchedulerDeps } from '../worker/index.js';
import { EvalContext } from './context.js';
import { readyNodesInDCs } from './feasible.js';
import { AllocStopReasons, sameJobVersion, tasksUpdated } from './reconcile.js';
import { SystemStack } from './stack.js';
import { appendStop, assertPlanLogs, deriveEval, placeAlloc, progressMade, recordFailure, setEvalStatus } from './util.js';

/** Plans a system eval may submit before giving up (nomad maxSystemScheduleAttempts). */
export const MaxSystemScheduleAttempts = 5;

interface Attempt {
  done: boolean;
  failed: Record<string, AllocMetric>;
  queued: Record<string, number>;
  /** The plan committed something: the attempt count restarts. */
  progress: boolean;
  /** Destructive updates held back by update.max_parallel: a rolling-update eval follows after this stagger (ms); -1 = none. */
  staggerMs: number;
}

export class SystemScheduler implements Scheduler {
  private state: StateReader;

  constructor(private readonly sysbatch: boolean, private readonly deps: SchedulerDeps) {
    this.state = deps.state;
  }

  async process(evaluation: Evaluation): Promise<void> {
    const { planner, now } = this.deps;
    let last: Attempt | null = null;
    // nomad retryMax: a pass whose plan committed something resets the count.
    for (let attempts = 0; ; ) {
      last = await this.compute(evaluation);
      if (last.done) break;
      attempts = last.progress ? 0 : attempts + 1;
      if (attempts >= MaxSystemScheduleAttempts) {
        await setEvalStatus(planner, now, evaluation, 'failed', `maximum attempts reached (${MaxSystemScheduleAttempts})`, {
          failedTgAllocs: last.failed,
          queuedAllocations: last.queued,
        });
        return;
      }
    }
    let nextEval = '';
    if (last.staggerMs >= 0) {
      // nomad Evaluation.NextRollingEval: the rest of the rolling update, one stagger later.
      const next = deriveEval(this.deps.rng, now, evaluation, { triggeredBy: 'rolling-update', waitUntil: now + last.staggerMs, statusDescription: 'created for the next step of a rolling update' });
      await planner.createEval(next);
      nextEval = next.id;
    }
    await setEvalStatus(planner, now, evaluation, 'complete', '', {
      failedTgAllocs: last.failed,
      queuedAllocations: last.queued,
      snapshotIndex: this.state.index,
      nextEval,
    });
  }

  private async compute(evaluation: Evaluation): Promise<Attempt> {
    const { rng } = this.deps;
    const state = this.state;
    const job = state.jobByID(evaluation.namespace, evaluation.jobId) ?? null;
    const plan = emptyPlan(evaluation.id, '', evaluation.priority, job, state.index);
    // Written only through appendAlloc from here on (see trackPlanRecords).
    trackPlanRecords(plan);
    const attempt: Attempt = { done: true, failed: {}, queued: {}, progress: false, staggerMs: -1 };

    const live: Allocation[] = [];
    const terminalByKey = new Map<string, Allocation>();
    for (const a of state.allocsByJob(evaluation.namespace, evaluation.jobId)) {
      if (allocTerminalStatus(a)) {
        const k = key(a.nodeId, a.taskGroup);
        const prior = terminalByKey.get(k);
        if (prior === undefined || prior.createIndex < a.createIndex) terminalByKey.set(k, a);
      } else {
        live.push(a);
      }
    }

    const stopping = job === null || job.stop;
    const ready = stopping ? null : readyNodesInDCs(state, job.datacenters, job.nodePool);
    const eligible = new Map<string, Node>((ready?.nodes ?? []).map((n) => [n.id, n]));

    // What runs now: keep, stop, update.
    const liveByKey = new Map<string, Allocation>();
    for (const a of live) {
      const group = job?.taskGroups.find((g) => g.name === a.taskGroup);
      if (stopping || group === undefined) {
        appendStop(plan, a, stopping ? AllocStopReasons.jobStopped : AllocStopReasons.groupRemoved);
        continue;
      }
      const node = state.nodeByID(a.nodeId);
      if (node === undefined || node.status === 'down' || node.status === 'disconnected') {
        appendStop(plan, a, AllocStopReasons.lost, 'lost');
        continue;
      }
      if (node.drainStrategy !== null && a.desiredTransition.migrate) {
        appendStop(plan, a, AllocStopReasons.migrating);
        continue;
      }
      if (liveByKey.has(key(a.nodeId, a.taskGroup))) {
        appendStop(plan, a, 'alloc not needed: a duplicate on this node');
        continue;
      }
      if (node.status === 'ready' && node.schedulingEligibility === 'eligible' && node.drainStrategy === null && !eligible.has(node.id)) {
        // The node left the job's datacenters or pool.
        appendStop(plan, a, 'alloc not needed as node is no longer in the job\'s datacenters');
        continue;
      }
      liveByKey.set(key(a.nodeId, a.taskGroup), a);
    }
    if (stopping || job === null) return this.submit(plan, attempt);
    // Like nomad: a running job reports every group, 0 when nothing is left to place.
    for (const tg of job.taskGroups) attempt.queued[tg.name] = 0;

    const ctx = new EvalContext(state, plan, rng);
    ctx.setNodeCounts(ready!.byDC, ready!.nodesInPool);
    const stack = new SystemStack(this.sysbatch, ctx);
    stack.setJob(job);

    // Destructive updates per group this pass, limited by the update block's max_parallel
    // (nomad: a system job updates node by node, the rest in follow-up rolling evals).
    const destructive = new Map<string, number>();
    for (const node of ready!.nodes) {
      for (const tg of job.taskGroups) {
        const k = key(node.id, tg.name);
        const existing = liveByKey.get(k);
        if (existing !== undefined) {
          if (sameJobVersion(existing.job, job)) continue;
          const reason = tasksUpdated(existing.job, job, tg.name);
          if (reason === null) {
            pushUpdate(plan, { ...existing, job });
            continue;
          }
          const update = tg.update ?? job.update;
          const done = destructive.get(tg.name) ?? 0;
          if (update !== null && update.maxParallel > 0 && done >= update.maxParallel) {
            attempt.staggerMs = Math.max(attempt.staggerMs, update.stagger);
            continue;
          }
          destructive.set(tg.name, done + 1);
          appendStop(plan, existing, AllocStopReasons.updating);
          this.place(evaluation, job, tg, node, stack, ctx, plan, attempt, existing);
          continue;
        }
        const done = terminalByKey.get(k);
        // sysbatch runs once per node and job version; a system job always runs again
        // (nomad diffSystemAllocsForNode consults terminal allocs for sysbatch only).
        if (done !== undefined && this.sysbatch && sameJobVersion(done.job, job)) continue;
        this.place(evaluation, job, tg, node, stack, ctx, plan, attempt, undefined);
      }
    }
    return this.submit(plan, attempt);
  }

  private place(evaluation: Evaluation, job: Job, tg: TaskGroup, node: Node, stack: SystemStack, ctx: EvalContext, plan: Plan, attempt: Attempt, previous: Allocation | undefined): void {
    const ranked = stack.selectOn(node, tg);
    if (ranked === null) {
      // Filtered by a constraint or driver: this node is simply not for the job.
      if (ctx.metrics.nodesFiltered > 0) return;
      attempt.queued[tg.name] = (attempt.queued[tg.name] ?? 0) + 1;
      recordFailure(attempt.failed, tg.name, ctx.metrics);
      return;
    }
    placeAlloc(plan, {
      rng: this.deps.rng,
      now: this.deps.now,
      evaluation,
      job,
      tg,
      name: allocName(job.id, tg.name, 0),
      ranked,
      metrics: ctx.metrics,
      deploymentId: '',
      canary: false,
      previous,
      rescheduleDelay: null,
    });
  }

  private async submit(plan: Plan, attempt: Attempt): Promise<Attempt> {
    if (planIsNoOp(plan)) return attempt;
    assertPlanLogs(plan);
    const { result, refreshedState } = await this.deps.planner.submitPlan(plan);
    if (refreshedState !== null) this.state = refreshedState;
    attempt.progress = progressMade(result);
    if (result.rejectedNodes.length > 0) attempt.done = false;
    return attempt;
  }
}

function key(nodeId: string, group: string): string {
  return `${nodeId}\u0000${group}`;
}

function pushUpdate(plan: Plan, alloc: Allocation): void {
  appendAlloc(plan.nodeAllocation, alloc);
}
