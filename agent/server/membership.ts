/**
 * Gossip membership for a cluster server (issue 6; Nomad's servers run Serf the same way).
 *
 * Every server runs agent/gossip on its serf port with the tags role=server, region, dc,
 * raft_addr (its RPC address) and build. `server_join.retry_join` addresses are gossip
 * addresses as in Nomad; one reachable address is enough, and joining is retried every second
 * until one answers. Since the default serf port is the RPC port + 1, each address is also
 * tried at its port + 1, so a retry_join written with RPC addresses still finds the gossip.
 *
 * - Member events go to the server's ops bus as topic 'Member' ({name, status, address, ...}),
 *   which the console's Servers panel shows; every member's status is repeated as MemberStatus
 *   every 10 probe intervals (at least 1 s).
 * - `mergeInto(peers)` hands the bootstrap the servers gossip discovered (alive, same region):
 *   bootstrap_expect counts them.
 * - Dead-server cleanup (on the Raft leader): a server gossip has marked failed for longer than
 *   `server.dead_server_cleanup`, or that left (gracefully or by force-leave), is removed from
 *   the Raft configuration, never below a majority of bootstrap_expect voters (the rule: remove
 *   only when voters - 1 >= floor(bootstrap_expect / 2) + 1), one removal at a time.
 * - Reconciliation (on the leader, as Nomad's leader does for Serf members): a server of this
 *   region that gossip has seen alive for a stabilization time (10 probe intervals, at least 2 s)
 *   and that is not in the Raft configuration is added as a voter — e.g. a cleaned-out server
 *   that came back.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Clock } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { OpsSink } from '../core/ops/index.js';
import type { Gossip, Member, MemberEvent, MemberlistConfig } from '../gossip/index.js';
import { keyringPath, serverTags, splitHostPort, startGossip, TAG } from '../gossip/index.js';
import { SystemClock } from '../runtime/index.js';
import type { ServerAgentConfig } from './config.js';

/** A server as `server members` shows it. */
export interface ServerMember {
  name: string;
  /** Gossip host:port. */
  address: string;
  status: Member['status'];
  region: string;
  datacenter: string;
  build: string;
  raftAddr: string;
}

export interface MembershipOptions {
  cfg: ServerAgentConfig;
  /** This server's advertised RPC (and Raft) address. */
  rpcAddr: string;
  ops: OpsSink;
  log?: (line: string) => void;
  clock?: Clock;
}

/** What dead-server cleanup needs from Raft. */
export interface RaftMembershipHooks {
  isLeader(): boolean;
  voters(): readonly string[];
  remove(id: string): Promise<unknown>;
  /** Members that are not voters yet (learners, promoting); with `add`, for reconciliation. */
  learners?(): readonly string[];
  /** Add a server as a voter (Raft adds it as a learner and promotes it once caught up). */
  add?(id: string, raftAddr: string): Promise<unknown>;
}

/** The nomadts version from package.json (agent/server → root; dist/agent/server → dist/..). */
function buildVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'nomadts' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next level up
    }
  }
  return 'unknown';
}

/** memberlist's LAN timings scaled to the probe interval (1 s = the defaults). */
export function gossipTimings(probeIntervalMs: number): Partial<Omit<MemberlistConfig, 'name' | 'tags'>> {
  const k = probeIntervalMs / 1000;
  return {
    probeIntervalMs,
    probeTimeoutMs: Math.max(1, Math.round(500 * k)),
    gossipIntervalMs: Math.max(1, Math.round(200 * k)),
    gossipToTheDeadMs: Math.round(30_000 * k),
    pushPullIntervalMs: Math.round(30_000 * k),
    reconnectIntervalMs: Math.round(30_000 * k),
  };
}

export function toServerMember(m: Member): ServerMember {
  return {
    name: m.name, address: m.addr, status: m.status,
    region: m.tags[TAG.region] ?? '', datacenter: m.tags[TAG.datacenter] ?? '', build: m.tags[TAG.build] ?? '', raftAddr: m.tags[TAG.raftAddr] ?? '',
  };
}

/** The addresses to try for one retry_join entry: as given, and at port + 1 (the default serf port beside an RPC port). */
export function joinCandidates(addrs: readonly string[], own: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of addrs) {
    let hp: { host: string; port: number };
    try { hp = splitHostPort(a); } catch { continue; }
    const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
    for (const c of [a, ...(hp.port < 65535 ? [`${host}:${hp.port + 1}`] : [])]) if (!own.includes(c) && !out.includes(c)) out.push(c);
  }
  return out;
}

