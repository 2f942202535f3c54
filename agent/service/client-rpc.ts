/**
 * The server's half of the client agent's RPCs (nomad/node_endpoint.go and heartbeat.go):
 * register a node, keep it alive with heartbeats on a TTL, stream its allocations, and take
 * the client's status reports about them. Independent of the transport: agent/rpc
 * (client-server.ts) serves it over gRPC.
 *
 * Heartbeats follow Nomad: the TTL grows with the number of nodes so the servers see at most
 * `maxHeartbeatsPerSecond` heartbeats (ttl = max(minTTL, nodes / rate)), plus a random stagger
 * up to the TTL so a restarted cluster's clients do not all beat at once; the server waits
 * TTL + grace before it marks the node down. Only nodes that registered or heartbeated through
 * this service have timers (nodes registered in-process, e.g. simulated ones, are left alone).
 */
import type { Clock, Rng } from '../core/lib/index.js';
import { HeartbeatGraceMs, HeartbeatTimers, MaxHeartbeatsPerSecond, MinHeartbeatTtlMs } from '../core/heartbeat/index.js';
import { NomadError, uuid } from '../core/lib/index.js';
import type { ClientAllocUpdate } from '../core/state/index.js';
import type { AllocResourceUsage, Allocation, Evaluation, Job, Node } from '../core/structs/index.js';
import { lookupTaskGroup, newEvaluation } from '../core/structs/index.js';
import type { Server } from '../server/index.js';
import { UsageTable } from './usage.js';

export { HeartbeatGraceMs, MaxHeartbeatsPerSecond, MinHeartbeatTtlMs, heartbeatTtlMs, rateScaledIntervalMs } from '../core/heartbeat/index.js';

export interface ClientRpcServiceOptions {
  server: Server;
  clock: Clock;
  rng: Rng;
  minHeartbeatTtlMs?: number;
  maxHeartbeatsPerSecond?: number;
  /** Extra time past the TTL before a silent node is marked down. */
  heartbeatGraceMs?: number;
  /** Longest a watch waits on the state before looking again (default 5 minutes). */
  watchWaitMs?: number;
  /** Where usage reports go (default a new table; the public API reads the same one). */
  usage?: UsageTable;
  /**
   * A server of a multi-server cluster: registrations and heartbeats are taken only while this
   * server holds the leader's duties (the heartbeat timers live on the leader, as Nomad's); other
   * servers answer `unavailable`, and the client moves on to its next server address.
   */
  leaderOnly?: boolean;
}

export interface ClientRegisterReply {
  index: number;
  nodeModifyIndex: number;
  heartbeatTtlMs: number;
}

export interface ClientHeartbeatReply {
  index: number;
  nodeModifyIndex: number;
  heartbeatTtlMs: number;
}

/** One message of an allocation watch. */
export interface NodeAllocsUpdate {
  /** The allocs table index this reflects (pass it back as minIndex when reconnecting). */
  index: number;
  /** Every allocation on the node → its allocModifyIndex. */
  allocModifyIndex: Record<string, number>;
  /** The allocations new or changed (allocModifyIndex) since the last message or `known`. */
  changed: Allocation[];
}

export interface WatchAllocationsOptions {
  /** Send the first message once the allocs table is past this index (0 = at once). */
  minIndex?: number;
  /** allocModifyIndex of the allocations the caller already holds. */
  known?: Record<string, number>;
  signal?: AbortSignal;
}

function checkNodeId(nodeId: string): void {
  if (typeof nodeId !== 'string' || nodeId === '') throw new NomadError('invalid_argument', 'nodeId is required', { field: 'nodeId' });
}

export class ClientRpcService {
  private readonly server: Server;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly watchWaitMs: number;
  private readonly leaderOnly: boolean;
  /** Heartbeat timers (agent/core/heartbeat), handed to the server for leadership changes. */
  readonly heartbeatTimers: HeartbeatTimers;
  private stopped = false;
  /** The latest usage report of each node (in memory, not in the replicated state). */
  readonly usage: UsageTable;

  constructor(opts: ClientRpcServiceOptions) {
    this.server = opts.server;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.heartbeatTimers = new HeartbeatTimers({
      clock: this.clock,
      rng: this.rng,
      minTtlMs: opts.minHeartbeatTtlMs ?? MinHeartbeatTtlMs,
      maxHeartbeatsPerSecond: opts.maxHeartbeatsPerSecond ?? MaxHeartbeatsPerSecond,
      graceMs: opts.heartbeatGraceMs ?? HeartbeatGraceMs,
      onExpire: (nodeId) => this.expire(nodeId),
    });
    this.server.useHeartbeats(this.heartbeatTimers);
    this.watchWaitMs = opts.watchWaitMs ?? 300_000;
    this.leaderOnly = opts.leaderOnly ?? false;
    this.usage = opts.usage ?? new UsageTable(this.clock);
  }

