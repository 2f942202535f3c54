import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MultiError, NomadError, VirtualClock } from '../../core/lib/index.js';
import { computeNodeClass } from '../../core/structs/index.js';
import { MockDriver, RawExecDriver } from '../drivers/index.js';
import type { TaskDriver } from '../drivers/index.js';
import { defaultClientConfig, fingerprintNode, loadOrCreateNodeId, nodeIdPath, parseClientConfig, rawExecEnabled } from './index.js';

let dataDir: string;
beforeEach(() => { dataDir = mkdtempSync(join(tmpdir(), 'nomadts-fp-')); });
afterEach(() => { rmSync(dataDir, { recursive: true, force: true }); });

async function parseError(text: string, file = 'client.hcl'): Promise<NomadError> {
  const e: unknown = await parseClientConfig(text, file).then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(NomadError);
  return e as NomadError;
}

describe('fingerprintNode', () => {
  it('reports sane facts about this machine and applies the client config', async () => {
    const config = defaultClientConfig({
      dataDir, name: 'client-1', datacenter: 'eu-west', nodeClass: 'batch', nodePool: 'gpu',
      meta: { rack: 'r7' }, reserved: { cpu: 100, memoryMB: 256, diskMB: 1024, reservedPorts: [22] },
    });
    const drivers: TaskDriver[] = [new MockDriver({ clock: new VirtualClock() }), new RawExecDriver({ enabled: rawExecEnabled(config) })];
    const node = await fingerprintNode({ config, drivers, now: 42 });
    const a = node.attributes;
    expect(Number(a['cpu.numcores'])).toBeGreaterThanOrEqual(1);
    expect(Number(a['cpu.totalcompute'])).toBeGreaterThan(0);
    expect(a['cpu.arch']).toMatch(/^[a-z0-9]+$/);
    expect(Number(a['memory.totalbytes'])).toBeGreaterThan(0);
    expect(a['kernel.name']).toBe('linux');
    expect(a['kernel.version']).toMatch(/^\d+\.\d+/);
    expect(['1', '2']).toContain(a['os.cgroups.version']);
    expect(a['unique.hostname']).not.toBe('');
    expect(a['unique.network.ip-address']).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(Number(a['unique.storage.bytesfree'])).toBeGreaterThan(0);
    expect(node.resources.cpuCores).toBe(Number(a['cpu.numcores']));
    expect(node.resources.cpu).toBe(Number(a['cpu.totalcompute']));
    expect(node.resources.memoryMB).toBe(Math.floor(Number(a['memory.totalbytes']) / 1048576));
    expect(node.resources.diskMB).toBeGreaterThan(0);

    expect(node).toMatchObject({
      name: 'client-1', datacenter: 'eu-west', nodeClass: 'batch', nodePool: 'gpu', meta: { rack: 'r7' },
      reserved: { cpu: 100, memoryMB: 256, diskMB: 1024, reservedPorts: [22] },
      status: 'initializing', statusUpdatedAt: 42, schedulingEligibility: 'eligible', drainStrategy: null,
    });
    expect(node.drivers['mock']).toMatchObject({ detected: true, healthy: true });
    expect(a['driver.mock']).toBe('1');
    expect(a['driver.mock.version']).toBe('1');
    // raw_exec is off by default on a non-dev client: present, unhealthy, not advertised as usable.
    expect(node.drivers['raw_exec']).toEqual({ detected: true, healthy: false, healthDescription: 'disabled', attributes: {} });
    expect(a['driver.raw_exec']).toBeUndefined();
    expect(node.computedClass).toBe(computeNodeClass(node));
  });

  it('dev mode uses 127.0.0.1 and enables raw_exec; overrides replace detected totals', async () => {
    const config = defaultClientConfig({ dataDir, devMode: true, cpuTotalCompute: 1234, memoryTotalMB: 999 });
    expect(rawExecEnabled(config)).toBe(true);
    const node = await fingerprintNode({ config, drivers: [new RawExecDriver({ enabled: rawExecEnabled(config) })], now: 0 });
    expect(node.attributes['unique.network.ip-address']).toBe('127.0.0.1');
    expect(node.httpAddr).toBe('127.0.0.1:4646');
    expect(node.attributes['driver.raw_exec']).toBe('1');
    expect(node.resources).toMatchObject({ cpu: 1234, memoryMB: 999 });
    expect(node.name).toBe(node.attributes['unique.hostname']);
    expect(rawExecEnabled(defaultClientConfig({ devMode: true, options: { 'driver.raw_exec.enable': '0' } }))).toBe(false);
    expect(rawExecEnabled(defaultClientConfig({ options: { 'driver.raw_exec.enable': 'true' } }))).toBe(true);
  });

  it('a driver whose fingerprint throws is reported undetected; health changes move the class', async () => {
    const broken: TaskDriver = Object.assign(new MockDriver({ clock: new VirtualClock(), name: 'broken' }), {
      fingerprint: (): Promise<never> => Promise.reject(new Error('socket missing')),
    });
    const mock = new MockDriver({ clock: new VirtualClock() });
    const config = defaultClientConfig({ dataDir });
    const n1 = await fingerprintNode({ config, drivers: [broken, mock], now: 0 });
    expect(n1.drivers['broken']).toMatchObject({ detected: false, healthy: false, healthDescription: 'fingerprint failed: socket missing' });
    mock.setHealthy(false);
    const n2 = await fingerprintNode({ config, drivers: [broken, mock], now: 0 });
    expect(n2.computedClass).not.toBe(n1.computedClass);
    expect(n2.attributes['driver.mock']).toBeUndefined();
  });

  it('keeps the node id across restarts in <dataDir>/client/node-id', async () => {
    const config = defaultClientConfig({ dataDir });
    const a = await fingerprintNode({ config, drivers: [], now: 0 });
    const b = await fingerprintNode({ config, drivers: [], now: 1 });
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.id).toBe(a.id);
    expect(loadOrCreateNodeId(dataDir)).toBe(a.id);
    const other = mkdtempSync(join(tmpdir(), 'nomadts-fp-'));
    try {
      expect(loadOrCreateNodeId(other)).not.toBe(a.id);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    writeFileSync(nodeIdPath(dataDir), 'garbage\n');
    expect(() => loadOrCreateNodeId(dataDir)).toThrow(/node-id: not a node id/);
    expect(() => loadOrCreateNodeId('')).toThrow(/data_dir is required/);
  });
});

