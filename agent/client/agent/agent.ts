/**
 * The client agent's connection to the servers (nomad client/client.go): fingerprint the host
 * into a Node, register it (retrying with back-off), heartbeat at the TTL the server hands out
 * (registering again when the server has forgotten the node), watch the node's allocations
 * (reconnecting with back-off) and hand new or changed ones to `onAllocs`, and send the alloc
 * runners' status reports in batches every 200 ms (Nomad's allocSync), the last report of an
 * allocation winning, and the running tasks' resource usage every 2 s (UpdateUsage; the servers keep
 * it in memory for node and allocation views). Running the allocations is the alloc runner's job, not this one's.
 */
import type { Clock, Rng, TimerHandle } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { ClientAllocUpdate } from '../../core/state/index.js';
import type { AllocResourceUsage, Allocation, Node } from '../../core/structs/index.js';
import { ClientRpcClient } from '../../rpc/index.js';
import type { TaskDriver } from '../drivers/index.js';
import type { ClientConfig } from '../fingerprint/index.js';
import { fingerprintNode } from '../fingerprint/index.js';

/** Nomad's allocSyncIntv. */
export const AllocSyncIntervalMs = 200;
/**
 * A change of an allocation's client status (pending → running, running → complete, ...) goes
 * out after this short window instead of the 200 ms batch: schedulers, deployments and the
 * operator wait on it. Reports that only add task events still ride the batch.
 */
export const AllocStatusChangeDelayMs = 5;

/** How often the client reports its tasks' resource usage by default. */
export const DefaultUsageIntervalMs = 2000;

export interface ClientAgentRpc {
  /** host:port of a server's RPC listener. */
  address: string;
  /**
   * Further servers (host:port): when a register or heartbeat fails, the client moves on to the
   * next address, round-robin (any server will do: writes are forwarded to the leader).
   */
  fallbackAddresses?: readonly string[];
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Default `server.<region>.nomadts`. */
  serverName?: string;
  /** Deadline of one unary call (default 30 s). */
  timeoutMs?: number;
}

export interface ClientAgentOptions {
  config: ClientConfig;
  /** Where the node id and alloc dirs live (overrides config.dataDir). */
  dataDir: string;
  drivers: readonly TaskDriver[];
  rpc: ClientAgentRpc;
  clock: Clock;
  rng: Rng;
  /** New or changed allocations of this node (by allocModifyIndex). */
  onAllocs(allocs: Allocation[]): void;
  /** Allocations the server no longer lists for this node (garbage collected). */
  onAllocsRemoved?(ids: string[]): void;
  /** First retry delay after a failed call (default 1 s), doubling up to retryMaxMs (default 30 s), with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * The resource usage of the running allocations, sent to the servers every usageIntervalMs
   * (default 2 s; 0 = never). Without it no usage is reported.
   */
  usage?(): AllocResourceUsage[];
  usageIntervalMs?: number;
  /** Something went wrong and will be retried (for logs). */
  onError?(what: 'register' | 'heartbeat' | 'watch' | 'update-allocs' | 'update-usage', err: unknown): void;
}

export interface ClientAgentStatus {
  registered: boolean;
  heartbeatTtlMs: number;
  /** The allocs index of the last watch message. */
  allocIndex: number;
  /** Allocation reports waiting for the next batch. */
  pendingUpdates: number;
}

export class ClientAgent {
  private readonly opts: ClientAgentOptions;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private rpc: ClientRpcClient;
  private readonly addresses: string[];
  private addressAt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private nodeValue: Node | undefined;
  private started = false;
  private stopped = false;
  private registeredOnce = false;
  private ttlMs = 0;
  private allocIndex = 0;
  private readonly known = new Map<string, number>();
  /** When the scheduled batch goes out (clock ms). */
  private syncDue = 0;
  /** The client status last reported per allocation (to send changes at once). */
  private readonly lastStatus = new Map<string, string>();
  private pending = new Map<string, ClientAllocUpdate>();
  private syncTimer: TimerHandle | undefined;
  private syncing = false;
  private syncFailures = 0;
  private readonly sleeps = new Set<{ timer: TimerHandle; resolve: () => void }>();
  private readonly watchAbort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private registeredWaiters: (() => void)[] = [];
  private firstSyncDone: () => void = () => {};
  private readonly firstSync = new Promise<void>((resolve) => { this.firstSyncDone = resolve; });

