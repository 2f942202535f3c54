/**
 * logmon (after Nomad's client/logmon): a process apart from the agent that owns the tasks' log
 * rotation. A task writes its stdout and stderr into two FIFOs
 * (`<alloc>/alloc/logs/.<task>.stdout.fifo`, `.stderr.fifo`); logmon reads them and writes
 * `<task>.stdout.N` / `<task>.stderr.N` rotated by the task's `logs { max_files,
 * max_file_size }`, exactly as RotatingLogWriter does (continue at the highest index, rotate
 * at the size, keep the newest max_files). Because logmon is detached from the agent, logs
 * keep flowing and rotating while the agent is down or restarting, and `alloc logs` reads the
 * same files.
 *
 * One logmon serves every task of a client (Nomad runs one per task; a Node process costs ~42 MB
 * of memory whatever its flags, so one per task would cost a client with 50 tasks 2 GB). It works
 * from a control directory (`<data_dir>/client/logmon`): the agent asks for a task by writing
 * `<id>.task` (JSON: log dir, task, rotation) and waits for `<id>.open`, which logmon writes (with
 * its pid) once it has both FIFOs open; a task is started only after that. The agent also holds
 * each FIFO open read-write itself, so neither side ever blocks on open and the read end never
 * sees end-of-file when a task restarts. A restarted agent finds logmon by pid and kernel start
 * time (`host.json`); if logmon died meanwhile, a new one is started and serves every request
 * still on file, on the same FIFOs. Only one agent call at a time starts a logmon (a second one
 * reading the same FIFOs would split a task's output between them). Each stream has one write in
 * flight at a time, in libuv's thread pool, its FIFO paused meanwhile: a flooding task whose
 * writes the kernel holds back (dirty-page throttling) slows only itself, and a quiet task's
 * lines still land in a few ms (`npm run bench -- logmon`).
 *
 * Stopping a task's logs is a file, not a signal: when the task is done for good the agent creates
 * `.<task>.logmon.stop` in its log dir; logmon (checking every 50 ms) drains what is buffered,
 * closes the task's files and removes `<id>.task`, which the agent waits for before it reports
 * the task dead, so `alloc logs` after completion shows everything. A task whose log dir is gone
 * (allocation destroyed) or whose request was withdrawn is dropped the same way. Logmon exits once
 * it has served nothing for 2 s (and a last look finds no new request). SIGINT and SIGHUP are
 * ignored, so a terminal's Ctrl-C to the agent does not cut logs.
 *
 * The logmon program is plain CommonJS run with `node -e`: no build step and nothing to find
 * on disk, so it runs the same from sources (tests) and from dist/.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import type { RotatingLogOptions } from './logs.js';
import { replaceFileSync } from '../../runtime/index.js';

/** What a client persists to find the logmon serving a task again (the shared process). */
export interface LogmonHandle {
  pid: number;
  /** The kernel's start time of the pid (clock ticks after boot): tells it from a reused pid. */
  startTime: number;
}

/** The FIFO a task's stream is written to. */
export function logFifoPath(logDir: string, task: string, stream: 'stdout' | 'stderr'): string {
  return join(logDir, `.${task}.${stream}.fifo`);
}

/** The file whose presence tells logmon to drain the task's streams and let them go. */
export function logmonStopPath(logDir: string, task: string): string {
  return join(logDir, `.${task}.logmon.stop`);
}

/** The name of a task's request files in the control directory (one per log dir and task). */
function requestId(logDir: string, task: string): string {
  return createHash('sha256').update(`${logDir}\u0000${task}`).digest('hex').slice(0, 24);
}

/** How long logmon stays up with nothing to serve. */
const IdleExitMs = 2_000;