export class Membership {
  private joined = false;
  private stopped = false;
  private joinTimer: ReturnType<typeof setTimeout> | undefined;
  private cleanupTimer: ReturnType<typeof setInterval> | undefined;
  private readonly statusTimer: ReturnType<typeof setInterval>;
  private removing = false;
  private readonly unsubscribe: () => void;

  private constructor(readonly gossip: Gossip, private readonly o: MembershipOptions & { log: (line: string) => void; clock: Clock }, private readonly own: string[]) {
    this.unsubscribe = gossip.memberlist.subscribe((e) => this.onEvent(e));
    this.emit('alive', gossip.memberlist.localMember());
    // Every member's status again now and then (MemberStatus), so a console that connects after
    // the ops ring has moved on still learns each server's gossip status.
    this.statusTimer = setInterval(() => {
      for (const m of gossip.memberlist.members()) this.emit('status', m);
    }, Math.max(1_000, 10 * o.cfg.server.gossipProbeIntervalMs));
  }

  /** Bind the serf port, start gossip and (in the background) join retry_join. */
  static async start(opts: MembershipOptions): Promise<Membership> {
    const o = { ...opts, log: opts.log ?? ((): void => {}), clock: opts.clock ?? new SystemClock() };
    const { cfg } = o;
    const rpcPort = splitHostPort(o.rpcAddr).port;
    const advHost = splitHostPort(o.rpcAddr).host;
    const bindAddr = cfg.bindAddr;
    const keyringFile = existsSync(keyringPath(cfg.dataDir)) ? keyringPath(cfg.dataDir) : undefined;
    const tags = serverTags({ region: cfg.region, datacenter: cfg.datacenter, raftAddr: o.rpcAddr, build: buildVersion() });
    const attempt = async (port: number): Promise<Gossip> => {
      const advertiseAddr = cfg.advertiseSerf !== '' ? cfg.advertiseSerf : port === 0 ? undefined : `${advHost.includes(':') ? `[${advHost}]` : advHost}:${port}`;
      return startGossip({
        name: cfg.name, bindAddr, port, tags, config: gossipTimings(cfg.server.gossipProbeIntervalMs),
        ...(advertiseAddr !== undefined ? { advertiseAddr } : {}),
        ...(keyringFile !== undefined ? { keyringFile } : {}),
      });
    };
    let gossip: Gossip;
    const wanted = cfg.serfPort ?? (rpcPort < 65535 ? rpcPort + 1 : 0);
    try {
      gossip = await attempt(wanted);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (cfg.serfPort !== undefined) throw new NomadError('unavailable', `ports.serf: cannot listen for gossip on ${bindAddr}:${cfg.serfPort}: ${why}`, { field: 'ports.serf' });
      o.log(`gossip: port ${wanted} (rpc + 1) is taken; listening on a free port instead`);
      gossip = await attempt(0);
    }
    const own = [gossip.transport.addr, o.rpcAddr, `127.0.0.1:${splitHostPort(gossip.transport.addr).port}`];
    const m = new Membership(gossip, o, own);
    o.log(`gossip: listening on ${gossip.transport.addr} as ${cfg.name}${keyringFile !== undefined ? ' (encrypted)' : ''}`);
    m.retryJoin();
    return m;
  }

  get address(): string {
    return this.gossip.transport.addr;
  }

  private retryJoin(): void {
    const targets = joinCandidates(this.o.cfg.retryJoin, this.own);
    if (targets.length === 0) return;
    const tryOnce = (): void => {
      if (this.stopped || this.joined) return;
      this.gossip.memberlist.join(targets).then((n) => {
        this.joined = true;
        this.o.log(`gossip: joined the cluster (${n} of ${targets.length} retry_join addresses answered)`);
      }, () => {
        if (!this.stopped) this.joinTimer = setTimeout(tryOnce, 1_000);
      });
    };
    tryOnce();
  }

  private emit(type: MemberEvent['type'] | 'status', m: Member): void {
    const s = toServerMember(m);
    const status = type === 'reaped' ? 'left' : m.status;
    const name = type.charAt(0).toUpperCase() + type.slice(1);
    this.o.ops.emit('Member', `Member${name}`, m.name, { name: m.name, status, address: s.address, region: s.region, datacenter: s.datacenter, build: s.build, raftAddr: s.raftAddr });
  }

  private onEvent(e: MemberEvent): void {
    this.emit(e.type, e.member);
    if (e.type !== 'updated') this.o.log(`gossip: member ${e.member.name} (${e.member.addr}) is ${e.type}`);
  }

