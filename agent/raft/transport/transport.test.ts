import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { NomadError } from '../../core/lib/index.js';
import type { Entry, Message } from '../core/index.js';
import type { CertificateBundle } from '../../tls/index.js';
import { createCA, createCert } from '../../tls/index.js';
import * as pb from '../../../proto/index.js';
import { GrpcTransport, MemoryNetwork, messageFromProto, messageToProto } from './index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = ''): Entry => ({ index, term, type: 'normal', data: bytes(data) });
const conf = { voters: ['a', 'b', 'c'], learners: ['d'] };

/** One message of every type, with every field set to something other than its zero value. */
const everyType: Message[] = [
  { type: 'app', from: 'a', to: 'b', term: 3, index: 7, logTerm: 2, commit: 6, entries: [entry(8, 3, 'x'), { index: 9, term: 3, type: 'noop', data: new Uint8Array() }, { index: 10, term: 3, type: 'conf-change', data: bytes('cc') }] },
  { type: 'app-resp', from: 'b', to: 'a', term: 3, index: 7, reject: true, rejectHint: 5, logTerm: 2 },
  { type: 'vote', from: 'a', to: 'b', term: 4, index: 10, logTerm: 3, transfer: true },
  { type: 'prevote', from: 'a', to: 'c', term: 5, index: 10, logTerm: 3, transfer: false },
  { type: 'vote-resp', from: 'b', to: 'a', term: 4, reject: true },
  { type: 'prevote-resp', from: 'c', to: 'a', term: 5, reject: false },
  { type: 'heartbeat', from: 'a', to: 'b', term: 3, commit: 6, ctx: 'read-1' },
  { type: 'heartbeat-resp', from: 'b', to: 'a', term: 3, ctx: 'read-1' },
  { type: 'snap', from: 'a', to: 'b', term: 3, meta: { index: 100, term: 2, conf: { ...conf, promoting: ['d'] } }, offset: 1024, chunk: bytes('chunk'), done: true },
  { type: 'snap', from: 'a', to: 'b', term: 3, meta: { index: 100, term: 2, conf }, offset: 0, chunk: new Uint8Array(), done: false },
  { type: 'snap-resp', from: 'b', to: 'a', term: 3, index: 100, offset: 2048, reject: true },
  { type: 'timeout-now', from: 'a', to: 'b', term: 3 },
  { type: 'read-index', from: 'b', to: 'a', term: 3, ctx: 'r7' },
  { type: 'read-index-resp', from: 'a', to: 'b', term: 3, ctx: 'r7', index: 42, reject: true },
  { type: 'transfer-leader', from: 'b', to: 'a', term: 3, target: 'c' },
];

/** Through protobuf bytes and back, as the wire does it. */
const overTheWire = (m: Message): Message => messageFromProto(pb.RaftMessage.decode(pb.RaftMessage.encode(messageToProto(m)).finish()));
/** Uint8Array subclasses (Buffer) compare unequal to plain Uint8Arrays in toEqual: compare as arrays. */
const plain = (m: Message): unknown => JSON.parse(JSON.stringify(m, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));

describe('Raft messages on the wire', () => {
  it('round-trip every message type losslessly', () => {
    for (const m of everyType) expect(plain(overTheWire(m))).toEqual(plain(m));
  });

  it('round-trip arbitrary append messages', () => {
    const arbEntry = fc.record({ index: fc.nat(), term: fc.nat(), type: fc.constantFrom('normal' as const, 'noop' as const, 'conf-change' as const), data: fc.uint8Array({ maxLength: 64 }) });
    fc.assert(fc.property(fc.record({ from: fc.string(), to: fc.string(), term: fc.nat(), index: fc.nat(), logTerm: fc.nat(), commit: fc.nat(), entries: fc.array(arbEntry, { maxLength: 8 }) }), (r) => {
      const m: Message = { type: 'app', ...r };
      expect(plain(overTheWire(m))).toEqual(plain(m));
    }));
  });

  it('refuses an unknown message type, naming the field', () => {
    const p = messageToProto(everyType[0]!);
    p.type = 99 as pb.RaftMessageType;
    expect(() => messageFromProto(p)).toThrow(NomadError);
    expect(() => messageFromProto(p)).toThrow(/^message\.type: unknown Raft message type 99$/);
    p.type = pb.RaftMessageType.RAFT_MESSAGE_TYPE_UNSPECIFIED;
    expect(() => messageFromProto(p, 'm')).toThrow(/m\.type: unknown Raft message type 0/);
  });

  it('refuses a snap message without its meta or membership', () => {
    const p = messageToProto(everyType[8]!);
    const { conf: _c, ...metaWithoutConf } = p.snapshotMeta!;
    expect(() => messageFromProto({ ...p, snapshotMeta: metaWithoutConf })).toThrow(/snapshotMeta\.conf: missing/);
    const { snapshotMeta: _m, ...noMeta } = p;
    try {
      messageFromProto(noMeta);
      expect.unreachable();
    } catch (err) {
      expect((err as NomadError).field).toBe('message.snapshotMeta');
    }
  });

  it('refuses an entry of unknown type, naming which entry', () => {
    const p = messageToProto(everyType[0]!);
    p.entries[1]!.type = pb.RaftEntryType.RAFT_ENTRY_TYPE_UNSPECIFIED;
    expect(() => messageFromProto(p)).toThrow(/message\.entries\[1\]\.type: unknown Raft entry type 0/);
  });
});

