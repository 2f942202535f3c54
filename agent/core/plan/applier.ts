/**
 * The plan applier: the one writer of placements (nomad/plan_apply.go). Plans
 * from every scheduler worker queue here and are applied one at a time, each
 * against the latest state, so two concurrent plans can never over-commit a node.
 *
 * Effects are injected: `latestState` reads the newest snapshot, `commit`
 * writes the accepted part through the FSM (via Raft in a cluster) and resolves
 * with the log index, `tokenValid` asks the broker whether the submitting
 * evaluation is still outstanding with that token.
 */
import type { Plan, PlanResult, StateReader } from '../structs/index.js';
import { NomadError } from '../lib/index.js';
import { evaluatePlan, resultIsNoOp } from './evaluate.js';

export interface PlanApplierDeps {
  latestState(): StateReader;
  commit(plan: Plan, result: PlanResult): Promise<number>;
  tokenValid(evalId: string, token: string): boolean;
  /** Called after each plan with what happened (events for the console). */
  onApplied?(plan: Plan, result: PlanResult, rejections: Record<string, string>): void;
}

export interface PlanApplierStats {
  submitted: number;
  applied: number;
  partiallyRejected: number;
  rejectedNodes: number;
  noOp: number;
  invalidToken: number;
  queueDepth: number;
}

interface Pending {
  plan: Plan;
  resolve(r: PlanResult): void;
  reject(e: unknown): void;
}

export class PlanApplier {
  private readonly queue: Pending[] = [];
  private running = false;
  private readonly counters = { submitted: 0, applied: 0, partiallyRejected: 0, rejectedNodes: 0, noOp: 0, invalidToken: 0 };

  constructor(private readonly deps: PlanApplierDeps) {}

  /** Queue a plan; resolves with what was committed (and a refresh index when part was refused). */
  submit(plan: Plan): Promise<PlanResult> {
    this.counters.submitted++;
    return new Promise<PlanResult>((resolve, reject) => {
      this.queue.push({ plan, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  stats(): PlanApplierStats {
    return { ...this.counters, queueDepth: this.queue.length };
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const next = this.queue.shift();
        if (next === undefined) break;
        try {
          next.resolve(await this.applyOne(next.plan));
        } catch (err) {
          next.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async applyOne(plan: Plan): Promise<PlanResult> {
    if (!this.deps.tokenValid(plan.evalId, plan.evalToken)) {
      this.counters.invalidToken++;
      throw new NomadError('conflict', `plan for evaluation ${plan.evalId} refused: its token is no longer outstanding`);
    }
    const state = this.deps.latestState();
    const { result, rejections } = evaluatePlan(state, plan);
    if (result.rejectedNodes.length > 0) {
      this.counters.partiallyRejected++;
      this.counters.rejectedNodes += result.rejectedNodes.length;
    }
    if (resultIsNoOp(result)) {
      this.counters.noOp++;
    } else {
      result.allocIndex = await this.deps.commit(plan, result);
      this.counters.applied++;
    }
    this.deps.onApplied?.(plan, result, rejections);
    return result;
  }
}
