import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, framePacket, Memberlist } from '../core/index.js';
import type { MemberEvent } from '../core/index.js';
import { SimCluster } from '../sim/index.js';
import { generateKey, Keyring, KeyringSealer, keyringPath, loadKeyring, saveKeyring } from './index.js';

const SEED = process.env.GOSSIP_SEED !== undefined ? Number(process.env.GOSSIP_SEED) : 7;

describe('keyring', () => {
  it('install, use, remove, list; the primary encrypts', () => {
    const [k1, k2] = [generateKey(), generateKey()];
    const ring = new Keyring([k1]);
    ring.install(k2);
    ring.install(k2);
    expect(ring.list()).toEqual({ primary: k1, keys: [k1, k2] });
    ring.use(k2);
    expect(ring.list()).toEqual({ primary: k2, keys: [k2, k1] });
    ring.remove(k1);
    expect(ring.list()).toEqual({ primary: k2, keys: [k2] });
  });

  it('refuses bad keys and unsafe changes, naming the problem, and changes nothing', () => {
    const k1 = generateKey();
    const ring = new Keyring([k1]);
    expect(() => ring.install('not base64!')).toThrow(expect.objectContaining({ code: 'invalid_argument', field: 'key' }));
    expect(() => ring.install(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes \(AES-256\), got 16/);
    expect(() => ring.use(generateKey())).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => ring.remove(k1)).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => ring.remove(generateKey())).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => new Keyring([])).toThrow(expect.objectContaining({ field: 'keys' }));
    expect(ring.list()).toEqual({ primary: k1, keys: [k1] });
  });

  it('seals and opens; any installed key opens; truncated, tampered, wrong-key and unknown-version are refused with a reason', () => {
    const [k1, k2] = [generateKey(), generateKey()];
    const a = new KeyringSealer(new Keyring([k1]));
    const b = new KeyringSealer(new Keyring([k2, k1]));
    const plain = new TextEncoder().encode('hello gossip');
    const sealed = a.seal(plain);
    expect(sealed.length).toBe(plain.length + a.overhead);
    expect(b.open(sealed)).toEqual({ ok: true, data: plain });
    expect(a.open(sealed.subarray(0, 20))).toEqual({ ok: false, reason: 'truncated' });
    expect(a.open(new Uint8Array())).toEqual({ ok: false, reason: 'truncated' });
    const tampered = sealed.slice(); tampered[15]! ^= 1;
    expect(a.open(tampered)).toEqual({ ok: false, reason: 'decrypt-failed' });
    const v2 = sealed.slice(); v2[0] = 2;
    expect(a.open(v2)).toEqual({ ok: false, reason: 'unknown-version' });
    expect(new KeyringSealer(new Keyring([k2])).open(sealed)).toEqual({ ok: false, reason: 'decrypt-failed' });
  });
});

describe('keyring file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips with mode 0600 at <data_dir>/server/gossip.keyring', () => {
    dir = mkdtempSync(join(tmpdir(), 'gossip-keyring-'));
    const [k1, k2] = [generateKey(), generateKey()];
    const ring = new Keyring([k1, k2]);
    const path = keyringPath(dir);
    saveKeyring(path, ring);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual([k1, k2]);
    expect(loadKeyring(path).list()).toEqual(ring.list());
  });

  it('reports a missing or bad file naming it', () => {
    dir = mkdtempSync(join(tmpdir(), 'gossip-keyring-'));
    const path = join(dir, 'k');
    expect(() => loadKeyring(path)).toThrow(expect.objectContaining({ code: 'not_found' }));
    writeFileSync(path, '{');
    expect(() => loadKeyring(path)).toThrow(new RegExp(`${path}: not JSON`));
    writeFileSync(path, '[1]');
    expect(() => loadKeyring(path)).toThrow(/array of base64 keys/);
    writeFileSync(path, JSON.stringify(['AAAA']));
    expect(() => loadKeyring(path)).toThrow(expect.objectContaining({ field: 'keys[0]' }));
  });
});

