/** Client nodes as the servers see them (fingerprinted by the client agent). */

export type NodeStatus = 'initializing' | 'ready' | 'down' | 'disconnected';
export type SchedulingEligibility = 'eligible' | 'ineligible';

export interface NodeResources {
  /** Total CPU shares in MHz. */
  cpu: number;
  cpuCores: number;
  memoryMB: number;
  diskMB: number;
  /** Total network bandwidth in Mbit/s (0 = not tracked). */
  mbits: number;
  /** Ports the scheduler may hand out as dynamic ports. */
  minDynamicPort: number;
  maxDynamicPort: number;
}

export interface NodeReservedResources {
  cpu: number;
  memoryMB: number;
  diskMB: number;
  /** Host ports never handed out. */
  reservedPorts: number[];
}

export interface DriverInfo {
  detected: boolean;
  healthy: boolean;
  healthDescription: string;
  attributes: Record<string, string>;
}

export interface DrainStrategy {
  /** Milliseconds; 0 = no deadline; -1 = force (stop everything now). */
  deadline: number;
  ignoreSystemJobs: boolean;
  forceDeadline: number;
  startedAt: number;
}

export interface Node {
  id: string;
  name: string;
  datacenter: string;
  nodeClass: string;
  nodePool: string;
  /** Hash of the attributes that affect feasibility (see computeNodeClass). */
  computedClass: string;
  httpAddr: string;
  /** Fingerprinted attributes: `kernel.name`, `cpu.arch`, `driver.raw_exec`, `unique.hostname`, ... */
  attributes: Record<string, string>;
  meta: Record<string, string>;
  resources: NodeResources;
  reserved: NodeReservedResources;
  drivers: Record<string, DriverInfo>;
  status: NodeStatus;
  statusDescription: string;
  statusUpdatedAt: number;
  schedulingEligibility: SchedulingEligibility;
  drainStrategy: DrainStrategy | null;
  createIndex: number;
  modifyIndex: number;
}

export function nodeIsReady(node: Node): boolean {
  return node.status === 'ready';
}

export function nodeIsSchedulable(node: Node): boolean {
  return node.status === 'ready' && node.schedulingEligibility === 'eligible' && node.drainStrategy === null;
}

/**
 * The computed node class: nodes that agree on everything a constraint can look
 * at, except values that are unique per node (`unique.*` attributes and meta),
 * share a class, so feasibility results can be cached per class. Must be
 * deterministic: keys are sorted. FNV-1a 64-bit over the canonical string.
 */
export function computeNodeClass(node: Pick<Node, 'datacenter' | 'nodeClass' | 'nodePool' | 'attributes' | 'meta' | 'drivers'>): string {
  const parts: string[] = [`dc=${node.datacenter}`, `class=${node.nodeClass}`, `pool=${node.nodePool}`];
  for (const k of Object.keys(node.attributes).sort()) {
    if (isUniqueKey(k)) continue;
    parts.push(`a.${k}=${node.attributes[k]}`);
  }
  for (const k of Object.keys(node.meta).sort()) {
    if (isUniqueKey(k)) continue;
    parts.push(`m.${k}=${node.meta[k]}`);
  }
  for (const k of Object.keys(node.drivers).sort()) {
    const d = node.drivers[k]!;
    parts.push(`d.${k}=${d.detected ? 1 : 0}${d.healthy ? 1 : 0}`);
  }
  return `v1:${fnv1a64(parts.join('\n'))}`;
}

export function isUniqueKey(key: string): boolean {
  return key.startsWith('unique.');
}

function fnv1a64(s: string): string {
  // Two 32-bit FNV-1a lanes with different offsets: cheap and deterministic.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193 + 2) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
