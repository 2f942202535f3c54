/**
 * The dev agent in this process: real certificates, listener, server, client and alloc runners
 * (mock driver), reached through the API client with the env the agent hands out. Waits poll
 * for a state; nothing asserts a duration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../api/index.js';
import type { NodeResourceUsage } from '../core/structs/index.js';
import { nodeUsageTotals } from '../core/structs/index.js';
import { parseJobText } from '../jobspec/index.js';
import type { AgentEvent, RunningAgent } from './index.js';
import { startAgent } from './index.js';

const dirs: string[] = [];
const agents: RunningAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nomadts-dev-test-'));
  dirs.push(d);
  return d;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('startAgent', () => {
  it('refuses anything but dev mode, and a bad port, with a sentence', async () => {
    await expect(startAgent({ dev: false })).rejects.toThrow('only dev mode exists for now: run `nomadts agent -dev`');
    await expect(startAgent({ dev: true, rpcPort: 70000 })).rejects.toThrow('rpc port must be a whole number between 0 and 65535, got 70000');
  });

  it('runs a job end to end, publishes itself, and cleans up its temporary data dir and discovery file on stop', async () => {
    const run = tempDir();
    const events: AgentEvent[] = [];
    const agent = await startAgent({ dev: true, rpcPort: 0, seed: 7, nodeName: 'dev-test', env: { XDG_RUNTIME_DIR: run }, onEvent: (e) => events.push(e) });
    agents.push(agent);
    expect(agent.seed).toBe(7);
    expect(agent.discoveryFile).toBe(join(run, 'nomadts-dev-agent.json'));
    const published = JSON.parse(readFileSync(agent.discoveryFile, 'utf8')) as Record<string, unknown>;
    expect(published).toEqual({ rpcAddr: agent.cliEnv.NOMADTS_ADDR, region: 'global', caFile: agent.certs.caFile, certFile: agent.certs.cli.certFile, keyFile: agent.certs.cli.keyFile, pid: process.pid, dataDir: agent.dataDir });
    expect(JSON.parse(readFileSync(agent.infoFile, 'utf8'))).toEqual(published);
    await agent.client.registered();

    const api = ApiClient.fromEnv({ ...agent.cliEnv });
    try {
      const job = await parseJobText(
        'job "m" {\n  type = "batch"\n  group "g" {\n    task "t" {\n      driver = "mock"\n      config {\n        run_for = "50ms"\n      }\n    }\n  }\n}\n',
        { filename: 'm.hcl' },
      );
      await api.registerJob(job);
      await until('the mock task to complete', async () => (await api.listAllocs({ jobId: 'm' })).value.some((a) => a.clientStatus === 'complete'));
      const nodes = (await api.listNodes()).value;
      expect(nodes.map((n) => [n.name, n.datacenter, n.status])).toEqual([['dev-test', 'dc1', 'ready']]);
      expect(nodes[0]!.drivers.raw_exec?.healthy).toBe(true);
    } finally {
      api.close();
    }
    expect(events.some((e) => e.kind === 'node-registered' && e.nodeName === 'dev-test')).toBe(true);
    expect(events.some((e) => e.kind === 'eval-complete' && e.jobId === 'm' && e.placements === 1)).toBe(true);
    expect(events.filter((e) => e.kind === 'alloc-status').map((e) => (e.kind === 'alloc-status' ? e.status : ''))).toContain('complete');
    expect(agent.allocRunnerIds()).toHaveLength(1);

    await agent.stop();
    await agent.stop();
    expect(existsSync(agent.discoveryFile)).toBe(false);
    expect(existsSync(agent.dataDir)).toBe(false);
  });

  it('keeps a given data dir and leaves another agent\'s discovery file alone', async () => {
    const run = tempDir();
    const data = join(tempDir(), 'data');
    const agent = await startAgent({ dev: true, rpcPort: 0, dataDir: data, env: { XDG_RUNTIME_DIR: run } });
    agents.push(agent);
    // Another agent took the well-known file over meanwhile.
    const other = JSON.stringify({ ...JSON.parse(readFileSync(agent.discoveryFile, 'utf8')), pid: process.pid + 1 });
    writeFileSync(agent.discoveryFile, other);
    await agent.stop();
    expect(readFileSync(agent.discoveryFile, 'utf8')).toBe(other);
    expect(existsSync(join(data, 'tls'))).toBe(true);
  });
  it('reports the tasks\' CPU and memory use to the server, which serves it per node and allocation', async () => {
    const agent = await startAgent({ dev: true, rpcPort: 0, env: { XDG_RUNTIME_DIR: tempDir() } });
    agents.push(agent);
    await agent.client.registered();
    const api = ApiClient.fromEnv({ ...agent.cliEnv });
    try {
      const job = await parseJobText(
        'job "mem" {\n  group "g" {\n    task "hold" {\n      driver = "raw_exec"\n      config {\n        command = "python3"\n        args = ["-c", "b = bytearray(48 * 1024 * 1024); import time; time.sleep(600)"]\n      }\n      resources {\n        cpu = 100\n        memory = 128\n      }\n    }\n  }\n}\n',
        { filename: 'mem.hcl' },
      );
      await api.registerJob(job);
      const nodeId = agent.client.node!.id;
      let seen: NodeResourceUsage | undefined;
      await until('a usage report with the task holding its 48 MiB', async () => {
        seen = (await api.nodeUsage(nodeId))[0];
        return (seen?.allocs[0]?.tasks['hold']?.memoryRssBytes ?? 0) >= 48 * 1024 * 1024;
      }, 300);
      const alloc = (await api.listAllocs({ jobId: 'mem' })).value[0]!;
      expect(seen!.nodeId).toBe(nodeId);
      expect(seen!.allocs.map((a) => a.allocId)).toEqual([alloc.id]);
      const hold = seen!.allocs[0]!.tasks['hold']!;
      expect(hold.cpuMhz).toBeGreaterThanOrEqual(0);
      expect(hold.cpuTotalMs).toBeGreaterThan(0);
      expect(nodeUsageTotals(seen!).memoryRssBytes).toBe(hold.memoryRssBytes);
      expect(await api.nodeUsage('')).toHaveLength(1);
      await expect(api.nodeUsage('00000000-0000-4000-8000-00000000dead')).rejects.toThrow(/not found/);
    } finally {
      api.close();
    }
  });
});
