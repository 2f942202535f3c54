/**
 * `alloc logs` against a dev agent in this process: a raw_exec task writes a known line to
 * stdout and one to stderr; the command prints each, refuses an unknown task naming the real
 * one, and -tail -n keeps the last lines. Waits poll for a state; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../agent/api/index.js';
import type { RunningAgent } from '../../agent/dev/index.js';
import { startAgent } from '../../agent/dev/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { mockNode, withComputedClass } from '../../agent/core/testing/index.js';
import { allocLogs, lastLinesStart } from './alloc-logs.js';
import type { Out } from './out.js';

let agent: RunningAgent;
let run: string;
let allocId: string;

function capture(): Out & { out: string; err: string } {
  const c = { out: '', err: '', stdout: (s: string) => { c.out += s; }, stderr: (s: string) => { c.err += s; } };
  return c;
}

beforeAll(async () => {
  run = mkdtempSync(join(tmpdir(), 'nomadts-logs-test-'));
  agent = await startAgent({ dev: true, rpcPort: 0, seed: 3, nodeName: 'logs-test', env: { XDG_RUNTIME_DIR: run } });
  await agent.client.registered();
  const api = ApiClient.fromEnv({ ...agent.cliEnv });
  try {
    const job = await parseJobText(
      [
        'job "echo" {',
        '  type = "batch"',
        '  group "g" {',
        '    task "say" {',
        '      driver = "raw_exec"',
        '      config {',
        '        command = "/bin/sh"',
        '        args    = ["-c", "echo first; echo hello-stdout; echo hello-stderr >&2"]',
        '      }',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
      { filename: 'echo.hcl' },
    );
    await api.registerJob(job);
    for (let i = 0; i < 200; i++) {
      const done = (await api.listAllocs({ jobId: 'echo' })).value.find((a) => a.clientStatus === 'complete');
      if (done !== undefined) {
        allocId = done.id;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (allocId === undefined) throw new Error('gave up waiting for the echo task to complete');
  } finally {
    api.close();
  }
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  rmSync(run, { recursive: true, force: true });
});

describe('alloc logs', () => {
  it('prints the stdout log of the only task, found by an id prefix', async () => {
    const c = capture();
    expect(await allocLogs([allocId.slice(0, 8)], c, agent.cliEnv)).toBe(0);
    expect(c.err).toBe('');
    expect(c.out).toBe('first\nhello-stdout\n');
  });

  it('prints stderr with -stderr, and the last line with -tail -n 1', async () => {
    const e = capture();
    expect(await allocLogs(['-stderr', allocId, 'say'], e, agent.cliEnv)).toBe(0);
    expect(e.out).toBe('hello-stderr\n');
    const t = capture();
    expect(await allocLogs(['-tail', '-n', '1', allocId], t, agent.cliEnv)).toBe(0);
    expect(t.out).toBe('hello-stdout\n');
  });

  it('follows a log until the caller cancels', async () => {
    const api = ApiClient.fromEnv({ ...agent.cliEnv });
    try {
      const ac = new AbortController();
      const got: Buffer[] = [];
      for await (const b of api.allocLogs(allocId, 'say', { follow: true, signal: ac.signal })) {
        got.push(b);
        if (Buffer.concat(got).toString().includes('hello-stdout\n')) ac.abort();
      }
      expect(Buffer.concat(got).toString()).toBe('first\nhello-stdout\n');
    } finally {
      api.close();
    }
  });

  it('refuses an unknown task naming the tasks there are, and a bad -n', async () => {
    const c = capture();
    expect(await allocLogs([allocId, 'nope'], c, agent.cliEnv)).toBe(1);
    expect(c.err).toBe(`Error: unknown task "nope" in allocation ${allocId}; its tasks: say\n`);
    const n = capture();
    expect(await allocLogs(['-n', 'x', allocId], n, agent.cliEnv)).toBe(1);
    expect(n.err).toBe('Error: -n must be a non-negative whole number of lines, got "x"\n');
  });

  it('says which node holds the logs of an allocation this agent does not run, and refuses a bad offset', async () => {
    // A second node, registered with the server but run by no client here, gets an exec task.
    const other = withComputedClass(mockNode({ id: '0e0e0e0e-1111-4222-8333-444444444444', name: 'elsewhere' }));
    await agent.server.registerNode(other);
    const api = ApiClient.fromEnv({ ...agent.cliEnv });
    try {
      const job = await parseJobText('job "far" {\n  type = "batch"\n  group "g" {\n    task "t" {\n      driver = "exec"\n      config {\n        command = "true"\n      }\n    }\n  }\n}\n', { filename: 'far.hcl' });
      await api.registerJob(job);
      let far: string | undefined;
      for (let i = 0; i < 200 && far === undefined; i++) {
        far = (await api.listAllocs({ jobId: 'far' })).value[0]?.id;
        if (far === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(far).toBeDefined();
      const c = capture();
      expect(await allocLogs([far!, 't'], c, agent.cliEnv)).toBe(1);
      expect(c.err).toBe(`Error: logs of allocation ${far!} are on node ${other.id} (elsewhere), which this agent does not run\n`);

      const u = capture();
      expect(await allocLogs(['ffffffff'], u, agent.cliEnv)).toBe(1);
      expect(u.err).toBe('Error: no allocation with id or prefix "ffffffff"\n');
      await expect(async () => {
        for await (const b of api.allocLogs(allocId, 'say', { origin: 'end', offset: -1 })) expect(b).toBeUndefined();
      }).rejects.toThrow('log offset must be a non-negative integer, got -1');
    } finally {
      api.close();
    }
  });
});

describe('lastLinesStart', () => {
  const b = (s: string): Buffer => Buffer.from(s);
  it('finds where the last n lines begin, a final newline ending the last line', () => {
    expect(lastLinesStart(b('a\nb\nc\n'), 1)).toBe(4);
    expect(lastLinesStart(b('a\nb\nc'), 2)).toBe(2);
    expect(lastLinesStart(b('a\nb\nc\n'), 3)).toBe(-1);
    expect(lastLinesStart(b(''), 1)).toBe(-1);
  });
});
