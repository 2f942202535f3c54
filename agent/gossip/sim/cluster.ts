/**
 * A cluster of memberlists on one SimNetwork and VirtualClock, for tests and the benchmark:
 * add, join, crash, restart members; ask what each live member thinks of the others.
 */
import { SeededRng, VirtualClock } from '../../core/lib/index.js';
import type { Member, MemberlistConfig, Sealer } from '../core/index.js';
import { Memberlist } from '../core/index.js';
import { SimNetwork } from './network.js';

export interface SimClusterOptions {
  seed: number;
  loss?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Overrides of every member's configuration. */
  config?: Partial<MemberlistConfig>;
  /** A sealer for a member (encryption), by name. */
  sealerFor?: (name: string) => Sealer | undefined;
}

export class SimCluster {
  readonly clock = new VirtualClock(0);
  readonly rng: SeededRng;
  readonly net: SimNetwork;
  readonly lists = new Map<string, Memberlist>();
  private readonly addrs = new Map<string, string>();
  private nextIp = 1;

  constructor(private readonly o: SimClusterOptions) {
    this.rng = new SeededRng(o.seed);
    this.net = new SimNetwork({ clock: this.clock, rng: this.rng.fork(), loss: o.loss ?? 0, minDelayMs: o.minDelayMs ?? 1, maxDelayMs: o.maxDelayMs ?? 5 });
  }

  /** Start a member (or restart a stopped one, at its old address) without joining anyone. */
  start(name: string): Memberlist {
    const old = this.lists.get(name);
    if (old !== undefined && this.isRunning(name)) throw new Error(`${name} is running`);
    let addr = this.addrs.get(name);
    if (addr === undefined) {
      const i = this.nextIp++;
      addr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7946`;
      this.addrs.set(name, addr);
    }
    const sealer = this.o.sealerFor?.(name);
    const m = new Memberlist({ ...this.o.config, name }, { clock: this.clock, rng: this.rng.fork(), transport: this.net.transport(addr), ...(sealer !== undefined ? { sealer } : {}) });
    m.start();
    this.lists.set(name, m);
    this.stopped.delete(name);
    return m;
  }

  private readonly stopped = new Set<string>();

  isRunning(name: string): boolean {
    return this.lists.has(name) && !this.stopped.has(name);
  }

  addr(name: string): string {
    const a = this.addrs.get(name);
    if (a === undefined) throw new Error(`no member ${name}`);
    return a;
  }

  get(name: string): Memberlist {
    const m = this.lists.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  /** Crash a member: it stops answering without telling anyone. */
  kill(name: string): void {
    this.get(name).shutdown();
    this.stopped.add(name);
  }

  /** Members that are running. */
  live(): string[] {
    return [...this.lists.keys()].filter((n) => !this.stopped.has(n));
  }

  /**
   * Form a cluster of `n` members named `<prefix>0..n-1`: each joins member 0, `staggerMs` apart,
   * then time runs until every member sees every other alive (or `maxMs` passes).
   */
  bootstrap(n: number, o: { prefix?: string; staggerMs?: number; maxMs?: number } = {}): string[] {
    const prefix = o.prefix ?? 'm';
    const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const seedAddr = this.addr(this.start(names[0]!).localMember().name);
    for (let i = 1; i < n; i++) {
      this.clock.advance(o.staggerMs ?? 10);
      this.start(names[i]!).join([seedAddr]).catch(() => undefined);
    }
    this.runUntil(() => this.allSeeAllAlive(), o.maxMs ?? 120_000);
    return names;
  }

  /**
   * `n` members that already know each other (each restored from the same snapshot, as agents
   * restarting with Serf snapshots would): the cheap way to a large formed cluster. Forming it by
   * joins costs O(N² log N) messages, which the join tests and benchmark measure separately.
   */
  formed(n: number, prefix = 'm'): string[] {
    const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    for (const name of names) this.start(name);
    const states = names.map((name) => ({ node: name, addr: this.addr(name), inc: 0, status: 'alive' as const, tags: this.get(name).localMember().tags }));
    for (const name of names) this.get(name).restore(states);
    return names;
  }

  /** Advance in `stepMs` steps until `done()` or `maxMs`; returns whether `done()` held. */
  runUntil(done: () => boolean, maxMs: number, stepMs = 100): boolean {
    const end = this.clock.now() + maxMs;
    while (this.clock.now() < end) {
      if (done()) return true;
      this.clock.advance(stepMs);
    }
    return done();
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** What `viewer` thinks of `name` (undefined: never heard of it, or reaped). */
  statusIn(viewer: string, name: string): Member['status'] | undefined {
    return this.get(viewer).member(name)?.status;
  }

  allSeeAllAlive(): boolean {
    const live = this.live();
    for (const v of live) {
      const m = this.get(v);
      if (m.numLive() !== live.length) return false;
      for (const o of live) if (m.member(o)?.status !== 'alive') return false;
    }
    return true;
  }

  /** Live members whose view of `name` is `status`. */
  countSeeing(name: string, status: Member['status']): number {
    let c = 0;
    for (const v of this.live()) if (v !== name && this.get(v).member(name)?.status === status) c++;
    return c;
  }
}
