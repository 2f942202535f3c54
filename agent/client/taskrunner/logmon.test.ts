/**
 * logmon with real processes: a writer on the FIFO (as a task would be), rotation to the
 * configured number of files, read back through TaskLogs; one logmon process serving several
 * tasks, each drained on its own; a logmon killed and replaced keeps the same sequence; the stop
 * file drains; a rotation that failed is retried on the next write. Waits poll for a state; nothing asserts a duration.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../runtime/index.js';
import type { LogmonHandle } from './logmon.js';
import { spawn } from 'node:child_process';
import { logFifoPath, LogmonMarker, logmonAlive, logmonServing, retireTaskLogmon, startLogmon, stopLogmon } from './logmon.js';
import { TaskLogs } from './logs.js';

let dir: string;
let ctl: string;
const started: LogmonHandle[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nomadts-logmon-'));
  ctl = join(dir, 'ctl');
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
    const h = await startLogmon(dir, 'web', { maxFiles: 3, maxFileSizeBytes: 1000 }, ctl);
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
    // The stop file: drains and lets the task go; with nothing left to serve, logmon exits.
    expect(stopLogmon(dir, 'web', h, ctl)).toBe(true);
    await until('logmon to let the task go', () => !logmonServing(dir, 'web', h, ctl));
    await until('logmon to exit once idle', () => !logmonAlive(h));
  });

  it('resumes writing after a rotation that failed (the next file could not be opened), into that file', async () => {
    const h = await startLogmon(dir, 'web', { maxFiles: 10, maxFileSizeBytes: 1000 }, ctl);
    started.push(h);
    // A directory where the next file should go: the rotation's open fails (EISDIR).
    mkdirSync(join(dir, 'web.stdout.1'));
    const out = openSync(logFifoPath(dir, 'web', 'stdout'), 'a');
    writeSync(out, lines(0, 15)); // 1,000 bytes fill web.stdout.0; the other 500 have nowhere to go
    await until('web.stdout.0 full', () => statSync(join(dir, 'web.stdout.0')).size === 1000);
    await new Promise((r) => setTimeout(r, 200));
    rmdirSync(join(dir, 'web.stdout.1'));
    writeSync(out, lines(15, 17));
    closeSync(out);
    // Logged again once the file can be opened, not written to a descriptor closed by the failed rotation.
    await until('the new lines in web.stdout.1', () => existsSync(join(dir, 'web.stdout.1')) && readFileSync(join(dir, 'web.stdout.1'), 'utf8').endsWith(lines(15, 17)));
    expect(readFileSync(join(dir, 'web.stdout.0'), 'utf8')).toBe(lines(0, 10));
  });

  it('a replacement logmon (the old one died) continues the same sequence on the same FIFO', async () => {
    const h1 = await startLogmon(dir, 'web', { maxFiles: 10, maxFileSizeBytes: 1000 }, ctl);
    started.push(h1);
    const out = openSync(logFifoPath(dir, 'web', 'stdout'), 'a');
    writeSync(out, lines(0, 15));
    await until('1,500 bytes written', () => files('stdout').length === 2);
    process.kill(h1.pid, 'SIGKILL');
    await until('the first logmon to die', () => !logmonAlive(h1));
    const h2 = await startLogmon(dir, 'web', { maxFiles: 10, maxFileSizeBytes: 1000 }, ctl);
    expect(h2.pid).not.toBe(h1.pid);
    started.push(h2);
    // The task's write end never closed: it goes on writing into the same FIFO.
    writeSync(out, lines(15, 25));
    closeSync(out);
    await until('2,500 bytes in three files', () => files('stdout').length === 3 && readAllSync().length === 2500);
    expect(await readAll('stdout')).toBe(lines(0, 25));
  });

  it('a stop asked for before logmon has booted still writes everything the task wrote', async () => {
    const h = await startLogmon(dir, 'web', { maxFiles: 2, maxFileSizeBytes: 1_000_000 }, ctl);
    started.push(h);
    const out = openSync(logFifoPath(dir, 'web', 'stdout'), 'a');
    writeSync(out, lines(0, 20));
    closeSync(out);
    expect(stopLogmon(dir, 'web', h, ctl)).toBe(true);
    await until('logmon to let the task go', () => !logmonServing(dir, 'web', h, ctl));
    expect(await readAll('stdout')).toBe(lines(0, 20));
    expect(stopLogmon(dir, 'web', h, ctl)).toBe(false);
  });

  it('refuses bad logs settings, naming the field, and a non-FIFO in the FIFO\'s place', async () => {
    await expect(startLogmon(dir, 'web', { maxFiles: 0, maxFileSizeBytes: 10 }, ctl)).rejects.toMatchObject({ field: 'logs.max_files' });
    await expect(startLogmon(dir, 'web', { maxFiles: 1, maxFileSizeBytes: 0 }, ctl)).rejects.toMatchObject({ field: 'logs.max_file_size' });
    writeFileSync(logFifoPath(dir, 'web', 'stdout'), 'a regular file');
    await expect(startLogmon(dir, 'web', { maxFiles: 1, maxFileSizeBytes: 10 }, ctl)).rejects.toThrow(/is not a FIFO/);
    // Nothing was asked of a logmon, and none was started.
    expect(readdirSync(dir)).not.toContain('ctl');
  });

  it('one logmon process serves many tasks at once (started concurrently), and drains each on its own', async () => {
    const tasks = ['t0', 't1', 't2', 't3', 't4', 't5'];
    const hs = await Promise.all(tasks.map((t) => startLogmon(dir, t, { maxFiles: 2, maxFileSizeBytes: 1_000_000 }, ctl)));
    started.push(...hs);
    expect(new Set(hs.map((h) => h.pid)).size).toBe(1);
    const h = hs[0]!;
    const fds = tasks.map((t) => openSync(logFifoPath(dir, t, 'stdout'), 'a'));
    tasks.forEach((t, i) => writeSync(fds[i]!, `${t} says hello\n`));
    await until('every task\'s line in its own file', () => tasks.every((t) => readFileSyncSafe(join(dir, `${t}.stdout.0`)) === `${t} says hello\n`));
    // Stop one task: the others keep being served by the same process.
    expect(stopLogmon(dir, 't0', h, ctl)).toBe(true);
    await until('t0 let go', () => !logmonServing(dir, 't0', h, ctl));
    writeSync(fds[1]!, 'still here\n');
    await until('t1 still captured', () => readFileSyncSafe(join(dir, 't1.stdout.0')) === 't1 says hello\nstill here\n');
    expect(logmonServing(dir, 't1', h, ctl)).toBe(true);
    for (const t of tasks.slice(1)) stopLogmon(dir, t, h, ctl);
    for (const fd of fds) closeSync(fd);
    await until('every task let go', () => tasks.every((t) => !logmonServing(dir, t, h, ctl)));
    await until('logmon to exit once idle', () => !logmonAlive(h));
    // Asked again later: a new logmon starts.
    const again = await startLogmon(dir, 't1', { maxFiles: 2, maxFileSizeBytes: 1_000_000 }, ctl);
    started.push(again);
    expect(again.pid).not.toBe(h.pid);
    expect(logmonServing(dir, 't1', again, ctl)).toBe(true);
  });

  it('ends a one-per-task logmon of an earlier version (it names the log dir), and nothing else', async () => {
    const legacy = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', dir, 'web', '3', '1000', 'stop', LogmonMarker], { stdio: 'ignore' });
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', join(dir, 'elsewhere'), LogmonMarker], { stdio: 'ignore' });
    await Promise.all([legacy, other].map((c) => new Promise((r) => c.once('spawn', r))));
    const stat = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
    const hLegacy = { pid: legacy.pid!, startTime: stat(legacy.pid!) };
    const hOther = { pid: other.pid!, startTime: stat(other.pid!) };
    started.push(hLegacy, hOther);
    expect(retireTaskLogmon(hOther, dir)).toBe(false);
    expect(retireTaskLogmon(hLegacy, dir)).toBe(true);
    await until('the legacy logmon to be gone', () => !logmonAlive(hLegacy));
    expect(logmonAlive(hOther)).toBe(true);
    // The client's own logmon is never taken for one: its command line names the control directory.
    const h = await startLogmon(dir, 'web', { maxFiles: 2, maxFileSizeBytes: 1000 }, ctl);
    started.push(h);
    expect(retireTaskLogmon(h, dir)).toBe(false);
    expect(logmonAlive(h)).toBe(true);
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