describe('MemoryNetwork', () => {
  const hb = (from: string, to: string, commit = 0): Message => ({ type: 'heartbeat', from, to, term: 1, commit, ctx: '' });

  function threeServers(): { net: MemoryNetwork; got: Record<string, Message[]> } {
    const net = new MemoryNetwork();
    const got: Record<string, Message[]> = { a: [], b: [], c: [] };
    for (const id of ['a', 'b', 'c']) {
      const t = net.transport(id);
      t.onMessage((m) => got[id]!.push(m));
      for (const p of ['a', 'b', 'c']) if (p !== id) t.addPeer(p, '');
    }
    return { net, got };
  }

  it('delivers asynchronously, in order per sender', async () => {
    const { net, got } = threeServers();
    net.transport('a').send([hb('a', 'b', 1), hb('a', 'c', 1), hb('a', 'b', 2)]);
    expect(got.b).toEqual([]);
    await vi.waitFor(() => expect(got.b!.map((m) => (m as { commit: number }).commit)).toEqual([1, 2]));
    expect(got.c).toHaveLength(1);
  });

  it('drops messages across a partition until healed, and to unknown peers', async () => {
    const { net, got } = threeServers();
    net.partition('a', 'b');
    net.transport('a').send([hb('a', 'b'), hb('a', 'c'), hb('a', 'z')]);
    net.transport('b').send([hb('b', 'a')]);
    await vi.waitFor(() => expect(got.c).toHaveLength(1));
    expect(got.b).toEqual([]);
    expect(got.a).toEqual([]);
    expect(net.transport('a').stats()).toEqual({ sent: 3, dropped: 2, received: 0 });
    net.heal();
    net.transport('a').send([hb('a', 'b')]);
    await vi.waitFor(() => expect(got.b).toHaveLength(1));
  });

  it('isolates a server and drops by predicate', async () => {
    const { net, got } = threeServers();
    net.isolate('c');
    net.setDrop((m) => m.type === 'heartbeat' && m.commit === 9);
    net.transport('a').send([hb('a', 'c'), hb('a', 'b', 9), hb('a', 'b', 8)]);
    await vi.waitFor(() => expect(got.b).toHaveLength(1));
    expect((got.b![0] as { commit: number }).commit).toBe(8);
    expect(got.c).toEqual([]);
  });

  it('a closed transport neither sends nor receives; a new one takes its place on restart', async () => {
    const { net, got } = threeServers();
    const b = net.transport('b');
    await b.close();
    net.transport('a').send([hb('a', 'b')]);
    b.send([hb('b', 'a')]);
    await new Promise((res) => setImmediate(res));
    await new Promise((res) => setImmediate(res));
    expect(got.b).toEqual([]);
    expect(got.a).toEqual([]);
    const b2 = net.transport('b');
    expect(b2).not.toBe(b);
    const got2: Message[] = [];
    b2.onMessage((m) => got2.push(m));
    net.transport('a').send([hb('a', 'b')]);
    await vi.waitFor(() => expect(got2).toHaveLength(1));
  });
});

