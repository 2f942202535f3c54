/**
 * Server-side heartbeat timers (nomad/heartbeat.go). Each live node has one timer;
 * a heartbeat resets it, and a node silent past its TTL plus the grace period is
 * reported through `onExpire` (the server marks it down and evaluates its jobs).
 *
 * - The TTL grows with the number of timers so the leader sees at most
 *   `maxHeartbeatsPerSecond` heartbeats (ttl = max(minTtl, nodes / rate)), plus a
 *   random stagger in [0, ttl) so clients do not beat in step.
 * - After a leadership change the new leader cannot know when each node last beat:
 *   `resetAllTimers(nodeIds, true)` gives every node the long failover TTL (Nomad's
 *   FailoverHeartbeatTTL, 5 minutes) so a busy new leader does not mark a healthy
 *   cluster down.
 *
 * Pure: time and randomness are injected.
 */
import type { Clock, Rng, TimerHandle } from '../lib/index.js';
import { NomadError } from '../lib/index.js';

/** Nomad's defaults (nomad/config.go). */
export const MinHeartbeatTtlMs = 10_000;
export const MaxHeartbeatsPerSecond = 50;
export const HeartbeatGraceMs = 10_000;
export const FailoverHeartbeatTtlMs = 300_000;

/** max(min, n / rate) in ms: the interval that keeps n periodic callers under `rate` calls per second (Nomad's lib.RateScaledInterval). */
export function rateScaledIntervalMs(ratePerSecond: number, minMs: number, n: number): number {
  if (ratePerSecond <= 0) return minMs;
  return Math.max(minMs, Math.ceil((n / ratePerSecond) * 1000));
}

/** The TTL a node is given: the rate-scaled interval plus a random stagger in [0, interval). */
export function heartbeatTtlMs(nodeCount: number, rng: Rng, opts: { minTtlMs?: number; maxPerSecond?: number } = {}): number {
  const base = rateScaledIntervalMs(opts.maxPerSecond ?? MaxHeartbeatsPerSecond, opts.minTtlMs ?? MinHeartbeatTtlMs, nodeCount);
  return base + Math.floor(rng.next() * base);
}

export interface HeartbeatTimersOptions {
  clock: Clock;
  rng: Rng;
  /** A node missed its TTL + grace. */
  onExpire: (nodeId: string) => void;
  minTtlMs?: number;
  maxHeartbeatsPerSecond?: number;
  graceMs?: number;
  failoverTtlMs?: number;
}

export interface HeartbeatStats {
  timers: number;
  resets: number;
  expired: number;
}

function checkMs(name: string, v: number, allowZero: boolean): void {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new NomadError('invalid_argument', `heartbeat: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of ms, got ${v}`, { field: name });
  }
}

export class HeartbeatTimers {
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly onExpire: (nodeId: string) => void;
  readonly minTtlMs: number;
  readonly maxPerSecond: number;
  readonly graceMs: number;
  readonly failoverTtlMs: number;
  private readonly timers = new Map<string, TimerHandle>();
  private resets = 0;
  private expired = 0;

  constructor(opts: HeartbeatTimersOptions) {
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.onExpire = opts.onExpire;
    this.minTtlMs = opts.minTtlMs ?? MinHeartbeatTtlMs;
    this.maxPerSecond = opts.maxHeartbeatsPerSecond ?? MaxHeartbeatsPerSecond;
    this.graceMs = opts.graceMs ?? HeartbeatGraceMs;
    this.failoverTtlMs = opts.failoverTtlMs ?? FailoverHeartbeatTtlMs;
    checkMs('minTtlMs', this.minTtlMs, false);
    checkMs('graceMs', this.graceMs, true);
    checkMs('failoverTtlMs', this.failoverTtlMs, false);
    if (!Number.isFinite(this.maxPerSecond) || this.maxPerSecond <= 0) {
      throw new NomadError('invalid_argument', `heartbeat: maxHeartbeatsPerSecond must be a positive number, got ${this.maxPerSecond}`, { field: 'maxHeartbeatsPerSecond' });
    }
  }

  /** Nodes with a running timer. */
  get size(): number {
    return this.timers.size;
  }

  has(nodeId: string): boolean {
    return this.timers.has(nodeId);
  }

  /** The node is alive: restart its timer; returns the TTL to hand back to the client. */
  reset(nodeId: string): number {
    if (typeof nodeId !== 'string' || nodeId === '') throw new NomadError('invalid_argument', 'nodeId is required', { field: 'nodeId' });
    const count = this.timers.size + (this.timers.has(nodeId) ? 0 : 1);
    const ttl = heartbeatTtlMs(count, this.rng, { minTtlMs: this.minTtlMs, maxPerSecond: this.maxPerSecond });
    this.arm(nodeId, ttl + this.graceMs);
    return ttl;
  }

  /**
   * On gaining leadership: a timer for every live node. With `failover` every node gets
   * the failover TTL (its last heartbeat went to the old leader); without, a fresh TTL
   * as on a heartbeat. Timers of nodes not listed are cleared.
   */
  resetAllTimers(nodeIds: Iterable<string>, failover: boolean): void {
    const keep = new Set<string>();
    for (const id of nodeIds) {
      keep.add(id);
      if (failover) this.arm(id, this.failoverTtlMs);
      else this.reset(id);
    }
    for (const [id, t] of this.timers) {
      if (!keep.has(id)) {
        t.cancel();
        this.timers.delete(id);
      }
    }
  }

  /** Stop watching one node (it was deregistered or marked down). */
  clear(nodeId: string): void {
    this.timers.get(nodeId)?.cancel();
    this.timers.delete(nodeId);
  }

  /** Stop every timer (leadership lost, server stopping). */
  clearAll(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  stats(): HeartbeatStats {
    return { timers: this.timers.size, resets: this.resets, expired: this.expired };
  }

  private arm(nodeId: string, afterMs: number): void {
    this.timers.get(nodeId)?.cancel();
    this.resets++;
    const handle = this.clock.setTimer(afterMs, () => {
      if (this.timers.get(nodeId) !== handle) return;
      this.timers.delete(nodeId);
      this.expired++;
      this.onExpire(nodeId);
    });
    this.timers.set(nodeId, handle);
  }
}
