/**
 * logmon (after Nomad's client/logmon): a small process per task, apart from the agent, that
 * owns the task's log rotation. The task writes its stdout and stderr into two FIFOs
 * (`<alloc>/alloc/logs/.<task>.stdout.fifo`, `.stderr.fifo`); logmon reads them and writes
 * `<task>.stdout.N` / `<task>.stderr.N` rotated by the task's `logs { max_files,
 * max_file_size }`, exactly as RotatingLogWriter does (continue at the highest index, rotate
 * at the size, keep the newest max_files). Because logmon is detached from the agent, logs
 * keep flowing and rotating while the agent is down or restarting, and `alloc logs` reads the
 * same files.
 *
 * The agent opens each FIFO read-write and non-blocking (so neither side ever blocks on open
 * and the read end never sees end-of-file when a task restarts) and hands those descriptors to
 * logmon as fds 3 and 4 at spawn: the task can start writing at once, before logmon's runtime
 * has even booted (the pipe buffers meanwhile). A restarted agent finds its logmon by pid and
 * kernel start time; if logmon died meanwhile, a new one is started on the same FIFOs.
 *
 * Stopping is a file, not a signal: when the task is done for good the agent creates
 * `.<task>.logmon.stop`; logmon (checking every 50 ms) drains what is buffered and exits. A
 * file cannot be lost the way a signal sent before logmon's runtime has installed its handler
 * would be, and the agent waits for logmon to exit before it reports the task dead, so `alloc
 * logs` after completion shows everything. SIGINT and SIGHUP are ignored, so a terminal's
 * Ctrl-C to the agent does not cut logs.
 *
 * The logmon program is plain CommonJS run with `node -e`: no build step and nothing to find
 * on disk, so it runs the same from sources (tests) and from dist/.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, existsSync, lstatSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import type { RotatingLogOptions } from './logs.js';

/** What a client persists to find a task's logmon again. */
export interface LogmonHandle {
  pid: number;
  /** The kernel's start time of the pid (clock ticks after boot): tells it from a reused pid. */
  startTime: number;
}

/** The FIFO a task's stream is written to. */
export function logFifoPath(logDir: string, task: string, stream: 'stdout' | 'stderr'): string {
  return join(logDir, `.${task}.${stream}.fifo`);
}

/** The file whose presence tells the task's logmon to drain and exit. */
export function logmonStopPath(logDir: string, task: string): string {
  return join(logDir, `.${task}.logmon.stop`);
}

// The logmon program. Kept in step with RotatingLogWriter (logs.ts); logmon.test.ts reads its
// output back through TaskLogs.
const LOGMON_SOURCE = [
  "'use strict';",
  "const fs = require('fs'); const net = require('net'); const path = require('path');",
  'const [dir, task, maxFilesArg, maxBytesArg, stopFile] = process.argv.slice(1);',
  'const maxFiles = Number(maxFilesArg); const maxBytes = Number(maxBytesArg);',
  'function indexes(prefix) {',
  '  return fs.readdirSync(dir).filter((n) => n.startsWith(prefix) && /^(0|[1-9][0-9]*)$/.test(n.slice(prefix.length)))',
  '    .map((n) => Number(n.slice(prefix.length))).sort((a, b) => a - b);',
  '}',
  'function writer(stream) {',
  "  const prefix = task + '.' + stream + '.';",
  '  const w = { index: 0, size: 0, fd: -1 };',
  '  const open = () => { w.fd = fs.openSync(path.join(dir, prefix + w.index), "a", 0o644); w.size = fs.fstatSync(w.fd).size; };',
  '  const purge = () => { for (const i of indexes(prefix)) { if (i > w.index - maxFiles) break; try { fs.unlinkSync(path.join(dir, prefix + i)); } catch {} } };',
  '  const rotate = () => { fs.closeSync(w.fd); w.index++; open(); purge(); };',
  '  const found = indexes(prefix); w.index = found.length > 0 ? found[found.length - 1] : 0;',
  '  open(); if (w.size >= maxBytes) rotate(); purge();',
  '  w.write = (buf) => {',
  '    while (buf.length > 0) {',
  '      const room = maxBytes - w.size;',
  '      if (room <= 0) { rotate(); continue; }',
  '      const chunk = buf.subarray(0, room); let off = 0;',
  '      while (off < chunk.length) off += fs.writeSync(w.fd, chunk, off, chunk.length - off);',
  '      w.size += chunk.length; buf = buf.subarray(chunk.length);',
  '    }',
  '  };',
  '  return w;',
  '}',
  'let last = Date.now();',
  "for (const [fd, stream] of [[3, 'stdout'], [4, 'stderr']]) {",
  '  const w = writer(stream);',
  '  const s = new net.Socket({ fd, readable: true, writable: false });',
  "  s.on('data', (b) => { last = Date.now(); w.write(b); });",
  "  s.on('error', () => {});",
  '}',
  "process.on('SIGINT', () => {}); process.on('SIGHUP', () => {});",
  // Asked to stop: exit once nothing has arrived for 100 ms (what was buffered is written).
  'const check = () => { if (fs.existsSync(stopFile) && Date.now() - last >= 100) process.exit(0); setTimeout(check, 50); };',
  'setTimeout(check, 50);',
].join('\n');