describe('GrpcTransport over mutual TLS', () => {
  let ca: CertificateBundle;
  const certs: Record<string, CertificateBundle> = {};
  const open: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    ca = await createCA();
    certs.server = await createCert({ ca, role: 'server' });
    certs.client = await createCert({ ca, role: 'client' });
    certs.cli = await createCert({ ca, role: 'cli' });
    certs.otherRegion = await createCert({ ca, role: 'server', region: 'eu' });
  });
  afterEach(async () => {
    for (const close of open.splice(0)) await close();
  });

  async function start(id: string, bundle: CertificateBundle, o: { window?: number; maxBatchMessages?: number; maxQueue?: number; ackEvery?: number } = {}): Promise<{ t: GrpcTransport; addr: string; got: Message[]; logs: string[]; srv: grpc.Server }> {
    const logs: string[] = [];
    const t = new GrpcTransport({ id, region: 'global', tls: { caPem: ca.certPem, certPem: bundle.certPem, keyPem: bundle.keyPem }, log: (l) => logs.push(l), ...o });
    const srv = new grpc.Server();
    t.addService(srv);
    const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server!.keyPem), cert_chain: Buffer.from(certs.server!.certPem) }], true);
    const port = await new Promise<number>((res, rej) => srv.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
    const got: Message[] = [];
    t.onMessage((m) => got.push(m));
    open.push(async () => { await t.close(); srv.forceShutdown(); });
    return { t, addr: `127.0.0.1:${port}`, got, logs, srv };
  }

  const app = (from: string, to: string, i: number): Message => ({ type: 'app', from, to, term: 1, index: i, logTerm: 1, commit: 0, entries: [entry(i + 1, 1, `e${i}`)] });

  it('carries messages between two servers both ways, in order, through a window of one batch', async () => {
    const a = await start('a', certs.server!, { window: 1, maxBatchMessages: 7 });
    const b = await start('b', certs.server!, { ackEvery: 1 });
    a.t.addPeer('b', b.addr);
    b.t.addPeer('a', a.addr);
    const n = 500;
    for (let i = 0; i < n; i++) a.t.send([app('a', 'b', i)]);
    b.t.send([{ type: 'app-resp', from: 'b', to: 'a', term: 1, index: 9, reject: false, rejectHint: 0, logTerm: 0 }]);
    await vi.waitFor(() => expect(b.got).toHaveLength(n), { timeout: 20_000 });
    expect(b.got.map((m) => (m as { index: number }).index)).toEqual([...Array(n).keys()]);
    expect(new TextDecoder().decode((b.got[3] as Message & { type: 'app' }).entries[0]!.data)).toBe('e3');
    await vi.waitFor(() => expect(a.got).toHaveLength(1));
    expect(a.t.stats()).toMatchObject({ sent: n, dropped: 0, received: 1, queued: 0 });
  });

  it('keeps sending through a window smaller than the receiver acknowledges at (its delayed acknowledgements)', async () => {
    const a = await start('a', certs.server!, { window: 2, maxBatchMessages: 1 });
    const b = await start('b', certs.server!);
    a.t.addPeer('b', b.addr);
    for (let i = 0; i < 20; i++) a.t.send([app('a', 'b', i)]);
    await vi.waitFor(() => expect(b.got).toHaveLength(20), { timeout: 10_000 });
    expect(b.got.map((m) => (m as { index: number }).index)).toEqual([...Array(20).keys()]);
  });

  it('drops messages addressed to an unknown peer, and to another server than the receiver', async () => {
    const a = await start('a', certs.server!);
    const b = await start('b', certs.server!);
    a.t.addPeer('b', b.addr);
    a.t.send([app('a', 'nobody', 0)]);
    expect(a.t.stats()).toMatchObject({ sent: 1, dropped: 1 });
    a.t.addPeer('c', b.addr); // wrongly points at b: b must not take c's message
    a.t.send([app('a', 'c', 1), app('a', 'b', 2)]);
    await vi.waitFor(() => expect(b.got).toHaveLength(1));
    expect((b.got[0] as { index: number }).index).toBe(2);
    await vi.waitFor(() => expect(b.t.stats().dropped).toBe(1));
  });

  for (const who of ['client', 'cli', 'otherRegion'] as const) {
    it(`refuses a stream from a ${who} certificate: nothing reaches the Raft node`, async () => {
      const b = await start('b', certs.server!);
      const intruder = await start('x', certs[who]!);
      intruder.t.addPeer('b', b.addr);
      intruder.t.send([app('x', 'b', 0)]);
      await vi.waitFor(() => expect(b.logs.join('\n')).toMatch(who === 'otherRegion' ? /certificate is for region eu, this agent serves region global/ : new RegExp(`certificate role ${who} may not call this endpoint; allowed: server`)));
      await vi.waitFor(() => expect(intruder.logs.join('\n')).toMatch(/stream to b .* failed/));
      expect(b.got).toEqual([]);
    });
  }

  it("tells the node when a peer's connections break (its process died), not when they are merely idle", async () => {
    const a = await start('a', certs.server!);
    const b = await start('b', certs.server!);
    const lost: string[] = [];
    a.t.onConnectionLost((peer) => lost.push(peer));
    a.t.addPeer('b', b.addr);
    b.t.addPeer('a', a.addr);
    a.t.send([app('a', 'b', 0)]);
    b.t.send([{ type: 'app-resp', from: 'b', to: 'a', term: 1, index: 1, reject: false, rejectHint: 0, logTerm: 0 }]);
    await vi.waitFor(() => expect(b.got).toHaveLength(1));
    await vi.waitFor(() => expect(a.got).toHaveLength(1));
    await new Promise((r) => setTimeout(r, 100));
    expect(lost).toEqual([]);
    // b dies: its listener and its own stream to a go down together.
    b.srv.forceShutdown();
    await b.t.close();
    await vi.waitFor(() => expect(lost).toContain('b'));
    expect(new Set(lost)).toEqual(new Set(['b']));
  });

  it('bounds the queue to an unreachable peer and keeps trying', async () => {
    // One batch of one message in flight, ten waiting: of 25 messages, 14 are dropped at once.
    const a = await start('a', certs.server!, { window: 1, maxBatchMessages: 1, maxQueue: 10 });
    a.t.addPeer('b', '127.0.0.1:1');
    for (let i = 0; i < 25; i++) a.t.send([app('a', 'b', i)]);
    expect(a.t.stats()).toMatchObject({ sent: 25, dropped: 14, queued: 10 });
    await vi.waitFor(() => expect(a.logs.join('\n')).toMatch(/stream to b \(127\.0\.0\.1:1\) failed/));
  });
});
