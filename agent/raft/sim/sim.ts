/**
 * A seeded simulation of a Raft cluster (after TigerBeetle's VOPR and FoundationDB's simulator):
 * N RawNodes over a simulated network that delays, reorders, drops and duplicates messages and
 * partitions the cluster; servers crash (losing unsynced writes, sometimes mid-write, leaving a
 * torn tail) and restart from what was durable. Clients run puts (through the log) and gets
 * (through ReadIndex) against a key-value register and the history is kept for the
 * linearizability checker. Safety is checked after every step; after the faults stop, a
 * proposal must commit within a bounded number of ticks. Everything derives from one seed.
 */
import { NomadError, SeededRng } from '../../core/lib/index.js';
import type { Rng } from '../../core/lib/index.js';
import { MemoryStorage, RawNode, formatMessage } from '../core/index.js';
import type { Entry, Message, Ready, ServerId } from '../core/index.js';
import type { HistoryEvent } from '../lincheck/index.js';

export interface SimOptions {
  readonly seed: number;
  /** Cluster size (default: 3 for odd seeds, 5 for even). */
  readonly nodes?: number;
  /** Ticks with faults before healing (default 300). */
  readonly faultTicks?: number;
  /** Ticks allowed after healing for a proposal to commit everywhere (default 200). */
  readonly livenessTicks?: number;
  /** Keep the last this many trace lines (default 200). */
  readonly traceLines?: number;
  /**
   * Plant a durability bug in the simulated driver, to show the checks catch it:
   * 'ack-before-persist' sends a Ready's messages before its writes are durable, so a crash
   * loses entries that others were told about.
   */
  readonly bug?: 'ack-before-persist';
  /** Crash probability per Ready that must be synced (default: drawn from the seed, 0.1%-3%). */
  readonly crashRate?: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly ticks: number;
  readonly history: HistoryEvent[];
  readonly stats: SimStats;
}

export interface SimStats {
  messages: number;
  dropped: number;
  duplicated: number;
  crashes: number;
  tornWrites: number;
  partitions: number;
  snapshotsSent: number;
  compactions: number;
  transfers: number;
  confChanges: number;
  leaders: number;
  committed: number;
  opsOk: number;
  opsFail: number;
  opsInfo: number;
}

/** A safety or liveness violation; `trace` holds the last events before it. */
export class SimFailure extends NomadError {
  constructor(readonly seed: number, message: string, readonly trace: readonly string[]) {
    super('internal', `seed ${seed}: ${message}`);
  }
}

/** Virtual time units per tick; message latency is 1..MaxLatency units. */
const TickUnits = 10;
const MaxLatency = 25;
const ElectionTick = 10;
const Keys = ['x', 'y', 'z'];
const Clients = 4;
/** A client gives up on an op (outcome unknown) after this many units. */
const OpTimeout = 40 * TickUnits;

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Command {
  readonly key: string;
  readonly value: number;
}

interface SimNode {
  readonly id: ServerId;
  up: boolean;
  rn: RawNode | undefined;
  /** What survives a crash. */
  durable: MemoryStorage;
  /** What the process sees (durable plus unsynced writes). */
  live: MemoryStorage;
  kv: Map<string, number>;
  applied: number;
  /** Tick phase offset in units. */
  phase: number;
  restartAt: number;
  /** Read requests waiting for their ReadState, then for applied >= index. */
  reads: Map<string, { client: number; op: number; key: string; index: number | undefined }>;
  /** Proposals awaiting their entry: index → (term, client, op). */
  proposals: Map<number, { term: number; client: number; op: number }>;
}

interface InFlight {
  readonly at: number;
  readonly seq: number;
  readonly m: Message;
}

