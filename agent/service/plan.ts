/**
 * `job plan`: the scheduler run against a private copy of the current state with the job
 * registered in it, and a planner that records instead of applying (Nomad's Job.Plan runs the
 * scheduler on a snapshot with a Harness). The server's state is never touched: the copy is a
 * new store over the same persistent tables, so it costs O(1) to make.
 */
import type { Rng } from '../core/lib/index.js';
import { uuid } from '../core/lib/index.js';
import { Fsm, StateStore } from '../core/state/index.js';
import type { StateSnapshot } from '../core/state/index.js';
import { newScheduler } from '../core/scheduler/index.js';
import type { DesiredUpdates } from '../core/scheduler/index.js';
import type { AllocMetric, Allocation, Evaluation, Job, Plan, PlanResult, Planner } from '../core/structs/index.js';
import { allocTerminalStatus, newEvaluation } from '../core/structs/index.js';
import type { PlanJobReply } from './service.js';

class RecordingPlanner implements Planner {
  readonly plans: Plan[] = [];
  readonly created: Evaluation[] = [];
  lastUpdate: Evaluation | null = null;

  async submitPlan(plan: Plan): Promise<{ result: PlanResult; refreshedState: null }> {
    this.plans.push(plan);
    const result: PlanResult = {
      nodeUpdate: plan.nodeUpdate,
      nodeAllocation: plan.nodeAllocation,
      nodePreemptions: plan.nodePreemptions,
      deployment: plan.deployment,
      deploymentUpdates: plan.deploymentUpdates,
      rejectedNodes: [],
      refreshIndex: 0,
      allocIndex: plan.snapshotIndex,
    };
    return { result, refreshedState: null };
  }
  async updateEval(evaluation: Evaluation): Promise<void> {
    this.lastUpdate = evaluation;
  }
  async createEval(evaluation: Evaluation): Promise<void> {
    this.created.push(evaluation);
  }
  async reblockEval(evaluation: Evaluation): Promise<void> {
    this.created.push(evaluation);
  }
}

function emptyUpdates(): DesiredUpdates {
  return { ignore: 0, place: 0, migrate: 0, stop: 0, inPlaceUpdate: 0, destructiveUpdate: 0, canary: 0, preemptions: 0, rescheduleNow: 0, rescheduleLater: 0 };
}

/**
 * Per task group, what the recorded plans do to the job's allocations: new allocations are
 * placements (destructive updates when they replace one the plan stops, canaries when marked),
 * existing ones re-sent with the new job are in-place updates (as Nomad reports a count change), stops are stops, and live allocations nobody
 * touched are ignored. Failed placements count as placements, as in Nomad's annotations.
 */
export function annotate(job: Job, before: readonly Allocation[], plans: readonly Plan[], failed: Readonly<Record<string, AllocMetric>>): Record<string, DesiredUpdates> {
  const out: Record<string, DesiredUpdates> = {};
  const group = (name: string): DesiredUpdates => (out[name] ??= emptyUpdates());
  for (const tg of job.taskGroups) group(tg.name);
  const existing = new Map(before.map((a) => [a.id, a]));
  const touched = new Set<string>();
  const stopped = new Map<string, Allocation>();
  for (const plan of plans) for (const allocs of Object.values(plan.nodeUpdate)) for (const a of allocs) stopped.set(a.id, a);
  const replaced = new Set<string>();
  for (const plan of plans) {
    for (const allocs of Object.values(plan.nodeAllocation)) {
      for (const a of allocs) {
        touched.add(a.id);
        const u = group(a.taskGroup);
        const had = existing.get(a.id);
        if (had !== undefined) {
          // Re-sent with a newer job: an in-place update; with the same job: an attribute update (ignored).
          if (had.job.jobModifyIndex !== a.job.jobModifyIndex || had.job.version !== a.job.version) u.inPlaceUpdate++;
          else touched.delete(a.id);
        } else if (a.previousAllocation !== '' && stopped.has(a.previousAllocation) && !(existing.get(a.previousAllocation)?.desiredTransition.migrate ?? false)) {
          replaced.add(a.previousAllocation);
          u.destructiveUpdate++;
        } else if (a.deploymentStatus?.canary === true) {
          u.canary++;
        } else if (a.previousAllocation !== '' && existing.get(a.previousAllocation)?.desiredTransition.migrate === true) {
          replaced.add(a.previousAllocation);
          u.migrate++;
        } else if (a.previousAllocation !== '') {
          u.rescheduleNow++;
        } else {
          u.place++;
        }
      }
    }
    for (const allocs of Object.values(plan.nodePreemptions)) for (const a of allocs) group(a.taskGroup).preemptions++;
  }
  for (const a of stopped.values()) {
    touched.add(a.id);
    if (!replaced.has(a.id)) group(a.taskGroup).stop++;
  }
  for (const a of before) if (!touched.has(a.id) && !allocTerminalStatus(a)) group(a.taskGroup).ignore++;
  for (const [name, m] of Object.entries(failed)) group(name).place += 1 + m.coalescedFailures;
  return out;
}

export async function dryRunPlan(o: { state: StateSnapshot; job: Job; rng: Rng; now: number }): Promise<PlanJobReply> {
  const { state, rng, now } = o;
  const fsm = new Fsm({ store: new StateStore(state.tables), freezeObjects: false });
  const index = state.index + 1;
  const launchesChildren = o.job.periodic !== null || o.job.parameterized !== null;
  const current = state.jobByID(o.job.namespace, o.job.id);
  const ev = launchesChildren
    ? undefined
    : newEvaluation({
        id: uuid(rng),
        namespace: o.job.namespace,
        priority: o.job.priority,
        type: o.job.type,
        triggeredBy: 'job-register',
        jobId: o.job.id,
        jobModifyIndex: index,
        createTime: now,
        modifyTime: now,
      });
  fsm.apply(index, { type: 'UpsertJob', job: { ...o.job, submitTime: now }, ...(ev !== undefined ? { eval: ev } : {}) });
  const dry = fsm.store.snapshot();
  const stored = dry.jobByID(o.job.namespace, o.job.id)!;
  const reply: PlanJobReply = {
    annotations: {},
    failedTgAllocs: {},
    jobModifyIndex: current?.jobModifyIndex ?? 0,
    createdEvals: [],
    placements: {},
    index: state.index,
    warnings: [],
  };
  if (ev === undefined) {
    reply.warnings.push(`job "${o.job.id}" is ${o.job.periodic !== null ? 'periodic' : 'parameterized'}: it launches child jobs and is not scheduled itself`);
    return reply;
  }
  const planner = new RecordingPlanner();
  const scheduler = newScheduler(stored.type, { state: dry, planner, rng, now });
  await scheduler.process(dry.evalByID(ev.id) ?? ev);
  const failed = planner.lastUpdate?.failedTgAllocs ?? {};
  reply.failedTgAllocs = { ...failed };
  reply.createdEvals = planner.created;
  reply.annotations = annotate(stored, state.allocsByJob(o.job.namespace, o.job.id), planner.plans, failed);
  const existing = new Set(state.allocsByJob(o.job.namespace, o.job.id).map((a) => a.id));
  for (const plan of planner.plans) {
    for (const [nodeId, allocs] of Object.entries(plan.nodeAllocation)) {
      const fresh = allocs.filter((a) => !existing.has(a.id)).length;
      if (fresh > 0) reply.placements[nodeId] = (reply.placements[nodeId] ?? 0) + fresh;
    }
  }
  return reply;
}