describe('encrypted gossip', () => {
  it('drops and counts truncated, tampered, wrong-key, unknown-version and plaintext packets and streams; none changes anything', () => {
    const key = generateKey();
    const sealer = new KeyringSealer(new Keyring([key]));
    const c = new SimCluster({ seed: SEED, sealerFor: () => sealer });
    c.bootstrap(3);
    expect(c.allSeeAllAlive()).toBe(true);
    const target = c.get('m1');
    const attacker = c.net.transport('10.66.0.1:7946');
    attacker.listen({ packet: () => undefined, stream: () => undefined });
    const intruder = framePacket([encodeMessage({ t: 'alive', node: 'intruder', addr: '10.66.0.1:7946', inc: 9, tags: {} })]);
    const good = sealer.seal(intruder);
    const tampered = good.slice(); tampered[20]! ^= 0xff;
    const v9 = good.slice(); v9[0] = 9;
    const wrongKey = new KeyringSealer(new Keyring([generateKey()])).seal(intruder);
    const cases: [string, Uint8Array][] = [['truncated', good.subarray(0, 25)], ['decrypt-failed', tampered], ['decrypt-failed', wrongKey], ['unknown-version', v9], ['decrypt-failed', intruder]];
    const before = JSON.stringify(target.members());
    for (const [, data] of cases) attacker.sendPacket(c.addr('m1'), data);
    let streamReplies = 0;
    attacker.request(c.addr('m1'), tampered, 1000, (r) => { if (!(r instanceof Error)) streamReplies++; });
    c.run(2000);
    expect(JSON.stringify(target.members())).toBe(before);
    expect(streamReplies).toBe(0);
    expect(target.stats().dropped).toEqual({ truncated: 1, 'unknown-version': 1, 'decrypt-failed': 4, malformed: 0 });
    // The control: the same message, sealed with the cluster's key, is accepted.
    attacker.sendPacket(c.addr('m1'), good);
    c.run(10);
    expect(target.member('intruder')?.status).toBe('alive');
  });

  it('rotates keys without downtime: install everywhere, use everywhere, remove the old key', () => {
    const [k1, k2] = [generateKey(), generateKey()];
    const rings = new Map<string, Keyring>();
    const c = new SimCluster({ seed: SEED + 1, loss: 0.05, sealerFor: (name) => { const r = new Keyring([k1]); rings.set(name, r); return new KeyringSealer(r); } });
    const names = c.bootstrap(6);
    const events: MemberEvent[] = [];
    for (const n of names) c.get(n).subscribe((e) => events.push(e));
    const step = (f: (r: Keyring) => void): void => { for (const n of names) { f(rings.get(n)!); c.run(700); } c.run(5000); };
    step((r) => r.install(k2));
    step((r) => r.use(k2));
    step((r) => r.remove(k1));
    c.run(30_000);
    expect(events.filter((e) => e.type === 'failed' || e.type === 'suspect')).toEqual([]);
    for (const n of names) {
      expect(c.get(n).stats().dropped['decrypt-failed'], n).toBe(0);
      expect(rings.get(n)!.list()).toEqual({ primary: k2, keys: [k2] });
    }
    expect(c.allSeeAllAlive()).toBe(true);
    // A member still on the old key can no longer get in.
    const outsider = new Memberlist({ name: 'outsider' }, { clock: c.clock, rng: c.rng.fork(), transport: c.net.transport('10.77.0.1:7946'), sealer: new KeyringSealer(new Keyring([k1])) });
    outsider.start();
    let joinError: unknown;
    outsider.join([c.addr('m0')]).catch((e: unknown) => { joinError = e; });
    c.run(15_000);
    return Promise.resolve().then(() => {
      expect(joinError).toMatchObject({ code: 'unavailable' });
      expect(c.get('m0').member('outsider')).toBeUndefined();
    });
  });
});
