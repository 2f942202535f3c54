/**
 * Dense node slots: each node gets a small integer (its slot) for as long as it
 * exists, and what the scheduler's ranking loop reads per node visit lives in
 * arrays indexed by slot (what the node offers, what its live allocations
 * use, its computed class as an integer). Visiting a node then reads a few
 * adjacent numbers instead of chasing the node object, its id string and the
 * tally map's buckets.
 *
 * Versions are immutable like the rest of `Tables`: a write transaction copies
 * an array the first time it changes it, so a snapshot taken before the write
 * keeps its own arrays. The node-level arrays (class, capacity) change only
 * with nodes and are copied whole; usage, which every plan result changes, is
 * chunked (structs.SlotChunkSize slots per chunk, cpu/memory/disk interleaved):
 * a plan's result copies the chunk directory and the chunks of the nodes it
 * touches (~19 KB for 50 placements at 5,000 nodes, not 120 KB). Slots freed
 * by deleted nodes are reused by later nodes.
 */
import type { Node, NodeSlotView } from '../structs/index.js';
import { emptyUsageChunk, nodeAvailable, SlotChunkMask, SlotChunkShift, SlotUsageStride } from '../structs/index.js';
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

/** What a node's live allocations use (the sums a slot holds). */
export interface SlotUsage {
  readonly cpu: number;
  readonly memoryMB: number;
  readonly diskMB: number;
  readonly ports: number;
}

export class NodeSlots implements NodeSlotView {
  /** @internal */
  constructor(
    /** @internal node id → slot */
    readonly ids: PMap<number>,
    readonly classId: readonly number[],
    readonly availCpu: readonly number[],
    readonly availMemoryMB: readonly number[],
    readonly availDiskMB: readonly number[],
    readonly usage: readonly (readonly number[])[],
    /** @internal empty slots below `size`, reused first (lowest last) */
    readonly free: readonly number[],
    /** @internal */
    readonly classes: ClassIds,
  ) {}

  static empty(): NodeSlots {
    return new NodeSlots(PMap.empty(), [], [], [], [], [], [], new ClassIds());
  }

  get size(): number {
    return this.classId.length;
  }

  slotOf(nodeId: string): number {
    return this.ids.get(nodeId) ?? -1;
  }
}

/**
 * One transaction's changes to the slots: node puts and deletes as they
 * happen, usage from the final tallies at commit. An array (or usage chunk) is
 * copied the first time the transaction changes it; untouched ones are shared
 * with the base.
 * The arrays are plain (V8 heap) number arrays, not typed arrays: a copy per
 * transaction is then young-generation garbage, where typed arrays' external
 * backing stores made the collector run extra full collections.
 */
export class SlotWriter {
  private ids: PMap<number> | null = null;
  private free: number[] | null = null;
  private classId: number[] | null = null;
  private availCpu: number[] | null = null;
  private availMemoryMB: number[] | null = null;
  private availDiskMB: number[] | null = null;
  /** The usage chunk directory; a chunk is this transaction's own when it differs from the base's. */
  private usage: (readonly number[])[] | null = null;
  /** Nodes added by this transaction (their usage is read from the final tallies). */
  private readonly added = new Set<string>();

  constructor(private readonly base: NodeSlots) {}

  private currentIds(): PMap<number> {
    return this.ids ?? this.base.ids;
  }

  /** Copy the node-level arrays on first change. */
  private ownNodes(): void {
    if (this.classId !== null) return;
    const b = this.base;
    this.ids = b.ids.asMutable();
    this.free = b.free.slice();
    this.classId = b.classId.slice();
    this.availCpu = b.availCpu.slice();
    this.availMemoryMB = b.availMemoryMB.slice();
    this.availDiskMB = b.availDiskMB.slice();
  }

  /**
   * Set one slot's usage. Nothing is copied when it is unchanged; otherwise the
   * chunk directory is copied on the transaction's first change, the slot's
   * chunk on its first change, and zeroed chunks are added up to the slot (every
   * live slot has a chunk: the ranking loop reads it unchecked).
   */
  private setUsage(slot: number, cpu: number, memoryMB: number, diskMB: number, ports: number): void {
    const c = slot >> SlotChunkShift;
    const o = (slot & SlotChunkMask) * SlotUsageStride;
    const current = (this.usage ?? this.base.usage)[c];
    if (current !== undefined && current[o] === cpu && current[o + 1] === memoryMB && current[o + 2] === diskMB && current[o + 3] === ports) return;
    const usage = (this.usage ??= this.base.usage.slice());
    while (usage.length <= c) usage.push(emptyUsageChunk());
    let chunk = usage[c]! as number[];
    if (chunk === this.base.usage[c]) {
      chunk = chunk.slice();
      usage[c] = chunk;
    }
    chunk[o] = cpu;
    chunk[o + 1] = memoryMB;
    chunk[o + 2] = diskMB;
    chunk[o + 3] = ports;
  }

  putNode(node: Node): void {
    this.ownNodes();
    let slot = this.ids!.get(node.id);
    if (slot === undefined) {
      slot = this.free!.length > 0 ? this.free!.pop()! : this.classId!.length;
      if (slot === this.classId!.length) {
        this.classId!.push(0);
        this.availCpu!.push(0);
        this.availMemoryMB!.push(0);
        this.availDiskMB!.push(0);
      }
      this.ids!.set(node.id, slot);
      this.added.add(node.id);
    }
    this.classId![slot] = this.base.classes.of(node.computedClass);
    const avail = nodeAvailable(node);
    this.availCpu![slot] = avail.cpu;
    this.availMemoryMB![slot] = avail.memoryMB;
    this.availDiskMB![slot] = avail.diskMB;
  }

  deleteNode(id: string): void {
    const slot = this.currentIds().get(id);
    if (slot === undefined) return;
    this.ownNodes();
    this.setUsage(slot, 0, 0, 0, 0);
    this.ids!.remove(id);
    this.added.delete(id);
    this.classId![slot] = -1;
    this.availCpu![slot] = this.availMemoryMB![slot] = this.availDiskMB![slot] = 0;
    // Reuse the lowest free slot first (kept sorted descending: pop takes the lowest).
    const free = this.free!;
    free.push(slot);
    free.sort((a, b) => b - a);
  }

  /**
   * The new version: `touched` are the nodes whose usage changed, `usage`
   * reads a node's final usage (asked for those and for nodes this transaction added).
   */
  commit(touched: Iterable<string>, usage: (nodeId: string) => SlotUsage): NodeSlots {
    const ids = this.currentIds();
    const write = (nodeId: string): void => {
      const slot = ids.get(nodeId);
      if (slot === undefined) return;
      const t = usage(nodeId);
      this.setUsage(slot, t.cpu, t.memoryMB, t.diskMB, t.ports);
    };
    for (const id of touched) write(id);
    for (const id of this.added) write(id);
    if (this.classId === null && this.usage === null) return this.base;
    const b = this.base;
    return new NodeSlots(
      this.ids === null ? b.ids : this.ids.asImmutable(),
      this.classId ?? b.classId,
      this.availCpu ?? b.availCpu,
      this.availMemoryMB ?? b.availMemoryMB,
      this.availDiskMB ?? b.availDiskMB,
      this.usage ?? b.usage,
      this.free ?? b.free,
      b.classes,
    );
  }
}
