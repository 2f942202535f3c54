import type { Allocation } from './alloc.js';
import type { PeriodicLaunch, SchedulerConfiguration } from './config.js';
import type { Deployment } from './deployment.js';
import type { Evaluation } from './eval.js';
import type { NodeUsage } from './funcs.js';
import type { Job } from './job.js';
import type { Node } from './node.js';

export const TableNames = ['jobs', 'job_versions', 'nodes', 'allocs', 'evals', 'deployments', 'periodic_launch', 'scheduler_config'] as const;
export type TableName = (typeof TableNames)[number];

/**
 * A read-only, immutable view of the replicated state at one index. The state
 * store hands these out; schedulers, the plan applier and the API read only
 * through this interface. Arrays returned are fresh (callers may sort them) but
 * the objects inside are shared and must be treated as frozen.
 */
/**
 * Dense per-node arrays of one state version (nomadts addition, for the
 * scheduler's hot loop): every node has a slot number, fixed while the node
 * exists; arrays are indexed by slot. Immutable like the snapshot it came from.
 */
export interface NodeSlotView {
  /** Slots in use: every slot is below this (a deleted node's slot stays empty until reused). */
  readonly size: number;
  /** The node's slot, or -1. */
  slotOf(nodeId: string): number;
  /**
   * The node's computed class as a small integer (0: no computed class, -1: an
   * empty slot); equal ids mean equal classes within one view's lineage.
   */
  readonly classId: readonly number[];
  /** What the node offers (resources − reserved), as structs.nodeAvailable. */
  readonly availCpu: readonly number[];
  readonly availMemoryMB: readonly number[];
  readonly availDiskMB: readonly number[];
  /**
   * What its live allocations use (the state's NodeUsage sums), in chunks of
   * SlotChunkSize slots so a write copies only the chunks of the nodes it
   * touches: slot s's cpu, memoryMB, diskMB and ports are at
   * `usage[s >> SlotChunkShift]`, offsets `(s & SlotChunkMask) * SlotUsageStride`
   * + 0, 1, 2, 3. Every chunk is full length (zeros past `size`). `slotUsage`
   * reads it outside hot loops.
   */
  readonly usage: readonly (readonly number[])[];
}

/** log2 of the slots per NodeSlotView.usage chunk. */
export const SlotChunkShift = 4;
export const SlotChunkSize = 1 << SlotChunkShift;
export const SlotChunkMask = SlotChunkSize - 1;
/** Numbers per slot in a usage chunk: cpu, memoryMB, diskMB, ports. */
export const SlotUsageStride = 4;

/** One slot's usage from a NodeSlotView (0s for a slot past the chunks). */
export function slotUsage(view: Pick<NodeSlotView, 'usage'>, slot: number): { cpu: number; memoryMB: number; diskMB: number; ports: number } {
  const c = view.usage[slot >> SlotChunkShift];
  const o = (slot & SlotChunkMask) * SlotUsageStride;
  return c === undefined ? { cpu: 0, memoryMB: 0, diskMB: 0, ports: 0 } : { cpu: c[o]!, memoryMB: c[o + 1]!, diskMB: c[o + 2]!, ports: c[o + 3]! };
}

/** A zeroed usage chunk (plain number array, for NodeSlotView builders). */
export function emptyUsageChunk(): number[] {
  const c: number[] = [];
  for (let i = 0; i < SlotChunkSize * SlotUsageStride; i++) c.push(0);
  return c;
}

export interface StateReader {
  /** The highest index of any table in this snapshot. */
  readonly index: number;
  tableIndex(table: TableName): number;

  jobByID(namespace: string, id: string): Job | undefined;
  jobVersion(namespace: string, id: string, version: number): Job | undefined;
  jobVersions(namespace: string, id: string): Job[];
  jobs(): Job[];

  nodeByID(id: string): Node | undefined;
  nodes(): Node[];
  /**
   * All nodes as one shared array: the same array object for as long as the nodes
   * table is unchanged, so callers can cache work keyed by it. Never mutate it.
   */
  nodesView(): readonly Node[];
  nodeCount(): number;

  allocByID(id: string): Allocation | undefined;
  allocsByJob(namespace: string, jobId: string): Allocation[];
  allocsByNode(nodeId: string): Allocation[];
  /** Like allocsByNode, but one shared array, the same object while the node's allocations are unchanged. Never mutate it. */
  allocsByNodeView(nodeId: string): readonly Allocation[];
  /** What the node's live allocations use, memoised per version of its allocation list (shared: never mutate). */
  nodeUsage(nodeId: string): NodeUsage;
  /** Per-slot arrays of this version (optional: readers without them get a view built from nodes and nodeUsage). */
  nodeSlots?(): NodeSlotView;
  allocsByEval(evalId: string): Allocation[];
  allocCount(): number;

  evalByID(id: string): Evaluation | undefined;
  evalsByJob(namespace: string, jobId: string): Evaluation[];
  evals(): Evaluation[];

  deploymentByID(id: string): Deployment | undefined;
  deploymentsByJob(namespace: string, jobId: string): Deployment[];
  latestDeploymentByJob(namespace: string, jobId: string): Deployment | undefined;

  periodicLaunch(namespace: string, jobId: string): PeriodicLaunch | undefined;
  schedulerConfig(): SchedulerConfiguration;
}
