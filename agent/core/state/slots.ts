/**
 * Dense node slots: each node gets a small integer (its slot) for as long as it
 * exists, and what the scheduler's ranking loop reads per node visit lives in
 * typed arrays indexed by slot (what the node offers, what its live allocations
 * use, its computed class as an integer). Visiting a node then reads a few
 * adjacent numbers instead of chasing the node object, its id string and the
 * tally map's buckets.
 *
 * Versions are immutable like the rest of `Tables`: a write transaction copies
 * an array the first time it changes it (copy-on-write per transaction, ~40 KB
 * per array at 5,000 nodes), so a snapshot taken before the write keeps its
 * own arrays. Slots freed by deleted nodes are reused by later nodes.
 */
import type { Node, NodeSlotView } from '../structs/index.js';
import { nodeAvailable } from '../structs/index.js';
import { PMap } from './pmap.js';

/**
 * Computed class → id, shared by every version descending from one empty
 * state (append-only: an id never changes meaning, so old versions stay right).
 */
class ClassIds {
  private readonly ids = new Map<string, number>();

  of(cls: string): number {
    if (cls === '') return 0;
    let id = this.ids.get(cls);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(cls, id);
    }
    return id;
  }
}

/** Usage sums a tally offers (tables.ts NodeTally). */
export interface SlotUsage {
  readonly cpu: number;
  readonly memoryMB: number;
  readonly diskMB: number;
}

function grown<T extends Float64Array | Int32Array>(a: T, capacity: number): T {
  const out = new (a.constructor as new (n: number) => T)(capacity);
  out.set(a);
  return out;
}

export class NodeSlots implements NodeSlotView {
  /** @internal */
  constructor(
    /** @internal node id → slot */
    readonly ids: PMap<number>,
    readonly nodes: readonly (Node | undefined)[],
    readonly classId: Int32Array,
    readonly availCpu: Float64Array,
    readonly availMemoryMB: Float64Array,
    readonly availDiskMB: Float64Array,
    readonly cpu: Float64Array,
    readonly memoryMB: Float64Array,
    readonly diskMB: Float64Array,
    /** @internal empty slots below `size`, reused first (lowest last) */
    readonly free: readonly number[],
    /** @internal */
    readonly classes: ClassIds,
  ) {}

  static empty(): NodeSlots {
    const f = () => new Float64Array(0);
    return new NodeSlots(PMap.empty(), [], new Int32Array(0), f(), f(), f(), f(), f(), f(), [], new ClassIds());
  }

  get size(): number {
    return this.nodes.length;
  }

  slotOf(nodeId: string): number {
    return this.ids.get(nodeId) ?? -1;
  }
}

/**
 * One transaction's changes to the slots: node puts and deletes as they
 * happen, usage from the final tallies at commit. Arrays are copied on first
 * change; untouched arrays are shared with the base version.
 */
export class SlotWriter {
  private ids: PMap<number> | null = null;
  private nodes: (Node | undefined)[] | null = null;
  private free: number[] | null = null;
  private classId: Int32Array;
  private availCpu: Float64Array;
  private availMemoryMB: Float64Array;
  private availDiskMB: Float64Array;
  private cpu: Float64Array;
  private memoryMB: Float64Array;
  private diskMB: Float64Array;
  private nodeArraysOwned = false;
  private usageOwned = false;
  /** Nodes added by this transaction (their usage is read from the final tallies). */
  private readonly added = new Set<string>();

  constructor(private readonly base: NodeSlots) {
    this.classId = base.classId;
    this.availCpu = base.availCpu;
    this.availMemoryMB = base.availMemoryMB;
    this.availDiskMB = base.availDiskMB;
    this.cpu = base.cpu;
    this.memoryMB = base.memoryMB;
    this.diskMB = base.diskMB;
  }

  private capacity(): number {
    return this.classId.length;
  }

  /** Copy the node-level arrays (and make room for one more slot). */
  private ownNodes(extra: number): void {
    if (this.ids === null) this.ids = this.base.ids.asMutable();
    if (this.nodes === null) this.nodes = [...this.base.nodes];
    if (this.free === null) this.free = [...this.base.free];
    const need = this.nodes.length + extra;
    if (!this.nodeArraysOwned || need > this.capacity()) {
      const cap = need > this.capacity() ? Math.max(16, need * 2) : this.capacity();
      this.classId = grown(this.classId, cap);
      this.availCpu = grown(this.availCpu, cap);
      this.availMemoryMB = grown(this.availMemoryMB, cap);
      this.availDiskMB = grown(this.availDiskMB, cap);
      this.nodeArraysOwned = true;
    }
  }

  private ownUsage(): void {
    const cap = this.capacity();
    if (this.usageOwned && this.cpu.length === cap) return;
    this.cpu = grown(this.cpu, cap);
    this.memoryMB = grown(this.memoryMB, cap);
    this.diskMB = grown(this.diskMB, cap);
    this.usageOwned = true;
  }

  private currentIds(): PMap<number> {
    return this.ids ?? this.base.ids;
  }

  putNode(node: Node): void {
    const existing = this.currentIds().get(node.id);
    this.ownNodes(existing === undefined ? 1 : 0);
    const nodes = this.nodes!;
    let slot = existing;
    if (slot === undefined) {
      slot = this.free!.length > 0 ? this.free!.pop()! : nodes.length;
      if (slot === nodes.length) nodes.push(undefined);
      this.ids!.set(node.id, slot);
      this.added.add(node.id);
    }
    nodes[slot] = node;
    this.classId[slot] = this.base.classes.of(node.computedClass);
    const avail = nodeAvailable(node);
    this.availCpu[slot] = avail.cpu;
    this.availMemoryMB[slot] = avail.memoryMB;
    this.availDiskMB[slot] = avail.diskMB;
  }

  deleteNode(id: string): void {
    const slot = this.currentIds().get(id);
    if (slot === undefined) return;
    this.ownNodes(0);
    this.ids!.remove(id);
    this.added.delete(id);
    this.ownUsage();
    this.nodes![slot] = undefined;
    this.classId[slot] = 0;
    this.availCpu[slot] = this.availMemoryMB[slot] = this.availDiskMB[slot] = 0;
    this.cpu[slot] = this.memoryMB[slot] = this.diskMB[slot] = 0;
    // Reuse the lowest free slot first (kept sorted descending: pop takes the lowest).
    const free = this.free!;
    free.push(slot);
    free.sort((a, b) => b - a);
  }

  /**
   * The new version: `touched` are the nodes whose tallies changed, `tally`
   * reads their final usage (undefined: no live allocations).
   */
  commit(touched: Iterable<string>, tally: (nodeId: string) => SlotUsage | undefined): NodeSlots {
    const ids = this.currentIds();
    const write = (nodeId: string): void => {
      const slot = ids.get(nodeId);
      if (slot === undefined) return;
      this.ownUsage();
      const t = tally(nodeId);
      this.cpu[slot] = t?.cpu ?? 0;
      this.memoryMB[slot] = t?.memoryMB ?? 0;
      this.diskMB[slot] = t?.diskMB ?? 0;
    };
    for (const id of touched) write(id);
    for (const id of this.added) write(id);
    if (this.nodes === null && !this.usageOwned) return this.base;
    const b = this.base;
    return new NodeSlots(
      this.ids === null ? b.ids : this.ids.asImmutable(),
      this.nodes ?? b.nodes,
      this.classId,
      this.availCpu,
      this.availMemoryMB,
      this.availDiskMB,
      this.cpu,
      this.memoryMB,
      this.diskMB,
      this.free ?? b.free,
      b.classes,
    );
  }
}
