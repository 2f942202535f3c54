/**
 * SWIM membership with Lifeguard's refinements, as a protocol object over an injected Clock, Rng
 * and Transport (hashicorp/memberlist's state.go and net.go, learnt from, not copied).
 *
 * - Every probe interval, ping the next member of a shuffled round-robin; no ack within the probe
 *   timeout → ask `indirectChecks` members to ping it (ping-req, with nacks) and try a stream ping;
 *   still nothing by the end of the interval → suspect it.
 * - A suspected member is declared failed when its suspicion timer runs out; the timer scales with
 *   log N and shrinks as independent members confirm (suspicion.ts). The member itself refutes by
 *   raising its incarnation.
 * - State changes are broadcast by piggybacking on every packet and on gossip rounds (fan-out
 *   `gossipNodes` every `gossipIntervalMs`), each sent at most λ·⌈log10(N+1)⌉ times.
 * - Push-pull: full state exchanged over a stream on join, periodically with a live member, and
 *   (Serf's reconnect) with a failed member, so partitions heal.
 * - Failed and left members are forgotten after `reapAfterMs`.
 * Nothing here reads the wall clock, draws ambient randomness or touches a socket.
 */
import type { Clock, Rng, TimerHandle } from '../../core/lib/index.js';
import { NomadError, shuffle } from '../../core/lib/index.js';
import { Awareness } from './awareness.js';
import { BroadcastQueue, retransmitLimit } from './broadcast.js';
import { decodePacket, decodeStream, encodeMessage, encodeStream, framePacket, packetSize } from './codec.js';
import { Suspicion, suspicionTimeout } from './suspicion.js';
import type { DropReason, Sealer, Transport } from './transport.js';
import type { AliveMsg, DeadMsg, Member, MemberEvent, MemberStatus, MemberlistConfig, PacketMsg, PingReqMsg, PushPullState, StreamMsg, SuspectMsg, Tags } from './types.js';
import { checkTags, resolveConfig, sameTags, utf8Length } from './types.js';

export interface MemberlistDeps {
  clock: Clock;
  rng: Rng;
  transport: Transport;
  /** Encrypts every packet and stream (agent/gossip/keyring); omitted → plaintext. */
  sealer?: Sealer;
}

export interface GossipStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** Inbound packets and streams dropped, by reason; a dropped packet changes nothing. */
  dropped: Record<DropReason, number>;
  probes: number;
  /** Probes that ended in suspicion. */
  probesFailed: number;
  /** Times this member refuted a suspicion or death of itself. */
  refutations: number;
}

interface NodeState {
  name: string;
  addr: string;
  tags: Tags;
  inc: number;
  status: MemberStatus;
  since: number;
  suspicion: Suspicion | undefined;
}

interface AckHandler {
  ack(): void;
  nack(): void;
}

export class Memberlist {
  private readonly cfg: MemberlistConfig;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly transport: Transport;
  private readonly sealer: Sealer | undefined;
  private readonly self: NodeState;
  private readonly nodes = new Map<string, NodeState>();
  /** Every member but this one, for O(1) random choice. */
  private others: NodeState[] = [];
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private seq = 0;
  private readonly acks = new Map<number, AckHandler>();
  private readonly queue: BroadcastQueue;
  private readonly awareness: Awareness;
  private readonly listeners = new Set<(e: MemberEvent) => void>();
  private readonly timers = new Map<string, TimerHandle>();
  private running = false;
  private leaving = false;
  private readonly counters: GossipStats = {
    packetsSent: 0, packetsReceived: 0, bytesSent: 0, streamsOpened: 0, streamsAccepted: 0,
    dropped: { truncated: 0, 'unknown-version': 0, 'decrypt-failed': 0, malformed: 0 },
    probes: 0, probesFailed: 0, refutations: 0,
  };

