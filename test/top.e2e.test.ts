/**
 * `nomadts top` end to end under tmux, as an operator uses it: the built CLI starts a dev agent,
 * the console runs in a real terminal (tmux, 100x30), and the test reads the screen
 * (capture-pane) and presses keys (send-keys). A new job's evaluation shows in the Evaluations
 * panel through to applied; toggling eligibility by keys changes the node on the server and on
 * the screen; q quits and gives the terminal back. Waits poll the screen in bounded loops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import type { CliRun } from './e2e.js';
import { cliMain, root, runCli, isolatedEnv } from './e2e.js';
import { tmuxEnv, tmuxScreen } from './tmux.js';

const main = cliMain;
const session = `nomadts-top-${process.pid}`;

let dir: string;
let env: NodeJS.ProcessEnv;
let agent: ChildProcess | undefined;
let agentOut = '';

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args, env, { timeoutMs: 30_000 });
const { tmux, screen, until, onScreen, start } = tmuxScreen(session, () => env, () => `--- agent output ---\n${agentOut}`);

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  ({ dir, env } = isolatedEnv('top-e2e'));
  env = { ...env, ...tmuxEnv(dir) };
  agent = spawn(process.execPath, [main, 'agent', '-dev', '-data-dir', join(dir, 'data'), '-rpc-port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.setEncoding('utf8').on('data', (c: string) => (agentOut += c));
  agent.stderr!.setEncoding('utf8').on('data', (c: string) => (agentOut += c));
  await until('the agent to be ready', () => (/==> nomadts agent ready/.test(agentOut) ? true : undefined), 160);
  start(100, 30, `${process.execPath} ${main} top`);
});

afterAll(async () => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // already gone (q quit it)
  }
  if (agent !== undefined && agent.exitCode === null) {
    agent.kill('SIGINT');
    await new Promise((r) => agent!.on('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('nomadts top under tmux', () => {
  it("shows a new job's evaluation through to applied, with its timeline", async () => {
    await until('the console to connect', onScreen(/● live .* leader server-1 term 1/));
    const run = await cli(['job', 'run', '-detach', 'jobs/hello-web.nomad.hcl']);
    expect(run.code).toBe(0);
    const evalId = /Evaluation ID: (\S+)/.exec(run.stdout)![1]!;
    tmux('send-keys', '-t', session, '4');
    await until('the evaluation to show as applied', onScreen(new RegExp(`${evalId.slice(0, 8)} hello-web +job-register +complete`)));
    const detail = await until('the timeline detail', onScreen(/applied — 2 placed, 0 stopped/));
    expect(detail).toBeDefined();
    const s = screen();
    expect(s).toMatch(/enqueued — service p50/);
    expect(s).toMatch(/dequeued — worker-\d/);
    expect(s).toMatch(/top node scores:/);
    for (const line of s.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('toggles the node eligibility by keys, shows the command line, and the server agrees', async () => {
    tmux('send-keys', '-t', session, '2');
    await until('the Nodes panel', onScreen(/NODE +STATUS +ELIG/));
    tmux('send-keys', '-t', session, 'e');
    await until('the confirmation', onScreen(/\$ nomadts node eligibility -disable/));
    tmux('send-keys', '-t', session, 'y');
    await until('the notice with the command line', onScreen(/is now ineligible +\$ nomadts node eligibility -disable/));
    await until('the node row to say ineligible', onScreen(/ready +no +/));
    const status = await cli(['node', 'status', '-json']);
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ schedulingEligibility: 'ineligible' })]);
    // NOMADTS_TOP_TRACE recorded the keys, what they became and the frames drawn.
    const trace = readFileSync(env.NOMADTS_TOP_TRACE!, 'utf8');
    expect(trace).toMatch(/key "2" -> 2\n.* actions focus\n.* frame \d+ focus nodes/);
    expect(trace).toMatch(/key "e" -> e\n.* actions modal/);
    expect(trace).toMatch(/key "y" -> y\n.* actions [a-z,-]+ run eligibility/);
  });

  it('quits on q and gives the terminal back', async () => {
    tmux('send-keys', '-t', session, 'q');
    await until('the console to exit', () => {
      try {
        tmux('has-session', '-t', session);
        return undefined;
      } catch {
        return true;
      }
    });
  });
});
