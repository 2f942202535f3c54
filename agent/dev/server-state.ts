/**
 * The dev agent's server state on disk: with an explicit data dir, the one-server log's state
 * (the FSM snapshot) is written to `<dataDir>/server/state.snap` shortly after it changes and
 * read back when the agent starts again, so a restarted agent still knows its jobs and
 * allocations and its client can reattach to the tasks that kept running (instead of the
 * server placing them again, or the client killing them as unknown). A stand-in for the
 * Raft issue's durable log: same FSM, same snapshot format.
 *
 * Writes are atomic (temporary file, rename) and never overlap; a crash loses at most the
 * changes of the last `intervalMs`.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { Server } from '../server/index.js';

export const ServerStateFileName = join('server', 'state.snap');

export class ServerStateFile {
  readonly path: string;
  private saved = -1;
  private timer: TimerHandle | null = null;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The last write error (the agent logs it; the next change tries again). */
  lastError: Error | null = null;

  constructor(dataDir: string, private readonly server: Server, private readonly clock: Clock, private readonly intervalMs = 100) {
    this.path = join(dataDir, ServerStateFileName);
  }

  /**
   * Restore the server's state from the file, before the server starts. Returns the restored
   * index, or 0 when there is no file. A corrupt file is an error naming it (nothing changed).
   */
  load(): number {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    try {
      this.server.fsm.restore(new Uint8Array(bytes));
    } catch (e) {
      throw new NomadError('parse', `${this.path}: cannot restore the server state: ${e instanceof Error ? e.message : String(e)} (move the file away to start with an empty state)`);
    }
    this.saved = this.server.fsm.lastApplied();
    return this.saved;
  }

  /** Write the state whenever it has changed, checked every intervalMs. */
  start(): void {
    if (this.timer !== null || this.stopped) return;
    const tick = (): void => {
      this.timer = null;
      void this.flush().finally(() => {
        if (!this.stopped) this.timer = this.clock.setTimer(this.intervalMs, tick);
      });
    };
    this.timer = this.clock.setTimer(this.intervalMs, tick);
  }

  /** Write now if the state changed since the last write; resolves once it is on disk. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      const index = this.server.fsm.lastApplied();
      if (index === this.saved) return;
      try {
        await mkdir(join(this.path, '..'), { recursive: true });
        const tmp = `${this.path}.tmp`;
        await writeFile(tmp, this.server.fsm.snapshot());
        await rename(tmp, this.path);
        this.saved = index;
        this.lastError = null;
      } catch (e) {
        this.lastError = e instanceof Error ? e : new Error(String(e));
      }
    });
    return this.writing;
  }

  /** Stop the timer after a last write. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    await this.flush();
  }
}
