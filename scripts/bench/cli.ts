/**
 * The CLI start-up benchmark: start-to-exit wall time of `nomadts version` (loads nothing but
 * the command table) and of `nomadts node status` against a dev agent (loads the API client,
 * finds the agent through the discovery file, one mutual-TLS gRPC call). The agent runs in a
 * child process with its own XDG_RUNTIME_DIR and data dir, as a newcomer would start it.
 * Target (the issue): median of each ≤ 250 ms.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cliMain, devAgentEnv, startDevAgent, stopDevAgent } from './dev-agent.js';
import { intOptions, summarize } from './stats.js';

const TargetMs = 250;
const main = cliMain;

/** Runs the built CLI once; resolves with its wall time (spawn to exit) in ms. */
function timeCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return timeNode([main, ...args], env);
}

/** Runs `node <argv>` once; resolves with its wall time (spawn to exit) in ms. */
function timeNode(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const args = argv.slice(1);
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', rej);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) res(ms);
      else rej(new Error(`nomadts ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

export async function cliBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { runs: 30, warmup: 3 });
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const dir = mkdtempSync(join(tmpdir(), 'nomadts-bench-cli-'));
  const env = devAgentEnv(dir);
  log(`starting a dev agent (data dir ${dir})...`);
  const agent = await startDevAgent(env, join(dir, 'data')).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  try {
    log(`agent ready at ${agent.rpcAddr}`);
    const results: Record<string, ReturnType<typeof summarize>> = {};
    for (const [name, cmd] of [['version', ['version']], ['nodeStatus', ['node', 'status']]] as const) {
      for (let i = 0; i < o.warmup; i++) await timeCli(cmd, env);
      const samples: number[] = [];
      for (let i = 0; i < o.runs; i++) samples.push(await timeCli(cmd, env));
      results[name] = summarize(samples);
      log(`nomadts ${cmd.join(' ')}: median ${results[name].medianMs} ms, p90 ${results[name].p90Ms} ms (${o.runs} runs)`);
    }
    // The floor: starting node itself and exiting.
    const floor: number[] = [];
    for (let i = 0; i < o.runs; i++) floor.push(await timeNode(['-e', '0'], env));
    results.nodeEmpty = summarize(floor);
    log(`node -e 0 (the floor): median ${results.nodeEmpty.medianMs} ms`);
    return {
      runs: o.runs,
      warmup: o.warmup,
      version: results.version,
      nodeStatus: results.nodeStatus,
      nodeEmpty: results.nodeEmpty,
      targetMs: TargetMs,
      meetsTarget: results.version!.medianMs <= TargetMs && results.nodeStatus!.medianMs <= TargetMs,
      node: process.version,
    };
  } finally {
    log('stopping the agent...');
    await stopDevAgent(agent.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
