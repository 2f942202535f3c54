import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocTerminalStatus, nodeAvailable, SlotChunkShift, SlotChunkSize, slotUsage, SlotUsageStride } from '../structs/index.js';
import type { Allocation, Job } from '../structs/index.js';
import { mockAlloc, mockJob, mockNode } from './fixtures.js';
import { StateSnapshot } from './store.js';
import { emptyTables, WriteTxn } from './tables.js';
import type { Tables } from './tables.js';

/** What the slot arrays must say about `t`, derived from its nodes and tallies. */
function expected(t: Tables): Map<string, number[]> {
  const out = new Map<string, number[]>();
  t.nodes.forEach((node, id) => {
    const a = nodeAvailable(node);
    const used = [0, 0, 0, 0];
    t.allocs.forEach((x) => {
      if (x.nodeId !== id || allocTerminalStatus(x)) return;
      used[0]! += x.resources.cpu;
      used[1]! += x.resources.memoryMB;
      used[2]! += x.resources.diskMB;
      used[3]! += x.resources.ports.length;
    });
    out.set(id, [a.cpu, a.memoryMB, a.diskMB, ...used]);
  });
  return out;
}

/** What the slot arrays do say, checking their shape on the way. */
function actual(t: Tables): Map<string, number[]> {
  const s = t.nodeSlots;
  const out = new Map<string, number[]>();
  const seen = new Set<number>();
  t.nodes.forEach((node, id) => {
    const slot = s.slotOf(id);
    expect(slot, `slot of ${id}`).toBeGreaterThanOrEqual(0);
    expect(slot).toBeLessThan(s.size);
    expect(seen.has(slot), `slot ${slot} given twice`).toBe(false);
    seen.add(slot);
    expect(s.classId[slot]! > 0).toBe(node.computedClass !== '');
    // Every live slot's usage chunk exists, full length (the ranking loop reads it unchecked).
    expect(s.usage[slot >> SlotChunkShift]?.length, `usage chunk of slot ${slot}`).toBe(SlotChunkSize * SlotUsageStride);
    const u = slotUsage(s, slot);
    out.set(id, [s.availCpu[slot]!, s.availMemoryMB[slot]!, s.availDiskMB[slot]!, u.cpu, u.memoryMB, u.diskMB, u.ports]);
  });
  // Slots of deleted nodes are empty.
  for (let i = 0; i < s.size; i++) if (!seen.has(i)) expect(s.classId[i], `empty slot ${i}`).toBe(-1);
  return out;
}

const job: Job = mockJob('web');

function alloc(id: string, nodeId: string, cpu: number, terminal = false): Allocation {
  const a = mockAlloc(id, job, nodeId, 'e1', terminal ? { desiredStatus: 'stop', clientStatus: 'complete' } : {});
  // cpu % 3 ports, so the port sums are exercised too.
  const ports = Array.from({ length: cpu % 3 }, (_, i) => ({ label: `p${i}`, value: 20_000 + i, to: 0, hostIp: '10.0.0.1' }));
  return { ...a, resources: { ...a.resources, cpu, memoryMB: cpu * 2, diskMB: cpu * 3, ports } };
}

