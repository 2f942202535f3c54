import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VirtualClock } from '../../core/lib/index.js';
import { Awareness, BroadcastQueue, decodePacket, decodeStream, encodeMessage, encodeStream, framePacket, resolveConfig, retransmitLimit, serverTags, Suspicion, suspicionTimeout, suspicionTotal } from './index.js';

describe('suspicion timeouts (Lifeguard)', () => {
  it('minimum scales with log10 N, never below one probe multiple', () => {
    expect(suspicionTimeout(4, 1, 1000)).toBe(4000);
    expect(suspicionTimeout(4, 10, 1000)).toBe(4000);
    expect(suspicionTimeout(4, 100, 1000)).toBe(8000);
    expect(suspicionTimeout(4, 1000, 1000)).toBe(12000);
  });

  it('total falls from max to min as confirmations arrive, monotonically', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 100, max: 60_000 }), fc.integer({ min: 1, max: 10 }), (k, min, mult) => {
      const max = min * mult;
      expect(suspicionTotal(0, k, min, max)).toBe(max);
      expect(suspicionTotal(k, k, min, max)).toBe(min);
      for (let n = 1; n <= k; n++) expect(suspicionTotal(n, k, min, max)).toBeLessThanOrEqual(suspicionTotal(n - 1, k, min, max));
    }));
  });

  it('fires at max without confirmations, sooner with them; duplicates and the originator do not count', () => {
    const clock = new VirtualClock(0);
    let firedAt = -1;
    const s = new Suspicion(clock, 'a', 2, 8000, 48000, () => { firedAt = clock.now(); });
    expect(s.confirm('a')).toBe(false);
    clock.advance(1000);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    clock.advance(1000);
    expect(s.confirm('c')).toBe(true);
    expect(s.confirm('d')).toBe(false); // k reached
    clock.advance(100_000);
    expect(firedAt).toBe(8000);

    const lone = new VirtualClock(0);
    let loneAt = -1;
    new Suspicion(lone, 'a', 2, 8000, 48000, () => { loneAt = lone.now(); });
    lone.advance(100_000);
    expect(loneAt).toBe(48000);
  });

  it('fires at once when a confirmation arrives after the shortened deadline has passed', () => {
    const clock = new VirtualClock(0);
    let fired = 0;
    const s = new Suspicion(clock, 'a', 1, 1000, 6000, () => { fired++; });
    clock.advance(2000);
    s.confirm('b');
    clock.advance(0);
    expect(fired).toBe(1);
  });
});

describe('broadcast queue', () => {
  it('retransmit limit is λ·⌈log10(N+1)⌉', () => {
    expect(retransmitLimit(4, 1)).toBe(4);
    expect(retransmitLimit(4, 9)).toBe(4);
    expect(retransmitLimit(4, 10)).toBe(8);
    expect(retransmitLimit(4, 100)).toBe(12);
    expect(retransmitLimit(4, 1000)).toBe(16);
  });

  it('sends each broadcast at most the limit, least-sent first, and a newer one about a member replaces the old', () => {
    const q = new BroadcastQueue(() => 2);
    const msg = (s: string): string => `"${s.padEnd(50, '.')}"`;
    const done: string[] = [];
    q.enqueue('a', msg('a1'), () => done.push('a1'));
    q.enqueue('b', msg('b1'), () => done.push('b1'));
    q.enqueue('a', msg('a2'), () => done.push('a2'));
    expect(done).toEqual(['a1']);
    expect(q.take(1000, 1).sort()).toEqual([msg('a2'), msg('b1')]);
    q.enqueue('c', msg('c1'));
    expect(q.take(60, 1)).toEqual([msg('c1')]); // only one fits; the unsent one goes first
    expect(q.take(1000, 1).sort()).toEqual([msg('a2'), msg('b1'), msg('c1')]);
    expect(done.sort()).toEqual(['a1', 'a2', 'b1']);
    expect(q.size()).toBe(0);
  });
});

describe('awareness', () => {
  it('scales timeouts by score+1 within [0, max-1]', () => {
    const a = new Awareness(8);
    a.applyDelta(-3);
    expect(a.scale(500)).toBe(500);
    a.applyDelta(20);
    expect(a.health()).toBe(7);
    expect(a.scale(500)).toBe(4000);
  });
});

