/**
 * A server in a multi-server cluster: the Server's writes go through Raft (agent/raft/node over
 * DiskStorage and the gRPC transport), one mutual-TLS listener carries the public API, Raft
 * (RaftService) and server-to-server calls (ClusterService), and the leader duties follow Raft
 * leadership (leader.ts).
 *
 * Start-up, as Nomad's bootstrap_expect: the server asks every `server_join.retry_join` address
 * who it is (ClusterService.RaftStatus) until it knows `bootstrap_expect` servers, itself
 * included; a brand-new data dir is bootstrapped with those servers as the voters (every server
 * computes the same set). A server that restarts recovers its log, hard state and snapshot from
 * disk and its peers' addresses from `<data_dir>/raft/peers.json`.
 *
 * Writes on a follower are forwarded to the leader (ClusterService.Apply), and the call returns
 * once this server has applied the write too, so a read here right after sees it. Reads on any
 * server are linearizable by default (a ReadIndex read point confirmed by a quorum, applied here
 * before the answer); a caller that allows stale reads gets this server's own state at once.
 * Scheduler workers run on every server (scheduler-workers.ts, issue 5 §4): a follower's workers
 * dequeue from the leader's broker and submit plans to its applier over ClusterService
 * (EvalDequeue/EvalAck/EvalNack/PlanSubmit, answered here when leading, `unavailable` otherwise).
 * Log entries are tagged: 0x01 + JSON = an FSM command, 0x02 + bytes = a benchmark payload
 * (replicated and fsynced like any entry, applied as a no-op), 0x03 + image = an operator's
 * snapshot restore (every server replaces its state with the image at that index; the leader
 * then rebuilds its duties from it, as on a leadership change), 0x04 = a no-op that moves the log
 * past a restored image's index (restoreOnLeader).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, Rng } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { FsmCommand } from '../core/state/index.js';
import { checkSnapshot } from '../core/state/index.js';
import { RaftNode } from '../raft/node/index.js';
import type { StateMachine } from '../raft/node/index.js';
import { DiskStorage } from '../raft/storage/index.js';
import { addClusterService, addProposeService, ClusterClient, GrpcTransport, ProposeClient, raftTrace } from '../raft/transport/index.js';
import type { ClusterHandlers, ClusterRaftStatus } from '../raft/transport/index.js';
import type { RpcServerHandle } from '../rpc-server/index.js';
import { startAgentRpcServer } from '../rpc-server/index.js';
import { ClientRpcService } from '../service/index.js';
import { replaceFileSync, SystemClock, systemRng } from '../runtime/index.js';
import type { AgentTls } from '../tls/index.js';
import { loadAgentTls } from '../tls/index.js';
import type { ServerAgentConfig } from './config.js';
import { Leadership } from './leader.js';
import { Membership } from './membership.js'; // issue 6
import { Server } from './server.js';
import { emitWorkerStep } from './ops.js';
import { leaderWorkerHandlers, localSchedulerLink, remoteSchedulerLink } from './remote-broker.js';
import type { SchedulerLink } from './remote-broker.js';
import { SchedulerWorkers } from './scheduler-workers.js';

export const EntryTag = { command: 1, bench: 2, restore: 3, pad: 4 } as const;

/** How long a consistent read waits for its read point before answering `unavailable`. */
export const ConsistentReadTimeoutMs = 5_000;

export function encodeCommand(cmd: FsmCommand): Uint8Array {
  const json = Buffer.from(JSON.stringify(cmd), 'utf8');
  const out = Buffer.allocUnsafe(json.length + 1);
  out[0] = EntryTag.command;
  json.copy(out, 1);
  return out;
}

export function decodeCommand(data: Uint8Array): FsmCommand | undefined {
  if (data[0] !== EntryTag.command) return undefined;
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset + 1, data.byteLength - 1).toString('utf8')) as FsmCommand;
}

/** A restore entry: the tag, then the state image (operator snapshot restore). */
export function encodeRestore(image: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(image.byteLength + 1);
  out[0] = EntryTag.restore;
  out.set(image, 1);
  return out;
}

/** A no-op entry that moves the log past a restored image's index (see restoreOnLeader). */
const PadEntry = Uint8Array.of(EntryTag.pad);

/**
 * How far a restore may move the log forward: an image saved at index S restored into a log at
 * index N < S first needs S − N no-op entries (three servers on loopback commit about 10,000 a
 * second: 20,000 took 1.9 s), so at most a few minutes within the restore's 10-minute deadline.
 */
