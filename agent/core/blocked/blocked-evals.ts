/**
 * Blocked evaluations (nomad/blocked_evals.go). An evaluation whose placements
 * failed (no feasible node, or no capacity) is written with status `blocked`; the
 * leader holds it here until the cluster changes in a way that could help:
 *
 * - Keyed by computed node class: the eval's `classEligibility` says which classes
 *   the scheduler saw and whether the job could run there. Capacity appearing in a
 *   class the job was eligible for, or in a class it never saw, unblocks it; a class
 *   it was ineligible for (missing attribute or driver) never does.
 * - Evals whose constraints looked at unique attributes (`escapedComputedClass`)
 *   cannot trust classes: any capacity change unblocks them.
 * - One blocked eval per job: a newer one replaces an older one, which becomes a
 *   duplicate for the cancel reaper.
 * - Unblocks that happen between the scheduler's snapshot and the block are not
 *   lost: the eval is unblocked at once when a matching class changed after its
 *   `snapshotIndex` (Nomad's missedUnblock).
 *
 * Leader-only and rebuilt from state (every eval with status `blocked`). Pure and
 * synchronous: unblocked evals are collected for the caller to write back as pending.
 */
import type { Evaluation } from '../structs/index.js';
import { jobKey } from '../structs/index.js';

export interface BlockedTypeCounters {
  blocked: number;
  unblocked: number;
  /** Older blocked evals of a job replaced by a newer one (cancelled). */
  duplicates: number;
}

export interface BlockedEvalsStats {
  enabled: boolean;
  /** Blocked evals held, keyed by class. */
  captured: number;
  /** Blocked evals held that escaped their computed class. */
  escaped: number;
  /** Unblocked, not yet taken by the caller. */
  unblockedWaiting: number;
  /** Duplicates not yet taken by the cancel reaper. */
  duplicatesWaiting: number;
  counters: BlockedTypeCounters;
  countersByType: Record<string, BlockedTypeCounters>;
}

function emptyCounters(): BlockedTypeCounters {
  return { blocked: 0, unblocked: 0, duplicates: 0 };
}

/** Newer: higher createIndex, then modifyIndex. */
function newer(a: Evaluation, b: Evaluation): boolean {
  if (a.createIndex !== b.createIndex) return a.createIndex > b.createIndex;
  return a.modifyIndex > b.modifyIndex;
}

export class BlockedEvals {
  private isEnabled = false;
  private captured = new Map<string, Evaluation>();
  private escaped = new Map<string, Evaluation>();
  /** Job key → ID of its blocked eval. */
  private jobs = new Map<string, string>();
  private duplicates: Evaluation[] = [];
  private unblocked: Evaluation[] = [];
  /** Computed class → index of the latest unblock for it. */
  private unblockIndexes = new Map<string, number>();
  private readonly total = emptyCounters();
  private readonly byType = new Map<string, BlockedTypeCounters>();

  get enabled(): boolean {
    return this.isEnabled;
  }

  /** Enable on gaining leadership (then `block` every blocked eval in state); disabling forgets everything. */
  setEnabled(enabled: boolean): void {
    this.isEnabled = enabled;
    if (!enabled) {
      this.captured = new Map();
      this.escaped = new Map();
      this.jobs = new Map();
      this.duplicates = [];
      this.unblocked = [];
      this.unblockIndexes = new Map();
    }
  }

  /** Blocked evals held (captured + escaped). */
  get size(): number {
    return this.captured.size + this.escaped.size;
  }

  /** Whether the eval is held here. */
  has(evalId: string): boolean {
    return this.captured.has(evalId) || this.escaped.has(evalId);
  }

  /** The blocked eval held for a job, if any. */
  forJob(namespace: string, jobId: string): Evaluation | undefined {
    const id = this.jobs.get(jobKey(namespace, jobId));
    return id === undefined ? undefined : (this.captured.get(id) ?? this.escaped.get(id));
  }

