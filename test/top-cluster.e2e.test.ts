/**
 * `nomadts top` under tmux against a real local cluster (`nomadts dev up`: three servers and two
 * client agents as processes, mutual TLS): draining a node by keys (d, accept the deadline, y)
 * migrates its allocations to the other node while the Nodes panel shows the drain through to
 * done; transferring leadership by keys (t, y on a follower in the Servers panel) moves the
 * leader the header shows. The test reads the screen (capture-pane), presses keys (send-keys)
 * and checks the cluster through the API; waits poll in bounded loops.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../agent/api/index.js';

import type { CliRun } from './e2e.js';
import { cliMain, runCli, isolatedEnv } from './e2e.js';
import { tmuxEnv, tmuxScreen } from './tmux.js';

const main = cliMain;
const session = `nomadts-top-cluster-${process.pid}`;

let dir: string;
let cdir: string;
let env: NodeJS.ProcessEnv;
let api: ApiClient;

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args, env, { timeoutMs: 120_000 });
const { tmux, screen, until, onScreen, start } = tmuxScreen(session, () => env);

/** Move the panel's cursor down until the detail line names what `wanted` accepts. */
async function select(detail: RegExp, wanted: (m: RegExpExecArray) => boolean, rows: number): Promise<RegExpExecArray> {
  for (let i = 0; i <= rows; i++) {
    const m = await until('the detail line', onScreen(detail), 40);
    if (wanted(m)) return m;
    tmux('send-keys', '-t', session, 'Down');
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`no row matched\n${screen()}`);
}

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  ({ dir, env } = isolatedEnv('top-cluster'));
  env = { ...env, ...tmuxEnv(dir) };
  cdir = join(dir, 'cluster');
  const up = await cli(['dev', 'up', '-dir', cdir]);
  if (up.code !== 0) throw new Error(`dev up failed:\n${up.stdout}\n${up.stderr}`);
  api = ApiClient.fromEnv(env);
  // Three long-running tasks that may all migrate at once, healthy after a second.
  const job = join(dir, 'sleepers.nomad.hcl');
  writeFileSync(job, `job "sleepers" {
  migrate {
    max_parallel     = 3
    health_check     = "task_states"
    min_healthy_time = "1s"
  }
  group "g" {
    count = 3
    task "t" {
      driver = "raw_exec"
      config {
        command = "sleep"
        args    = ["300"]
      }
    }
  }
}
`);
  const run = await cli(['job', 'run', '-detach', job]);
  if (run.code !== 0) throw new Error(`job run failed:\n${run.stderr}`);
  start(110, 32, `${process.execPath} ${main} top`);
}, 120_000);

afterAll(async () => {
  try {
    tmux('kill-session', '-t', session);
  } catch {
    // already gone
  }
  api?.close();
  await cli(['dev', 'down', '-dir', cdir]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('nomadts top under tmux on a dev cluster', () => {
  it('drains a node by keys: its allocations migrate and the Nodes panel shows the drain through to done', async () => {
    const placed = await until('the three allocations running', async () => {
      const allocs = (await api.listAllocs({ jobId: 'sleepers' })).value.filter((a) => a.desiredStatus === 'run');
      return allocs.length === 3 && allocs.every((a) => a.clientStatus === 'running') ? allocs : undefined;
    });
    const nodes = (await api.listNodes()).value;
    const count = (id: string): number => placed.filter((a) => a.nodeId === id).length;
    const busiest = [...nodes].sort((a, b) => count(b.id) - count(a.id))[0]!;
    const other = nodes.find((n) => n.id !== busiest.id)!;

    tmux('send-keys', '-t', session, '2');
    await until('the Nodes panel with both clients', onScreen(/NODE +STATUS +ELIG +DRAIN[\s\S]*client-1[\s\S]*client-2/));
    await select(/^(client-\d) [0-9a-f]{8} +dc /m, (m) => m[1] === busiest.name, 2);
    tmux('send-keys', '-t', session, 'd');
    await until('the deadline prompt', onScreen(new RegExp(`Drain ${busiest.name}: its allocations migrate`)));
    tmux('send-keys', '-t', session, 'Enter');
    await until('the confirmation with its command line', onScreen(/\$ nomadts node drain -enable -deadline 1h/));
    tmux('send-keys', '-t', session, 'y');
    await until('the drain notice', onScreen(new RegExp(`draining ${busiest.name} \\(deadline 1h\\)`)));

    // Every allocation ends up running on the other node; the drain completes on screen.
    await until('the allocations to run on the other node', async () => {
      const live = (await api.listAllocs({ jobId: 'sleepers' })).value.filter((a) => a.desiredStatus === 'run');
      return live.length === 3 && live.every((a) => a.nodeId === other.id && a.clientStatus === 'running') ? true : undefined;
    }, 240);
    await until('the Nodes panel to show the drain done', onScreen(new RegExp(`${busiest.name} +ready +no +done`)), 120);
    expect(screen()).toMatch(new RegExp(`drain: ${count(busiest.id)} migrated, 0 remaining.* — complete`));
    const after = (await api.getNode(busiest.id)).value;
    expect(after.drainStrategy).toBeNull();
    expect(after.schedulingEligibility).toBe('ineligible');
  }, 120_000);

  it('transfers leadership by keys to a follower, and the header shows the new leader', async () => {
    tmux('send-keys', '-t', session, '1');
    const before = (await until('the header to name a leader', onScreen(/● live .* leader (server-\d) term (\d+)/)))[1]!;
    const follower = (await select(/^(server-\d): (\w+) in term/m, (m) => m[2] === 'follower', 3))[1]!;
    expect(follower).not.toBe(before);
    tmux('send-keys', '-t', session, 't');
    await until('the confirmation with its command line', onScreen(new RegExp(`\\$ nomadts operator raft transfer-leadership -peer-id ${follower}`)));
    tmux('send-keys', '-t', session, 'y');
    await until('the notice', onScreen(new RegExp(`leadership transferred to ${follower}`)));
    await until('the header to show the new leader', onScreen(new RegExp(`● live .* leader ${follower} term`)));
    const members = await cli(['operator', 'raft', 'list-peers']);
    expect(members.stdout).toMatch(new RegExp(`^${follower}\\s.*leader`, 'm'));
    // The console follows the leader: it reconnects to the new leader's address.
    const address = new RegExp(`^${follower}\\s+\\S+\\s+(\\S+)`, 'm').exec(members.stdout)![1]!;
    await until('the console to connect to the new leader', onScreen(new RegExp(`● live ${address.replace(/\./g, '\\.')} `)));
  }, 90_000);
});
