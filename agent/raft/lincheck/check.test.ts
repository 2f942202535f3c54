import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HistoryEvent, KvValue, Operation } from './index.js';
import { checkHistory, checkOperations, explainFailure, parseJepsenLog, registerModel, toOperations } from './index.js';

const inv = (process: number, f: HistoryEvent['f'], value: HistoryEvent['value'], key?: string): HistoryEvent =>
  key === undefined ? { process, type: 'invoke', f, value } : { process, type: 'invoke', f, value, key };
const ok = (process: number, f: HistoryEvent['f'], value: HistoryEvent['value'], key?: string): HistoryEvent =>
  key === undefined ? { process, type: 'ok', f, value } : { process, type: 'ok', f, value, key };

describe('checkHistory on small register histories', () => {
  it('accepts a read that overlaps a write and sees either value', () => {
    for (const seen of [null, 1]) {
      const h = [inv(0, 'write', 1), inv(1, 'read', null), ok(1, 'read', seen), ok(0, 'write', 1)];
      expect(checkHistory(h, registerModel).verdict).toBe('linearizable');
    }
  });

  it('refuses a stale read after a completed write, and says where it got stuck', () => {
    const h = [inv(0, 'write', 1), ok(0, 'write', 1), inv(1, 'read', null), ok(1, 'read', null)];
    const r = checkHistory(h, registerModel);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.keys[0]!.longestPrefix).toEqual([0]);
    expect(r.keys[0]!.stuckOn).toEqual([1]);
  });

  it('explains a failure: the longest order and what could not follow it', () => {
    const h = [inv(0, 'write', 1), ok(0, 'write', 1), inv(1, 'read', null), ok(1, 'read', null)];
    expect(explainFailure(h, checkHistory(h, registerModel))).toEqual([
      'key "": no linearization of its 2 operations; the longest order found places 1:',
      '  #0 p0 write 1 ok [events 0..1]',
      'then none of these fits next (each either contradicts that state or was overtaken by a completed call):',
      '  #1 p1 read nil ok [events 2..3]',
    ]);
    const fine = [inv(0, 'write', 1), ok(0, 'write', 1)];
    expect(explainFailure(fine, checkHistory(fine, registerModel))).toEqual([]);
  });

  it('refuses a read of a value never written', () => {
    expect(checkHistory([inv(0, 'read', null), ok(0, 'read', 7)], registerModel).verdict).toBe('not-linearizable');
  });

  it('a failed cas must have seen another value', () => {
    const base = [inv(0, 'write', 1), ok(0, 'write', 1), inv(1, 'cas', [1, 2])];
    expect(checkHistory([...base, { process: 1, type: 'fail', f: 'cas', value: [1, 2] }], registerModel).verdict).toBe('not-linearizable');
    expect(checkHistory([...base, ok(1, 'cas', [1, 2]), inv(2, 'read', null), ok(2, 'read', 2)], registerModel).verdict).toBe('linearizable');
  });

  it('an info write may take effect later, or never', () => {
    const crashed: HistoryEvent[] = [inv(0, 'write', 5), { process: 0, type: 'info', f: 'write', value: null }];
    const later = [...crashed, inv(1, 'read', null), ok(1, 'read', null), inv(1, 'read', null), ok(1, 'read', 5)];
    expect(checkHistory(later, registerModel).verdict).toBe('linearizable');
    const never = [...crashed, inv(1, 'read', null), ok(1, 'read', null)];
    expect(checkHistory(never, registerModel).verdict).toBe('linearizable');
    // ...but once seen it cannot be un-applied (no other write of null exists).
    const flicker = [...later, inv(1, 'read', null), ok(1, 'read', null)];
    expect(checkHistory(flicker, registerModel).verdict).toBe('not-linearizable');
  });

  it('a call that never completes is treated as info', () => {
    const h = [inv(0, 'write', 3), inv(1, 'read', null), ok(1, 'read', 3)];
    expect(checkHistory(h, registerModel).verdict).toBe('linearizable');
    expect(toOperations(h).find((o) => o.f === 'write')!.ret).toBe(Infinity);
  });

  it('checks keys independently and reports each', () => {
    const h = [
      inv(0, 'write', 1, 'a'), ok(0, 'write', 1, 'a'),
      inv(1, 'write', 1, 'b'), ok(1, 'write', 1, 'b'),
      inv(2, 'read', null, 'a'), ok(2, 'read', 1, 'a'),
      inv(2, 'read', null, 'b'), ok(2, 'read', null, 'b'),
    ];
    const r = checkHistory(h, registerModel);
    expect(r.verdict).toBe('not-linearizable');
    expect(r.keys.map((k) => [k.key, k.verdict])).toEqual([['a', 'linearizable'], ['b', 'not-linearizable']]);
  });

  it('answers unknown, not a hang, when the step budget runs out', () => {
    // 12 concurrent writes of distinct values and reads that fit no order force a wide search.
    const h: HistoryEvent[] = [];
    for (let p = 0; p < 12; p++) h.push(inv(p, 'write', p));
    for (let p = 0; p < 12; p++) h.push(ok(p, 'write', p));
    for (let p = 0; p < 12; p++) h.push(inv(100 + p, 'read', null), ok(100 + p, 'read', p));
    expect(checkHistory(h, registerModel, { maxSteps: 1000 }).verdict).toBe('unknown');
    expect(checkHistory(h, registerModel).verdict).toBe('not-linearizable');
  });
});

