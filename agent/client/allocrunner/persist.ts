/**
 * What a client keeps on disk so that a restarted agent can pick its allocations up
 * again (Nomad keeps the same in its client state DB):
 *
 *   <dataDir>/client/allocs/<allocId>/alloc.json     the allocation as last received
 *   <dataDir>/client/allocs/<allocId>/<task>.json    the task's driver handle + TaskState
 *
 * Every write is atomic (temporary file, then rename), so a crash leaves either the
 * old or the new content, never half of one.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import type { Allocation, TaskState } from '../../core/structs/index.js';
import type { TaskHandle } from '../drivers/index.js';
import type { LogmonHandle } from '../taskrunner/index.js';

/** The file name of the allocation itself (a task cannot be named `alloc`: AllocDir refuses it). */
export const AllocFileName = 'alloc.json';

/** What is persisted per task. */
export interface PersistedTask {
  /** The live driver handle, or null when no process is running. */
  handle: TaskHandle | null;
  state: TaskState;
  /** How many times the task has been started (makes driver task ids unique). */
  attempt: number;
  /** The task's logmon process, or null when it has none. */
  logmon: LogmonHandle | null;
}

export function allocStateDir(dataDir: string, allocId: string): string {
  return join(dataDir, 'client', 'allocs', allocId);
}

export function taskStateFile(dataDir: string, allocId: string, task: string): string {
  return join(allocStateDir(dataDir, allocId), `${task}.json`);
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const dir = join(path, '..');
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new NomadError('parse', `${path}: persisted client state is not valid JSON: ${(e as Error).message}`);
  }
}

export async function readPersistedTask(dataDir: string, allocId: string, task: string): Promise<PersistedTask | undefined> {
  const path = taskStateFile(dataDir, allocId, task);
  const v = await readJson(path);
  if (v === undefined) return undefined;
  const p = v as Partial<PersistedTask>;
  if (typeof p !== 'object' || p === null || typeof p.state !== 'object' || p.state === null || !Array.isArray(p.state.events)) {
    throw new NomadError('parse', `${path}: persisted task state lacks "state"`);
  }
  const lm = p.logmon;
  const logmon = typeof lm === 'object' && lm !== null && typeof lm.pid === 'number' && typeof lm.startTime === 'number' ? { pid: lm.pid, startTime: lm.startTime } : null;
  return { handle: p.handle ?? null, state: p.state, attempt: typeof p.attempt === 'number' ? p.attempt : 0, logmon };
}

export async function readPersistedAlloc(dataDir: string, allocId: string): Promise<Allocation | undefined> {
  const path = join(allocStateDir(dataDir, allocId), AllocFileName);
  const v = await readJson(path);
  if (v === undefined) return undefined;
  const a = v as Partial<Allocation>;
  if (typeof a !== 'object' || a === null || a.id !== allocId || typeof a.job !== 'object') {
    throw new NomadError('parse', `${path}: persisted allocation is not allocation ${allocId}`);
  }
  return a as Allocation;
}

/** Ids of the allocations persisted under `dataDir` (what a restarted client restores). */
export async function listPersistedAllocs(dataDir: string): Promise<string[]> {
  try {
    const entries = await readdir(join(dataDir, 'client', 'allocs'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function removeAllocState(dataDir: string, allocId: string): Promise<void> {
  await rm(allocStateDir(dataDir, allocId), { recursive: true, force: true });
}