// The logmon program. Its writer is kept in step with RotatingLogWriter (logs.ts); logmon.test.ts
// reads its output back through TaskLogs.
const LOGMON_SOURCE = [
  "'use strict';",
  "const fs = require('fs'); const net = require('net'); const path = require('path');",
  'const [ctl] = process.argv.slice(1);',
  `const idleExitMs = ${IdleExitMs};`,
  'function indexes(dir, prefix) {',
  '  return fs.readdirSync(dir).filter((n) => n.startsWith(prefix) && /^(0|[1-9][0-9]*)$/.test(n.slice(prefix.length)))',
  '    .map((n) => Number(n.slice(prefix.length))).sort((a, b) => a - b);',
  '}',
  'function writer(dir, task, stream, maxFiles, maxBytes) {',
  "  const prefix = task + '.' + stream + '.';",
  '  const w = { index: 0, size: 0, fd: -1 };',
  '  const open = () => { w.fd = fs.openSync(path.join(dir, prefix + w.index), "a", 0o644); w.size = fs.fstatSync(w.fd).size; };',
  '  const purge = () => { for (const i of indexes(dir, prefix)) { if (i > w.index - maxFiles) break; try { fs.unlinkSync(path.join(dir, prefix + i)); } catch {} } };',
  // A closed descriptor is forgotten at once (-1): after a failed open, a write must not reach
  // whatever file the kernel gave that number to next; the next write opens the file again.
  "  const rotate = () => { const fd = w.fd; w.fd = -1; fs.closeSync(fd); w.index++; open(); purge(); };",
  '  const found = indexes(dir, prefix); w.index = found.length > 0 ? found[found.length - 1] : 0;',
  '  open(); if (w.size >= maxBytes) rotate(); purge();',
  // One write in flight per stream, off the event loop (libuv's pool): a write the kernel holds
  // back (dirty-page throttling under a flood) delays only its own stream, not every task's.
  // A failed write drops that chunk, as a full disk would.
  '  w.busy = false;',
  '  w.write = (buf, done) => {',
  '    w.busy = true;',
  '    const step = () => {',
  '      if (buf.length === 0) { w.busy = false; done(); return; }',
  '      if (w.fd < 0) { try { open(); purge(); } catch { buf = buf.subarray(buf.length); } step(); return; }',
  '      if (maxBytes - w.size <= 0) { try { rotate(); } catch { buf = buf.subarray(buf.length); } step(); return; }',
  '      const chunk = buf.subarray(0, maxBytes - w.size);',
  '      fs.write(w.fd, chunk, 0, chunk.length, null, (err, n) => {',
  '        if (err) { buf = buf.subarray(buf.length); step(); return; }',
  '        w.size += n; buf = buf.subarray(n); step();',
  '      });',
  '    };',
  '    step();',
  '  };',
  '  return w;',
  '}',
  'const served = new Map();',
  'const rm = (p) => { try { fs.unlinkSync(p); } catch {} };',
  'function serve(id, req) {',
  "  const t = { last: Date.now(), sockets: [], writers: [], logDir: req.logDir, stop: path.join(req.logDir, '.' + req.task + '.logmon.stop') };",
  "  for (const stream of ['stdout', 'stderr']) {",
  "    const fd = fs.openSync(path.join(req.logDir, '.' + req.task + '.' + stream + '.fifo'), fs.constants.O_RDWR | fs.constants.O_NONBLOCK);",
  '    const w = writer(req.logDir, req.task, stream, req.maxFiles, req.maxBytes);',
  '    const s = new net.Socket({ fd, readable: true, writable: false });',
  // Paused while its chunk is written: the FIFO holds what comes next (the task waits if it fills).
  "    s.on('data', (b) => { t.last = Date.now(); s.pause(); w.write(b, () => { t.last = Date.now(); if (!s.destroyed) s.resume(); }); });",
  "    s.on('error', () => {});",
  '    t.sockets.push(s); t.writers.push(w);',
  '  }',
  '  served.set(id, t);',
  '}',
  'function release(id, t) {',
  '  for (const s of t.sockets) s.destroy();',
  '  for (const w of t.writers) { try { fs.closeSync(w.fd); } catch {} }',
  '  served.delete(id);',
  "  rm(path.join(ctl, id + '.open')); rm(path.join(ctl, id + '.task'));",
  '}',
  'function scan() {',
  '  let names = [];',
  '  try { names = fs.readdirSync(ctl); } catch { return; }',
  '  for (const name of names) {',
  "    if (!name.endsWith('.task')) continue;",
  '    const id = name.slice(0, -5);',
  '    if (served.has(id)) continue;',
  '    let req;',
  "    try { req = JSON.parse(fs.readFileSync(path.join(ctl, name), 'utf8')); } catch { continue; }",
  "    try { serve(id, req); fs.writeFileSync(path.join(ctl, id + '.open'), String(process.pid)); }",
  "    catch (e) { fs.writeFileSync(path.join(ctl, id + '.error'), String((e && e.message) || e)); rm(path.join(ctl, name)); }",
  '  }',
  '}',
  'let idleSince = Date.now();',
  'function tick() {',
  '  scan();',
  '  const now = Date.now();',
  '  for (const [id, t] of served) {',
  "    const gone = !fs.existsSync(path.join(ctl, id + '.task')) || !fs.existsSync(t.logDir);",
  // Never closed under a write in flight (the descriptor could be reused by the next open).
  '    if (t.writers.some((w) => w.busy)) continue;',
  '    if (gone || (fs.existsSync(t.stop) && now - t.last >= 100)) release(id, t);',
  '  }',
  '  if (served.size > 0) idleSince = now;',
  '  else if (now - idleSince >= idleExitMs) { scan(); if (served.size === 0) process.exit(0); }',
  '  setTimeout(tick, 50);',
  '}',
  "process.on('SIGINT', () => {}); process.on('SIGHUP', () => {});",
  // A new request is seen at once (inotify); the 50 ms tick is the fallback and does the rest.
  "let soon = false;",
  "try { fs.watch(ctl, () => { if (soon) return; soon = true; setImmediate(() => { soon = false; scan(); }); }).on('error', () => {}); } catch {}",
  // Whatever an earlier logmon acknowledged is not served by this one (yet).
  "for (const n of fs.readdirSync(ctl)) if (n.endsWith('.open')) rm(path.join(ctl, n));",
  'tick();',
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

/** Spawn a logmon on `ctl` and record it in `host.json`. */
async function spawnHost(ctl: string): Promise<LogmonHandle> {
  // Writes run in libuv's pool, one per stream at a time: 16 threads (not 4) so a quiet task's
  // write seldom queues behind flooding tasks' throttled ones (`npm run bench -- logmon`).
  const child = spawn(process.execPath, ['-e', LOGMON_SOURCE, ctl, LogmonMarker], { cwd: ctl, detached: true, stdio: 'ignore', env: { UV_THREADPOOL_SIZE: '16' } });
  await new Promise<void>((res, rej) => {
    child.once('spawn', () => res());
    child.once('error', rej);
  });
  child.unref();
  const pid = child.pid!;
  const startTime = procStartTime(pid);
  if (startTime === undefined) throw new NomadError('internal', `logmon on ${ctl} exited at once`);
  const h = { pid, startTime };
  replaceFileSync(join(ctl, 'host.json'), JSON.stringify(h));
  return h;
}

/** The logmon recorded in `ctl`, if it is alive. */
function currentHost(ctl: string): LogmonHandle | undefined {
  try {
    const h = JSON.parse(readFileSync(join(ctl, 'host.json'), 'utf8')) as Partial<LogmonHandle>;
    if (typeof h.pid !== 'number' || typeof h.startTime !== 'number') return undefined;
    const handle = { pid: h.pid, startTime: h.startTime };
    return logmonAlive(handle) ? handle : undefined;
  } catch {
    return undefined;
  }
}

/** The last logmon start per control directory (in this process): starts run one at a time. */
const hostStarts = new Map<string, Promise<unknown>>();

/**
 * The live logmon of `ctl`, started if there is none. One start at a time per control directory:
 * two logmons would split a task's output between them. Only the start is serialised; waiting for
 * a task's acknowledgement is not, so many tasks starting at once wait together.
 */
function ensureHost(ctl: string): Promise<LogmonHandle> {
  const start = async (): Promise<LogmonHandle> => currentHost(ctl) ?? (await spawnHost(ctl));
  const next = (hostStarts.get(ctl) ?? Promise.resolve()).then(start, start);
  hostStarts.set(ctl, next.catch(() => undefined));
  return next;
}

/**
 * Have the client's logmon (control directory `ctl`) serve `task`'s streams into `logDir` with
 * `opts`: the FIFOs are created if need be, the request written, logmon started if none is
 * alive, and the call resolves once logmon has both FIFOs open (so the task may start writing),
 * with logmon's handle. Serving a task again (a restarted agent) is the same call.
 */
export async function startLogmon(logDir: string, task: string, opts: RotatingLogOptions, ctl: string): Promise<LogmonHandle> {
  if (!Number.isInteger(opts.maxFiles) || opts.maxFiles < 1) {
    throw new NomadError('invalid_argument', `task "${task}": logs.max_files must be at least 1, got ${opts.maxFiles}`, { field: 'logs.max_files' });
  }
  if (!(opts.maxFileSizeBytes >= 1)) {
    throw new NomadError('invalid_argument', `task "${task}": logs.max_file_size must be positive, got ${opts.maxFileSizeBytes} bytes`, { field: 'logs.max_file_size' });
  }
  await ensureFifos([logFifoPath(logDir, task, 'stdout'), logFifoPath(logDir, task, 'stderr')]);
  mkdirSync(ctl, { recursive: true, mode: 0o700 });
  const id = requestId(logDir, task);
  const req = join(ctl, `${id}.task`);
  const ack = join(ctl, `${id}.open`);
  const failed = join(ctl, `${id}.error`);
  rmSync(logmonStopPath(logDir, task), { force: true });
  rmSync(failed, { force: true });
  if (!existsSync(req)) replaceFileSync(req, JSON.stringify({ logDir, task, maxFiles: opts.maxFiles, maxBytes: opts.maxFileSizeBytes }));
  let host = await ensureHost(ctl);
  // Wait (polling, at most 10 s) for this logmon to say it has the FIFOs open; one that exits
  // meanwhile (it had been idle) is replaced, and the new one finds the request on file.
  for (let waited = 0; ; waited += 5) {
    if (existsSync(failed)) throw new NomadError('internal', `logmon cannot capture task "${task}"'s logs: ${readFileSync(failed, 'utf8')}`, { field: 'logs' });
    if (readText(ack) === String(host.pid)) return host;
    if (!logmonAlive(host)) host = await ensureHost(ctl);
    if (waited >= 10_000) throw new NomadError('internal', `logmon (pid ${host.pid}) did not open task "${task}"'s log FIFOs within 10 s`, { field: 'logs' });
    await new Promise((r) => setTimeout(r, 5));
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Ask logmon to drain `task`'s streams and let them go (the stop file). Returns whether it was
 * still serving the task; wait for `logmonServing` to turn false to know its output is all in
 * the files.
 */
export function stopLogmon(logDir: string, task: string, h: LogmonHandle, ctl: string): boolean {
  if (!logmonServing(logDir, task, h, ctl)) return false;
  try {
    writeFileSync(logmonStopPath(logDir, task), '');
  } catch {
    // The log dir is gone (alloc destroyed): nothing left to write into.
    releaseLogmon(logDir, task, ctl);
    return false;
  }
  return true;
}

/**
 * A restored handle may name a logmon of the one-per-task kind earlier versions ran (its command
 * line names the task's log dir, not a control directory). It reads the same FIFOs, so it is
 * ended before the client's logmon takes the task over (a task's output would otherwise be split
 * between the two). True when one was ended.
 */
export function retireTaskLogmon(h: LogmonHandle, logDir: string): boolean {
  if (!logmonAlive(h)) return false;
  let args: string[];
  try {
    args = readFileSync(`/proc/${h.pid}/cmdline`, 'utf8').split('\u0000');
  } catch {
    return false;
  }
  if (!args.includes(LogmonMarker) || !args.includes(logDir)) return false;
  try {
    process.kill(h.pid, 'SIGKILL');
  } catch {
    return false;
  }
  return true;
}

/** Whether logmon `h` is alive and still serving `task` (its request is on file). */
export function logmonServing(logDir: string, task: string, h: LogmonHandle, ctl: string): boolean {
  return logmonAlive(h) && existsSync(join(ctl, `${requestId(logDir, task)}.task`));
}

/** Withdraw `task` from logmon at once (it lets the streams go on its next look), e.g. when it did not drain when asked. */
export function releaseLogmon(logDir: string, task: string, ctl: string): void {
  rmSync(join(ctl, `${requestId(logDir, task)}.task`), { force: true });
}