describe('codec', () => {
  it('round-trips every message kind in one compound packet', () => {
    const msgs = [
      { t: 'ping', seq: 1, node: 'a' },
      { t: 'ping-req', seq: 2, node: 'b', addr: '10.0.0.2:7946', nack: true },
      { t: 'ack', seq: 3 },
      { t: 'nack', seq: 4 },
      { t: 'alive', node: 'c', addr: '10.0.0.3:7946', inc: 5, tags: serverTags({ region: 'global', datacenter: 'dc1', raftAddr: '10.0.0.3:4647', build: '0.1.0' }) },
      { t: 'suspect', node: 'd', inc: 6, from: 'a' },
      { t: 'dead', node: 'e', inc: 7, from: 'e' },
    ] as const;
    const d = decodePacket(framePacket(msgs.map((m) => encodeMessage(m))));
    expect(d).toEqual({ ok: true, value: msgs });
    const s = decodeStream(encodeStream({ t: 'push-pull', join: true, states: [{ node: 'a', addr: 'x:1', inc: 0, status: 'failed', tags: {} }] }));
    expect(s.ok && s.value.t === 'push-pull' && s.value.states[0]!.status).toBe('failed');
  });

  const enc = (s: string): Uint8Array => { const b = new TextEncoder().encode(s); const o = new Uint8Array(b.length + 1); o[0] = 1; o.set(b, 1); return o; };

  it('drops truncated, unknown-version and malformed input with the reason', () => {
    expect(decodePacket(new Uint8Array([]))).toEqual({ ok: false, reason: 'truncated' });
    expect(decodePacket(new Uint8Array([1]))).toEqual({ ok: false, reason: 'truncated' });
    const good = framePacket([encodeMessage({ t: 'ack', seq: 1 })]);
    const v9 = good.slice(); v9[0] = 9;
    expect(decodePacket(v9)).toEqual({ ok: false, reason: 'unknown-version' });
    expect(decodePacket(good.subarray(0, good.length - 1))).toEqual({ ok: false, reason: 'malformed' });
    for (const bad of ['{}', '[]', '[1]', '[{"t":"ping","seq":-1,"node":"a"}]', '[{"t":"ping","seq":1,"node":""}]', '[{"t":"alive","node":"a","addr":"x","inc":1,"tags":{"k":1}}]',
      '[{"t":"ping-req","seq":1,"node":"a","addr":"x","nack":"yes"}]', '[{"t":"boom"}]', '[{"t":"ack","seq":1.5}]', '[{"t":"ack","seq":1},null]']) {
      expect(decodePacket(enc(bad)), bad).toEqual({ ok: false, reason: 'malformed' });
    }
    for (const bad of ['{"t":"push-pull","join":1,"states":[]}', '{"t":"push-pull","join":true,"states":[{"node":"a","addr":"x","inc":0,"status":"zombie","tags":{}}]}', '{"t":"dead","node":"a","inc":1,"from":"a"}', '[]']) {
      expect(decodeStream(enc(bad)), bad).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      expect(decodePacket(b).ok === true || decodePacket(b).ok === false).toBe(true);
      expect(() => decodeStream(b)).not.toThrow();
    }));
  });
});

describe('configuration', () => {
  it('fills memberlist LAN defaults', () => {
    const c = resolveConfig({ name: 'a' });
    expect([c.probeIntervalMs, c.probeTimeoutMs, c.gossipIntervalMs, c.gossipNodes, c.indirectChecks, c.retransmitMult, c.suspicionMult, c.suspicionMaxTimeoutMult]).toEqual([1000, 500, 200, 3, 3, 4, 4, 6]);
  });

  it('refuses bad values naming the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '' }, 'name'],
      [{ name: 'a', probeIntervalMs: 0 }, 'probeIntervalMs'],
      [{ name: 'a', gossipNodes: Number.NaN }, 'gossipNodes'],
      [{ name: 'a', indirectChecks: -1 }, 'indirectChecks'],
      [{ name: 'a', probeTimeoutMs: 2000 }, 'probeTimeoutMs'],
      [{ name: 'a', suspicionMaxTimeoutMult: 0.5 }, 'suspicionMaxTimeoutMult'],
      [{ name: 'a', tags: { big: 'x'.repeat(600) } }, 'tags'],
      [{ name: 'a', tags: { n: 3 } }, 'tags.n'],
    ];
    for (const [c, field] of cases) {
      expect(() => resolveConfig(c as never), JSON.stringify(c)).toThrow(expect.objectContaining({ code: 'invalid_argument', field }));
    }
  });
});