describe('parseClientConfig', () => {
  it('reads the agent attributes and the client block (HCL1-style meta/options blocks too)', async () => {
    const text = [
      'name       = "web-1"',
      'datacenter = "eu-west"',
      'data_dir   = "/var/lib/nomadts"',
      'server { enabled = false }',
      'client {',
      '  enabled    = true',
      '  node_class = "batch"',
      '  node_pool  = "gpu"',
      '  servers    = ["10.0.0.1:4647"]',
      '  meta {',
      '    rack = "r7"',
      '    tier = 2',
      '  }',
      '  options {',
      '    "driver.raw_exec.enable" = "1"',
      '  }',
      '  reserved {',
      '    cpu            = 500',
      '    memory         = 512',
      '    disk           = 1024',
      '    reserved_ports = "22,80,8000-8002"',
      '  }',
      '  max_dynamic_port = 30000',
      '}',
    ].join('\n');
    const cfg = await parseClientConfig(text, 'agent.hcl');
    expect(cfg).toMatchObject({
      name: 'web-1', datacenter: 'eu-west', dataDir: '/var/lib/nomadts', nodeClass: 'batch', nodePool: 'gpu',
      servers: ['10.0.0.1:4647'], meta: { rack: 'r7', tier: '2' }, options: { 'driver.raw_exec.enable': '1' },
      reserved: { cpu: 500, memoryMB: 512, diskMB: 1024, reservedPorts: [22, 80, 8000, 8001, 8002] },
      minDynamicPort: 20000, maxDynamicPort: 30000,
    });
    expect(rawExecEnabled(cfg)).toBe(true);
    const attrForm = await parseClientConfig('client {\n  meta = { rack = "r1" }\n}\n', 'b.hcl');
    expect(attrForm.meta).toEqual({ rack: 'r1' });
  });

  it('names file:line:column and the field of a bad attribute', async () => {
    const e = await parseError('datacenter = "dc1"\nclient {\n  node_class = "a"\n  bogus = 1\n}\n');
    expect(e.message).toMatch(/^client\.hcl:4:3: client\.bogus: unknown attribute/);
    expect(e.field).toBe('client.bogus');
    expect(e.position).toEqual({ file: 'client.hcl', line: 4, column: 3 });

    const e2 = await parseError('client {\n  reserved {\n    cpu = "lots"\n  }\n}\n');
    expect(e2.message).toMatch(/^client\.hcl:3:5: client\.reserved\.cpu: must be an integer/);
    const e3 = await parseError('client {\n  reserved {\n    reserved_ports = "22,90-80"\n  }\n}\n');
    expect(e3.message).toMatch(/^client\.hcl:3:5: client\.reserved\.reserved_ports: bad port or range "90-80"/);
    const e4 = await parseError('frobnicate = true\n');
    expect(e4.message).toMatch(/^client\.hcl:1:1: frobnicate: unknown/);
  });

  it('reports HCL syntax errors with file:line:column, and every problem at once', async () => {
    const e = await parseError('client {\n  node_class = \n}\n', 'c.hcl');
    expect(e.code).toBe('parse');
    expect(e.message).toMatch(/^c\.hcl:2:\d+: /);
    const m = await parseError('client {\n  node_class = 3\n  min_dynamic_port = 0\n}\n');
    expect(m).toBeInstanceOf(MultiError);
    expect((m as MultiError).errors.map((x) => x.field)).toEqual(['client.node_class', 'client.min_dynamic_port']);
    const twice = await parseError('client {\n}\nclient {\n}\n');
    expect(twice.message).toMatch(/only one client block/);
  });
});
