/**
 * logmon with real processes: a writer on the FIFO (as a task would be), rotation to the
 * configured number of files, read back through TaskLogs; a logmon killed and replaced keeps
 * the same sequence; SIGTERM drains and exits. Waits poll for a state; nothing asserts a duration.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../runtime/index.js';
import type { LogmonHandle } from './logmon.js';
import { logFifoPath, logmonAlive, startLogmon, stopLogmon } from './logmon.js';
import { TaskLogs } from './logs.js';

let dir: string;
const started: LogmonHandle[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nomadts-logmon-'));
});
afterEach(() => {
  for (const h of started.splice(0)) {
    try {
      process.kill(h.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}; files: ${readdirSync(dir).join(' ')}`);
}

function files(stream: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(`web.${stream}.`)).sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
}

async function readAll(stream: 'stdout' | 'stderr'): Promise<string> {
  let s = '';
  for await (const b of new TaskLogs(dir, new SystemClock()).readLogs('web', stream)) s += b.toString();
  return s;
}

/** 100-byte numbered lines. */
function lines(from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${String(i).padStart(6, '0')} ${'x'.repeat(92)}\n`;
  return s;
}

describe('logmon', () => {
  it('rotates what the task writes to the configured number of files, stdout and stderr apart', async () => {
    const h = await startLogmon(dir, 'web', { maxFiles: 3, maxFileSizeBytes: 1000 });
    started.push(h);
    const out = openSync(logFifoPath(dir, 'web', 'stdout'), 'a');
    const err = openSync(logFifoPath(dir, 'web', 'stderr'), 'a');
    writeSync(out, lines(0, 55)); // 5,500 bytes: files 0..5, of which 3..5 are kept
    writeSync(err, 'oops\n');
    closeSync(out);
    closeSync(err);
    await until('rotation to web.stdout.5', () => files('stdout').includes('web.stdout.5') && (files('stdout').length === 3));
    expect(files('stdout')).toEqual(['web.stdout.3', 'web.stdout.4', 'web.stdout.5']);
    await until('the last line', () => readAllSync().endsWith(lines(54, 55)));
    expect(await readAll('stdout')).toBe(lines(30, 55));
    expect(await readAll('stderr')).toBe('oops\n');
    // The stop file: drains and exits.
    expect(stopLogmon(dir, 'web', h)).toBe(true);
    await until('logmon to exit', () => !logmonAlive(h));
  });

  it('a replacement logmon (the old one died) continues the same sequence on the same FIFO', async () => {
    const h1 = await startLogmon(dir, 'web', { maxFiles: 10, maxFileSizeBytes: 1000 });
    started.push(h1);
    const out = openSync(logFifoPath(dir, 'web', 'stdout'), 'a');
    writeSync(out, lines(0, 15));
    await until('1,500 bytes written', () => files('stdout').length === 2);
    process.kill(h1.pid, 'SIGKILL');
    await until('the first logmon to die', () => !logmonAlive(h1));
    const h2 = await startLogmon(dir, 'web', { maxFiles: 10, maxFileSizeBytes: 1000 });
    started.push(h2);
    // The task's write end never closed: it goes on writing into the same FIFO.
    writeSync(out, lines(15, 25));
    closeSync(out);
    await until('2,500 bytes in three files', () => files('stdout').length === 3 && readAllSync().length === 2500);
    expect(await readAll('stdout')).toBe(lines(0, 25));
  });

  it('a stop asked for before logmon has booted still writes everything the task wrote', async () => {
    const h = await startLogmon(dir, 'web', { maxFiles: 2, maxFileSizeBytes: 1_000_000 });
    started.push(h);
    const out = openSync(logFifoPath(dir, 'web', 'stdout'), 'a');
    writeSync(out, lines(0, 20));
    closeSync(out);
    expect(stopLogmon(dir, 'web', h)).toBe(true);
    await until('logmon to exit', () => !logmonAlive(h));
    expect(await readAll('stdout')).toBe(lines(0, 20));
    expect(stopLogmon(dir, 'web', h)).toBe(false);
  });

  it('refuses bad logs settings, naming the field, and a non-FIFO in the FIFO\'s place', async () => {
    await expect(startLogmon(dir, 'web', { maxFiles: 0, maxFileSizeBytes: 10 })).rejects.toMatchObject({ field: 'logs.max_files' });
    await expect(startLogmon(dir, 'web', { maxFiles: 1, maxFileSizeBytes: 0 })).rejects.toMatchObject({ field: 'logs.max_file_size' });
    writeFileSync(logFifoPath(dir, 'web', 'stdout'), 'a regular file');
    await expect(startLogmon(dir, 'web', { maxFiles: 1, maxFileSizeBytes: 10 })).rejects.toThrow(/is not a FIFO/);
  });
});

function readAllSync(): string {
  let s = '';
  for (const f of files('stdout')) s += readFileSyncSafe(join(dir, f));
  return s;
}

function readFileSyncSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