export const MaxRestorePadding = 2_000_000;
/** How long a restore (padding included) may take before the caller gives up. */
export const RestoreTimeoutMs = 600_000;

/**
 * On the leader: commit a checked image as a restore entry. Every index in the image (rows,
 * evaluations a worker waits for) is at most the index it was saved at, and the state's indexes
 * must stay at or below the log's, so the restore entry must land past it: when the log is
 * behind (a fresh cluster), no-op entries are committed first, as hashicorp/raft's Restore moves
 * the log past the snapshot's index. Resolves with the restore entry's index once applied here.
 */
async function restoreOnLeader(node: RaftNode<unknown>, image: Uint8Array, snapshotIndex: number): Promise<number> {
  const gap = snapshotIndex - node.status().lastIndex;
  if (gap > MaxRestorePadding) {
    throw new NomadError('invalid_argument', `the image was saved at index ${snapshotIndex}, ${gap} entries past this cluster's log (index ${node.status().lastIndex}); a restore moves the log past the image's index with no-op entries, at most ${MaxRestorePadding}`);
  }
  for (let last = node.status().lastIndex; last < snapshotIndex; last = node.status().lastIndex) {
    const n = Math.min(snapshotIndex - last, 1024);
    await Promise.all(Array.from({ length: n }, () => node.propose(PadEntry)));
  }
  return (await node.propose(encodeRestore(image))).index;
}

export interface ClusterServerOptions {
  clock?: Clock;
  rng?: Rng;
  log?: (line: string) => void;
  /** Scheduler workers on this server, leader or follower (default `server.num_schedulers`, 2). */
  workers?: number;
  /** Worker tuning for tests: dequeue long-poll and retry pause (ms). */
  workerDequeueTimeoutMs?: number;
  workerRetryMs?: number;
}

export interface ClusterServer {
  readonly id: string;
  readonly rpcAddr: string;
  readonly server: Server;
  readonly node: RaftNode<unknown>;
  readonly leadership: Leadership;
  /** This server's scheduler workers (issue 5 §4). */
  readonly workers: SchedulerWorkers;
  status(): ClusterRaftStatus;
  stop(): Promise<void>;
}

interface PeerBook {
  [id: string]: string;
}

function readPeers(file: string): PeerBook {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as PeerBook) : {};
  } catch {
    return {};
  }
}

