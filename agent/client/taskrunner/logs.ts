/**
 * Task logs as Nomad's logmon keeps them: `<alloc>/alloc/logs/<task>.stdout.N` and
 * `<task>.stderr.N`, N counting up from 0. A file is rotated when it reaches
 * `max_file_size`; only the newest `max_files` are kept (older ones are deleted).
 * A writer opened over existing files continues at the highest index (appending if
 * that file still has room), so a restarted task or client keeps one sequence.
 *
 * The reader streams a task's log across the rotated files in index order, from a
 * byte offset counted from the start of the oldest file still on disk (or back
 * from the end, origin `end`), and with `follow` keeps polling on the injected
 * Clock for new bytes and new files until its AbortSignal fires.
 *
 * Writes are synchronous (one open fd per stream): ordering is exact and a write
 * returns only once the bytes are in the file, which is what the reader and the
 * `alloc logs` API rely on.
 */
import { closeSync, fstatSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../core/lib/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { LogConfig } from '../../core/structs/index.js';

export type LogStream = 'stdout' | 'stderr';

const MiB = 1024 * 1024;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Indexes of `<task>.<stream>.N` in `dir`, ascending. */
function indexesIn(names: readonly string[], task: string, stream: LogStream): number[] {
  const re = new RegExp(`^${escapeRe(`${task}.${stream}.`)}(0|[1-9][0-9]*)$`);
  const out: number[] = [];
  for (const n of names) {
    const m = re.exec(n);
    if (m !== null) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

export function logFileName(task: string, stream: LogStream, index: number): string {
  return `${task}.${stream}.${index}`;
}

export interface RotatingLogOptions {
  maxFiles: number;
  maxFileSizeBytes: number;
}

export function rotatingOptions(cfg: LogConfig): RotatingLogOptions {
  return { maxFiles: cfg.maxFiles, maxFileSizeBytes: Math.round(cfg.maxFileSizeMB * MiB) };
}

/** One task stream's rotating log file. */
export class RotatingLogWriter {
  private fd: number | undefined;
  private index = 0;
  private size = 0;
  private closed = false;

  constructor(
    readonly dir: string,
    readonly task: string,
    readonly stream: LogStream,
    private readonly opts: RotatingLogOptions,
  ) {
    if (!Number.isInteger(opts.maxFiles) || opts.maxFiles < 1) {
      throw new NomadError('invalid_argument', `task "${task}": logs.max_files must be at least 1, got ${opts.maxFiles}`, { field: 'logs.max_files' });
    }
    if (!(opts.maxFileSizeBytes >= 1)) {
      throw new NomadError('invalid_argument', `task "${task}": logs.max_file_size must be positive, got ${opts.maxFileSizeBytes} bytes`, { field: 'logs.max_file_size' });
    }
    const existing = indexesIn(readdirSync(dir), task, stream);
    const last = existing[existing.length - 1];
    this.index = last ?? 0;
    this.openCurrent();
    if (this.size >= opts.maxFileSizeBytes) this.rotate();
    this.purge();
  }

  /** Index of the file being written. */
  get currentIndex(): number {
    return this.index;
  }

  write(data: Uint8Array | string): void {
    if (this.closed) throw new NomadError('conflict', `log ${this.task}.${this.stream} is closed`);
    let buf = typeof data === 'string' ? Buffer.from(data) : data;
    while (buf.length > 0) {
      const room = this.opts.maxFileSizeBytes - this.size;
      if (room <= 0) {
        this.rotate();
        continue;
      }
      const chunk = buf.subarray(0, room);
      let off = 0;
      while (off < chunk.length) off += writeSync(this.fd!, chunk, off, chunk.length - off);
      this.size += chunk.length;
      buf = buf.subarray(chunk.length);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private openCurrent(): void {
    this.fd = openSync(join(this.dir, logFileName(this.task, this.stream, this.index)), 'a', 0o644);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.index++;
    this.openCurrent();
    this.purge();
  }

  /** Delete all but the newest `maxFiles` files. */
  private purge(): void {
    for (const i of indexesIn(readdirSync(this.dir), this.task, this.stream)) {
      if (i > this.index - this.opts.maxFiles) break;
      try {
        unlinkSync(join(this.dir, logFileName(this.task, this.stream, i)));
      } catch {
        // Already gone (a reader or a second writer raced us): nothing to keep.
      }
    }
  }
}

export interface ReadLogsOptions {
  /** Bytes to skip from the origin (default 0). */
  offset?: number;
  /** `start`: offset from the start of the oldest file; `end`: offset back from the end (tail). */
  origin?: 'start' | 'end';
  /** Keep waiting for new bytes until `signal` aborts. */
  follow?: boolean;
  /** Poll interval on the clock when following (default 250 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Largest chunk yielded at once (default 64 KiB). */
  chunkBytes?: number;
}

/** A task's logs in an allocation's log directory: rotating writers and a reader. */
export class TaskLogs {
  constructor(
    readonly logDir: string,
    private readonly clock: Clock,
  ) {}

  openWriter(task: string, stream: LogStream, cfg: LogConfig): RotatingLogWriter {
    return new RotatingLogWriter(this.logDir, task, stream, rotatingOptions(cfg));
  }

  /**
   * Stream `task`'s `stream` log across rotated files, in order. The current file
   * stays open between polls, so a file purged by the writer while the reader is on
   * it is still read to its end; files purged before the reader reached them are
   * skipped (as in Nomad, a reader that falls behind `max_files` loses those bytes).
   */
  async *readLogs(task: string, stream: LogStream, opts: ReadLogsOptions = {}): AsyncGenerator<Buffer> {
    const pollMs = opts.pollMs ?? 250;
    const chunk = opts.chunkBytes ?? 64 * 1024;
    let pos = await startPosition(this.logDir, task, stream, await this.files(task, stream), opts.offset ?? 0, opts.origin ?? 'start');
    let fh: FileHandle | undefined;
    try {
      for (;;) {
        if (isAborted(opts.signal)) return;
        if (pos === undefined) {
          const first = (await this.files(task, stream))[0];
          if (first !== undefined) {
            pos = { index: first, offset: 0 };
            continue;
          }
        } else {
          fh ??= await open(join(this.logDir, logFileName(task, stream, pos.index)), 'r').catch(() => undefined);
          const next = (await this.files(task, stream)).find((i) => i > pos!.index);
          if (fh !== undefined) {
            // Read to the end. Once a newer file exists the writer never returns to this
            // one (it closes a file before opening the next), so this read is final.
            for (;;) {
              const buf = Buffer.alloc(chunk);
              const { bytesRead } = await fh.read(buf, 0, chunk, pos.offset);
              if (bytesRead === 0) break;
              pos.offset += bytesRead;
              yield buf.subarray(0, bytesRead);
              if (isAborted(opts.signal)) return;
            }
          }
          if (next !== undefined) {
            await fh?.close();
            fh = undefined;
            pos = { index: next, offset: 0 };
            continue;
          }
        }
        if (opts.follow !== true) return;
        if (await this.sleep(pollMs, opts.signal)) return;
      }
    } finally {
      await fh?.close();
    }
  }

  private async files(task: string, stream: LogStream): Promise<number[]> {
    return indexesIn(await readdir(this.logDir).catch(() => []), task, stream);
  }

  /** Wait `ms` on the clock; resolves true when aborted. */
  private sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal?.aborted === true) return resolve(true);
      const onAbort = (): void => {
        timer.cancel();
        resolve(true);
      };
      const timer = this.clock.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(false);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

async function startPosition(
  dir: string,
  task: string,
  stream: LogStream,
  files: readonly number[],
  offset: number,
  origin: 'start' | 'end',
): Promise<{ index: number; offset: number } | undefined> {
  if (!Number.isInteger(offset) || offset < 0) {
    throw new NomadError('invalid_argument', `log offset must be a non-negative integer, got ${offset}`, { field: 'offset' });
  }
  if (files.length === 0) return undefined;
  const sizes = await Promise.all(files.map((i) => sizeOf(join(dir, logFileName(task, stream, i)))));
  const total = sizes.reduce((a, b) => a + b, 0);
  let skip = origin === 'start' ? Math.min(offset, total) : Math.max(0, total - offset);
  for (const [k, i] of files.entries()) {
    const size = sizes[k]!;
    if (skip < size || k === files.length - 1) return { index: i, offset: Math.min(skip, size) };
    skip -= size;
  }
  return undefined;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
