import { execFileSync } from 'node:child_process';
import { constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Socket } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameDecoder, LogSink, normalizeTimestamp, readPosition, sinceSeconds } from './logs.js';
import type { LogFrame } from './logs.js';

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('normalizeTimestamp', () => {
  it('pads the fraction to nanoseconds and converts offsets to UTC, so the text sorts as time', () => {
    expect(normalizeTimestamp('2026-11-22T16:13:45.0044556Z')).toBe('2026-11-22T16:13:45.004455600Z');
    expect(normalizeTimestamp('2026-11-22T16:13:45Z')).toBe('2026-11-22T16:13:45.000000000Z');
    expect(normalizeTimestamp('2026-11-22T18:13:45.5+02:00')).toBe('2026-11-22T16:13:45.500000000Z');
    expect(normalizeTimestamp('not a time')).toBeUndefined();
    expect(sinceSeconds('2026-11-22T16:13:45.500000000Z')).toBe(Date.UTC(2026, 10, 22, 16, 13, 45) / 1000);
  });
});

describe('FrameDecoder', () => {
  it('gives the same frames however the byte stream is chunked', () => {
    const frameArb = fc.record({ type: fc.constantFrom(1, 2), text: fc.string({ maxLength: 40 }), nanos: fc.integer({ min: 0, max: 999_999_999 }) });
    fc.assert(fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1 }), (frames, cuts) => {
      const wire = Buffer.concat(frames.map((f) => frame(f.type, `2026-01-02T03:04:05.${String(f.nanos).padStart(9, '0')}Z ${f.text}`)));
      const dec = new FrameDecoder(true);
      const got: LogFrame[] = [];
      let off = 0;
      for (let i = 0; off < wire.length; i++) {
        const n = cuts[i % cuts.length]!;
        got.push(...dec.push(wire.subarray(off, off + n)));
        off += n;
      }
      expect(got.map((g) => [g.stream, g.ts, g.payload.toString()])).toEqual(
        frames.map((f) => [f.type === 1 ? 'stdout' : 'stderr', `2026-01-02T03:04:05.${String(f.nanos).padStart(9, '0')}Z`, Buffer.from(f.text).toString()]),
      );
    }));
  });

  it('keeps a payload without a timestamp whole', () => {
    const [f] = new FrameDecoder(true).push(frame(2, 'no stamp here'));
    expect(f).toMatchObject({ stream: 'stderr', ts: '' });
    expect(f!.payload.toString()).toBe('no stamp here');
  });
});

