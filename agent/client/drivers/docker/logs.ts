/**
 * A container's output copied into the task's log FIFOs, which the client's logmon reads and
 * rotates by the task's `logs` block like every other driver's output (or, for a runner without
 * logmon, into the log files directly). The driver follows Docker's log stream with timestamps on; the stream is
 * multiplexed (8-byte frame header: stream type, 3 zero bytes, big-endian payload length),
 * and each frame is one log message prefixed by its RFC 3339 timestamp and a space.
 *
 * The timestamp of the last message written is kept in a small position file in the task
 * directory, so that an agent restarted while the container runs (or after it ended) asks
 * Docker for the messages `since` that second and drops those it already wrote: the logs
 * get every message once (a message in flight when the agent is killed outright may be copied
 * twice; none is lost while logmon runs).
 */
import { constants, createWriteStream, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { dirname, join } from 'node:path';
import { replaceFileSync } from '../../../runtime/index.js';

export type StreamKind = 'stdout' | 'stderr';

export interface LogFrame {
  stream: StreamKind;
  /** Normalised timestamp (see `normalizeTimestamp`), '' when the frame had none. */
  ts: string;
  payload: Buffer;
}

/**
 * "2026-11-22T16:13:45.0044556Z" (any fraction length, Z or ±hh:mm) → a fixed-width UTC form
 * "2026-11-22T16:13:45.004455600Z" that sorts as text; undefined if it is not a timestamp.
 */
export function normalizeTimestamp(ts: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (m === null) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  if (m[3] === 'Z') return `${m[1]}.${frac}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

/** The `since` argument of Docker's logs call for a normalised timestamp: whole seconds (inclusive). */
export function sinceSeconds(ts: string): number {
  const ms = Date.parse(`${ts.slice(0, 19)}Z`);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

/** Splits Docker's multiplexed byte stream into frames, whatever the chunking. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly timestamps: boolean) {}

  push(chunk: Buffer): LogFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: LogFrame[] = [];
    while (this.pending.length >= 8) {
      const type = this.pending[0];
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      let payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      // 0 = stdin (never for logs), 1 = stdout, 2 = stderr, 3 = system error (shown on stderr).
      const stream: StreamKind = type === 1 ? 'stdout' : 'stderr';
      let ts = '';
      if (this.timestamps) {
        const sp = payload.indexOf(0x20);
        const norm = sp > 0 ? normalizeTimestamp(payload.subarray(0, sp).toString('latin1')) : undefined;
        if (norm !== undefined) {
          ts = norm;
          payload = payload.subarray(sp + 1);
        }
      }
      out.push({ stream, ts, payload: Buffer.from(payload) });
    }
    return out;
  }
}

/** Where the log copy of one container left off, per stream ('' = nothing written yet). */
export interface LogPosition {
  container: string;
  stdout: string;
  stderr: string;
}

export function positionPath(taskDir: string): string {
  return join(taskDir, '.docker-logs.json');
}

/** The recorded position for `container`; a fresh one when none is recorded (or for another container). */
export function readPosition(taskDir: string, container: string): LogPosition {
  const fresh = { container, stdout: '', stderr: '' };
  try {
    const v = JSON.parse(readFileSync(positionPath(taskDir), 'utf8')) as Partial<LogPosition>;
    if (v.container !== container) return fresh;
    return { container, stdout: typeof v.stdout === 'string' ? v.stdout : '', stderr: typeof v.stderr === 'string' ? v.stderr : '' };
  } catch {
    return fresh;
  }
}

/**
 * Where one stream's output goes: the task's log FIFO, which the client's logmon reads and
 * rotates like every other driver's output, or (a runner without logmon, tests) a plain file.
 * The FIFO is opened read-write and non-blocking: opening never waits for a reader, and a full
 * FIFO (logmon behind, or restarting) holds writes back in the socket, never in the event loop.
 * A missing `.fifo` path is refused rather than created as a plain file, which would stand in
 * the way of the FIFO later.
 */
function openTarget(path: string): Writable {
  let fifo = false;
  try {
    fifo = statSync(path).isFIFO();
  } catch {
    if (path.endsWith('.fifo')) throw new Error(`the log FIFO ${path} does not exist`);
  }
  if (fifo) return new Socket({ fd: openSync(path, constants.O_RDWR | constants.O_NONBLOCK), readable: false, writable: true });
  return createWriteStream(path, { fd: openSync(path, 'a') });
}

/**
 * Writes frames to the task's stdout/stderr, skipping any at or before the recorded position (a
 * replay after recovery). A message counts as written once the kernel has it (the write's
 * callback); the position of what was written is recorded atomically at most every
 * `flushEveryMs` and at the latest that long after the last write, so an agent killed outright
 * copies again at most that much (and what was in flight). `write` returns false when the
 * caller should wait for `drained()` before writing more.
 */
export class LogSink {
  private readonly out: Record<StreamKind, Writable>;
  /** What is written (the kernel has it): recorded in the position file. */
  private readonly pos: LogPosition;
  /** The last timestamp handed to each stream's writer (ahead of `pos` while writes are in flight). */
  private readonly sent: Record<StreamKind, string>;
  private dirty = false;
  private lastFlush = 0;
  private closed: Promise<void> | null = null;
  private pending = 0;
  private failed = false;
  private idle: (() => void)[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly taskDir: string,
    paths: Record<StreamKind, string>,
    start: LogPosition,
    private readonly now: () => number,
    private readonly flushEveryMs = 0,
  ) {
    mkdirSync(dirname(paths.stdout), { recursive: true });
    mkdirSync(dirname(paths.stderr), { recursive: true });
    const out = openTarget(paths.stdout);
    let err: Writable;
    try {
      err = openTarget(paths.stderr);
    } catch (e) {
      out.destroy();
      throw e;
    }
    this.out = { stdout: out, stderr: err };
    for (const w of [out, err]) {
      // The files or FIFOs went away (allocation destroyed): the rest of the output is dropped.
      w.on('error', () => {
        this.failed = true;
        this.pending = 0;
        this.settle();
      });
    }
    this.pos = { ...start };
    this.sent = { stdout: start.stdout, stderr: start.stderr };
  }

  /** The earliest `since` (whole seconds) that covers both streams' positions; 0 = from the start. */
  get since(): number {
    if (this.pos.stdout === '' || this.pos.stderr === '') return 0;
    return sinceSeconds(this.pos.stdout < this.pos.stderr ? this.pos.stdout : this.pos.stderr);
  }

  write(frames: readonly LogFrame[]): boolean {
    if (this.closed !== null || this.failed) return true;
    // One write per stream per batch (a chunk from the engine holds hundreds of short messages;
    // a write each was a system call each), the batch's last timestamp recorded with it.
    for (const stream of ['stdout', 'stderr'] as const) {
      const parts: Buffer[] = [];
      let last = '';
      for (const f of frames) {
        if (f.stream !== stream) continue;
        // Timestamps are nanosecond-precise; a message at or before the last one handed over
        // (a replay after recovery, or the engine repeating lines across its own log rotation)
        // was written already.
        if (f.ts !== '' && f.ts <= this.sent[stream]) continue;
        parts.push(f.payload);
        if (f.ts !== '') last = this.sent[stream] = f.ts;
      }
      if (parts.length === 0) continue;
      this.pending++;
      const w = this.out[stream];
      // The writes of one event-loop turn go out together (one writev, not a system call per chunk).
      if (w.writableCorked === 0) {
        w.cork();
        setImmediate(() => w.uncork());
      }
      w.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts), (e) => {
        if (e !== null && e !== undefined) return;
        this.pending--;
        if (last > this.pos[stream]) {
          this.pos[stream] = last;
          this.dirty = true;
        }
        this.flushSoon();
        if (this.pending === 0) this.settle();
      });
    }
    return !this.out.stdout.writableNeedDrain && !this.out.stderr.writableNeedDrain;
  }

  /** Resolves when neither stream holds more than its buffer (write more then). */
  drained(): Promise<void> {
    const waits = [this.out.stdout, this.out.stderr].filter((w) => w.writableNeedDrain && !w.destroyed).map((w) => new Promise<void>((r) => {
      const done = (): void => {
        w.off('drain', done);
        w.off('close', done);
        r();
      };
      w.on('drain', done);
      w.on('close', done);
    }));
    return Promise.all(waits).then(() => undefined);
  }

  /** Resolves when every message handed to `write` so far is written (or the output failed). */
  written(): Promise<void> {
    if (this.pending === 0 || this.failed) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private settle(): void {
    for (const r of this.idle.splice(0)) r();
  }

  /** Record the position at most every `flushEveryMs` (a rename each time), and at the latest that long after the last write. */
  private flushSoon(): void {
    if (!this.dirty || this.flushTimer !== null) return;
    const wait = this.flushEveryMs - (this.now() - this.lastFlush);
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, wait);
    this.flushTimer.unref();
  }

  flush(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.lastFlush = this.now();
    const path = positionPath(this.taskDir);
    try {
      replaceFileSync(path, JSON.stringify(this.pos));
    } catch {
      // The task directory is gone (allocation destroyed): nothing left to resume.
    }
  }

  /**
   * Let go at once (the task is destroyed): what is not written yet is dropped, the position
   * records what was.
   */
  abandon(): void {
    this.flush();
    this.closed ??= Promise.resolve();
    this.failed = true;
    this.out.stdout.destroy();
    this.out.stderr.destroy();
    this.settle();
  }

  /**
   * Stop taking frames; resolves once what was handed over is written and the position recorded.
   * Callers that cannot wait (the agent shutting down) need not: the position only ever covers
   * what was written, and what was not is copied again by the next agent.
   */
  close(): Promise<void> {
    if (this.closed !== null) return this.closed;
    this.flush(); // what is written already, in case the process ends before the rest is
    this.closed = this.written().then(() => {
      this.flush();
      // Everything handed over is in the kernel (each write's callback ran): nothing to end.
      this.out.stdout.destroy();
      this.out.stderr.destroy();
    });
    return this.closed;
  }
}