  /** Hold a blocked eval (ignored unless enabled and status `blocked`). */
  block(e: Evaluation): void {
    if (!this.isEnabled || e.status !== 'blocked' || this.has(e.id)) return;
    const key = jobKey(e.namespace, e.jobId);
    const existingId = this.jobs.get(key);
    if (existingId !== undefined) {
      const existing = this.captured.get(existingId) ?? this.escaped.get(existingId)!;
      if (!newer(e, existing)) {
        this.duplicate(e);
        return;
      }
      this.remove(existing);
      this.duplicate(existing);
    }
    this.bump(e.type, 'blocked');
    if (this.missedUnblock(e)) {
      this.release(e);
      return;
    }
    this.jobs.set(key, e.id);
    (e.escapedComputedClass ? this.escaped : this.captured).set(e.id, e);
  }

  /**
   * Capacity changed on a node of `computedClass` at state `index` (node registered,
   * became ready or eligible, an allocation stopped): unblock what could use it.
   */
  unblock(computedClass: string, index: number): void {
    if (!this.isEnabled) return;
    if ((this.unblockIndexes.get(computedClass) ?? 0) < index) this.unblockIndexes.set(computedClass, index);
    for (const e of this.escaped.values()) this.release(e);
    this.escaped = new Map();
    for (const e of this.captured.values()) {
      const elig = e.classEligibility[computedClass];
      if (elig === undefined || elig) {
        this.captured.delete(e.id);
        this.release(e);
      }
    }
  }

  /**
   * Record that capacity of `computedClass` changed at `index` without releasing
   * anything: a new leader primes these from state before blocking the evals it
   * restores, so changes made while no leader held them count as missed unblocks.
   */
  noteCapacityChange(computedClass: string, index: number): void {
    if ((this.unblockIndexes.get(computedClass) ?? 0) < index) this.unblockIndexes.set(computedClass, index);
  }

  /** Forget the job's blocked eval (a later eval of the job succeeded, or the job is gone). */
  untrack(namespace: string, jobId: string): void {
    const id = this.jobs.get(jobKey(namespace, jobId));
    if (id === undefined) return;
    const e = this.captured.get(id) ?? this.escaped.get(id);
    if (e !== undefined) this.remove(e);
  }

  /** Take the unblocked evals (the caller writes them back as pending). */
  takeUnblocked(): Evaluation[] {
    const out = this.unblocked;
    this.unblocked = [];
    return out;
  }

  duplicatesWaiting(): number {
    return this.duplicates.length;
  }

  /** Take up to `max` duplicate blocked evals for the cancel reaper. */
  takeDuplicates(max: number): Evaluation[] {
    return this.duplicates.splice(0, max);
  }

  stats(): BlockedEvalsStats {
    return {
      enabled: this.isEnabled,
      captured: this.captured.size,
      escaped: this.escaped.size,
      unblockedWaiting: this.unblocked.length,
      duplicatesWaiting: this.duplicates.length,
      counters: { ...this.total },
      countersByType: Object.fromEntries([...this.byType].map(([t, c]) => [t, { ...c }])),
    };
  }

  /** A class the eval could use changed after its snapshot was taken. */
  private missedUnblock(e: Evaluation): boolean {
    for (const [cls, index] of this.unblockIndexes) {
      if (index <= e.snapshotIndex) continue;
      if (e.escapedComputedClass) return true;
      const elig = e.classEligibility[cls];
      if (elig === undefined || elig) return true;
    }
    return false;
  }

  private release(e: Evaluation): void {
    this.jobs.delete(jobKey(e.namespace, e.jobId));
    this.unblocked.push(e);
    this.bump(e.type, 'unblocked');
  }

  private remove(e: Evaluation): void {
    this.captured.delete(e.id);
    this.escaped.delete(e.id);
    const key = jobKey(e.namespace, e.jobId);
    if (this.jobs.get(key) === e.id) this.jobs.delete(key);
  }

  private duplicate(e: Evaluation): void {
    this.duplicates.push(e);
    this.bump(e.type, 'duplicates');
  }

  private bump(type: string, field: keyof BlockedTypeCounters): void {
    let c = this.byType.get(type);
    if (c === undefined) {
      c = emptyCounters();
      this.byType.set(type, c);
    }
    c[field]++;
    this.total[field]++;
  }
}