  constructor(opts: ClientAgentOptions) {
    this.opts = opts;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.baseMs = opts.retryBaseMs ?? 1000;
    this.maxMs = opts.retryMaxMs ?? 30_000;
    if (opts.rpc.address === '') throw new NomadError('invalid_argument', 'rpc.address is required (host:port of a server)', { field: 'rpc.address' });
    this.addresses = [opts.rpc.address, ...(opts.rpc.fallbackAddresses ?? []).filter((a) => a !== opts.rpc.address)];
    this.rpc = this.connect(opts.rpc.address);
  }

  /** The server address the client talks to now. */
  get serverAddress(): string {
    return this.addresses[this.addressAt] ?? this.opts.rpc.address;
  }

  private connect(address: string): ClientRpcClient {
    const opts = this.opts;
    return new ClientRpcClient({
      address,
      caPem: opts.rpc.caPem,
      certPem: opts.rpc.certPem,
      keyPem: opts.rpc.keyPem,
      region: opts.config.region,
      ...(opts.rpc.serverName !== undefined ? { serverName: opts.rpc.serverName } : {}),
      ...(opts.rpc.timeoutMs !== undefined ? { timeoutMs: opts.rpc.timeoutMs } : {}),
    });
  }

  /** Move on to the next server address (no-op with one); the watch reconnects there too. */
  private failover(): void {
    if (this.addresses.length < 2 || this.stopped) return;
    this.addressAt = (this.addressAt + 1) % this.addresses.length;
    const old = this.rpc;
    this.rpc = this.connect(this.addresses[this.addressAt]!);
    old.close();
  }

  /** The fingerprinted node (after start). */
  get node(): Node | undefined {
    return this.nodeValue;
  }

  status(): ClientAgentStatus {
    return { registered: this.registeredOnce, heartbeatTtlMs: this.ttlMs, allocIndex: this.allocIndex, pendingUpdates: this.pending.size };
  }

  /** Fingerprint the node, then register, heartbeat and watch in the background. */
  async start(): Promise<void> {
    if (this.started) throw new NomadError('conflict', 'the client agent is already started');
    this.started = true;
    this.nodeValue = await fingerprintNode({ config: { ...this.opts.config, dataDir: this.opts.dataDir }, drivers: this.opts.drivers, now: this.clock.now() });
    if (this.stopped) return;
    this.loops.push(this.heartbeatLoop());
  }

  /** Resolves once the node is registered (the first time). */
  registered(): Promise<void> {
    if (this.registeredOnce) return Promise.resolve();
    return new Promise((resolve) => this.registeredWaiters.push(resolve));
  }

  /**
   * Resolves once the first update of the allocation watch has been handed to onAllocs: from
   * then on the client has heard every allocation the servers hold for its node (a fresh client
   * knows none, so the first update carries them all).
   */
  firstAllocSync(): Promise<void> {
    return this.firstSync;
  }

  /**
   * Report allocation states; sent in one batch every 200 ms, the latest report per allocation
   * winning, except that a change of client status is sent within AllocStatusChangeDelayMs.
   */
  reportAllocs(updates: readonly ClientAllocUpdate[]): void {
    if (this.stopped) return;
    let changed = false;
    for (const u of updates) {
      if (this.lastStatus.get(u.id) !== u.clientStatus) {
        changed = true;
        this.lastStatus.set(u.id, u.clientStatus);
      }
      this.pending.set(u.id, u);
    }
    this.scheduleSync(changed ? AllocStatusChangeDelayMs : AllocSyncIntervalMs);
  }

  /** Stop every loop, drop the stream and the connection. Reports not yet sent are dropped. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.syncTimer?.cancel();
    this.syncTimer = undefined;
    this.watchAbort.abort();
    for (const s of this.sleeps) {
      s.timer.cancel();
      s.resolve();
    }
    this.sleeps.clear();
    await Promise.allSettled(this.loops);
    this.rpc.close();
  }

  // ---- loops -----------------------------------------------------------------------

  private async register(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const r = await this.rpc.register(this.nodeValue!);
        this.ttlMs = r.heartbeatTtlMs;
        if (!this.registeredOnce) {
          this.registeredOnce = true;
          for (const w of this.registeredWaiters) w();
          this.registeredWaiters = [];
          this.loops.push(this.watchLoop());
          this.loops.push(this.usageLoop());
        }
        return;
      } catch (err) {
        if (this.stopped) return;
        this.opts.onError?.('register', err);
        this.failover();
        await this.sleep(this.backoff(attempt));
      }
    }
  }

  /** Register, then heartbeat at the server's TTL; register again if the server forgot the node. */
  private async heartbeatLoop(): Promise<void> {
    await this.register();
    let failures = 0;
    while (!this.stopped) {
      await this.sleep(failures === 0 ? this.ttlMs : Math.min(this.backoff(failures - 1), this.ttlMs));
      if (this.stopped) return;
      try {
        const r = await this.rpc.heartbeat(this.nodeValue!.id);
        this.ttlMs = r.heartbeatTtlMs;
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.opts.onError?.('heartbeat', err);
        if (err instanceof NomadError && err.code === 'not_found') {
          await this.register();
          failures = 0;
        } else {
          failures++;
          this.failover();
        }
      }
    }
  }

