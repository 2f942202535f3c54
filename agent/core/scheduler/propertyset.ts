/**
 * How often each value of a node property is used by one job's (or one task
 * group's) allocations: existing ones in the snapshot, minus the plan's stops,
 * plus the plan's placements (nomad scheduler/feasible/propertyset.go). Used by
 * distinct_property (at most N allocations per value) and spread (counts per value).
 *
 * Existing counts are built once; the plan's part is updated incrementally from
 * the context's plan journal, so a selection costs O(new plan entries).
 */
import type { Allocation, Job, Node } from '../structs/index.js';
import { allocTerminalStatus } from '../structs/index.js';
import type { EvalContext } from './context.js';
import { compileTarget } from './targets.js';
import type { TargetResolver } from './targets.js';

/** Values not among a spread's explicit targets are counted together under this key. */
export const ImplicitTarget = '*';

export class PropertySet {
  readonly attribute: string;
  /** '' when the set counts every allocation of the job. */
  readonly taskGroup: string;
  /** Allocations allowed per value (distinct_property); 0 for spread. */
  readonly allowedCount: number;
  /** Set when the constraint could not be understood (reported as the filter reason). */
  readonly error: string;

  private readonly ctx: EvalContext;
  private readonly jobId: string;
  private readonly namespace: string;
  private readonly resolve: TargetResolver;
  private readonly targets: ReadonlySet<string> | null;
  private readonly existing = new Map<string, number>();
  private readonly proposed = new Map<string, number>();
  private readonly cleared = new Map<string, number>();
  private epoch = -1;
  private placedCursor = 0;
  private stoppedCursor = 0;
  private combined: Map<string, number> | null = null;
  /** Smallest and largest non-zero count of `combined` (0 when none), as evenSpreadBoost reads them. */
  private minUse = 0;
  private maxUse = 0;

  constructor(ctx: EvalContext, job: Job, attribute: string, taskGroup: string, allowed: string | number, targets: readonly string[] = []) {
    this.ctx = ctx;
    this.jobId = job.id;
    this.namespace = job.namespace;
    this.attribute = attribute;
    this.taskGroup = taskGroup;
    this.resolve = compileTarget(attribute);
    this.targets = targets.length > 0 ? new Set(targets) : null;
    let error = '';
    let count = 0;
    if (typeof allowed === 'number') count = allowed;
    else if (allowed === '') count = 1;
    else if (/^[0-9]+$/.test(allowed)) count = Number(allowed);
    else error = `distinct_property: ${attribute}: limit ${JSON.stringify(allowed)} is not a whole number`;
    this.allowedCount = count;
    this.error = error;
    if (attribute === '') this.error = 'property set: empty attribute';
    for (const a of ctx.state.allocsByJob(job.namespace, job.id)) {
      if (!this.matches(a, true)) continue;
      this.count(this.existing, a, 1);
    }
    this.sync();
  }

  private matches(a: Allocation, skipTerminal: boolean): boolean {
    if (a.jobId !== this.jobId || a.namespace !== this.namespace) return false;
    if (skipTerminal && allocTerminalStatus(a)) return false;
    return this.taskGroup === '' || a.taskGroup === this.taskGroup;
  }

  private bucket(value: string): string {
    return this.targets === null || this.targets.has(value) ? value : ImplicitTarget;
  }

  private count(into: Map<string, number>, a: Allocation, delta: number): void {
    const node = this.ctx.node(a.nodeId);
    if (node === undefined) return;
    const v = this.resolve(node);
    if (v === undefined) return;
    const k = this.bucket(v);
    into.set(k, (into.get(k) ?? 0) + delta);
  }

  /** Catch up with the plan (call before a selection). */
  sync(): void {
    const ctx = this.ctx;
    ctx.syncPlanJournal();
    if (this.epoch !== ctx.journalEpoch) {
      this.epoch = ctx.journalEpoch;
      this.proposed.clear();
      this.cleared.clear();
      this.placedCursor = 0;
      this.stoppedCursor = 0;
      this.combined = null;
    }
    const placed = ctx.journalPlaced;
    const stopped = ctx.journalStopped;
    if (this.placedCursor === placed.length && this.stoppedCursor === stopped.length) return;
    for (let i = this.stoppedCursor; i < stopped.length; i++) {
      const a = stopped[i]!;
      if (this.matches(a, false)) this.count(this.cleared, a, 1);
    }
    for (let i = this.placedCursor; i < placed.length; i++) {
      const a = placed[i]!;
      if (this.matches(a, true)) this.count(this.proposed, a, 1);
    }
    this.placedCursor = placed.length;
    this.stoppedCursor = stopped.length;
    this.combined = null;
  }

  /** Value → allocations using it: existing + proposed − stopped (never below 0). */
  combinedUse(): ReadonlyMap<string, number> {
    if (this.combined !== null) return this.combined;
    const out = new Map<string, number>();
    for (const [k, v] of this.existing) out.set(k, v);
    for (const [k, v] of this.proposed) out.set(k, (out.get(k) ?? 0) + v);
    for (const [k, v] of this.cleared) {
      const cur = out.get(k);
      if (cur !== undefined) out.set(k, Math.max(0, cur - v));
    }
    let min = 0;
    let max = 0;
    for (const v of out.values()) {
      if (min === 0 || v < min) min = v;
      if (max === 0 || v > max) max = v;
    }
    this.minUse = min;
    this.maxUse = max;
    this.combined = out;
    return out;
  }

  /**
   * The least and the most used value's count in `combinedUse()`, found as
   * Nomad's even spread finds them (a zero count restarts the minimum).
   */
  useMin(): number {
    this.combinedUse();
    return this.minUse;
  }

  useMax(): number {
    this.combinedUse();
    return this.maxUse;
  }

  /** The node's (bucketed) value, or undefined when the node lacks the property. */
  valueOf(node: Node): string | undefined {
    const v = this.resolve(node);
    return v === undefined ? undefined : this.bucket(v);
  }

  /** How many allocations use the node's value; `error` is set when that can't be told. */
  usedCount(node: Node): { value: string; count: number; error: string } {
    if (this.error !== '') return { value: '', count: 0, error: this.error };
    const v = this.valueOf(node);
    if (v === undefined) return { value: '', count: 0, error: `missing property ${JSON.stringify(this.attribute)}` };
    return { value: v, count: this.combinedUse().get(v) ?? 0, error: '' };
  }

  /** distinct_property: '' when the node may take one more allocation, else why not. */
  satisfies(node: Node): string {
    const u = this.usedCount(node);
    if (u.error !== '') return u.error;
    if (u.count < this.allowedCount) return '';
    return `distinct_property: ${this.attribute}=${u.value} used by ${u.count} allocs`;
  }
}