interface ClientState {
  busy: boolean;
  /** The operation in progress (a late answer to an earlier, abandoned one is ignored). */
  op: number;
  node: ServerId;
  deadline: number;
  f: 'read' | 'write';
  key: string;
  value: number;
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly seed: number;
  private readonly rng: Rng;
  private readonly n: number;
  private readonly faultTicks: number;
  private readonly livenessTicks: number;
  private readonly traceMax: number;
  private readonly ids: ServerId[];
  private readonly nodes = new Map<ServerId, SimNode>();
  private net: InFlight[] = [];
  private seq = 0;
  private now = 0;
  /** Partition: group number per node (messages cross groups only when equal); undefined = none. */
  private group: Map<ServerId, number> | undefined;
  private lossRate: number;
  private readonly bug: SimOptions['bug'];
  private readonly crashRate: number;
  /** Half of the seeds run leaders that defer commit broadcasts (deferCommitBroadcast), flushed at random moments. */
  private readonly deferCommit: boolean;
  private faultsOn = true;
  private dupRate: number;
  private readonly trace: string[] = [];
  private readonly history: HistoryEvent[] = [];
  private readonly clients: ClientState[] = [];
  private nextValue = 1;
  private readSeq = 0;
  private opSeq = 0;
  readonly stats: SimStats = {
    messages: 0, dropped: 0, duplicated: 0, crashes: 0, tornWrites: 0, partitions: 0, snapshotsSent: 0,
    compactions: 0, transfers: 0, confChanges: 0, leaders: 0, committed: 0, opsOk: 0, opsFail: 0, opsInfo: 0,
  };

  // ---- safety records
  /** term → the leader elected in it. */
  private readonly leaderOf = new Map<number, ServerId>();
  /** "index/term" → data + previous entry's term (log matching is: all copies agree on these). */
  private readonly entryAt = new Map<string, string>();
  /** index → "term:data" of the entry committed (first applied) there. */
  private readonly committedAt = new Map<number, string>();
  private highestCommitted = 0;

  constructor(opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = new SeededRng(opts.seed);
    this.n = opts.nodes ?? (opts.seed % 2 === 1 ? 3 : 5);
    this.faultTicks = opts.faultTicks ?? 300;
    this.livenessTicks = opts.livenessTicks ?? 200;
    this.traceMax = opts.traceLines ?? 200;
    this.bug = opts.bug;
    this.deferCommit = opts.seed % 4 < 2;
    this.crashRate = opts.crashRate ?? 0.001 + this.rng.next() * 0.03;
    this.lossRate = 0.02 + this.rng.next() * 0.1;
    this.dupRate = this.rng.next() * 0.05;
    this.ids = Array.from({ length: this.n }, (_, i) => `n${i + 1}`);
    for (const id of this.ids) {
      const storage = new MemoryStorage({ voters: this.ids, learners: [] });
      const node: SimNode = {
        id, up: true, rn: undefined, durable: storage, live: storage.clone(), kv: new Map(), applied: 0,
        phase: this.rng.int(TickUnits), restartAt: 0, reads: new Map(), proposals: new Map(),
      };
      this.nodes.set(id, node);
      this.start(node);
    }
    for (let c = 0; c < Clients; c++) this.clients.push({ busy: false, op: 0, node: '', deadline: 0, f: 'read', key: '', value: 0 });
  }

  run(): SimResult {
    const faultEnd = this.faultTicks * TickUnits;
    for (; this.now < faultEnd; this.now++) {
      this.faults();
      this.stepOnce(true);
    }
    this.healAll();
    // Liveness: with every server up and a perfect network, a new proposal commits everywhere.
    const deadline = this.now + this.livenessTicks * TickUnits;
    let probe: { index: number; term: number } | undefined;
    for (; this.now < deadline; this.now++) {
      this.stepOnce(false);
      if (probe === undefined) {
        for (const node of this.nodes.values()) {
          if (node.rn?.status().role !== 'leader') continue;
          const r = node.rn.propose(enc.encode(JSON.stringify({ key: 'liveness', value: 0 })));
          if (!(r instanceof Error)) probe = r;
          break;
        }
      } else if (![...this.nodes.values()].some((nd) => nd.rn!.status().role === 'leader' && nd.rn!.status().term === probe!.term)) {
        probe = undefined; // its leader is gone; the entry may be lost: propose again
      } else if (this.members().every((nd) => nd.applied >= probe!.index)) {
        const c = this.committedAt.get(probe.index);
        if (c !== undefined && c.startsWith(`${probe.term}:`)) return this.result();
        probe = undefined; // lost to a leader change: propose again
      }
    }
    const states = [...this.nodes.values()].map((nd) => {
      const st = nd.rn!.status();
      const prs = st.progress.map((p) => `${p.id}:${p.state}/m${p.match}/n${p.next}`).join(' ');
      return `${nd.id} ${st.role} term=${st.term} lead=${st.leader} commit=${st.commit} applied=${st.applied} last=${st.lastIndex}${prs ? ` [${prs}]` : ''}`;
    });
    this.fail(`liveness: no proposal committed on every server within ${this.livenessTicks} ticks after healing (probe ${probe ? `${probe.term}/${probe.index}` : 'not proposed'}): ${states.join('; ')}`);
  }