  /** Watch the node's allocations; reconnect with back-off, resuming from the last index and known set. */
  private async watchLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const stream = this.rpc.watchAllocations(this.nodeValue!.id, {
          minIndex: this.allocIndex,
          known: Object.fromEntries(this.known),
          signal: this.watchAbort.signal,
        });
        for await (const u of stream) {
          failures = 0;
          this.allocIndex = u.index;
          const removed: string[] = [];
          for (const id of this.known.keys()) if (!(id in u.allocModifyIndex)) removed.push(id);
          for (const id of removed) this.known.delete(id);
          for (const a of u.changed) this.known.set(a.id, a.allocModifyIndex);
          if (u.changed.length > 0) this.opts.onAllocs(u.changed);
          if (removed.length > 0) this.opts.onAllocsRemoved?.(removed);
          this.firstSyncDone();
        }
        if (this.stopped) return;
        throw new NomadError('unavailable', 'the server ended the allocation watch');
      } catch (err) {
        if (this.stopped) return;
        this.opts.onError?.('watch', err);
        await this.sleep(this.backoff(failures++));
      }
    }
  }

  /** Report the allocations' resource usage at a steady pace; a failed report is dropped (the next one replaces it). */
  private async usageLoop(): Promise<void> {
    const every = this.opts.usageIntervalMs ?? DefaultUsageIntervalMs;
    if (this.opts.usage === undefined || every <= 0) return;
    while (!this.stopped) {
      await this.sleep(every);
      if (this.stopped) return;
      try {
        await this.rpc.updateUsage(this.nodeValue!.id, this.opts.usage());
      } catch (err) {
        if (this.stopped) return;
        this.opts.onError?.('update-usage', err);
      }
    }
  }

  private scheduleSync(delayMs: number): void {
    if (this.syncing || this.stopped) return;
    const due = this.clock.now() + delayMs;
    if (this.syncTimer !== undefined) {
      if (this.syncDue <= due) return;
      this.syncTimer.cancel(); // a status change moves the batch earlier
    }
    this.syncDue = due;
    this.syncTimer = this.clock.setTimer(delayMs, () => {
      this.syncTimer = undefined;
      void this.sync();
    });
  }

  /** Send every pending report in one UpdateAllocs; on failure keep them (newer reports win) and retry later. */
  private async sync(): Promise<void> {
    if (this.pending.size === 0 || this.stopped || !this.registeredOnce) {
      if (this.pending.size > 0) this.scheduleSync(AllocSyncIntervalMs);
      return;
    }
    const batch = this.pending;
    this.pending = new Map();
    this.syncing = true;
    try {
      await this.rpc.updateAllocs(this.nodeValue!.id, [...batch.values()]);
      this.syncFailures = 0;
    } catch (err) {
      this.opts.onError?.('update-allocs', err);
      for (const [id, u] of batch) if (!this.pending.has(id)) this.pending.set(id, u);
      this.syncFailures++;
    } finally {
      this.syncing = false;
    }
    if (this.pending.size > 0) this.scheduleSync(this.syncFailures === 0 ? AllocSyncIntervalMs : this.backoff(this.syncFailures - 1));
  }

  /** base·2^attempt capped at max, with up to 25% jitter below. */
  private backoff(attempt: number): number {
    const d = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(attempt, 30));
    return Math.max(1, Math.floor(d * (0.75 + 0.25 * this.rng.next())));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: this.clock.setTimer(ms, () => {
          this.sleeps.delete(entry);
          resolve();
        }),
        resolve,
      };
      this.sleeps.add(entry);
    });
  }
}