  /** Nodes with a running heartbeat timer. */
  heartbeatCount(): number {
    return this.heartbeatTimers.size;
  }

  /** Register (or re-register) a node as ready and start its heartbeat timer. */
  async register(node: Node): Promise<ClientRegisterReply> {
    if (typeof node !== 'object' || node === null) throw new NomadError('invalid_argument', 'node is required', { field: 'node' });
    checkNodeId(node.id);
    if (node.datacenter === '') throw new NomadError('invalid_argument', 'node.datacenter is required', { field: 'node.datacenter' });
    if (node.name === '') throw new NomadError('invalid_argument', 'node.name is required', { field: 'node.name' });
    this.checkLeader();
    const index = await this.server.registerNode({ ...node, status: 'ready', statusUpdatedAt: this.clock.now() });
    const ttl = this.resetTimer(node.id);
    return { index, nodeModifyIndex: this.server.state().nodeByID(node.id)?.modifyIndex ?? index, heartbeatTtlMs: ttl };
  }

  /**
   * The node is alive: reset its timer. A node the server marked down comes back ready (and
   * its jobs are evaluated); an unknown node gets `not_found` and must register again.
   */
  async heartbeat(nodeId: string): Promise<ClientHeartbeatReply> {
    checkNodeId(nodeId);
    this.checkLeader();
    const node = this.server.state().nodeByID(nodeId);
    if (node === undefined) throw new NomadError('not_found', `node "${nodeId}" not found: register it first`, { field: 'nodeId' });
    let index = this.server.state().index;
    if (node.status !== 'ready') index = await this.server.updateNodeStatus(nodeId, 'ready');
    const ttl = this.resetTimer(nodeId);
    return { index, nodeModifyIndex: this.server.state().nodeByID(nodeId)?.modifyIndex ?? index, heartbeatTtlMs: ttl };
  }

  /**
   * The node's allocations, first once the allocs table is past `minIndex`, then each time the
   * node's allocation list changes, until `signal` aborts. Only allocations whose
   * allocModifyIndex is new to the caller are sent in full.
   */
  async *watchAllocations(nodeId: string, opts: WatchAllocationsOptions = {}): AsyncGenerator<NodeAllocsUpdate> {
    checkNodeId(nodeId);
    let minIndex = opts.minIndex ?? 0;
    if (!Number.isSafeInteger(minIndex) || minIndex < 0) throw new NomadError('invalid_argument', `minIndex must be a whole number ≥ 0, got ${minIndex}`, { field: 'minIndex' });
    if (this.server.state().nodeByID(nodeId) === undefined) throw new NomadError('not_found', `node "${nodeId}" not found: register it first`, { field: 'nodeId' });
    const known = new Map<string, number>(Object.entries(opts.known ?? {}));
    const signal = opts.signal;
    let lastView: readonly Allocation[] | undefined;
    const done = (): boolean => signal?.aborted === true || this.stopped;
    while (!done()) {
      const snap = minIndex === 0 ? this.server.state() : await this.blockingQuery(minIndex, signal);
      if (done()) return;
      const index = Math.max(1, snap.tableIndex('allocs'));
      if (index <= minIndex) continue; // the wait ran out with nothing new
      minIndex = index;
      // The per-node view keeps its identity until the node's allocations change: O(1) to skip.
      const view = snap.allocsByNodeView(nodeId);
      if (view === lastView) continue;
      lastView = view;
      const map: Record<string, number> = {};
      const changed: Allocation[] = [];
      const seen = new Set<string>();
      for (const a of view) {
        map[a.id] = a.allocModifyIndex;
        seen.add(a.id);
        if (known.get(a.id) !== a.allocModifyIndex) {
          changed.push(a);
          known.set(a.id, a.allocModifyIndex);
        }
      }
      for (const id of known.keys()) if (!seen.has(id)) known.delete(id);
      yield { index, allocModifyIndex: map, changed };
    }
  }