  /** Every member this server's gossip knows, itself included. */
  members(): ServerMember[] {
    return this.gossip.memberlist.members().map(toServerMember).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Alive servers of this server's region with a Raft address (bootstrap_expect counts these). */
  servers(): ServerMember[] {
    return this.gossip.memberlist.members()
      .filter((m) => m.status === 'alive' && m.tags[TAG.role] === 'server' && m.tags[TAG.region] === this.o.cfg.region && (m.tags[TAG.raftAddr] ?? '') !== '')
      .map(toServerMember);
  }

  /** Add gossip-discovered servers' Raft addresses to `peers` (id → address); true when something changed. */
  mergeInto(peers: Record<string, string>, selfId: string): boolean {
    let changed = false;
    for (const s of this.servers()) {
      if (s.name === selfId || peers[s.name] === s.raftAddr) continue;
      peers[s.name] = s.raftAddr;
      changed = true;
    }
    return changed;
  }

  async join(addrs: readonly string[]): Promise<number> {
    for (const a of addrs) {
      try { splitHostPort(a); } catch { throw new NomadError('invalid_argument', `address must be host:port, got ${JSON.stringify(a)}`, { field: 'addresses' }); }
    }
    const n = await this.gossip.memberlist.join(addrs);
    this.joined = true;
    return n;
  }

  forceLeave(name: string): void {
    const m = this.gossip.memberlist.member(name);
    if (m === undefined) throw new NomadError('not_found', `no server named ${JSON.stringify(name)} in gossip (known: ${this.members().map((x) => x.name).join(', ')})`, { field: 'name' });
    if (m.status === 'alive') throw new NomadError('conflict', `server ${name} is alive; force-leave is for failed servers`, { field: 'name' });
    this.gossip.memberlist.forceLeave(name);
  }

  /** Start dead-server cleanup (checked every second; acts only while `raft.isLeader()`). */
  startCleanup(raft: RaftMembershipHooks): void {
    const graceMs = this.o.cfg.server.deadServerCleanupMs;
    const quorum = Math.floor(this.o.cfg.server.bootstrapExpect / 2) + 1;
    this.cleanupTimer = setInterval(() => {
      if (this.stopped || this.removing || !raft.isLeader()) return;
      const voters = raft.voters();
      const now = this.o.clock.now();
      const dead = this.gossip.memberlist.members().find((m) => m.name !== this.o.cfg.name && voters.includes(m.name)
        && (m.status === 'left' || (m.status === 'failed' && now - m.statusSince >= graceMs)));
      if (dead === undefined || voters.length - 1 < quorum) { // the rule: never below a majority of bootstrap_expect
        this.reconcile(raft, voters, now);
        return;
      }
      this.removing = true;
      this.o.log(`dead-server cleanup: removing ${dead.name} (${dead.status} in gossip) from the Raft configuration`);
      raft.remove(dead.name).then(() => {
        this.o.ops.emit('Member', 'MemberRemoved', dead.name, { name: dead.name, status: dead.status, address: dead.addr, removedFromRaft: true });
      }, (err: unknown) => {
        this.o.log(`dead-server cleanup: removing ${dead.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }).finally(() => { this.removing = false; });
    }, 1_000);
  }

  /** Add one alive, stable server that Raft does not know (see the module comment). */
  private reconcile(raft: RaftMembershipHooks, voters: readonly string[], now: number): void {
    if (raft.add === undefined) return;
    const learners = raft.learners?.() ?? [];
    const stableMs = Math.max(2_000, 10 * this.o.cfg.server.gossipProbeIntervalMs);
    const fresh = this.servers().find((m) => m.name !== this.o.cfg.name && !voters.includes(m.name) && !learners.includes(m.name)
      && now - (this.gossip.memberlist.member(m.name)?.statusSince ?? now) >= stableMs);
    if (fresh === undefined) return;
    this.removing = true;
    this.o.log(`reconcile: adding ${fresh.name} (${fresh.raftAddr}, alive in gossip) to the Raft configuration`);
    raft.add(fresh.name, fresh.raftAddr).then(() => {
      this.o.ops.emit('Member', 'MemberAdded', fresh.name, { name: fresh.name, status: 'alive', address: fresh.address, raftAddr: fresh.raftAddr, addedToRaft: true });
    }, (err: unknown) => {
      this.o.log(`reconcile: adding ${fresh.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }).finally(() => { this.removing = false; });
  }

  /** Stop gossiping without a leave message: others see this server fail, and it comes back alive on restart. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.joinTimer !== undefined) clearTimeout(this.joinTimer);
    if (this.cleanupTimer !== undefined) clearInterval(this.cleanupTimer);
    clearInterval(this.statusTimer);
    this.unsubscribe();
    this.gossip.memberlist.shutdown();
  }
}