function writePeers(file: string, peers: PeerBook): void {
  replaceFileSync(file, JSON.stringify(peers, null, 2), { durable: true });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startClusterServer(cfg: ServerAgentConfig, opts: ClusterServerOptions = {}): Promise<ClusterServer> {
  if (!cfg.server.enabled) throw new NomadError('invalid_argument', 'server.enabled must be true to start a server', { field: 'server.enabled' });
  if (cfg.tls === undefined) throw new NomadError('invalid_argument', 'a server needs a tls block', { field: 'tls' });
  const log = opts.log ?? ((): void => {});
  const clock = opts.clock ?? new SystemClock();
  const rng = opts.rng ?? systemRng().rng;
  const tls: AgentTls = loadAgentTls(cfg.tls, { role: 'server', region: cfg.region, now: new Date() });
  const raftDir = join(cfg.dataDir, 'raft');
  mkdirSync(raftDir, { recursive: true });
  const peersFile = join(raftDir, 'peers.json');
  const peers: PeerBook = readPeers(peersFile);
  const id = cfg.name;
  const clientTls = { caPem: tls.caPem, certPem: tls.certPem, keyPem: tls.keyPem, region: cfg.region };

  // Set once bootstrapped; the handlers below answer 'bootstrapping' until then.
  const ref: { node?: RaftNode<unknown>; leadership?: Leadership; membership?: Membership } = {}; // issue 6: membership
  const forwarders = new Map<string, ClusterClient>();
  const proposers = new Map<string, ProposeClient>();
  const proposer = (address: string): ProposeClient => {
    let c = proposers.get(address);
    if (c === undefined) {
      c = new ProposeClient(address, clientTls);
      proposers.set(address, c);
    }
    return c;
  };
  const forwarder = (address: string): ClusterClient => {
    let c = forwarders.get(address);
    if (c === undefined) {
      c = new ClusterClient(address, clientTls);
      forwarders.set(address, c);
    }
    return c;
  };

  /** The leader's address, waiting up to `waitMs` for one to be known. */
  const leaderAddress = async (waitMs: number): Promise<{ id: string; address: string } | 'self'> => {
    const until = Date.now() + waitMs;
    for (;;) {
      if (ref.node !== undefined) {
        if (ref.node.isLeader()) return 'self';
        const l = ref.node.leader();
        const address = l === '' ? undefined : peers[l];
        if (address !== undefined) return { id: l, address };
      }
      if (Date.now() > until) throw new NomadError('unavailable', `no cluster leader known to server ${id} (no quorum?)`);
      await sleep(25);
    }
  };

  /** Propose on the leader: here when leading, else forwarded; one retry across a leadership change. */
  const applyData = async (data: Uint8Array): Promise<number> => {
    raftTrace('apply-in', 0);
    for (let attempt = 0; ; attempt++) {
      const where = await leaderAddress(5_000);
      try {
        if (where === 'self') {
          const index = (await ref.node!.propose(data)).index;
          raftTrace('reply', index);
          return index;
        }
        // Forwarded on the leader's propose stream: the writes of one turn share a message.
        return await proposer(where.address).propose(data);
      } catch (err) {
        if (attempt < 3 && err instanceof NomadError && err.code === 'unavailable') {
          await sleep(50);
          continue;
        }
        throw err;
      }
    }
  };

  const server = new Server({
    clock,
    rng,
    name: id,
    // Issue 5 §4: the Server runs no workers of its own; the SchedulerWorkers below run on every server.
    workers: 0,
    // The console's Servers panel: this server's Raft view (the leader's includes every peer's lag).
    raftView: () => {
      const st = status();
      return { role: st.role, term: st.term, leader: st.leader, leaderAddr: st.peers.find((p) => p.id === st.leader)?.address ?? '', commitIndex: st.commit, appliedIndex: st.applied, peers: st.peers.map((p) => ({ id: p.id, matchIndex: p.matchIndex, lag: p.lag, voter: p.voter })) };
    },
    replicate: async (cmd, o) => {
      if (o?.leaderOnly === true) {
        // A leader duty's write: proposed here or not at all (a deposed leader's plan must not
        // be committed through the next leader, which never checked it against its state).
        if (ref.node === undefined || !ref.node.isLeader()) throw new NomadError('unavailable', `server ${id} is no longer the leader; its ${cmd.type} write was dropped`);
        return (await ref.node.propose(encodeCommand(cmd))).index;
      }
      const index = await applyData(encodeCommand(cmd));
      // Forwarded: return once this server has applied it too (read-your-writes here).
      await server.fsm.store.waitForIndex(index, { clock, timeoutMs: 10_000 });
      return index;
    },
  });

  const fsm: StateMachine<unknown> = {
    apply: (index, data) => {
      if (data[0] === EntryTag.restore) {
        // operator snapshot restore: every server, at this index (a bad image fails alike everywhere).
        const from = server.restoreCommitted(index, data.subarray(1));
        log(`snapshot restore applied at index ${index} (image saved at index ${from})`);
        return undefined;
      }
      const cmd = decodeCommand(data);
      if (cmd !== undefined) server.applyCommitted(index, cmd);
      return undefined;
    },
    snapshot: () => server.fsm.snapshot(),
    restore: (data) => server.fsm.restore(data),
  };

  const status = (): ClusterRaftStatus => {
    if (ref.node === undefined) {
      return { id, role: 'bootstrapping', term: 0, leader: '', commit: 0, applied: 0, lastIndex: 0, peers: [{ id, address: peers[id] ?? '', voter: false, leader: false, matchIndex: 0, lag: 0, state: '', recentActive: true }], storageSyncs: 0, storageEntries: 0 };
    }
    const st = ref.node.status();
    const io = ref.node.storageStats();
    const progress = new Map(st.progress.map((p) => [p.id, p]));
    const members = [...st.conf.voters.map((v) => ({ v, voter: true })), ...st.conf.learners.map((v) => ({ v, voter: false }))];
    return {
      id, role: st.role, term: st.term, leader: st.leader, commit: st.commit, applied: st.applied, lastIndex: st.lastIndex,
      storageSyncs: io.syncs, storageEntries: io.entries,
      peers: members.map(({ v, voter }) => {
        const p = progress.get(v);
        return {
          id: v, address: peers[v] ?? '', voter, leader: v === st.leader,
          matchIndex: p?.match ?? (v === id ? st.lastIndex : 0), lag: p?.lag ?? 0, state: p?.state ?? '', recentActive: p?.recentActive ?? v === id,
        };
      }),
    };
  };

  // Issue 5 §4: the leader's broker and plan applier for followers' workers.
  const leaderOnly = (): void => {
    if (ref.leadership?.isLeading() === true) return;
    const l = ref.node?.leader() ?? '';
    const where = l === '' ? 'no leader known' : l === id ? 'this server is still taking over' : `the leader is ${l} at ${peers[l] ?? 'an unknown address'}`;
    throw new NomadError('unavailable', `server ${id} is not serving the eval broker (${where})`);
  };
  const workerHandlers = leaderWorkerHandlers({ server, clock, leaderOnly });

  const handlers: ClusterHandlers = {
    ...workerHandlers,
    apply: (command) => applyData(command),
    snapshotSave: async () => {
      if (ref.node === undefined) throw new NomadError('unavailable', `server ${id} is still bootstrapping`);
      await ref.node.readIndex();
      return { index: server.fsm.lastApplied(), data: server.fsm.snapshot() };
    },
    // operator snapshot restore: check the whole image here, then have the leader commit it
    // (a follower forwards the image with its own server certificate); answer once this server
    // has applied it.
    snapshotRestore: async (image) => {
      if (ref.node === undefined) throw new NomadError('unavailable', `server ${id} is still bootstrapping`);
      const snapshotIndex = checkSnapshot(image);
      const where = await leaderAddress(5_000);
      const index = where === 'self' ? await restoreOnLeader(ref.node, image, snapshotIndex) : (await forwarder(where.address).snapshotRestore(image, RestoreTimeoutMs)).index;
      await server.fsm.store.waitForIndex(index, { clock, timeoutMs: 30_000 });
      return { index, snapshotIndex };
    },
    raftStatus: async () => status(),
    transferLeadership: async (peerId) => {
      if (ref.node === undefined) throw new NomadError('unavailable', `server ${id} is still bootstrapping`);
      const st = ref.node.status();
      let target = peerId;
      if (target === '') {
        const best = st.progress.filter((p) => p.voter && p.id !== st.leader).sort((a, b) => b.match - a.match)[0];
        if (best === undefined) throw new NomadError('conflict', 'no other voter to transfer leadership to');
        target = best.id;
      }
      if (!st.conf.voters.includes(target)) throw new NomadError('not_found', `server ${JSON.stringify(target)} is not a voter (voters: ${st.conf.voters.join(', ')})`, { field: 'peer_id' });
      if (target === st.leader) return target;
      ref.node.transferLeadership(target);
      for (let i = 0; i < 100; i++) {
        await sleep(50);
        const l = ref.node.leader();
        if (l === target) return l;
      }
      throw new NomadError('timeout', `leadership did not move to ${target} within 5 s (leader is ${ref.node.leader() || 'unknown'})`);
    },
    removePeer: async (peerId) => {
      if (ref.node === undefined) throw new NomadError('unavailable', `server ${id} is still bootstrapping`);
      const st = ref.node.status();
      if (!st.conf.voters.includes(peerId) && !st.conf.learners.includes(peerId)) throw new NomadError('not_found', `server ${JSON.stringify(peerId)} is not a member (voters: ${st.conf.voters.join(', ')})`, { field: 'peer_id' });
      if (!ref.node.isLeader()) {
        const where = await leaderAddress(5_000);
        if (where !== 'self') return forwarder(where.address).removePeer(peerId);
      }
      return ref.node.proposeConfChange({ type: 'remove', id: peerId });
    },
    addPeer: async (peerId, address, voter) => {
      if (ref.node === undefined) throw new NomadError('unavailable', `server ${id} is still bootstrapping`);
      if (address !== '') {
        peers[peerId] = address;
        writePeers(peersFile, peers);
        transport.addPeer(peerId, address);
      }
      if (!ref.node.isLeader()) {
        const where = await leaderAddress(5_000);
        if (where !== 'self') return forwarder(where.address).addPeer(peerId, address, voter);
      }
      return ref.node.proposeConfChange({ type: voter ? 'add-voter' : 'add-learner', id: peerId });
    },
    // issue 6: gossip membership (membership.ts).
    members: async () => (ref.membership?.members() ?? []).map((m) => ({ name: m.name, address: m.address, status: m.status, tags: { region: m.region, dc: m.datacenter, build: m.build, raft_addr: m.raftAddr } })),
    join: async (addrs) => ref.membership!.join(addrs),
    forceLeave: async (name) => ref.membership!.forceLeave(name),
  };

  const clientService = new ClientRpcService({ server, clock, rng: rng.fork(), leaderOnly: true });
  const transport = new GrpcTransport({ id, region: cfg.region, tls: { caPem: tls.caPem, certPem: tls.certPem, keyPem: tls.keyPem }, log });
  let rpc: RpcServerHandle;
  try {
    rpc = await startAgentRpcServer({
      server, tls, region: cfg.region, host: cfg.bindAddr, port: cfg.rpcPort, clock, rng,
      // Client agents (`agent -config client.hcl`) register, heartbeat and watch here; writes are forwarded.
      clientService,
      // Reads are linearizable unless the caller allows stale ones (QueryOptions.allow_stale).
      consistency: {
        readPoint: async () => {
          if (ref.node === undefined) throw new NomadError('unavailable', `server ${id} is still bootstrapping; pass -stale to read its own state`);
          try {
            return await ref.node.readIndex(ConsistentReadTimeoutMs);
          } catch (err) {
            const why = err instanceof Error ? err.message : String(err);
            throw new NomadError('unavailable', `server ${id} cannot confirm a consistent read with a quorum (${why}); pass -stale to read this server's own state`);
          }
        },
        knownLeader: () => ref.node !== undefined && ref.node.leader() !== '',
        lastContactMs: () => ref.node?.lastContactMs() ?? -1,
      },
      addServices: (srv) => {
        transport.addService(srv);
        addClusterService(srv, { caPem: tls.caPem, region: cfg.region, handlers });
        addProposeService(srv, { caPem: tls.caPem, region: cfg.region, propose: applyData, log });
      },
    });
  } catch (err) {
    throw new NomadError('unavailable', `cannot listen on ${cfg.bindAddr}:${cfg.rpcPort}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const advertise = cfg.advertiseRpc.replace(/:0$/, `:${rpc.port}`);
  peers[id] = advertise;
  // issue 6: gossip (joins retry_join in the background); discover() below counts what it finds.
  const membership = await Membership.start({ cfg, rpcAddr: advertise, ops: server.ops, log, clock }).catch(async (err: unknown) => { await rpc.close(); throw err; });
  ref.membership = membership;

  // Who is out there: ask every retry_join address until bootstrap_expect servers are known.
  const fresh = !existsSync(join(raftDir, 'wal')) || readdirSync(join(raftDir, 'wal')).length === 0;
  /** A running cluster that answered (it knows a leader), and whether its membership names this server. */
  let running: { leader: string; member: boolean } | undefined;
  const discover = async (): Promise<number> => {
    let changed = false;
    await Promise.all(cfg.retryJoin.map(async (addr) => {
      if (addr === advertise) return;
      const c = new ClusterClient(addr, clientTls, 2_000);
      try {
        const st = await c.raftStatus(2_000);
        if (st.leader !== '' && st.role !== 'bootstrapping') running = { leader: st.leader, member: st.peers.some((p) => p.id === id) };
        for (const p of st.peers) {
          if (p.address !== '' && peers[p.id] !== p.address && p.id !== id) {
            peers[p.id] = p.address;
            changed = true;
          }
        }
        if (peers[st.id] === undefined) {
          peers[st.id] = addr;
          changed = true;
        }
      } catch {
        // not up yet
      } finally {
        c.close();
      }
    }));
    if (membership.mergeInto(peers, id)) changed = true; // issue 6: servers found by gossip
    if (changed) writePeers(peersFile, peers);
    return Object.keys(peers).length;
  };
  if (fresh) {
    log(`waiting for ${cfg.server.bootstrapExpect} servers (retry_join ${cfg.retryJoin.join(', ') || 'none'})`);
    while ((await discover()) < cfg.server.bootstrapExpect && running === undefined) await sleep(250);
  } else {
    await discover();
  }
  writePeers(peersFile, peers);
  for (const [pid, addr] of Object.entries(peers)) transport.addPeer(pid, addr);

  // A brand-new server bootstraps the membership every founding server computes alike — unless it
  // found a cluster already running that does not count it: then it starts with no membership (it
  // never campaigns), and learns the whole of it from the leader once the leader adds it (the
  // first conf-change entry or snapshot it receives; gossip reconciliation adds it).
  let voters = Object.keys(peers).sort().slice(0, Math.max(cfg.server.bootstrapExpect, 1));
  if (fresh && !voters.includes(id)) voters[voters.length - 1] = id;
  const joining: { leader: string; member: boolean } | undefined = running;
  if (fresh && joining !== undefined && !joining.member) {
    voters = [];
    log(`joining the running cluster (leader ${joining.leader}): waiting for the leader to add this server to the Raft configuration`);
  }
  const storage = await DiskStorage.open(raftDir, { bootstrap: { voters: voters.sort(), learners: [] } });
  if (storage.recovery.truncatedTail !== undefined) log(`raft log: dropped a torn tail of ${storage.recovery.truncatedTail.droppedBytes} bytes (${storage.recovery.truncatedTail.reason})`);

  const raftNode = new RaftNode<unknown>({
    id, storage, transport, fsm, clock, rng,
    tickMs: 100 * cfg.server.raftMultiplier,
    ...(cfg.server.raftSnapshotThreshold !== undefined ? { snapshotThreshold: cfg.server.raftSnapshotThreshold } : {}),
    electionTick: 10,
    onSoftState: (s) => {
      log(`raft: ${s.role}${s.leader !== '' ? ` (leader ${s.leader})` : ''}`);
      ref.leadership?.onSoftState(s);
    },
    log,
  });
  // Issue 5 §4: workers on every server, routed to the leader's broker (here when leading).
  const localLink = localSchedulerLink({ leader: id, broker: server.broker, planApplier: server.planApplier, updateEvals: (evals, delivery) => server.upsertWorkerEvals(evals, delivery) });
  const remoteLinks = new Map<string, SchedulerLink>();
  const workers = new SchedulerWorkers({
    serverId: id,
    count: opts.workers ?? cfg.server.numSchedulers ?? 2,
    clock,
    rng: rng.fork(),
    route: () => {
      if (ref.leadership?.isLeading() === true) return localLink;
      const l = ref.node?.leader() ?? '';
      const address = l === '' || l === id ? undefined : peers[l];
      if (address === undefined) return undefined;
      const key = `${l}@${address}`;
      let link = remoteLinks.get(key);
      if (link === undefined) {
        link = remoteSchedulerLink(l, forwarder(address));
        remoteLinks.set(key, link);
      }
      return link;
    },
    waitForIndex: (index, timeoutMs) => server.fsm.store.waitForIndex(index, { clock, timeoutMs }),
    othersWork: () => raftNode.status().conf.voters.length > 1,
    onStep: (s) => emitWorkerStep(server.ops, s),
    ...(opts.workerDequeueTimeoutMs !== undefined ? { dequeueTimeoutMs: opts.workerDequeueTimeoutMs } : {}),
    ...(opts.workerRetryMs !== undefined ? { retryMs: opts.workerRetryMs } : {}),
  });
  server.workerStats = () => workers.stats();
  const leadership = new Leadership({ server, barrier: () => raftNode.readIndex(2_000), isLeader: () => raftNode.isLeader(), log, onChange: (leading) => void workers.setLeading(leading) });
  ref.node = raftNode;
  ref.leadership = leadership;
  raftNode.start();
  void workers.start();
  membership.startCleanup({ isLeader: () => raftNode.isLeader(), voters: () => raftNode.status().conf.voters, learners: () => raftNode.status().conf.learners, remove: (pid) => raftNode.proposeConfChange({ type: 'remove', id: pid }), add: (pid, addr) => handlers.addPeer(pid, addr, true) }); // issue 6
  server.startStatus();
  if (fresh && voters.length === 1 && voters[0] === id) raftNode.campaign();

  return {
    id,
    rpcAddr: advertise,
    server,
    node: raftNode,
    leadership,
    workers,
    status,
    stop: async () => {
      await workers.stop(); // issue 5 §4: each worker finishes (or fails) its evaluation first
      server.stopStatus();
      membership.stop(); // issue 6
      await leadership.stop();
      await raftNode.stop();
      clientService.stop();
      await rpc.close();
      await transport.close();
      for (const c of forwarders.values()) c.close();
      for (const c of proposers.values()) c.close();
      await storage.close();
    },
  };
}
