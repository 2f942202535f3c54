/**
 * A container's output copied into the task's log files (the same files the other drivers
 * append to). The driver follows Docker's log stream with timestamps on; the stream is
 * multiplexed (8-byte frame header: stream type, 3 zero bytes, big-endian payload length),
 * and each frame is one log message prefixed by its RFC 3339 timestamp and a space.
 *
 * The timestamp of the last message written is kept in a small position file in the task
 * directory, so that an agent restarted while the container runs (or after it ended) asks
 * Docker for the messages `since` that second and drops those it already wrote: the files
 * get every message exactly once.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
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
 * Appends frames to the task's stdout/stderr files, skipping any at or before the recorded
 * position (a replay after recovery), and records the position (written atomically after
 * each batch by default, so an agent killed outright re-copies at most the batch in flight;
 * `flushEveryMs` trades that for fewer writes).
 */
export class LogSink {
  private readonly fds: Record<StreamKind, number>;
  private readonly pos: LogPosition;
  private dirty = false;
  private lastFlush = 0;
  private closed = false;

  constructor(
    private readonly taskDir: string,
    paths: Record<StreamKind, string>,
    start: LogPosition,
    private readonly now: () => number,
    private readonly flushEveryMs = 0,
  ) {
    mkdirSync(dirname(paths.stdout), { recursive: true });
    mkdirSync(dirname(paths.stderr), { recursive: true });
    const out = openSync(paths.stdout, 'a');
    let err: number;
    try {
      err = openSync(paths.stderr, 'a');
    } catch (e) {
      closeSync(out);
      throw e;
    }
    this.fds = { stdout: out, stderr: err };
    this.pos = { ...start };
  }

  /** The earliest `since` (whole seconds) that covers both streams' positions; 0 = from the start. */
  get since(): number {
    if (this.pos.stdout === '' || this.pos.stderr === '') return 0;
    return sinceSeconds(this.pos.stdout < this.pos.stderr ? this.pos.stdout : this.pos.stderr);
  }

  write(frames: readonly LogFrame[]): void {
    if (this.closed) return;
    for (const f of frames) {
      // Timestamps are nanosecond-precise; a message at exactly the recorded instant was written.
      if (f.ts !== '' && f.ts <= this.pos[f.stream]) continue;
      let off = 0;
      while (off < f.payload.length) off += writeSync(this.fds[f.stream], f.payload, off, f.payload.length - off);
      if (f.ts !== '') {
        this.pos[f.stream] = f.ts;
        this.dirty = true;
      }
    }
    if (this.dirty && this.now() - this.lastFlush >= this.flushEveryMs) this.flush();
  }

  flush(): void {
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

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fds.stdout);
    closeSync(this.fds.stderr);
  }
}
