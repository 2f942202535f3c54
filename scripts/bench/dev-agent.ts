/**
 * A dev agent for the benchmarks: `nomadts agent -dev` (the built CLI) in a child process with
 * its own XDG_RUNTIME_DIR, so the CLI and ApiClient.fromEnv find it, and only it, through the
 * discovery file.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** dist/cli/main.js, from dist/scripts/bench/. */
export const cliMain = resolve(import.meta.dirname, '..', '..', 'cli', 'main.js');

/** The environment of the agent and its CLI processes: a private runtime dir under `dir`, no NOMADTS_* variable. */
export function devAgentEnv(dir: string): NodeJS.ProcessEnv {
  const run = join(dir, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: run };
  for (const k of ['NOMADTS_ADDR', 'NOMADTS_CACERT', 'NOMADTS_CLIENT_CERT', 'NOMADTS_CLIENT_KEY', 'NOMADTS_REGION']) delete env[k];
  return env;
}

/** Starts `nomadts agent -dev` and waits for its ready line. */
export async function startDevAgent(env: NodeJS.ProcessEnv, dataDir: string): Promise<{ child: ChildProcess; rpcAddr: string }> {
  const child = spawn(process.execPath, [cliMain, 'agent', '-dev', '-data-dir', dataDir, '-rpc-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const rpcAddr = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`the dev agent was not ready within 60 s:\n${out}`));
    }, 60_000);
    const check = (): void => {
      const m = /==> nomadts agent ready: rpc (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        res(m[1]!);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`the dev agent exited (${code}) before it was ready:\n${out}`));
    });
  });
  if (!/export NOMADTS_ADDR=\S+/.test(out)) throw new Error(`the dev agent printed no exports:\n${out}`);
  return { child, rpcAddr };
}

export async function stopDevAgent(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

