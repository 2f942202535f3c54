/**
 * `alloc signal`, `alloc restart`, `alloc stop` against a dev agent in this process, and
 * `job init`. A raw_exec task prints its pid and traps SIGUSR1: the signal shows in its log,
 * a restart gives a new pid and a `Restart Signaled` event without failing the task, a stop
 * ends it. Waits poll for a state; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../agent/api/index.js';
import type { RunningAgent } from '../../agent/dev/index.js';
import { startAgent } from '../../agent/dev/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { allocRestart, allocSignal, allocStop } from './alloc-control.js';
import { DefaultInitFile, jobInit } from './job-init.js';
import type { Out } from './out.js';

let agent: RunningAgent;
let run: string;
let api: ApiClient;
let allocId: string;

function capture(): Out & { out: string; err: string } {
  const c = { out: '', err: '', stdout: (s: string) => { c.out += s; }, stderr: (s: string) => { c.err += s; } };
  return c;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function stdoutOf(id: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of api.allocLogs(id, 'trap')) parts.push(b);
  return Buffer.concat(parts).toString();
}

const pids = (log: string): string[] => [...log.matchAll(/^pid=(\d+)$/gm)].map((m) => m[1]!);

beforeAll(async () => {
  run = mkdtempSync(join(tmpdir(), 'nomadts-control-test-'));
  agent = await startAgent({ dev: true, rpcPort: 0, seed: 5, nodeName: 'control-test', env: { XDG_RUNTIME_DIR: run } });
  await agent.client.registered();
  api = ApiClient.fromEnv({ ...agent.cliEnv });
  const job = await parseJobText(
    [
      'job "trapper" {',
      '  group "g" {',
      '    task "trap" {',
      '      driver      = "raw_exec"',
      '      kill_timeout = "2s"',
      '      config {',
      '        command = "/bin/sh"',
      '        args    = ["-c", "echo pid=$$; trap \\"echo got-usr1\\" USR1; while true; do sleep 0.2; done"]',
      '      }',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
    { filename: 'trapper.hcl' },
  );
  await api.registerJob(job);
  const a = await waitFor('the trap task to run', async () => (await api.listAllocs({ jobId: 'trapper' })).value.find((x) => x.clientStatus === 'running'));
  allocId = a.id;
  await waitFor('the task to print its pid', async () => (pids(await stdoutOf(allocId)).length === 1 ? true : undefined));
}, 60_000);

afterAll(async () => {
  api?.close();
  await agent?.stop();
  rmSync(run, { recursive: true, force: true });
});

describe('alloc signal', () => {
  it('delivers SIGUSR1 to the task, which logs it', async () => {
    const c = capture();
    expect(await allocSignal(['-s', 'SIGUSR1', allocId.slice(0, 8), 'trap'], c, agent.cliEnv)).toBe(0);
    expect(c.err).toBe('');
    expect(c.out).toBe(`Sent SIGUSR1 to task "trap" of allocation ${allocId}\n`);
    await waitFor('got-usr1 in the log', async () => ((await stdoutOf(allocId)).includes('got-usr1\n') ? true : undefined));
    // The client reports task states in batches: the event reaches the server shortly after.
    const ts = await waitFor('the Signaling event at the server', async () => {
      const t = (await api.getAlloc(allocId)).value.taskStates['trap']!;
      return t.events.some((e) => e.type === 'Signaling' && e.message === 'Task being sent signal SIGUSR1') ? t : undefined;
    });
    expect(ts.state).toBe('running');
  });

  it('refuses an unknown task, naming the tasks there are, and an unknown signal', async () => {
    const c = capture();
    expect(await allocSignal(['-s', 'USR1', allocId, 'nope'], c, agent.cliEnv)).toBe(1);
    expect(c.err).toBe(`Error: unknown task "nope" in allocation ${allocId}; its tasks: trap\n`);
    const s = capture();
    expect(await allocSignal(['-s', 'SIGNOPE', allocId], s, agent.cliEnv)).toBe(1);
    expect(s.err).toBe('Error: raw_exec: unknown signal "SIGNOPE"\n');
    const e = capture();
    expect(await allocSignal(['-s', '', allocId], e, agent.cliEnv)).toBe(1);
    expect(e.err).toBe('Error: -s needs a signal name such as SIGUSR1\n');
  });
});

describe('alloc restart', () => {
  it('restarts the task in place: a new pid, a Restart Signaled event, one more restart, not failed', async () => {
    const before = (await api.getAlloc(allocId)).value.taskStates['trap']!;
    const [pid1] = pids(await stdoutOf(allocId));
    const c = capture();
    expect(await allocRestart([allocId], c, agent.cliEnv)).toBe(0);
    expect(c.out).toBe(`Restarted the running tasks of allocation ${allocId}\n`);
    const log = await waitFor('a second pid in the log', async () => {
      const l = await stdoutOf(allocId);
      return pids(l).length === 2 ? l : undefined;
    });
    const [, pid2] = pids(log);
    expect(pid2).not.toBe(pid1);
    const after = await waitFor('the task running again', async () => {
      const ts = (await api.getAlloc(allocId)).value.taskStates['trap']!;
      return ts.state === 'running' && ts.restarts === before.restarts + 1 ? ts : undefined;
    });
    expect(after.failed).toBe(false);
    const types = after.events.map((e) => e.type);
    expect(types).toContain('Restart Signaled');
    expect(types.lastIndexOf('Started')).toBeGreaterThan(types.lastIndexOf('Restart Signaled'));
  });

  it('refuses an unknown task', async () => {
    const c = capture();
    expect(await allocRestart([allocId, 'nope'], c, agent.cliEnv)).toBe(1);
    expect(c.err).toBe(`Error: unknown task "nope" in allocation ${allocId}; its tasks: trap\n`);
  });
});

describe('alloc stop', () => {
  it('stops the allocation (monitoring the evaluation), after which it cannot be signalled', async () => {
    const c = capture();
    expect(await allocStop([allocId], c, agent.cliEnv)).toBe(0);
    expect(c.err).toBe('');
    await waitFor('the allocation to be stopped', async () => {
      const a = (await api.getAlloc(allocId)).value;
      return a.desiredStatus === 'stop' && a.taskStates['trap']?.state === 'dead' ? a : undefined;
    });
    const s = capture();
    expect(await allocSignal(['-s', 'USR1', allocId, 'trap'], s, agent.cliEnv)).toBe(1);
    expect(s.err).toMatch(/^Error: (task "trap" is (not running|being killed)|allocation \S+ is not running on this agent's client)/);
  });
});

describe('job init', () => {
  it('writes an example that parses and validates, and refuses to overwrite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nomadts-init-test-'));
    try {
      for (const [args, file] of [[[], DefaultInitFile], [['-short', join(dir, 'short.hcl')], 'short.hcl']] as const) {
        const path = join(dir, file);
        const c = capture();
        const cwd = process.cwd();
        process.chdir(dir);
        try {
          expect(await jobInit(args, c)).toBe(0);
        } finally {
          process.chdir(cwd);
        }
        expect(c.out).toBe(`Example job file written to ${args.length === 0 ? DefaultInitFile : path}\n`);
        const job = await parseJobText(readFileSync(path, 'utf8'), { filename: file });
        expect(job.id).toBe('example');
        expect(job.taskGroups[0]!.tasks[0]!.driver).toBe('raw_exec');
      }
      const kept = join(dir, 'kept.hcl');
      writeFileSync(kept, 'mine\n');
      const c = capture();
      expect(await jobInit([kept], c)).toBe(1);
      expect(c.err).toBe(`Error: ${kept} already exists; remove it or name another file\n`);
      expect(readFileSync(kept, 'utf8')).toBe('mine\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
