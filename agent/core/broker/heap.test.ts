import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { BinaryHeap } from './heap.js';

describe('BinaryHeap', () => {
  it('pops in comparator order whatever the push order, interleaved with pops', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -50, max: 50 }), fc.constant<'pop'>('pop')), { maxLength: 200 }), (ops) => {
        const heap = new BinaryHeap<number>((a, b) => a < b);
        const model: number[] = [];
        for (const op of ops) {
          if (op === 'pop') {
            model.sort((a, b) => a - b);
            expect(heap.pop()).toBe(model.shift());
          } else {
            heap.push(op);
            model.push(op);
          }
          expect(heap.size).toBe(model.length);
          expect(heap.peek()).toBe(model.length === 0 ? undefined : Math.min(...model));
        }
      }),
    );
  });

  it('is empty after drain and pop on empty gives undefined', () => {
    const heap = new BinaryHeap<number>((a, b) => a > b);
    heap.push(1);
    heap.push(3);
    heap.push(2);
    expect(heap.pop()).toBe(3);
    expect(heap.drain().sort()).toEqual([1, 2]);
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });
});
