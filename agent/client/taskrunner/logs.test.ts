import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NomadError, VirtualClock } from '../../core/lib/index.js';
import { RotatingLogWriter, TaskLogs } from './logs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nomadts-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(): Promise<string[]> {
  return (await readdir(dir)).sort();
}

async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts).toString();
}

/**
 * Let the reader's fs calls (thread pool) complete, advancing the virtual clock one
 * poll at a time, until `done()` or a bounded number of rounds (no timing assertion:
 * the caller checks the outcome).
 */
async function pump(clock: VirtualClock, done: () => boolean, pollMs = 100, rounds = 500): Promise<void> {
  for (let i = 0; i < rounds && !done(); i++) {
    await new Promise((r) => setTimeout(r, 1));
    clock.advance(pollMs);
  }
}

describe('RotatingLogWriter', () => {
  it('rotates at max size and keeps only max_files, deleting the oldest', async () => {
    const w = new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 3, maxFileSizeBytes: 10 });
    w.write('0123456789abcdefghij'); // fills .0 and .1
    w.write('KLMNO');
    expect(await files()).toEqual(['web.stdout.0', 'web.stdout.1', 'web.stdout.2']);
    w.write('PQRSTUVWXYZ'); // .2 full at 10, then .3 gets 6 bytes: .0 is purged
    expect(await files()).toEqual(['web.stdout.1', 'web.stdout.2', 'web.stdout.3']);
    expect(await readFile(join(dir, 'web.stdout.1'), 'utf8')).toBe('abcdefghij');
    expect(await readFile(join(dir, 'web.stdout.2'), 'utf8')).toBe('KLMNOPQRST');
    expect(await readFile(join(dir, 'web.stdout.3'), 'utf8')).toBe('UVWXYZ');
    w.close();
    expect(() => w.write('x')).toThrow(/closed/);
  });

  it('keeps stdout and stderr and other tasks apart', async () => {
    const out = new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 2, maxFileSizeBytes: 4 });
    const err = new RotatingLogWriter(dir, 'web', 'stderr', { maxFiles: 2, maxFileSizeBytes: 4 });
    await writeFile(join(dir, 'web2.stdout.0'), 'other task');
    out.write('aaaabbbbcccc');
    err.write('e');
    out.close();
    err.close();
    expect(await files()).toEqual(['web.stderr.0', 'web.stdout.1', 'web.stdout.2', 'web2.stdout.0']);
  });

  it('continues at the highest index after a re-open, appending while there is room', async () => {
    const w1 = new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 5, maxFileSizeBytes: 10 });
    w1.write('0123456789abc');
    w1.close();
    const w2 = new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 5, maxFileSizeBytes: 10 });
    expect(w2.currentIndex).toBe(1);
    w2.write('defghijXY');
    w2.close();
    expect(await files()).toEqual(['web.stdout.0', 'web.stdout.1', 'web.stdout.2']);
    expect(await readFile(join(dir, 'web.stdout.1'), 'utf8')).toBe('abcdefghij');
    // A full last file: the re-opened writer starts the next one.
    const w3 = new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 2, maxFileSizeBytes: 2 });
    expect(w3.currentIndex).toBe(3);
    expect(await files()).toEqual(['web.stdout.2', 'web.stdout.3']);
    w3.close();
  });

  it('refuses nonsensical limits', () => {
    expect(() => new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 0, maxFileSizeBytes: 10 })).toThrow(NomadError);
    expect(() => new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 1, maxFileSizeBytes: 0 })).toThrow(/max_file_size/);
  });
});

describe('TaskLogs.readLogs', () => {
  it('returns the bytes in order across rotated files, from an offset or from the end', async () => {
    const logs = new TaskLogs(dir, new VirtualClock(0));
    const w = logs.openWriter('web', 'stdout', { maxFiles: 10, maxFileSizeMB: 7 / (1024 * 1024), disabled: false });
    const text = Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join('');
    w.write(text);
    w.close();
    expect((await files()).length).toBeGreaterThan(5);
    // 10 files of 7 bytes kept: the oldest retained byte is where the reader starts.
    const kept = text.slice(text.length - (await collect(logs.readLogs('web', 'stdout'))).length);
    expect(await collect(logs.readLogs('web', 'stdout', { chunkBytes: 3 }))).toBe(kept);
    expect(await collect(logs.readLogs('web', 'stdout', { offset: 12 }))).toBe(kept.slice(12));
    expect(await collect(logs.readLogs('web', 'stdout', { offset: 9, origin: 'end' }))).toBe(kept.slice(-9));
    expect(await collect(logs.readLogs('web', 'stdout', { offset: 10_000 }))).toBe('');
    expect(await collect(logs.readLogs('web', 'stderr'))).toBe('');
    await expect(collect(logs.readLogs('web', 'stdout', { offset: -1 }))).rejects.toThrow(/offset/);
  });

  it('reads everything when nothing was purged', async () => {
    const logs = new TaskLogs(dir, new VirtualClock(0));
    const w = new RotatingLogWriter(dir, 'api', 'stderr', { maxFiles: 100, maxFileSizeBytes: 5 });
    const text = 'the quick brown fox jumps over the lazy dog';
    w.write(text);
    w.close();
    expect(await collect(logs.readLogs('api', 'stderr'))).toBe(text);
  });

  it('follows new bytes and new files on the clock until aborted, even when its file is purged', async () => {
    const clock = new VirtualClock(0);
    const logs = new TaskLogs(dir, clock);
    const w = new RotatingLogWriter(dir, 'web', 'stdout', { maxFiles: 3, maxFileSizeBytes: 8 });
    w.write('hello ');
    const ac = new AbortController();
    const got: string[] = [];
    let finished = false;
    const reading = (async () => {
      for await (const b of logs.readLogs('web', 'stdout', { follow: true, signal: ac.signal, pollMs: 100 })) got.push(b.toString());
      finished = true;
    })();
    await pump(clock, () => got.join('') === 'hello ');
    expect(got.join('')).toBe('hello ');
    w.write('world, rotating now');
    // .0 was purged while the reader was on it: its open handle still reads it to the end.
    expect(await files()).toEqual(['web.stdout.1', 'web.stdout.2', 'web.stdout.3']);
    await pump(clock, () => got.join('') === 'hello world, rotating now');
    expect(got.join('')).toBe('hello world, rotating now');
    expect(finished).toBe(false);
    ac.abort();
    await pump(clock, () => finished);
    await reading;
    expect(finished).toBe(true);
    w.close();
  });

  it('follows a log that does not exist yet', async () => {
    const clock = new VirtualClock(0);
    const logs = new TaskLogs(dir, clock);
    const ac = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const b of logs.readLogs('late', 'stdout', { follow: true, signal: ac.signal, pollMs: 50 })) got.push(b.toString());
    })();
    await pump(clock, () => false, 50, 20);
    const w = new RotatingLogWriter(dir, 'late', 'stdout', { maxFiles: 2, maxFileSizeBytes: 100 });
    w.write('first words');
    await pump(clock, () => got.length > 0, 50);
    expect(got.join('')).toBe('first words');
    ac.abort();
    await reading;
    w.close();
  });
});