describe('node slots', () => {
  it('give each node a slot whose arrays hold what it offers and what its live allocations use', () => {
    let txn = new WriteTxn(emptyTables(), 1);
    txn.putNode(mockNode('n1', { computedClass: 'c-a' }));
    txn.putNode(mockNode('n2', { computedClass: 'c-a' }));
    txn.putNode(mockNode('n3', { computedClass: 'c-b' }));
    txn.putAlloc(alloc('a1', 'n1', 100));
    txn.putAlloc(alloc('a2', 'n1', 50));
    txn.putAlloc(alloc('a3', 'n2', 70, true));
    const t1 = txn.commit();
    expect(actual(t1)).toEqual(expected(t1));
    const s = t1.nodeSlots;
    const [n1, n2, n3] = ['n1', 'n2', 'n3'].map((id) => s.slotOf(id));
    expect(slotUsage(s, n1!).cpu).toBe(150);
    expect(slotUsage(s, n1!).memoryMB).toBe(300);
    expect(slotUsage(s, n2!).cpu).toBe(0); // a terminal allocation uses nothing
    expect(s.classId[n1!]).toBe(s.classId[n2!]);
    expect(s.classId[n1!]).not.toBe(s.classId[n3!]);
    expect(s.slotOf('missing')).toBe(-1);

    // A deleted node's slot is emptied and reused by the next node.
    txn = new WriteTxn(t1, 2);
    txn.deleteNode('n2');
    const t2 = txn.commit();
    expect(t2.nodeSlots.slotOf('n2')).toBe(-1);
    expect(t2.nodeSlots.classId[n2!]).toBe(-1);
    txn = new WriteTxn(t2, 3);
    txn.putNode(mockNode('n4'));
    const t3 = txn.commit();
    expect(t3.nodeSlots.slotOf('n4')).toBe(n2);
    expect(actual(t3)).toEqual(expected(t3));
  });

  it('sum the allocations of a node with no slot (allocations before their node, or after it is deleted)', () => {
    let txn = new WriteTxn(emptyTables(), 1);
    txn.putAlloc(alloc('a1', 'n1', 100));
    txn.putAlloc(alloc('a2', 'n1', 50));
    txn.putAlloc(alloc('a3', 'n1', 70, true));
    const t1 = txn.commit();
    expect(t1.nodeSlots.slotOf('n1')).toBe(-1);
    const u1 = new StateSnapshot(t1).nodeUsage('n1');
    expect([u1.cpu, u1.memoryMB, u1.diskMB, u1.ports]).toEqual([150, 300, 450, 3]);
    expect(u1.live.map((a) => a.id).sort()).toEqual(['a1', 'a2']);
    // The node arrives in a later transaction: its slot starts from those allocations, then follows writes.
    txn = new WriteTxn(t1, 2);
    txn.putNode(mockNode('n1'));
    const t2 = txn.commit();
    expect(actual(t2)).toEqual(expected(t2));
    txn = new WriteTxn(t2, 3);
    txn.putAlloc(alloc('a4', 'n1', 10));
    txn.deleteAlloc('a1');
    const t3 = txn.commit();
    expect(actual(t3)).toEqual(expected(t3));
    expect(new StateSnapshot(t3).nodeUsage('n1').cpu).toBe(60);
    // Deleted, the node's allocations still count (summed again), and an alloc write keeps them right.
    txn = new WriteTxn(t3, 4);
    txn.deleteNode('n1');
    txn.putAlloc(alloc('a5', 'n1', 5));
    const t4 = txn.commit();
    expect(t4.nodeSlots.slotOf('n1')).toBe(-1);
    expect(new StateSnapshot(t4).nodeUsage('n1').cpu).toBe(65);
    expect(new StateSnapshot(t3).nodeUsage('n1').cpu).toBe(60);
    expect(new StateSnapshot(emptyTables()).nodeUsage('n1').cpu).toBe(0);
  });

  it('are not changed for a snapshot taken before a write (copy-on-write per transaction)', () => {
    let txn = new WriteTxn(emptyTables(), 1);
    txn.putNode(mockNode('n1'));
    txn.putAlloc(alloc('a1', 'n1', 100));
    const before = txn.commit();
    const cpuBefore = slotUsage(before.nodeSlots, before.nodeSlots.slotOf('n1')).cpu;
    txn = new WriteTxn(before, 2);
    txn.putAlloc(alloc('a2', 'n1', 40));
    txn.putNode(mockNode('n2'));
    const after = txn.commit();
    expect(cpuBefore).toBe(100);
    expect(slotUsage(before.nodeSlots, before.nodeSlots.slotOf('n1')).cpu).toBe(100);
    expect(before.nodeSlots.slotOf('n2')).toBe(-1);
    expect(before.nodeSlots.size).toBe(1);
    expect(slotUsage(after.nodeSlots, after.nodeSlots.slotOf('n1')).cpu).toBe(140);
    // A transaction that touches neither nodes nor allocations keeps the same arrays.
    txn = new WriteTxn(after, 3);
    txn.putJob(mockJob('other'));
    expect(txn.commit().nodeSlots).toBe(after.nodeSlots);
  });

  it.each([
    ['within one usage chunk', 7, 15],
    ['across several usage chunks', SlotChunkSize * 3 + 5, 80],
  ])('stay equal to the nodes and tallies, and every earlier version keeps its own values, over random writes (%s)', (_name, maxNode, maxAlloc) => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('node' as const), n: fc.integer({ min: 0, max: maxNode }), cls: fc.constantFrom('', 'c1', 'c2'), cpu: fc.integer({ min: 1000, max: 9000 }) }),
      fc.record({ k: fc.constant('delNode' as const), n: fc.integer({ min: 0, max: maxNode }) }),
      fc.record({ k: fc.constant('alloc' as const), a: fc.integer({ min: 0, max: maxAlloc }), n: fc.integer({ min: 0, max: maxNode }), cpu: fc.integer({ min: 1, max: 500 }), terminal: fc.boolean() }),
      fc.record({ k: fc.constant('delAlloc' as const), a: fc.integer({ min: 0, max: maxAlloc }) }),
    );
    fc.assert(
      fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: maxNode }), { minLength: 1, maxLength: 25 }), (batches) => {
        let t = emptyTables();
        const versions: { t: Tables; want: Map<string, number[]> }[] = [];
        let index = 1;
        for (const batch of batches) {
          const txn = new WriteTxn(t, index++);
          for (const o of batch) {
            if (o.k === 'node') {
              const base = mockNode(`n${o.n}`, { computedClass: o.cls });
              txn.putNode({ ...base, resources: { ...base.resources, cpu: o.cpu } });
            } else if (o.k === 'delNode') txn.deleteNode(`n${o.n}`);
            else if (o.k === 'alloc') {
              // An allocation keeps its node (as in practice); a new id may go anywhere.
              const prev = txn.allocs.get(`a${o.a}`);
              txn.putAlloc(alloc(`a${o.a}`, prev?.nodeId ?? `n${o.n}`, o.cpu, o.terminal));
            } else txn.deleteAlloc(`a${o.a}`);
          }
          const prev = t;
          t = txn.commit();
          // Copy-on-write by chunk: a chunk holding no slot whose usage changed is shared, not
          // copied (a node deleted and put back within the batch may copy its chunk on the way).
          const changed = new Set<number>();
          for (const o of batch) {
            if (o.k !== 'node' && o.k !== 'delNode') continue;
            for (const slots of [prev.nodeSlots, t.nodeSlots]) if (slots.slotOf(`n${o.n}`) >= 0) changed.add(slots.slotOf(`n${o.n}`) >> SlotChunkShift);
          }
          for (let slot = 0; slot < t.nodeSlots.size; slot++) {
            const was = slot < prev.nodeSlots.size ? slotUsage(prev.nodeSlots, slot) : null;
            const now = slotUsage(t.nodeSlots, slot);
            if (was === null || was.cpu !== now.cpu || was.memoryMB !== now.memoryMB || was.diskMB !== now.diskMB || was.ports !== now.ports) changed.add(slot >> SlotChunkShift);
          }
          prev.nodeSlots.usage.forEach((chunk, c) => {
            if (!changed.has(c) && t.nodeSlots.usage[c] !== chunk) expect.fail(`chunk ${c} copied though none of its slots changed`);
          });
          versions.push({ t, want: expected(t) });
          expect(actual(t)).toEqual(versions[versions.length - 1]!.want);
        }
        for (const v of versions) expect(actual(v.t)).toEqual(v.want);
      }),
      { numRuns: 150 },
    );
  });
});