  /** The servers in the current leader's membership (all of them when none leads). */
  private members(): SimNode[] {
    const leader = [...this.nodes.values()].find((x) => x.up && x.rn!.status().role === 'leader');
    if (!leader) return [...this.nodes.values()];
    const conf = leader.rn!.status().conf;
    return [...this.nodes.values()].filter((x) => conf.voters.includes(x.id) || conf.learners.includes(x.id));
  }

  private result(): SimResult {
    // Close the history: outstanding operations have unknown outcomes.
    for (let c = 0; c < this.clients.length; c++) if (this.clients[c]!.busy) this.complete(c, 'info');
    return { seed: this.seed, nodes: this.n, ticks: Math.floor(this.now / TickUnits), history: this.history, stats: this.stats };
  }

  // ------------------------------------------------------------------ the loop

  private stepOnce(withClients: boolean): void {
    this.deliverDue();
    for (const node of this.nodes.values()) {
      if (node.up && (this.now + node.phase) % TickUnits === 0) node.rn!.tick();
      if (node.up && node.rn!.commitPending() && this.rng.next() < 0.3) node.rn!.flushCommit();
      if (!node.up && node.restartAt > 0 && this.now >= node.restartAt) this.restart(node);
    }
    if (withClients) this.clientsAct();
    this.expireClients();
    for (const node of this.nodes.values()) if (node.up) this.handleReady(node);
    this.checkLeaders();
  }

