/**
 * Resource arithmetic shared by the scheduler's feasibility/ranking steps and the
 * plan applier, so both sides agree on what "fits" means (nomad structs/funcs.go).
 */
import type { AllocatedPort, Allocation } from './alloc.js';
import { allocTerminalStatus } from './alloc.js';
import type { NetworkResource } from './job.js';
import type { Node } from './node.js';

export interface ComparableResources {
  cpu: number;
  memoryMB: number;
  diskMB: number;
}

export interface FitResult {
  fit: boolean;
  /** The exhausted dimension when it does not fit: `cpu`, `memory`, `disk`, or a `network: ...` reason. */
  dimension: string;
  /** What the allocations (plus the node's reservation) use. */
  used: ComparableResources;
}

/** What the node offers to allocations: total minus the node's own reservation. */
export function nodeAvailable(node: Node): ComparableResources {
  return {
    cpu: node.resources.cpu - node.reserved.cpu,
    memoryMB: node.resources.memoryMB - node.reserved.memoryMB,
    diskMB: node.resources.diskMB - node.reserved.diskMB,
  };
}

/** Sum of what the non-terminal allocations ask for. */
export function allocsUsage(allocs: Iterable<Allocation>): ComparableResources {
  let cpu = 0;
  let memoryMB = 0;
  let diskMB = 0;
  for (const a of allocs) {
    if (allocTerminalStatus(a)) continue;
    cpu += a.resources.cpu;
    memoryMB += a.resources.memoryMB;
    diskMB += a.resources.diskMB;
  }
  return { cpu, memoryMB, diskMB };
}

/**
 * What the live allocations on one node use, with per-job and per-group counts
 * (distinct_hosts, job anti-affinity). The state store memoises one per node per
 * version of its allocation list, so the scheduler and the plan applier read it
 * in O(1) however many allocations a (bin-packed) node holds.
 */
/** A read-only count lookup (a Map or the state store's persistent map). */
export interface CountLookup {
  get(key: string): number | undefined;
  entries(): IterableIterator<[string, number]>;
}

export interface NodeUsage extends ComparableResources {
  /** The node's non-terminal allocations. */
  readonly live: readonly Allocation[];
  /** Live allocations per `namespace/jobId`. */
  readonly byJob: CountLookup;
  /** Live allocations per `namespace/jobId/group`. */
  readonly byGroup: CountLookup;
  /** Number of host ports the live allocations hold. */
  readonly ports: number;
}

export function usageJobKey(namespace: string, jobId: string): string {
  return `${namespace}/${jobId}`;
}

export function usageGroupKey(namespace: string, jobId: string, group: string): string {
  return `${namespace}/${jobId}/${group}`;
}

/** Compute a NodeUsage from a node's allocations (terminal ones are skipped). */
export function computeNodeUsage(allocs: readonly Allocation[]): NodeUsage {
  const live: Allocation[] = [];
  const byJob = new Map<string, number>();
  const byGroup = new Map<string, number>();
  let cpu = 0;
  let memoryMB = 0;
  let diskMB = 0;
  let ports = 0;
  for (let i = 0; i < allocs.length; i++) {
    const a = allocs[i]!;
    if (allocTerminalStatus(a)) continue;
    live.push(a);
    cpu += a.resources.cpu;
    memoryMB += a.resources.memoryMB;
    diskMB += a.resources.diskMB;
    ports += a.resources.ports.length;
    const jk = usageJobKey(a.namespace, a.jobId);
    byJob.set(jk, (byJob.get(jk) ?? 0) + 1);
    const gk = usageGroupKey(a.namespace, a.jobId, a.taskGroup);
    byGroup.set(gk, (byGroup.get(gk) ?? 0) + 1);
  }
  return { cpu, memoryMB, diskMB, live, byJob, byGroup, ports };
}

/**
 * Do these allocations fit on the node together? Terminal allocations are
 * ignored. When `checkPorts` is set, port collisions count as not fitting.
 */