describe('LogSink', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nomadts-dockerlogs-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const f = (stream: 'stdout' | 'stderr', ts: string, text: string): LogFrame => ({ stream, ts, payload: Buffer.from(text) });
  const t = (n: number): string => `2026-01-01T00:00:0${n}.000000000Z`;

  it('writes each message once across a replay, using the recorded position per stream', async () => {
    const paths = { stdout: join(dir, 'out'), stderr: join(dir, 'err') };
    const a = new LogSink(dir, paths, readPosition(dir, 'c1'), () => 0);
    a.write([f('stdout', t(1), 'o1\n'), f('stderr', t(2), 'e1\n'), f('stdout', t(3), 'o2\n')]);
    await a.written();
    // The agent dies here; the next one reads the position and replays from the earliest second.
    const pos = readPosition(dir, 'c1');
    expect(pos).toEqual({ container: 'c1', stdout: t(3), stderr: t(2) });
    const b = new LogSink(dir, paths, pos, () => 0);
    expect(b.since).toBe(sinceSeconds(t(2)));
    b.write([f('stdout', t(1), 'o1\n'), f('stderr', t(2), 'e1\n'), f('stdout', t(3), 'o2\n'), f('stderr', t(4), 'e2\n'), f('stdout', t(5), 'o3\n')]);
    await b.close();
    await a.close();
    expect(readFileSync(paths.stdout, 'utf8')).toBe('o1\no2\no3\n');
    expect(readFileSync(paths.stderr, 'utf8')).toBe('e1\ne2\n');
  });

  it('drops a message the engine repeats while the first copy is still being written', async () => {
    const paths = { stdout: join(dir, 'out'), stderr: join(dir, 'err') };
    const s = new LogSink(dir, paths, readPosition(dir, 'c1'), () => 0);
    s.write([f('stdout', t(1), 'a\n'), f('stdout', t(2), 'b\n')]);
    // Not awaited: the first write is in flight when the repeat (across the engine's rotation) comes.
    s.write([f('stdout', t(2), 'b\n'), f('stdout', t(3), 'c\n')]);
    await s.close();
    expect(readFileSync(paths.stdout, 'utf8')).toBe('a\nb\nc\n');
    expect(readPosition(dir, 'c1').stdout).toBe(t(3));
  });

  it('a position recorded for another container is not used', async () => {
    const s = new LogSink(dir, { stdout: join(dir, 'out'), stderr: join(dir, 'err') }, { container: 'old', stdout: '', stderr: '' }, () => 0);
    s.write([f('stdout', t(1), 'x')]);
    await s.close();
    expect(readPosition(dir, 'new')).toEqual({ container: 'new', stdout: '', stderr: '' });
  });

  it('writes into the task\'s log FIFOs without blocking: a full FIFO holds writes back until it is read', async () => {
    const paths = { stdout: join(dir, '.web.stdout.fifo'), stderr: join(dir, '.web.stderr.fifo') };
    execFileSync('mkfifo', [paths.stdout, paths.stderr]);
    const s = new LogSink(dir, paths, readPosition(dir, 'c1'), () => 0);
    // 256 KiB into a 64 KiB pipe nobody reads yet: write asks the caller to wait, nothing blocks.
    const big = Buffer.alloc(4096, 'a');
    let ok = true;
    for (let i = 0; i < 64; i++) ok = s.write([{ stream: 'stdout', ts: `2026-01-01T00:00:01.${String(i).padStart(9, '0')}Z`, payload: big }]) && ok;
    expect(ok).toBe(false);
    expect(readPosition(dir, 'c1').stdout).not.toBe('2026-01-01T00:00:01.000000063Z');
    // A reader (logmon's part) drains the FIFO: everything arrives, in order, and the position follows.
    const reader = new Socket({ fd: openSync(paths.stdout, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    let got = 0;
    reader.on('data', (c: Buffer) => (got += c.length));
    await s.drained();
    await s.close();
    await vi.waitFor(() => expect(got).toBe(64 * 4096), { timeout: 10_000, interval: 20 });
    reader.destroy();
    expect(readPosition(dir, 'c1').stdout).toBe('2026-01-01T00:00:01.000000063Z');
  });

  it('abandon lets go at once of a FIFO nobody reads, keeping the position of what was written', async () => {
    const paths = { stdout: join(dir, '.web.stdout.fifo'), stderr: join(dir, '.web.stderr.fifo') };
    execFileSync('mkfifo', [paths.stdout, paths.stderr]);
    const s = new LogSink(dir, paths, readPosition(dir, 'c1'), () => 0);
    s.write([f('stdout', t(1), 'first\n')]);
    await s.written();
    const big = Buffer.alloc(4096, 'a');
    for (let i = 0; i < 64; i++) s.write([{ stream: 'stdout', ts: t(2), payload: big }]);
    s.abandon();
    await s.written();
    await s.close();
    expect(readPosition(dir, 'c1').stdout).toBe(t(1));
  });

  it('refuses a log FIFO that does not exist instead of creating a plain file in its place', () => {
    const paths = { stdout: join(dir, '.web.stdout.fifo'), stderr: join(dir, '.web.stderr.fifo') };
    expect(() => new LogSink(dir, paths, readPosition(dir, 'c1'), () => 0)).toThrow(/log FIFO .*\.web\.stdout\.fifo does not exist/);
    expect(existsSync(paths.stdout)).toBe(false);
  });
});
