import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PMap } from './pmap.js';

describe('PMap', () => {
  it('behaves like a Map and never changes a sealed version', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: fc.integer({ min: 0, max: 400 }), value: fc.integer() }),
      fc.record({ kind: fc.constant('remove' as const), key: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ kind: fc.constant('seal' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3_000 }), (ops) => {
        const model = new Map<string, number>();
        let current = PMap.empty<number>();
        let txn = current.asMutable();
        const versions: { map: PMap<number>; model: Map<string, number> }[] = [{ map: current, model: new Map() }];
        for (const o of ops) {
          if (o.kind === 'set') {
            txn.set(`key-${o.key}`, o.value);
            model.set(`key-${o.key}`, o.value);
          } else if (o.kind === 'remove') {
            txn.remove(`key-${o.key}`);
            model.delete(`key-${o.key}`);
          } else {
            current = txn.asImmutable();
            versions.push({ map: current, model: new Map(model) });
            txn = current.asMutable();
          }
        }
        versions.push({ map: txn.asImmutable(), model });
        for (const v of versions) {
          expect(v.map.size).toBe(v.model.size);
          const seen = new Map<string, number>();
          v.map.forEach((value, key) => seen.set(key, value));
          expect(seen).toEqual(v.model);
          for (const [k, value] of v.model) expect(v.map.get(k)).toBe(value);
        }
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it('set and remove on a sealed map return a changed copy and leave the original alone', () => {
    const a = PMap.of([['x', 1]]);
    const b = a.set('y', 2);
    const c = b.remove('x');
    expect([a.size, b.size, c.size]).toEqual([1, 2, 1]);
    expect(a.get('y')).toBeUndefined();
    expect(c.get('x')).toBeUndefined();
    expect(b.get('x')).toBe(1);
  });

  it('reports whether a transient was altered', () => {
    const a = PMap.of([['x', 1]]);
    const t = a.asMutable();
    expect(t.wasAltered()).toBe(false);
    t.remove('missing');
    expect(t.wasAltered()).toBe(false);
    t.set('x', 2);
    expect(t.wasAltered()).toBe(true);
  });

  it('two transients of one map never see each other\'s writes, and the map sees neither', () => {
    const base = PMap.of(Array.from({ length: 300 }, (_, i) => [`k${i}`, i] as const));
    const a = base.asMutable();
    const b = base.asMutable();
    for (let i = 0; i < 300; i += 3) a.set(`k${i}`, -i);
    for (let i = 0; i < 300; i += 5) b.remove(`k${i}`);
    b.set('new', 1);
    const sa = a.asImmutable();
    const sb = b.asImmutable();
    // A transient of a sealed transient copies before writing too.
    const c = sa.asMutable();
    c.set('k3', 333);
    for (let i = 0; i < 300; i++) {
      expect(base.get(`k${i}`)).toBe(i);
      expect(sa.get(`k${i}`)).toBe(i % 3 === 0 ? -i : i);
      expect(sb.get(`k${i}`)).toBe(i % 5 === 0 ? undefined : i);
    }
    expect([base.size, sa.size, sb.size, base.has('new'), sa.has('new')]).toEqual([300, 300, 241, false, false]);
    expect(c.get('k3')).toBe(333);
    expect(sa.get('k3')).toBe(-3);
  });

  it('a transient that writes nothing keeps the source map intact and unaltered', () => {
    const base = PMap.of([['x', 1]]);
    const t = base.asMutable();
    expect(t.get('x')).toBe(1);
    expect(t.wasAltered()).toBe(false);
    expect(t.asImmutable().get('x')).toBe(1);
  });

  it('getHashed/setHashed with PMap.hashOf agree with get/set, sealed versions unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 40 }), fc.integer()), { maxLength: 300 }), (writes) => {
        const plain = PMap.empty<number>().asMutable();
        const hashed = PMap.empty<number>().asMutable();
        const model = new Map<string, number>();
        let sealed: { map: PMap<number>; model: Map<string, number> } | null = null;
        for (const [i, [k, v]] of writes.entries()) {
          plain.set(k, v);
          hashed.setHashed(k, PMap.hashOf(k), v);
          model.set(k, v);
          if (i === Math.floor(writes.length / 2)) sealed = { map: PMap.of(model), model: new Map(model) };
        }
        expect([...hashed.entries()]).toEqual([...plain.entries()]);
        for (const [k, v] of model) expect(hashed.getHashed(k, PMap.hashOf(k))).toBe(v);
        expect(hashed.getHashed('absent-key', PMap.hashOf('absent-key'))).toBe(model.get('absent-key'));
        // An immutable map's setHashed returns a changed copy and leaves it alone.
        if (sealed !== null) {
          const next = sealed.map.setHashed('extra', PMap.hashOf('extra'), -1);
          expect(next.get('extra')).toBe(-1);
          expect(new Map(sealed.map.entries())).toEqual(sealed.model);
        }
      }),
    );
  });
});