  constructor(config: Partial<MemberlistConfig> & { name: string }, deps: MemberlistDeps) {
    this.cfg = resolveConfig(config);
    this.clock = deps.clock;
    this.rng = deps.rng;
    this.transport = deps.transport;
    this.sealer = deps.sealer;
    this.self = { name: this.cfg.name, addr: deps.transport.addr, tags: this.cfg.tags, inc: 0, status: 'alive', since: this.clock.now(), suspicion: undefined };
    this.nodes.set(this.self.name, this.self);
    this.awareness = new Awareness(this.cfg.awarenessMaxMultiplier);
    this.queue = new BroadcastQueue(() => retransmitLimit(this.cfg.retransmitMult, this.nodes.size));
  }

  /** Listen and start probing, gossiping and syncing. Timers start at random offsets. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.transport.listen({
      packet: (from, data) => this.onPacket(from, data),
      stream: (from, data, reply) => this.onStream(from, data, reply),
    });
    this.broadcastSelf();
    this.schedule('probe', this.rng.int(this.cfg.probeIntervalMs), () => this.probeTick());
    this.schedule('gossip', this.rng.int(this.cfg.gossipIntervalMs), () => this.gossipTick());
    if (this.cfg.pushPullIntervalMs > 0) this.schedule('push-pull', this.pushPullInterval() * (0.5 + this.rng.next()), () => this.pushPullTick());
    if (this.cfg.reconnectIntervalMs > 0) this.schedule('reconnect', this.cfg.reconnectIntervalMs * (0.5 + this.rng.next()), () => this.reconnectTick());
  }

  /**
   * Join a cluster through any of `addrs` (push-pull with each). Resolves with how many answered;
   * rejects with `unavailable` when none did.
   */
  join(addrs: readonly string[]): Promise<number> {
    if (!this.running) return Promise.reject(new NomadError('invalid_argument', 'start the memberlist before joining'));
    if (addrs.length === 0) return Promise.reject(new NomadError('invalid_argument', 'join needs at least one address', { field: 'addrs' }));
    return new Promise((resolve, reject) => {
      let pending = addrs.length;
      let ok = 0;
      const failed: string[] = [];
      for (const addr of addrs) {
        this.pushPull(addr, true, (success) => {
          if (success) ok++;
          else failed.push(addr);
          if (--pending > 0) return;
          if (ok > 0) resolve(ok);
          else reject(new NomadError('unavailable', `could not join the cluster: no answer from ${failed.join(', ')}`));
        });
      }
    });
  }

