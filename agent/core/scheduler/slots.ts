/**
 * The state's dense node slots as the scheduler reads them (structs.NodeSlotView):
 * the state store's own arrays when the reader has them, else a view built once
 * per reader from its nodes and usage (test readers such as MockState).
 */
import type { NodeSlotView, StateReader } from '../structs/index.js';
import { emptyUsageChunk, nodeAvailable, SlotChunkMask, SlotChunkShift, SlotUsageStride } from '../structs/index.js';

const built = new WeakMap<StateReader, NodeSlotView>();

/** The reader's slot arrays (readers are immutable, so a built view is kept per reader). */
export function slotView(state: StateReader): NodeSlotView {
  if (state.nodeSlots !== undefined) return state.nodeSlots();
  let v = built.get(state);
  if (v === undefined) {
    v = buildSlotView(state);
    built.set(state, v);
  }
  return v;
}

/** A view with one slot per node of `nodesView()`, in that order. */
export function buildSlotView(state: StateReader): NodeSlotView {
  const nodes = state.nodesView();
  const n = nodes.length;
  const ids = new Map<string, number>();
  const classes = new Map<string, number>();
  const view = {
    size: n,
    slotOf: (id: string) => ids.get(id) ?? -1,
    classId: new Array<number>(n).fill(0),
    availCpu: new Array<number>(n).fill(0),
    availMemoryMB: new Array<number>(n).fill(0),
    availDiskMB: new Array<number>(n).fill(0),
    usage: [] as number[][],
  };
  for (let s = 0; s < n; s += 1 << SlotChunkShift) view.usage.push(emptyUsageChunk());
  for (let s = 0; s < n; s++) {
    const node = nodes[s]!;
    ids.set(node.id, s);
    const cls = node.computedClass;
    let c = cls === '' ? 0 : classes.get(cls);
    if (c === undefined) {
      c = classes.size + 1;
      classes.set(cls, c);
    }
    view.classId[s] = c;
    const avail = nodeAvailable(node);
    view.availCpu[s] = avail.cpu;
    view.availMemoryMB[s] = avail.memoryMB;
    view.availDiskMB[s] = avail.diskMB;
    const u = state.nodeUsage(node.id);
    const chunk = view.usage[s >> SlotChunkShift]!;
    const o = (s & SlotChunkMask) * SlotUsageStride;
    chunk[o] = u.cpu;
    chunk[o + 1] = u.memoryMB;
    chunk[o + 2] = u.diskMB;
    chunk[o + 3] = u.ports;
  }
  return view;
}
