/**
 * `nomadts top` end to end under tmux, as an operator uses it: the built CLI starts a dev agent,
 * the console runs in a real terminal (tmux, 100x30), and the test reads the screen
 * (capture-pane) and presses keys (send-keys). A new job's evaluation shows in the Evaluations
 * panel through to applied; toggling eligibility by keys changes the node on the server and on
 * the screen; q quits and gives the terminal back. Waits poll the screen in bounded loops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');
const session = `nomadts-top-${process.pid}`;

let dir: string;
let env: NodeJS.ProcessEnv;
let agent: ChildProcess | undefined;
let agentOut = '';

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [main, ...args], { cwd: root, env, timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8', env });
}

function screen(): string {
  try {
    return tmux('capture-pane', '-p', '-t', session);
  } catch {
    return '';
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, tries = 160, everyMs = 250): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`gave up waiting for ${what}\n--- screen ---\n${screen()}\n--- agent output ---\n${agentOut}`);
}

const onScreen = (re: RegExp) => (): RegExpExecArray | undefined => re.exec(screen()) ?? undefined;

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'nomadts-top-e2e-'));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  env = { ...process.env, XDG_RUNTIME_DIR: join(dir, 'run'), TMUX: '' };
  for (const k of ['NOMADTS_ADDR', 'NOMADTS_CACERT', 'NOMADTS_CLIENT_CERT', 'NOMADTS_CLIENT_KEY', 'NOMADTS_REGION']) delete env[k];
  agent = spawn(process.execPath, [main, 'agent', '-dev', '-data-dir', join(dir, 'data'), '-rpc-port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout!.setEncoding('utf8').on('data', (c: string) => (agentOut += c));
  agent.stderr!.setEncoding('utf8').on('data', (c: string) => (agentOut += c));
  await until('the agent to be ready', () => (/==> nomadts agent ready/.test(agentOut) ? true : undefined), 160);
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `${process.execPath} ${main} top`);
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
