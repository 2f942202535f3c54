/**
 * TEST ONLY (excluded from the build by tsconfig.build.json; nothing outside tests
 * imports it). A scheduler test harness in the spirit of nomad scheduler/testing.go:
 * a real FSM is the state, and a Planner records every plan, eval update and
 * created eval. Accepted plans are applied to the FSM exactly as the server's plan
 * applier does (evaluatePlan decides what fits, then one ApplyPlanResults command
 * with the plan module's planResultCommand, as the server does), so a scheduler test runs without a server.
 *
 * The harness can also be told to refuse given nodes on the next N submits, to
 * exercise the scheduler's retry on a partial rejection.
 */
import { SeededRng } from '../lib/index.js';
import type { Allocation, Evaluation, Job, JobType, Node, Plan, PlanResult, Planner, StateReader } from '../structs/index.js';
import { evaluatePlan, planResultCommand, resultIsNoOp } from '../plan/index.js';
import { Fsm } from '../state/index.js';
import type { FsmCommand, FsmResult, StateSnapshot } from '../state/index.js';
import { newScheduler } from './factory.js';

/** A fixed wall-clock time (ms) the schedulers see unless a test moves it. */
export const HarnessNow = 1_700_000_000_000;

export interface HarnessOptions {
  /** Seed of the SeededRng handed to every scheduler run (default 1). */
  seed?: number;
  /** The scheduler's `now` (default HarnessNow). */
  now?: number;
}

/** One submitted plan and what the harness did with it. */
export interface SubmittedPlan {
  plan: Plan;
  result: PlanResult;
  /** Why each rejected node was refused ('forced by harness' for injected rejections). */
  rejections: Record<string, string>;
}

/** Which nodes of a plan to refuse: ids, every node with placements, or a choice made per plan. */
export type NodeRejection = readonly string[] | 'all' | ((plan: Plan) => readonly string[]);

interface ForcedRejection {
  nodes: NodeRejection;
  /** Submits left to apply it to. */
  remaining: number;
}

export class Harness {
  readonly fsm = new Fsm();
  /** Every plan submitted, in order, with its result. */
  readonly submitted: SubmittedPlan[] = [];
  /** Every `updateEval` call, in order. */
  readonly evalUpdates: Evaluation[] = [];
  /** Every `createEval` call, in order. */
  readonly createdEvals: Evaluation[] = [];
  /** Every `reblockEval` call, in order. */
  readonly reblockedEvals: Evaluation[] = [];
  seed: number;
  now: number;
  private forced: ForcedRejection | null = null;

  constructor(opts: HarnessOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.now = opts.now ?? HarnessNow;
  }

  /** The plans submitted, in order. */
  get plans(): Plan[] {
    return this.submitted.map((s) => s.plan);
  }

  /** The current state (an immutable snapshot). */
  state(): StateSnapshot {
    return this.fsm.store.snapshot();
  }

  /** Apply one FSM command at the next index. */
  apply(cmd: FsmCommand): FsmResult {
    return this.fsm.apply(this.fsm.lastApplied() + 1, cmd);
  }

  /** Register nodes (the FSM computes their class); returns the stored nodes. */
  upsertNodes(...nodes: Node[]): Node[] {
    return nodes.map((n) => {
      this.apply({ type: 'UpsertNode', node: n });
      return this.state().nodeByID(n.id)!;
    });
  }

  /** Register a job (a new version when its spec changed); returns the stored job. */
  upsertJob(job: Job): Job {
    this.apply({ type: 'UpsertJob', job });
    return this.state().jobByID(job.namespace, job.id)!;
  }

  /** Write allocations as they are (client status included), as if placed earlier; returns the stored copies. */
  upsertAllocs(...allocs: Allocation[]): Allocation[] {
    this.apply({ type: 'ApplyPlanResults', allocsUpdated: allocs, allocsStopped: [], allocsPreempted: [] });
    const state = this.state();
    return allocs.map((a) => state.allocByID(a.id)!);
  }

  upsertEvals(...evals: Evaluation[]): void {
    this.apply({ type: 'UpsertEvals', evals });
  }

  /**
   * Refuse the part of the next `submits` plans that places on `nodes` (every node
   * with placements for 'all'; a function chooses per plan), as the plan applier does when a node no longer fits:
   * the rest is committed and the result carries refreshIndex = the state's index.
   */
  rejectNodes(nodes: NodeRejection, submits = 1): void {
    this.forced = { nodes, remaining: submits };
  }

  /** The Planner the schedulers get: it records everything and commits accepted plans to the FSM. */
  readonly planner: Planner = {
    submitPlan: async (plan) => {
      const { result, rejections } = evaluatePlan(this.state(), plan);
      this.applyForcedRejection(plan, result, rejections);
      if (!resultIsNoOp(result)) {
        result.allocIndex = this.apply(planResultCommand(plan, result)).index;
      }
      this.submitted.push({ plan, result, rejections });
      const refreshedState: StateReader | null = result.refreshIndex > 0 ? this.state() : null;
      return { result, refreshedState };
    },
    updateEval: async (e) => {
      this.evalUpdates.push(e);
      this.upsertEvals(e);
    },
    createEval: async (e) => {
      this.createdEvals.push(e);
      this.upsertEvals(e);
    },
    reblockEval: async (e) => {
      this.reblockedEvals.push(e);
      this.upsertEvals(e);
    },
  };

  /**
   * Run the scheduler for `type` on the current state, as a worker would: the eval
   * is stored first (if it is not already) and the scheduler gets the stored copy.
   */
  async process(type: JobType, evaluation: Evaluation): Promise<void> {
    if (this.state().evalByID(evaluation.id) === undefined) this.upsertEvals(evaluation);
    const stored = this.state().evalByID(evaluation.id)!;
    const scheduler = newScheduler(type, { state: this.state(), planner: this.planner, rng: new SeededRng(this.seed), now: this.now });
    await scheduler.process(stored);
  }

  /** The last eval update written for `evalId` (throws if none: the scheduler must always write one). */
  lastEvalUpdate(evalId: string): Evaluation {
    for (let i = this.evalUpdates.length - 1; i >= 0; i--) if (this.evalUpdates[i]!.id === evalId) return this.evalUpdates[i]!;
    throw new Error(`no eval update recorded for ${evalId}`);
  }

  private applyForcedRejection(plan: Plan, result: PlanResult, rejections: Record<string, string>): void {
    const forced = this.forced;
    if (forced === null) return;
    forced.remaining--;
    if (forced.remaining <= 0) this.forced = null;
    const chosen = forced.nodes === 'all' ? null : new Set(typeof forced.nodes === 'function' ? forced.nodes(plan) : forced.nodes);
    for (const nodeId of Object.keys(plan.nodeAllocation)) {
      if (chosen !== null && !chosen.has(nodeId)) continue;
      if (result.rejectedNodes.includes(nodeId)) continue;
      delete result.nodeAllocation[nodeId];
      delete result.nodeUpdate[nodeId];
      delete result.nodePreemptions[nodeId];
      result.rejectedNodes.push(nodeId);
      rejections[nodeId] = 'forced by harness';
    }
    if (result.rejectedNodes.length > 0) result.refreshIndex = this.state().index;
  }
}