  /**
   * The client's reports, applied in one FSM write. An allocation that became failed gets an
   * `alloc-failure` evaluation of its job (one per job) when its reschedule policy allows, so
   * the scheduler replaces it (Nomad's Node.UpdateAlloc).
   */
  async updateAllocs(nodeId: string, updates: readonly ClientAllocUpdate[]): Promise<{ index: number; evalIds: string[] }> {
    checkNodeId(nodeId);
    const given: unknown = updates;
    if (!Array.isArray(given) || updates.length === 0) throw new NomadError('invalid_argument', 'updates must hold at least one allocation update', { field: 'updates' });
    const state = this.server.state();
    if (state.nodeByID(nodeId) === undefined) throw new NomadError('not_found', `node "${nodeId}" not found: register it first`, { field: 'nodeId' });
    const now = this.clock.now();
    const evals = new Map<string, Evaluation>();
    updates.forEach((u, i) => {
      const prev = state.allocByID(u.id);
      if (prev === undefined) return; // garbage collected: the FSM skips it too
      if (prev.nodeId !== nodeId) {
        throw new NomadError('invalid_argument', `updates[${i}]: allocation "${u.id}" runs on node "${prev.nodeId}", not "${nodeId}"`, { field: `updates[${i}].id` });
      }
      if (u.clientStatus !== 'failed' || prev.clientStatus === 'failed' || prev.followupEvalId !== '') return;
      const job = state.jobByID(prev.namespace, prev.jobId);
      if (job === undefined || job.stop || !rescheduleEligible(prev, job, now)) return;
      const key = `${job.namespace}/${job.id}`;
      if (!evals.has(key)) evals.set(key, this.newEval(job, now));
    });
    const list = [...evals.values()];
    const index = await this.server.apply({ type: 'UpdateAllocsFromClient', allocs: [...updates], ...(list.length > 0 ? { evals: list } : {}) });
    return { index, evalIds: list.map((e) => e.id) };
  }

  /**
   * The resource usage of the node's running tasks, replacing its previous report. Allocations
   * the server no longer has are left out (garbage collected meanwhile); one placed on another
   * node is refused, naming it.
   */
  async updateUsage(nodeId: string, allocs: readonly AllocResourceUsage[]): Promise<void> {
    checkNodeId(nodeId);
    const given: unknown = allocs;
    if (!Array.isArray(given)) throw new NomadError('invalid_argument', 'allocs must be a list', { field: 'allocs' });
    const state = this.server.state();
    if (state.nodeByID(nodeId) === undefined) throw new NomadError('not_found', `node "${nodeId}" not found: register it first`, { field: 'nodeId' });
    const kept: AllocResourceUsage[] = [];
    allocs.forEach((a, i) => {
      const alloc = state.allocByID(a.allocId);
      if (alloc === undefined) return;
      if (alloc.nodeId !== nodeId) {
        throw new NomadError('invalid_argument', `allocs[${i}]: allocation "${a.allocId}" runs on node "${alloc.nodeId}", not "${nodeId}"`, { field: `allocs[${i}].allocId` });
      }
      kept.push(a);
    });
    this.usage.put(nodeId, kept);
  }

  /** Cancel every heartbeat timer (the server is stopping or lost leadership); end the watches. */
  stop(): void {
    this.stopped = true;
    this.heartbeatTimers.clearAll();
  }

  private checkLeader(): void {
    if (this.leaderOnly && !this.server.isLeader) throw new NomadError('unavailable', 'this server is not the cluster leader: send registrations and heartbeats to the leader');
  }

  private resetTimer(nodeId: string): number {
    const ttl = this.heartbeatTimers.reset(nodeId);
    if (this.stopped) this.heartbeatTimers.clear(nodeId);
    return ttl;
  }

  /** A missed TTL: the node is down, and every job with allocations there is evaluated. */
  private expire(nodeId: string): void {
    this.usage.remove(nodeId);
    this.server.nodeMissedHeartbeat(nodeId).catch(() => {
      // The node went away meanwhile (the FSM refused the write): nothing to mark.
    });
  }

  /** A blocking query on the allocs table that also gives up when `signal` aborts. */
  private async blockingQuery(minIndex: number, signal: AbortSignal | undefined): Promise<ReturnType<Server['state']>> {
    const query = this.server.fsm.store.blockingQuery(['allocs'], minIndex, { clock: this.clock, timeoutMs: this.watchWaitMs });
    if (signal === undefined) return query;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => resolve(this.server.state());
      signal.addEventListener('abort', onAbort, { once: true });
      query.then(
        (s) => {
          signal.removeEventListener('abort', onAbort);
          resolve(s);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private newEval(job: Job, now: number): Evaluation {
    return newEvaluation({
      id: uuid(this.rng),
      namespace: job.namespace,
      priority: job.priority,
      type: job.type,
      triggeredBy: 'alloc-failure',
      jobId: job.id,
      jobModifyIndex: job.jobModifyIndex,
      createTime: now,
      modifyTime: now,
    });
  }
}

/**
 * Nomad's Allocation.RescheduleEligible: the group has a reschedule policy that allows another
 * attempt within its interval (unlimited, or fewer attempts than allowed so far).
 */
function rescheduleEligible(alloc: Allocation, job: Job, now: number): boolean {
  const policy = lookupTaskGroup(alloc.job, alloc.taskGroup)?.reschedule ?? lookupTaskGroup(job, alloc.taskGroup)?.reschedule ?? null;
  if (policy === null) return false;
  if (policy.unlimited) return true;
  if (policy.attempts <= 0) return false;
  let attempted = 0;
  for (const e of alloc.rescheduleTracker) if (now - e.rescheduleTime < policy.interval) attempted++;
  return attempted < policy.attempts;
}