  private deliverDue(): void {
    if (this.net.length === 0) return;
    const due: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.net) (f.at <= this.now ? due : rest).push(f);
    if (due.length === 0) return;
    this.net = rest;
    due.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const { m } of due) {
      const to = this.nodes.get(m.to);
      if (!to?.up || !this.connected(m.from, m.to)) {
        this.stats.dropped++;
        continue;
      }
      this.log(`deliver ${formatMessage(m)}`);
      const err = to.rn!.step(m);
      if (err) this.fail(`step refused a message: ${err.message}`);
    }
  }

  private connected(a: ServerId, b: ServerId): boolean {
    return this.group === undefined || this.group.get(a) === this.group.get(b);
  }

  private send(m: Message): void {
    this.stats.messages++;
    if (m.type === 'snap') this.stats.snapshotsSent++;
    if (this.rng.next() < this.lossRate) {
      this.stats.dropped++;
      return;
    }
    this.net.push({ at: this.now + 1 + this.rng.int(MaxLatency), seq: this.seq++, m });
    if (this.rng.next() < this.dupRate) {
      this.stats.duplicated++;
      this.net.push({ at: this.now + 1 + this.rng.int(MaxLatency * 2), seq: this.seq++, m });
    }
  }

  // ------------------------------------------------------------------ servers

  private start(node: SimNode): void {
    node.live = node.durable.clone();
    const snap = node.live.snapshot();
    node.kv = decodeKv(snap.data);
    node.applied = snap.meta.index;
    node.reads.clear();
    node.proposals.clear();
    node.rn = new RawNode({
      id: node.id, storage: node.live, rng: this.rng.fork(), electionTick: ElectionTick, heartbeatTick: 1,
      maxSizePerMsg: 256, maxInflightMsgs: 4, maxUncommittedEntries: 64, snapshotChunkSize: 48, learnerPromotionLag: 4,
      deferCommitBroadcast: this.deferCommit,
    });
    node.up = true;
  }

  private crash(node: SimNode): void {
    this.stats.crashes++;
    this.log(`crash ${node.id}`);
    node.up = false;
    node.rn = undefined;
    node.restartAt = this.now + (2 + this.rng.int(40)) * TickUnits;
    // Its connections reset: the servers that are up hear of it at once (RawNode.connectionLost).
    for (const other of this.nodes.values()) if (other.up && other.rn !== undefined) other.rn.connectionLost(node.id);
    for (let c = 0; c < this.clients.length; c++) {
      const cl = this.clients[c]!;
      if (cl.busy && cl.node === node.id) this.complete(c, 'info');
    }
  }

  private restart(node: SimNode): void {
    this.log(`restart ${node.id}`);
    this.start(node);
  }

  private handleReady(node: SimNode): void {
    const rn = node.rn!;
    if (!rn.hasReady()) return;
    const rd = rn.ready();
    this.checkEntries(node, rd);
    // Persist. A crash now loses the Ready: nothing was synced, its messages never leave; a torn
    // write may have left a prefix of its entries on disk.
    if (this.faultsOn && rd.mustSync && this.rng.next() < this.crashRate) {
      if (this.bug === 'ack-before-persist') for (const m of rd.messages) this.send(m);
      if (rd.entries.length > 0 && rd.snapshot === undefined && this.rng.next() < 0.5) {
        const keep = this.rng.int(rd.entries.length);
        node.durable = node.live.clone();
        node.durable.append(rd.entries.slice(0, keep));
        this.stats.tornWrites++;
        this.log(`torn write on ${node.id}: ${keep}/${rd.entries.length} entries survive`);
      }
      this.crash(node);
      return;
    }
    if (rd.snapshot) node.live.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) node.live.append(rd.entries);
    if (rd.hardState) node.live.setHardState(rd.hardState);
    if (rd.mustSync) node.durable = node.live.clone();
    if (rd.softState?.role === 'leader') this.onLeader(node);
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot) {
      node.kv = decodeKv(rd.snapshot.data);
      node.applied = rd.snapshot.meta.index;
      this.log(`${node.id} installed snapshot at ${rd.snapshot.meta.index}`);
    }
    for (const e of rd.committedEntries) this.apply(node, e);
    for (const rs of rd.readStates) {
      const r = node.reads.get(rs.ctx);
      if (r) r.index = rs.index;
    }
    rn.advance(rd);
    this.serveReads(node);
    // Compact now and then, so slow followers need a (chunked) snapshot.
    const first = node.live.firstIndex();
    if (node.applied - first > 12 && this.rng.next() < 0.2) {
      const snap = rn.compact(node.applied, enc.encode(JSON.stringify([...node.kv])));
      if (snap instanceof Error) this.fail(`compact: ${snap.message}`);
      node.live.createSnapshot(snap.meta.index, snap.meta.conf, snap.data);
      node.durable = node.live.clone();
      this.stats.compactions++;
    }
  }

  private apply(node: SimNode, e: Entry): void {
    if (e.index !== node.applied + 1) this.fail(`${node.id} applied ${e.index} after ${node.applied}`);
    node.applied = e.index;
    const key = `${e.term}:${e.type}:${dec.decode(e.data)}`;
    const prev = this.committedAt.get(e.index);
    if (prev === undefined) {
      this.committedAt.set(e.index, key);
      this.highestCommitted = Math.max(this.highestCommitted, e.index);
      this.stats.committed++;
    } else if (prev !== key) {
      this.fail(`state machine safety: ${node.id} applied ${key} at ${e.index}, another server applied ${prev}`);
    }
    if (e.type === 'normal') {
      const cmd = JSON.parse(dec.decode(e.data)) as Command;
      node.kv.set(cmd.key, cmd.value);
    }
    const p = node.proposals.get(e.index);
    if (p) {
      node.proposals.delete(e.index);
      const c = this.clients[p.client]!;
      if (c.busy && c.op === p.op) this.complete(p.client, e.term === p.term ? 'ok' : 'fail');
    }
  }

  private serveReads(node: SimNode): void {
    for (const [ctx, r] of node.reads) {
      if (r.index === undefined || node.applied < r.index) continue;
      node.reads.delete(ctx);
      const c = this.clients[r.client]!;
      if (c.busy && c.op === r.op) this.complete(r.client, 'ok', node.kv.get(r.key) ?? null);
    }
  }

  // ------------------------------------------------------------------ safety

  /** Log matching, checked per entry: every copy of (index, term) has the same data and the same
   * previous term, which by induction makes equal (index, term) imply equal prefixes. */
  private checkEntries(node: SimNode, rd: Ready): void {
    const ents = rd.entries;
    if (ents.length === 0) return;
    let prevTerm = ents[0]!.index === 1 ? 0 : (node.live.term(ents[0]!.index - 1) ?? -1);
    if (rd.snapshot && ents[0]!.index === rd.snapshot.meta.index + 1) prevTerm = rd.snapshot.meta.term;
    for (const e of ents) {
      const k = `${e.index}/${e.term}`;
      const v = `${prevTerm}|${e.type}|${dec.decode(e.data)}`;
      const seen = this.entryAt.get(k);
      if (seen === undefined) this.entryAt.set(k, v);
      else if (seen !== v && !seen.startsWith('-1|') && !v.startsWith('-1|')) {
        this.fail(`log matching: ${node.id} has ${k} as ${v}, another copy is ${seen}`);
      }
      prevTerm = e.term;
    }
  }

  private onLeader(node: SimNode): void {
    const st = node.rn!.status();
    this.stats.leaders++;
    this.log(`${node.id} leads term ${st.term}`);
    // Leader completeness: every committed entry is in the new leader's log.
    const first = node.live.firstIndex();
    for (let i = Math.max(first, 1); i <= this.highestCommitted; i++) {
      const c = this.committedAt.get(i);
      if (c === undefined) continue;
      const t = termOfLive(node, i);
      if (t === undefined || !c.startsWith(`${t}:`)) this.fail(`leader completeness: ${node.id} leads term ${st.term} without committed entry ${i} (${c}); its term there is ${t}`);
    }
  }

  private checkLeaders(): void {
    for (const node of this.nodes.values()) {
      if (!node.up) continue;
      const st = node.rn!.status();
      if (st.role !== 'leader') continue;
      const prev = this.leaderOf.get(st.term);
      if (prev === undefined) this.leaderOf.set(st.term, node.id);
      else if (prev !== node.id) this.fail(`election safety: ${prev} and ${node.id} both lead term ${st.term}`);
    }
  }

  // ------------------------------------------------------------------ faults

  private faults(): void {
    const r = this.rng.next();
    const upCount = [...this.nodes.values()].filter((x) => x.up).length;
    if (r < 0.0015 && upCount > 0) {
      const up = [...this.nodes.values()].filter((x) => x.up);
      this.crash(up[this.rng.int(up.length)]!);
    } else if (r < 0.0032) {
      this.adminAction();
    } else if (r < 0.0036) {
      // A connection between two live servers breaks (and reconnects): nobody died.
      const up = [...this.nodes.values()].filter((x) => x.up && x.rn !== undefined);
      if (up.length >= 2) {
        const a = up[this.rng.int(up.length)]!;
        const b = up[this.rng.int(up.length)]!;
        if (a !== b) a.rn!.connectionLost(b.id);
      }
    } else if (r < 0.0046) {
      if (this.group === undefined) {
        this.group = new Map(this.ids.map((id) => [id, this.rng.int(2)]));
        this.stats.partitions++;
        this.log(`partition ${[...this.group].map(([id, g]) => `${id}:${g}`).join(' ')}`);
      } else {
        this.group = undefined;
        this.log('heal partition');
      }
    }
  }

  /** What an operator does: transfer leadership, remove a server, add one back. */
  private adminAction(): void {
    const leader = [...this.nodes.values()].find((x) => x.up && x.rn!.status().role === 'leader');
    if (!leader) return;
    const st = leader.rn!.status();
    const members = new Set([...st.conf.voters, ...st.conf.learners]);
    const outside = this.ids.filter((id) => !members.has(id));
    const promoting = new Set(st.conf.promoting ?? []);
    const plainLearners = st.conf.learners.filter((id) => !promoting.has(id));
    const pick = this.rng.next();
    let cc: { type: 'add-voter' | 'add-learner' | 'remove'; id: string } | undefined;
    if (pick < 0.3) {
      const target = st.conf.voters[this.rng.int(st.conf.voters.length)]!;
      this.log(`transfer leadership ${leader.id} -> ${target}: ${leader.rn!.transferLeader(target)?.message ?? 'ok'}`);
      this.stats.transfers++;
    } else if (pick < 0.6 && outside.length > 0) {
      cc = { type: this.rng.next() < 0.7 ? 'add-voter' : 'add-learner', id: outside[this.rng.int(outside.length)]! };
    } else if (pick < 0.7 && plainLearners.length > 0) {
      cc = { type: 'add-voter', id: plainLearners[this.rng.int(plainLearners.length)]! };
    } else if (st.conf.voters.length >= 3) {
      const all = [...st.conf.voters, ...st.conf.learners];
      cc = { type: 'remove', id: all[this.rng.int(all.length)]! };
    }
    if (cc) {
      const r = leader.rn!.proposeConfChange(cc);
      this.log(`${cc.type} ${cc.id}: ${r instanceof Error ? r.message : 'proposed'}`);
      if (!(r instanceof Error)) this.stats.confChanges++;
    }
  }

  private healAll(): void {
    this.log('heal all');
    this.faultsOn = false;
    this.group = undefined;
    this.lossRate = 0;
    this.dupRate = 0;
    for (const node of this.nodes.values()) if (!node.up) this.restart(node);
  }

  // ------------------------------------------------------------------ clients

  private clientsAct(): void {
    if (this.rng.next() > 0.05) return;
    const c = this.rng.int(this.clients.length);
    const cl = this.clients[c]!;
    if (cl.busy) return;
    const up = [...this.nodes.values()].filter((x) => x.up);
    if (up.length === 0) return;
    // Clients prefer a server that believes it leads, as a real client follows redirects.
    const leaders = up.filter((x) => x.rn!.status().role === 'leader');
    const node = leaders.length > 0 && this.rng.next() < 0.8 ? leaders[this.rng.int(leaders.length)]! : up[this.rng.int(up.length)]!;
    const key = Keys[this.rng.int(Keys.length)]!;
    cl.busy = true;
    cl.op = ++this.opSeq;
    cl.node = node.id;
    cl.key = key;
    cl.deadline = this.now + OpTimeout;
    if (this.rng.next() < 0.5) {
      const value = this.nextValue++;
      cl.f = 'write';
      cl.value = value;
      this.history.push({ process: c, type: 'invoke', f: 'write', key, value });
      const res = node.rn!.propose(enc.encode(JSON.stringify({ key, value })));
      if (res instanceof Error) this.complete(c, 'fail');
      else node.proposals.set(res.index, { term: res.term, client: c, op: cl.op });
    } else {
      cl.f = 'read';
      this.history.push({ process: c, type: 'invoke', f: 'read', key, value: null });
      const ctx = `${node.id}.${++this.readSeq}`;
      const err = node.rn!.readIndex(ctx);
      if (err) this.complete(c, 'fail');
      else node.reads.set(ctx, { client: c, op: cl.op, key, index: undefined });
    }
  }

  private expireClients(): void {
    for (let c = 0; c < this.clients.length; c++) {
      const cl = this.clients[c]!;
      if (cl.busy && this.now >= cl.deadline) this.complete(c, 'info');
    }
  }

  private complete(c: number, type: 'ok' | 'fail' | 'info', readValue: number | null = null): void {
    const cl = this.clients[c]!;
    cl.busy = false;
    const value = cl.f === 'write' ? cl.value : type === 'ok' ? readValue : null;
    this.history.push({ process: c, type, f: cl.f, key: cl.key, value });
    if (type === 'ok') this.stats.opsOk++;
    else if (type === 'fail') this.stats.opsFail++;
    else this.stats.opsInfo++;
  }

  // ------------------------------------------------------------------ trace

  private log(line: string): void {
    this.trace.push(`t=${this.now} ${line}`);
    if (this.trace.length > this.traceMax * 2) this.trace.splice(0, this.trace.length - this.traceMax);
  }

  private fail(message: string): never {
    throw new SimFailure(this.seed, message, this.trace.slice(-this.traceMax));
  }
}

function termOfLive(node: SimNode, i: number): number | undefined {
  return node.live.term(i);
}

/** The state machine's snapshot image: JSON pairs [key, value]. */
function decodeKv(data: Uint8Array): Map<string, number> {
  if (data.length === 0) return new Map<string, number>();
  return new Map<string, number>(JSON.parse(dec.decode(data)) as [string, number][]);
}
