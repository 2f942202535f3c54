/**
 * Helpers for the end-to-end tests that drive the built CLI (dist/, `npm run build` first) as
 * real processes: run a command, poll for a state in a bounded loop, find processes by command
 * line. Nothing here asserts a duration.
 */
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');
export const cliMain = join(root, 'dist', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `nomadts <args>` with `env` (merged over this process's environment unless `replaceEnv`). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  return new Promise((res) => {
    execFile(process.execPath, [cliMain, ...args], { cwd: opts.cwd ?? root, env, timeout: opts.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

/** Poll `probe` until it returns a value (undefined = not yet); throws naming `what` after `tries`. */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, opts: { tries?: number; everyMs?: number; context?: () => string } = {}): Promise<T> {
  const tries = opts.tries ?? 160;
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 250));
  }
  const why = last instanceof Error ? ` (last error: ${last.message})` : '';
  throw new Error(`gave up waiting for ${what}${why}${opts.context !== undefined ? `\n${opts.context()}` : ''}`);
}

/** Whether `pid` is a live process (not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line contains `marker`. */
export function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker) && processAlive(Number(name))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** SIGKILL every live process whose command line contains `marker` (test clean-up). */
export function killProcessesWith(marker: string): void {
  for (const pid of processesWith(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Non-empty lines of a file as numbers (e.g. the pids a task appends when it starts). */
export function numberLines(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map(Number);
  } catch {
    return [];
  }
}

/** A batch job of one raw_exec task that runs `true` (registers, places, finishes at once). */
export function trueBatchJobHcl(id: string): string {
  return `job "${id}" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "true"
      }
    }
  }
}
`;
}

/**
 * A service job of one raw_exec task that sleeps for an hour under python3, with `markers` on its
 * command line (so processesWith finds it).
 */
export function sleeperJobHcl(id: string, ...markers: string[]): string {
  return `job "${id}" {
  group "g" {
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "python3"
        args    = ["-c", "import time; time.sleep(3600)"${markers.map((m) => `, "${m}"`).join('')}]
      }
      resources {
        cpu    = 20
        memory = 32
      }
    }
  }
}
`;
}

/** Test clean-up: SIGKILL the children still running (waiting for each), then every process whose command line has `marker`. */
export async function killAll(children: readonly ChildProcess[], marker: string): Promise<void> {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((res) => c.on('exit', res));
    }
  }
  killProcessesWith(marker);
}

/**
 * A fresh temporary directory and an environment for the CLI and agents started under it: its own
 * XDG_RUNTIME_DIR (so dev agents publish their discovery file there, not in the user's), and no
 * NOMADTS_* variables from the caller (so nothing reaches a cluster outside the test).
 */
export function isolatedEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), `nomadts-${prefix}-`));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: join(dir, 'run'), ...extra };
  for (const k of ['NOMADTS_ADDR', 'NOMADTS_CACERT', 'NOMADTS_CLIENT_CERT', 'NOMADTS_CLIENT_KEY', 'NOMADTS_REGION']) delete env[k];
  return { dir, env };
}