export function allocsFit(node: Node, allocs: readonly Allocation[], checkPorts = true): FitResult {
  const used = allocsUsage(allocs);
  const avail = nodeAvailable(node);
  const result = (dimension: string): FitResult => ({ fit: dimension === '', dimension, used });
  if (used.cpu > avail.cpu) return result('cpu');
  if (used.memoryMB > avail.memoryMB) return result('memory');
  if (used.diskMB > avail.diskMB) return result('disk');
  if (checkPorts) {
    const idx = new NetworkIndex(node);
    const collision = idx.addAllocs(allocs);
    if (collision !== '') return result(collision);
  }
  return result('');
}

/**
 * Nomad's bin-packing fit score (structs.ScoreFitBinPack): 20 − (10^freeCpu + 10^freeMem),
 * in [0, 18]; higher means a fuller node. `util` includes the proposed allocation.
 */
export function scoreFitBinPack(node: Node, util: ComparableResources): number {
  const total = fitTotal(node, util);
  return clamp(20 - total, 0, 18);
}

/** Nomad's spread fit score (structs.ScoreFitSpread): (10^freeCpu + 10^freeMem) − 2, in [0, 18]. */
export function scoreFitSpread(node: Node, util: ComparableResources): number {
  const total = fitTotal(node, util);
  return clamp(total - 2, 0, 18);
}

function fitTotal(node: Node, util: ComparableResources): number {
  const avail = nodeAvailable(node);
  const freeCpu = avail.cpu > 0 ? 1 - util.cpu / avail.cpu : 0;
  const freeMem = avail.memoryMB > 0 ? 1 - util.memoryMB / avail.memoryMB : 0;
  return Math.pow(10, freeCpu) + Math.pow(10, freeMem);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Host ports in use on one node: the node's reserved ports plus every port of
 * its non-terminal allocations. Assigns static and dynamic ports for a new
 * allocation without collisions.
 */
export class NetworkIndex {
  private readonly used = new Set<number>();
  private readonly min: number;
  private readonly max: number;

  constructor(node: Node) {
    for (const p of node.reserved.reservedPorts) this.used.add(p);
    this.min = node.resources.minDynamicPort;
    this.max = node.resources.maxDynamicPort;
  }

  /** Mark the allocations' ports used. Returns '' or the first collision as an exhausted-dimension reason. */
  addAllocs(allocs: Iterable<Allocation>): string {
    let collision = '';
    for (const a of allocs) {
      if (allocTerminalStatus(a)) continue;
      for (const p of a.resources.ports) {
        if (this.used.has(p.value) && collision === '') collision = `network: port collision ${p.value}`;
        this.used.add(p.value);
      }
    }
    return collision;
  }

  isUsed(port: number): boolean {
    return this.used.has(port);
  }

  /**
   * Assign the group's ports: static ones as asked (refusing collisions), dynamic
   * ones picked with `pick(n)` (an injected random source returning [0, n)) and
   * falling back to a linear scan. Returns the ports or a reason.
   */
  assign(networks: readonly NetworkResource[], pick: (n: number) => number): { ports: AllocatedPort[] } | { reason: string } {
    const ports: AllocatedPort[] = [];
    const taken = new Set<number>();
    const free = (p: number) => !this.used.has(p) && !taken.has(p);
    for (const net of networks) {
      for (const p of net.reservedPorts) {
        if (!free(p.value)) return { reason: `network: reserved port collision ${p.label}=${p.value}` };
        taken.add(p.value);
        ports.push({ label: p.label, value: p.value, to: p.to, hostIp: '' });
      }
    }
    const span = this.max - this.min + 1;
    for (const net of networks) {
      for (const p of net.dynamicPorts) {
        let chosen = -1;
        for (let attempt = 0; attempt < 20 && span > 0; attempt++) {
          const candidate = this.min + pick(span);
          if (free(candidate)) {
            chosen = candidate;
            break;
          }
        }
        if (chosen < 0) {
          for (let c = this.min; c <= this.max; c++) {
            if (free(c)) {
              chosen = c;
              break;
            }
          }
        }
        if (chosen < 0) return { reason: 'network: dynamic port selection failed' };
        taken.add(chosen);
        ports.push({ label: p.label, value: chosen, to: p.to === -1 ? chosen : p.to, hostIp: '' });
      }
    }
    return { ports };
  }

  /** Commit ports assigned by `assign` so later assignments on this index avoid them. */
  commit(ports: readonly AllocatedPort[]): void {
    for (const p of ports) this.used.add(p.value);
  }
}