/** A marker in logmon's command line (`ps` shows what the process is). */
export const LogmonMarker = 'nomadts-logmon';

function procStartTime(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    const t = Number(f[19]);
    return Number.isFinite(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the logmon of `h` is still running (same pid, same start time). */
export function logmonAlive(h: LogmonHandle): boolean {
  return procStartTime(h.pid) === h.startTime;
}

/** Create the FIFOs that do not exist yet (one `mkfifo`, not blocking the agent); refuse a non-FIFO in their place. */
async function ensureFifos(paths: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) missing.push(path);
    else if (!lstatSync(path).isFIFO()) throw new NomadError('conflict', `${path} exists and is not a FIFO: cannot capture the task's logs there`, { field: 'logs' });
  }
  if (missing.length === 0) return;
  await new Promise<void>((res, rej) => {
    execFile('mkfifo', ['-m', '0600', ...missing], (e) => (e === null ? res() : rej(new NomadError('internal', `cannot create the log FIFOs ${missing.join(', ')}: ${e.message}`, { field: 'logs' }))));
  });
}

/**
 * Start a logmon for `task` writing into `logDir` with `opts`: the FIFOs are created if need
 * be, opened read-write by the agent and handed over. Resolves once the process exists (not
 * once its runtime has booted: the FIFOs buffer meanwhile).
 */
export async function startLogmon(logDir: string, task: string, opts: RotatingLogOptions): Promise<LogmonHandle> {
  if (!Number.isInteger(opts.maxFiles) || opts.maxFiles < 1) {
    throw new NomadError('invalid_argument', `task "${task}": logs.max_files must be at least 1, got ${opts.maxFiles}`, { field: 'logs.max_files' });
  }
  if (!(opts.maxFileSizeBytes >= 1)) {
    throw new NomadError('invalid_argument', `task "${task}": logs.max_file_size must be positive, got ${opts.maxFileSizeBytes} bytes`, { field: 'logs.max_file_size' });
  }
  const out = logFifoPath(logDir, task, 'stdout');
  const err = logFifoPath(logDir, task, 'stderr');
  await ensureFifos([out, err]);
  const flags = fsConstants.O_RDWR | fsConstants.O_NONBLOCK;
  const fdOut = openSync(out, flags);
  let fdErr: number | undefined;
  try {
    fdErr = openSync(err, flags);
    const stop = logmonStopPath(logDir, task);
    rmSync(stop, { force: true });
    const child = spawn(process.execPath, ['-e', LOGMON_SOURCE, logDir, task, String(opts.maxFiles), String(opts.maxFileSizeBytes), stop, LogmonMarker], {
      cwd: logDir,
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', fdOut, fdErr],
      env: {},
    });
    await new Promise<void>((res, rej) => {
      child.once('spawn', () => res());
      child.once('error', rej);
    });
    child.unref();
    const pid = child.pid!;
    const startTime = procStartTime(pid);
    if (startTime === undefined) throw new NomadError('internal', `logmon for task "${task}" exited at once`);
    return { pid, startTime };
  } finally {
    closeSync(fdOut);
    if (fdErr !== undefined) closeSync(fdErr);
  }
}

/**
 * Ask the task's logmon to drain and exit (the stop file). Returns whether it was still alive;
 * wait for `logmonAlive` to turn false to know its output is all in the files.
 */
export function stopLogmon(logDir: string, task: string, h: LogmonHandle): boolean {
  if (!logmonAlive(h)) return false;
  try {
    writeFileSync(logmonStopPath(logDir, task), '');
  } catch {
    // The log dir is gone (alloc destroyed): nothing left to write into.
    killLogmon(h);
    return false;
  }
  return true;
}

/** End a logmon at once (SIGKILL), e.g. one that did not stop when asked. */
export function killLogmon(h: LogmonHandle): void {
  if (!logmonAlive(h)) return;
  try {
    process.kill(h.pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}
