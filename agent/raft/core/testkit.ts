/**
 * A deterministic in-memory cluster of RawNodes for the paper tests and scenario scripts:
 * each node has a MemoryStorage; `stabilize()` runs the Ready loop (persist, send, apply,
 * advance) and delivers messages until nothing moves. Messages can be dropped between pairs.
 * Test-only (not exported from index.ts).
 */
import { SeededRng } from '../../core/lib/index.js';
import { formatEntry, formatMessage } from './format.js';
import { RawNode } from './rawnode.js';
import { MemoryStorage } from './storage.js';
import type { Entry, Message, RaftConfig, ReadState, ServerId } from './types.js';

export interface TestNode {
  readonly id: ServerId;
  rn: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  readStates: ReadState[];
  /** The state machine image: the data of applied normal entries, joined (snapshots carry it). */
  fsm: string[];
}

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'rng'>>;

const enc = new TextEncoder();
const dec = new TextDecoder();

export class TestCluster {
  readonly nodes = new Map<ServerId, TestNode>();
  /** Messages sent but not yet delivered, in send order. */
  queue: Message[] = [];
  /** Pairs "a->b" whose messages are dropped. */
  private cut = new Set<string>();
  /** Everything that happened, for scenario output. */
  out: string[] = [];
  private seed: number;

  constructor(seed = 1) {
    this.seed = seed;
  }

  add(id: ServerId, voters: ServerId[], learners: ServerId[] = [], opts: NodeOptions = {}): TestNode {
    const storage = new MemoryStorage({ voters, learners });
    const node: TestNode = {
      id, storage, applied: [], readStates: [], fsm: [],
      rn: new RawNode({ id, storage, rng: new SeededRng(this.seed * 1000 + this.nodes.size), ...opts }),
    };
    this.nodes.set(id, node);
    return node;
  }

  node(id: ServerId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  isolate(id: ServerId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  drop(from: ServerId, to: ServerId): void {
    this.cut.add(`${from}->${to}`);
  }

  /** Run one node's Ready: persist, queue its messages, apply, advance. */
  processReady(id: ServerId): boolean {
    const n = this.node(id);
    if (!n.rn.hasReady()) return false;
    const rd = n.rn.ready();
    if (rd.softState) this.out.push(`${id}: ${rd.softState.role} (leader ${rd.softState.leader || 'none'}) term ${n.rn.status().term}`);
    if (rd.snapshot) {
      n.storage.applySnapshot(rd.snapshot);
      n.fsm = rd.snapshot.data.length === 0 ? [] : dec.decode(rd.snapshot.data).split(',');
      this.out.push(`${id}: installed snapshot ${rd.snapshot.meta.term}/${rd.snapshot.meta.index}`);
    }
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    if (rd.hardState) n.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.queue.push(m);
    for (const e of rd.committedEntries) {
      n.applied.push(e);
      if (e.type === 'normal') n.fsm.push(dec.decode(e.data));
      this.out.push(`${id}: apply ${formatEntry(e)}`);
    }
    for (const rs of rd.readStates) {
      n.readStates.push(rs);
      this.out.push(`${id}: read-state ctx=${rs.ctx} index=${rs.index}`);
    }
    n.rn.advance(rd);
    return true;
  }

  /** Run the node's Ready loop and take the messages it sent (they are not delivered). */
  drain(id: ServerId): Message[] {
    const out: Message[] = [];
    while (this.processReady(id)) {
      const mine = this.queue.filter((m) => m.from === id);
      this.queue = this.queue.filter((m) => m.from !== id);
      out.push(...mine);
    }
    return out;
  }

  /** Step a message straight into its recipient. */
  stepInto(m: Message): void {
    const err = this.node(m.to).rn.step(m);
    if (err) throw err;
  }

  /** Deliver every queued message (and whatever they cause) until quiet. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of [...this.nodes.keys()].sort()) moved = this.processReady(id) || moved;
      if (this.queue.length > 0) {
        moved = true;
        const q = this.queue;
        this.queue = [];
        for (const m of q) this.deliver(m);
      }
      if (!moved) return;
    }
    throw new Error('cluster did not stabilize');
  }

  deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (!to || this.cut.has(`${m.from}->${m.to}`)) {
      this.out.push(`  dropped ${formatMessage(m)}`);
      return;
    }
    this.out.push(`  ${formatMessage(m)}`);
    to.rn.step(m);
  }

  tick(id: ServerId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).rn.tick();
  }

  propose(id: ServerId, data: string): ReturnType<RawNode['propose']> {
    return this.node(id).rn.propose(enc.encode(data));
  }

  /** Snapshot the node's state machine at its applied index and compact its log there. */
  compact(id: ServerId): void {
    const n = this.node(id);
    const applied = n.rn.status().applied;
    const snap = n.rn.compact(applied, enc.encode(n.fsm.join(',')));
    if (snap instanceof Error) throw snap;
    n.storage.createSnapshot(snap.meta.index, snap.meta.conf, snap.data);
    this.out.push(`${id}: compacted to ${snap.meta.term}/${snap.meta.index}`);
  }

  leader(): ServerId | undefined {
    for (const [id, n] of this.nodes) if (n.rn.status().role === 'leader') return id;
    return undefined;
  }

  takeOutput(): string[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}

export { enc as textEncoder, dec as textDecoder };
