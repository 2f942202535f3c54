/**
 * `event stream` against a dev agent in this process: a job registered while the stream runs
 * shows up as NDJSON state and operational lines; bad flags are refused with the flag named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../agent/api/index.js';
import type { RunningAgent } from '../../agent/dev/index.js';
import { startAgent } from '../../agent/dev/index.js';
import { parseJobText } from '../../agent/jobspec/index.js';
import { eventStream, parseTopics } from './event-stream.js';
import type { Out } from './out.js';

let agent: RunningAgent;

function capture(): Out & { out: string; err: string } {
  const c = { out: '', err: '', stdout: (s: string) => { c.out += s; }, stderr: (s: string) => { c.err += s; } };
  return c;
}

beforeAll(async () => {
  const run = mkdtempSync(join(tmpdir(), 'nomadts-events-test-'));
  agent = await startAgent({ dev: true, rpcPort: 0, seed: 5, nodeName: 'events-test', env: { XDG_RUNTIME_DIR: run } });
  await agent.client.registered();
});

afterAll(async () => {
  await agent.stop();
});

describe('parseTopics', () => {
  it('splits state and operational topics, with keys', () => {
    expect(parseTopics([])).toEqual({});
    expect(parseTopics(['Job:web', 'Job:api', 'Plan', 'Raft:*'])).toEqual({ topics: { Job: ['web', 'api'] }, ops: { Plan: '*', Raft: '*' } });
    expect(parseTopics(['Job:web', 'Job'])).toEqual({ topics: { Job: '*' } });
    expect(parseTopics(['Node', '*'])).toEqual({});
  });

  it('names the bad -topic value and the known topics', () => {
    expect(() => parseTopics(['Jobs'])).toThrow(/-topic "Jobs": unknown topic "Jobs" \(state topics: Job, .*operational topics: Broker, Plan, Raft, Member, Drain\)/);
    expect(() => parseTopics(['Job:'])).toThrow(/-topic "Job:": the key after ":" is empty/);
  });
});

describe('nomadts event stream', () => {
  it("prints a new job's state events and its evaluation's operational events as NDJSON", async () => {
    const api = ApiClient.fromEnv({ ...agent.cliEnv });
    const job = await parseJobText(
      ['job "ev-job" {', '  type = "batch"', '  group "g" {', '    task "t" {', '      driver = "raw_exec"', '      config {', '        command = "/bin/true"', '      }', '    }', '  }', '}', ''].join('\n'),
      { filename: 'ev-job.hcl' },
    );
    const out = capture();
    const subscribers = agent.server.ops.subscribers();
    const running = eventStream(['-topic', 'Job:ev-job', '-topic', 'Broker', '-limit', '3'], out, agent.cliEnv);
    while (agent.server.ops.subscribers() === subscribers) await new Promise((r) => setTimeout(r, 5));
    const reg = await api.registerJob(job);
    api.close();
    expect(await running).toBe(0);
    const lines = out.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines).toContainEqual(expect.objectContaining({ kind: 'state', topic: 'Job', type: 'JobRegistered', key: 'ev-job' }));
    expect(lines).toContainEqual(expect.objectContaining({ kind: 'ops', topic: 'Broker', type: 'EvalEnqueued', key: reg.evalId }));
    for (const l of lines) if (l.kind === 'ops') expect(l.topic).toBe('Broker');
    expect(out.err).toBe('');
  });

  it.each([
    [['-topic', 'Gossip'], /unknown topic "Gossip"/],
    [['-index', '-3'], /-index must be a non-negative whole number, got "-3"/],
    [['-limit', 'many'], /-limit must be a non-negative whole number, got "many"/],
    [['Job'], /event stream takes no arguments, got "Job"/],
  ])('refuses %j with the flag named and prints no events', async (args, message) => {
    const out = capture();
    expect(await eventStream(args, out, agent.cliEnv)).toBe(1);
    expect(out.err).toMatch(message);
    expect(out.out).toBe('');
  });
});