  /**
   * Leave gracefully: broadcast that this member left, wait until the broadcast has been sent out
   * (or `timeoutMs`), then shut down. Others mark it `left`, not `failed`.
   */
  leave(timeoutMs = 5000): Promise<void> {
    if (!this.running || this.leaving) return Promise.resolve();
    this.leaving = true;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        timer.cancel();
        this.shutdown();
        resolve();
      };
      const timer = this.clock.setTimer(timeoutMs, finish);
      const anyoneElse = this.others.some((n) => n.status === 'alive' || n.status === 'suspect');
      const msg: DeadMsg = { t: 'dead', node: this.self.name, inc: this.self.inc, from: this.self.name };
      this.self.status = 'left';
      this.self.since = this.clock.now();
      this.queue.enqueue(msg.node, encodeMessage(msg), finish);
      if (!anyoneElse) finish();
    });
  }

  /** Stop all timers and close the transport, without telling anyone (a crash, as others see it). */
  shutdown(): void {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    for (const n of this.nodes.values()) n.suspicion?.cancel();
    this.acks.clear();
    this.queue.reset();
    this.transport.close();
  }

  /**
   * Mark a member as left cluster-wide (Serf's force-leave, for a failed server that will not
   * come back): broadcasts that it left. A member that is in fact running refutes it.
   */
  forceLeave(name: string): void {
    const st = this.nodes.get(name);
    if (st === undefined) throw new NomadError('not_found', `no member named ${name}`, { field: 'name' });
    if (st === this.self) throw new NomadError('invalid_argument', 'use leave() to leave; force-leave is for other members', { field: 'name' });
    this.onDead({ t: 'dead', node: name, inc: st.inc, from: name });
  }

  /** Change this member's tags: raises its incarnation and broadcasts (others see `updated`). */
  setTags(tags: Tags): void {
    checkTags(tags, this.cfg.maxTagBytes);
    this.self.tags = { ...tags };
    this.self.inc++;
    this.broadcastSelf();
  }

  /**
   * Every member's state as this member sees it: what a push-pull sends, and what an agent may
   * save to restore from at its next start (Serf's snapshot).
   */
  snapshot(): PushPullState[] {
    return this.localStates();
  }

  /**
   * Take members from a saved snapshot (or any full state) as a join reply would, without
   * gossiping them: the cluster already knows them. Members it lists as failed are suspected,
   * so they get their chance to refute.
   */
  restore(states: readonly PushPullState[]): void {
    if (!this.running) throw new NomadError('invalid_argument', 'start the memberlist before restoring state');
    this.mergeState(states, true);
  }

  /** Every known member, this one included. */
  members(): Member[] {
    return [...this.nodes.values()].map(toMember);
  }

  member(name: string): Member | undefined {
    const n = this.nodes.get(name);
    return n === undefined ? undefined : toMember(n);
  }

  localMember(): Member {
    return toMember(this.self);
  }

  /** Members alive or suspect, this one included (memberlist's estimate of N). */
  numLive(): number {
    let n = 0;
    for (const s of this.nodes.values()) if (s.status === 'alive' || s.status === 'suspect') n++;
    return n;
  }

  /** Lifeguard's local health score: 0 is healthy. */
  health(): number {
    return this.awareness.health();
  }

  stats(): GossipStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }

  /** Broadcasts still waiting to be sent. */
  pendingBroadcasts(): number {
    return this.queue.size();
  }

  subscribe(listener: (e: MemberEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  // ---- timers ----

  private schedule(name: string, delayMs: number, fn: () => void): void {
    this.timers.get(name)?.cancel();
    this.timers.set(name, this.clock.setTimer(delayMs, () => {
      this.timers.delete(name);
      if (this.running) fn();
    }));
  }

  private probeTick(): void {
    const interval = this.awareness.scale(this.cfg.probeIntervalMs);
    this.schedule('probe', interval, () => this.probeTick());
    if (this.leaving) return;
    const target = this.nextProbeTarget();
    if (target !== undefined) this.probe(target, interval);
  }

  private gossipTick(): void {
    this.schedule('gossip', this.cfg.gossipIntervalMs, () => this.gossipTick());
    if (this.queue.size() === 0) return;
    const now = this.clock.now();
    const targets = this.randomOthers(this.cfg.gossipNodes, (n) =>
      n.status === 'alive' || n.status === 'suspect' || (n.status === 'failed' && now - n.since < this.cfg.gossipToTheDeadMs));
    for (const t of targets) {
      const parts = this.queue.take(this.cfg.packetSizeLimit - this.overhead() - 3, 1);
      if (parts.length === 0) return;
      this.sendRaw(t.addr, parts);
    }
  }

  /** memberlist's pushPullScale: the interval grows with log2 N beyond 32 members. */
  private pushPullInterval(): number {
    const n = this.numLive();
    const base = this.cfg.pushPullIntervalMs;
    if (n <= 32) return base;
    return base * (Math.ceil(Math.log2(n) - Math.log2(32)) + 1);
  }

  private pushPullTick(): void {
    this.schedule('push-pull', this.pushPullInterval(), () => this.pushPullTick());
    if (this.leaving) return;
    const [peer] = this.randomOthers(1, (n) => n.status === 'alive');
    if (peer !== undefined) this.pushPull(peer.addr, false, () => undefined);
  }

  private reconnectTick(): void {
    this.schedule('reconnect', this.cfg.reconnectIntervalMs, () => this.reconnectTick());
    if (this.leaving) return;
    const [peer] = this.randomOthers(1, (n) => n.status === 'failed');
    if (peer !== undefined) this.pushPull(peer.addr, false, () => undefined);
  }

  // ---- probing ----

  private nextProbeTarget(): NodeState | undefined {
    for (let checked = 0; checked <= this.probeOrder.length; checked++) {
      if (this.probeIndex >= this.probeOrder.length) {
        this.resetProbeOrder();
        if (this.probeOrder.length === 0) return undefined;
      }
      const st = this.nodes.get(this.probeOrder[this.probeIndex++]!);
      if (st !== undefined && (st.status === 'alive' || st.status === 'suspect')) return st;
    }
    return undefined;
  }

  /** At the end of each round: forget long-failed and left members, reshuffle the order. */
  private resetProbeOrder(): void {
    const now = this.clock.now();
    for (const n of [...this.others]) {
      if ((n.status === 'failed' || n.status === 'left') && now - n.since >= this.cfg.reapAfterMs) this.remove(n);
    }
    this.probeOrder = shuffle(this.rng, this.others.map((n) => n.name));
    this.probeIndex = 0;
  }

  private probe(target: NodeState, intervalMs: number): void {
    this.counters.probes++;
    const seq = this.nextSeq();
    const probeTimeout = this.awareness.scale(this.cfg.probeTimeoutMs);
    let acked = false;
    let nacks = 0;
    let expectedNacks = 0;
    let timer: TimerHandle | undefined;
    this.acks.set(seq, {
      ack: () => {
        if (acked) return;
        acked = true;
        timer?.cancel();
        this.acks.delete(seq);
        this.awareness.applyDelta(-1);
      },
      nack: () => { nacks++; },
    });
    this.sendPacket(target.addr, [encodeMessage({ t: 'ping', seq, node: target.name })]);
    timer = this.clock.setTimer(probeTimeout, () => {
      if (acked || !this.running) return;
      const helpers = this.randomOthers(this.cfg.indirectChecks, (n) => n.status === 'alive' && n !== target);
      expectedNacks = helpers.length;
      const req = encodeMessage({ t: 'ping-req', seq, node: target.name, addr: target.addr, nack: true });
      for (const h of helpers) this.sendPacket(h.addr, [req]);
      // TCP fallback: a member behind a lossy UDP path still answers on a stream.
      this.request(target.addr, { t: 'ping', seq, node: target.name }, (reply) => {
        if (reply?.t === 'ack' && reply.seq === seq) this.acks.get(seq)?.ack();
      });
      timer = this.clock.setTimer(Math.max(0, intervalMs - probeTimeout), () => {
        this.acks.delete(seq);
        if (acked || !this.running) return;
        // Missing nacks mean our own network is the problem (Lifeguard): slow down, accuse less.
        this.awareness.applyDelta(expectedNacks > 0 ? expectedNacks - nacks : 1);
        this.counters.probesFailed++;
        const st = this.nodes.get(target.name);
        // Already suspect: our failed probe is an independent confirmation (Lifeguard), gossiped on.
        if (st === target && (st.status === 'alive' || st.status === 'suspect')) this.onSuspect({ t: 'suspect', node: st.name, inc: st.inc, from: this.self.name });
      });
    });
  }

  private onPingReq(from: string, m: PingReqMsg): void {
    const localSeq = this.nextSeq();
    let done = false;
    // The nack must reach the requester before its probe window (interval − timeout) closes.
    const timer = this.clock.setTimer(0.8 * this.cfg.probeTimeoutMs, () => {
      this.acks.delete(localSeq);
      if (!done && m.nack) this.sendPacket(from, [encodeMessage({ t: 'nack', seq: m.seq })]);
    });
    this.acks.set(localSeq, {
      ack: () => {
        if (done) return;
        done = true;
        timer.cancel();
        this.acks.delete(localSeq);
        this.sendPacket(from, [encodeMessage({ t: 'ack', seq: m.seq })]);
      },
      nack: () => undefined,
    });
    this.sendPacket(m.addr, [encodeMessage({ t: 'ping', seq: localSeq, node: m.node })]);
  }

  // ---- state changes (memberlist's aliveNode / suspectNode / deadNode) ----

  /** `quiet`: a member first heard of is added without re-gossiping it (see pushPull). */
  private onAlive(m: AliveMsg, quiet = false): void {
    if (m.node === this.self.name) {
      if (this.leaving) return;
      // Someone holds a newer or different picture of us (e.g. from before a restart): outrank it.
      if (m.inc > this.self.inc || (m.inc === this.self.inc && (m.addr !== this.self.addr || !sameTags(m.tags, this.self.tags)))) this.refute(m.inc);
      return;
    }
    const st = this.nodes.get(m.node);
    if (st === undefined) {
      const n: NodeState = { name: m.node, addr: m.addr, tags: m.tags, inc: m.inc, status: 'alive', since: this.clock.now(), suspicion: undefined };
      this.add(n);
      if (!quiet) this.queue.enqueue(m.node, encodeMessage(m));
      this.emit('alive', n);
      return;
    }
    if (m.inc <= st.inc) return;
    const changed = st.addr !== m.addr || !sameTags(st.tags, m.tags);
    st.suspicion?.cancel();
    st.suspicion = undefined;
    st.inc = m.inc;
    st.addr = m.addr;
    st.tags = m.tags;
    this.queue.enqueue(m.node, encodeMessage(m));
    if (st.status !== 'alive') {
      st.status = 'alive';
      st.since = this.clock.now();
      this.emit('alive', st);
    } else if (changed) {
      this.emit('updated', st);
    }
  }

  private onSuspect(m: SuspectMsg): void {
    const st = this.nodes.get(m.node);
    if (st === undefined || m.inc < st.inc) return;
    if (st.suspicion !== undefined) {
      if (st.suspicion.confirm(m.from)) this.queue.enqueue(m.node, encodeMessage(m));
      return;
    }
    if (st.status !== 'alive') return;
    if (st === this.self) {
      if (this.leaving) return;
      this.refute(m.inc);
      this.awareness.applyDelta(1);
      return;
    }
    this.queue.enqueue(m.node, encodeMessage(m));
    st.inc = m.inc;
    st.status = 'suspect';
    st.since = this.clock.now();
    const n = this.numLive();
    const k = n - 2 < this.cfg.suspicionMult - 2 ? 0 : this.cfg.suspicionMult - 2;
    // A suspicion this member raised while it distrusts its own network (Lifeguard's local
    // health) waits longer: an isolated member's accusations may never reach their target for
    // refutation, and would otherwise turn into false deaths once the isolation ends.
    const selfDoubt = m.from === this.self.name ? this.awareness.health() + 1 : 1;
    const min = selfDoubt * suspicionTimeout(this.cfg.suspicionMult, n, this.cfg.probeIntervalMs);
    const max = this.cfg.suspicionMaxTimeoutMult * min;
    const inc = m.inc;
    st.suspicion = new Suspicion(this.clock, m.from, k, min, max, () => {
      if (!this.running || st.status !== 'suspect' || st.inc !== inc) return;
      this.onDead({ t: 'dead', node: st.name, inc, from: this.self.name });
    });
    this.emit('suspect', st);
  }

  private onDead(m: DeadMsg): void {
    const st = this.nodes.get(m.node);
    if (st === undefined || m.inc < st.inc) return;
    const left = m.node === m.from;
    // Already failed or left: only "it left" may still replace "it failed".
    if (st.status === 'left' || (st.status === 'failed' && !left)) return;
    if (st === this.self) {
      if (!this.leaving) this.refute(m.inc);
      return;
    }
    st.suspicion?.cancel();
    st.suspicion = undefined;
    this.queue.enqueue(m.node, encodeMessage(m));
    st.inc = m.inc;
    st.status = left ? 'left' : 'failed';
    st.since = this.clock.now();
    this.emit(left ? 'left' : 'failed', st);
  }

  private refute(inc: number): void {
    this.counters.refutations++;
    this.self.inc = Math.max(this.self.inc, inc) + 1;
    this.broadcastSelf();
  }

  private broadcastSelf(): void {
    const m: AliveMsg = { t: 'alive', node: this.self.name, addr: this.self.addr, inc: this.self.inc, tags: this.self.tags };
    this.queue.enqueue(m.node, encodeMessage(m));
  }

  // ---- push-pull ----

  private localStates(): PushPullState[] {
    return [...this.nodes.values()].map((n) => ({ node: n.name, addr: n.addr, inc: n.inc, status: n.status, tags: n.tags }));
  }

  private pushPull(addr: string, join: boolean, done: (ok: boolean) => void): void {
    this.request(addr, { t: 'push-pull', join, states: this.localStates() }, (reply) => {
      if (reply?.t !== 'push-pull') { done(false); return; }
      const inc = this.self.inc;
      // What a join brings back is the cluster's own state: learning it need not be re-gossiped
      // (the contact gossips the newcomer). Periodic exchanges re-gossip, so partitions heal.
      this.mergeState(reply.states, join);
      // The peer thought us suspect or failed (e.g. across a healed partition): tell it first-hand.
      if (this.self.inc !== inc && this.running) {
        this.sendPacket(addr, [encodeMessage({ t: 'alive', node: this.self.name, addr: this.self.addr, inc: this.self.inc, tags: this.self.tags })]);
      }
      done(true);
    });
  }

  /** A remote's full state: "failed" becomes a suspicion here (memberlist's rule), not a death. */
  private mergeState(states: readonly PushPullState[], quiet = false): void {
    for (const s of states) {
      if (!this.running) return;
      switch (s.status) {
        case 'alive': this.onAlive({ t: 'alive', node: s.node, addr: s.addr, inc: s.inc, tags: s.tags }, quiet); break;
        case 'left': this.onDead({ t: 'dead', node: s.node, inc: s.inc, from: s.node }); break;
        case 'failed':
        case 'suspect': this.onSuspect({ t: 'suspect', node: s.node, inc: s.inc, from: this.self.name }); break;
      }
    }
  }

  // ---- the wire ----

  private overhead(): number {
    return this.sealer?.overhead ?? 0;
  }

  /** Send `parts` plus as many pending broadcasts as fit in one packet. */
  private sendPacket(addr: string, parts: string[]): void {
    let bytes = 0;
    for (const p of parts) bytes += utf8Length(p);
    const budget = this.cfg.packetSizeLimit - this.overhead() - packetSize(bytes, parts.length);
    const extra = this.queue.take(budget, 1);
    this.sendRaw(addr, extra.length === 0 ? parts : parts.concat(extra));
  }

  private sendRaw(addr: string, parts: string[]): void {
    let data = framePacket(parts);
    if (this.sealer !== undefined) data = this.sealer.seal(data);
    this.counters.packetsSent++;
    this.counters.bytesSent += data.length;
    this.transport.sendPacket(addr, data);
  }

  private open(data: Uint8Array): Uint8Array | undefined {
    if (this.sealer === undefined) return data;
    const r = this.sealer.open(data);
    if (r.ok) return r.data;
    this.counters.dropped[r.reason]++;
    return undefined;
  }

  private onPacket(from: string, data: Uint8Array): void {
    if (!this.running) return;
    this.counters.packetsReceived++;
    const plain = this.open(data);
    if (plain === undefined) return;
    const d = decodePacket(plain);
    if (!d.ok) { this.counters.dropped[d.reason]++; return; }
    for (const m of d.value) this.handle(from, m);
  }

  private handle(from: string, m: PacketMsg): void {
    if (!this.running) return;
    switch (m.t) {
      case 'ping':
        if (m.node === this.self.name) this.sendPacket(from, [encodeMessage({ t: 'ack', seq: m.seq })]);
        return;
      case 'ping-req': this.onPingReq(from, m); return;
      case 'ack': this.acks.get(m.seq)?.ack(); return;
      case 'nack': this.acks.get(m.seq)?.nack(); return;
      case 'alive': this.onAlive(m); return;
      case 'suspect': this.onSuspect(m); return;
      case 'dead': this.onDead(m); return;
    }
  }

  /** One stream exchange; `done(undefined)` on any failure, at most once, within streamTimeoutMs. */
  private request(addr: string, msg: StreamMsg, done: (reply: StreamMsg | undefined) => void): void {
    this.counters.streamsOpened++;
    let settled = false;
    const settle = (reply: StreamMsg | undefined): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (this.running) done(reply);
    };
    const timer = this.clock.setTimer(this.cfg.streamTimeoutMs, () => settle(undefined));
    let data = encodeStream(msg);
    if (this.sealer !== undefined) data = this.sealer.seal(data);
    this.transport.request(addr, data, this.cfg.streamTimeoutMs, (res) => {
      if (res instanceof Error) { settle(undefined); return; }
      const plain = this.open(res);
      if (plain === undefined) { settle(undefined); return; }
      const d = decodeStream(plain);
      if (!d.ok) { this.counters.dropped[d.reason]++; settle(undefined); return; }
      settle(d.value);
    });
  }

  private onStream(_from: string, data: Uint8Array, reply: (data: Uint8Array) => void): void {
    if (!this.running) return;
    this.counters.streamsAccepted++;
    const plain = this.open(data);
    if (plain === undefined) return;
    const d = decodeStream(plain);
    if (!d.ok) { this.counters.dropped[d.reason]++; return; }
    const m = d.value;
    let answer: StreamMsg | undefined;
    if (m.t === 'push-pull') answer = { t: 'push-pull', join: false, states: this.localStates() };
    else if (m.t === 'ping' && m.node === this.self.name) answer = { t: 'ack', seq: m.seq };
    if (answer !== undefined) {
      let out = encodeStream(answer);
      if (this.sealer !== undefined) out = this.sealer.seal(out);
      reply(out);
    }
    if (m.t === 'push-pull') this.mergeState(m.states);
  }

  // ---- bookkeeping ----

  private nextSeq(): number {
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER;
    return this.seq;
  }

  private add(n: NodeState): void {
    this.nodes.set(n.name, n);
    this.others.push(n);
    // A newcomer goes to a random place in the current round, so it is probed soon but fairly.
    this.probeOrder.splice(this.probeIndex + this.rng.int(this.probeOrder.length - this.probeIndex + 1), 0, n.name);
  }

  private remove(n: NodeState): void {
    n.suspicion?.cancel();
    this.nodes.delete(n.name);
    const i = this.others.indexOf(n);
    if (i >= 0) {
      this.others[i] = this.others[this.others.length - 1]!;
      this.others.pop();
    }
    this.emit('reaped', n);
  }

  /** Up to k distinct members other than this one that pass `ok`, chosen at random. */
  private randomOthers(k: number, ok: (n: NodeState) => boolean): NodeState[] {
    const out: NodeState[] = [];
    const len = this.others.length;
    if (k <= 0 || len === 0) return out;
    for (let tries = 0; tries < 3 * len && out.length < k; tries++) {
      const n = this.others[this.rng.int(len)]!;
      if (ok(n) && !out.includes(n)) out.push(n);
    }
    return out;
  }

  private emit(type: MemberEvent['type'], n: NodeState): void {
    if (this.listeners.size === 0) return;
    const e: MemberEvent = { type, member: toMember(n) };
    for (const l of this.listeners) l(e);
  }
}

function toMember(n: NodeState): Member {
  return { name: n.name, addr: n.addr, tags: n.tags, status: n.status, incarnation: n.inc, statusSince: n.since };
}