describe('malformed histories', () => {
  it('refuses a completion with no call outstanding, naming the event', () => {
    expect(() => checkHistory([ok(3, 'write', 1)], registerModel)).toThrow(/history event 0: process 3 completes write \(ok\) with no call outstanding/);
  });
  it('refuses a second invoke from a busy process', () => {
    expect(() => toOperations([inv(1, 'read', null), inv(1, 'write', 2)])).toThrow(/event 1: process 1 invokes write while its read from event 0 is outstanding/);
  });
  it('refuses a cas without [from, to] and a completion of another function', () => {
    expect(() => toOperations([inv(1, 'cas', 3)])).toThrow(/cas needs value \[from, to\]/);
    expect(() => toOperations([inv(1, 'read', null), ok(1, 'write', 2)])).toThrow(/completes write but invoked read at event 0/);
  });
  it('parser names file and line of a bad line', () => {
    expect(() => parseJepsenLog('INFO  jepsen.util - 0\t:invoke\t:read\tnil\nhello\n', 'x.log')).toThrow(/x\.log:2: not a Jepsen history line/);
    expect(() => parseJepsenLog('INFO  jepsen.util - 0\t:invoke\t:cas\t[1]\n', 'y.log')).toThrow(/y\.log:1: cas needs \[from to\]/);
  });
  it('parser reads nil, integers, pairs and keyword outcomes', () => {
    const ev = parseJepsenLog([
      'INFO  jepsen.util - 2\t:invoke\t:cas\t[3 nil]',
      'INFO  jepsen.util - 2 :info :cas :timed-out',
      '',
      'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
      'INFO  jepsen.util - 0\t:ok\t:read\t-4',
    ].join('\n'));
    expect(ev).toEqual([
      { process: 2, type: 'invoke', f: 'cas', value: [3, null] },
      { process: 2, type: 'info', f: 'cas', value: null },
      { process: 0, type: 'invoke', f: 'read', value: null },
      { process: 0, type: 'ok', f: 'read', value: -4 },
    ]);
  });
});

/** Brute force: some permutation respecting real time (a before b if a.ret < b.call) is legal. */
function bruteForce(ops: readonly Operation[]): boolean {
  const n = ops.length;
  const used = new Array<boolean>(n).fill(false);
  const go = (depth: number, state: KvValue): boolean => {
    if (depth === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      // i may go next only if no unused op returned before i was called.
      if (ops.some((o, j) => !used[j] && j !== i && o.ret < ops[i]!.call)) continue;
      const s = registerModel.step(state, ops[i]!);
      if (s === undefined) continue;
      used[i] = true;
      if (go(depth + 1, s)) return true;
      used[i] = false;
    }
    return false;
  };
  return go(0, null);
}

const arbHistory = fc
  .array(
    fc.record({
      f: fc.constantFrom('read', 'write', 'cas'),
      a: fc.integer({ min: 0, max: 2 }),
      b: fc.integer({ min: 0, max: 2 }),
      end: fc.constantFrom('ok', 'ok', 'ok', 'fail', 'info'),
      len: fc.integer({ min: 0, max: 6 }),
    }),
    { minLength: 1, maxLength: 7 },
  )
  .map((calls) => {
    // Lay the calls out on a timeline, one process each, returns `len` slots after the call.
    const slots: Array<Array<HistoryEvent>> = [];
    calls.forEach((c, p) => {
      const value: HistoryEvent['value'] = c.f === 'cas' ? [c.a, c.b] : c.f === 'write' ? c.a : null;
      (slots[p] ??= []).push(inv(p, c.f, value));
      const at = p + c.len + 1;
      const end: HistoryEvent =
        c.end === 'info' ? { process: p, type: 'info', f: c.f, value: null }
        : c.end === 'fail' && c.f === 'cas' ? { process: p, type: 'fail', f: c.f, value }
        : { process: p, type: 'ok', f: c.f, value: c.f === 'read' ? c.a : value };
      (slots[at] ??= []).push(end);
    });
    return slots.flat().filter((e): e is HistoryEvent => e !== undefined);
  });

describe('agrees with a brute-force search', () => {
  it('on random small histories', () => {
    fc.assert(
      fc.property(arbHistory, (events) => {
        const ops = toOperations(events);
        expect(checkOperations(ops, registerModel).verdict).toBe(bruteForce(ops) ? 'linearizable' : 'not-linearizable');
      }),
      { numRuns: 3000 },
    );
  });
});
