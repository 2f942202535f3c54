/**
 * Builds the Node a client registers: host facts, driver presence and health, and the
 * operator's configuration (name, datacenter, class, pool, meta, reserved resources).
 * The caller decides when the node moves from `initializing` to `ready`.
 */
import { mkdirSync } from 'node:fs';
import type { DriverInfo, Node } from '../../core/structs/index.js';
import { computeNodeClass } from '../../core/structs/index.js';
import type { TaskDriver } from '../drivers/index.js';
import type { ClientConfig } from './client-config.js';
import { probeHost } from './host.js';
import type { HostFacts } from './host.js';
import { loadOrCreateNodeId } from './node-id.js';

export const NOMADTS_VERSION = '0.1.0';

export interface FingerprintInput {
  config: ClientConfig;
  drivers: readonly TaskDriver[];
  /** Wall-clock ms, stamped as the node's statusUpdatedAt. */
  now: number;
}

export async function fingerprintNode(input: FingerprintInput): Promise<Node> {
  const { config } = input;
  mkdirSync(config.dataDir, { recursive: true });
  const id = loadOrCreateNodeId(config.dataDir);
  const host = probeHost({ dataDir: config.dataDir, devMode: config.devMode, networkInterface: config.networkInterface });
  const attributes = hostAttributes(host);
  const drivers = await fingerprintDrivers(input.drivers);
  for (const [name, info] of Object.entries(drivers)) {
    // Set only for a usable driver: the scheduler's fallback reads `driver.<name>` as "usable".
    if (info.detected && info.healthy) attributes[`driver.${name}`] = '1';
    for (const [k, v] of Object.entries(info.attributes)) attributes[k.startsWith('driver.') ? k : `driver.${name}.${k}`] = v;
  }
  const cpu = config.cpuTotalCompute > 0 ? config.cpuTotalCompute : host.cpu.totalMHz;
  const memoryMB = config.memoryTotalMB > 0 ? config.memoryTotalMB : Math.floor(host.memoryBytes / (1024 * 1024));
  if (config.cpuTotalCompute > 0) attributes['cpu.totalcompute'] = String(cpu);
  const partial = {
    datacenter: config.datacenter,
    nodeClass: config.nodeClass,
    nodePool: config.nodePool,
    attributes,
    meta: { ...config.meta },
    drivers,
  };
  return {
    id,
    name: config.name !== '' ? config.name : host.hostname,
    ...partial,
    computedClass: computeNodeClass(partial),
    httpAddr: `${host.ip}:${config.httpPort}`,
    resources: {
      cpu,
      cpuCores: host.cpu.cores,
      memoryMB,
      diskMB: Math.floor(host.disk.freeBytes / (1024 * 1024)),
      mbits: config.networkSpeed,
      minDynamicPort: config.minDynamicPort,
      maxDynamicPort: config.maxDynamicPort,
    },
    reserved: { ...config.reserved, reservedPorts: [...config.reserved.reservedPorts] },
    status: 'initializing',
    statusDescription: '',
    statusUpdatedAt: input.now,
    schedulingEligibility: 'eligible',
    drainStrategy: null,
    createIndex: 0,
    modifyIndex: 0,
  };
}

/** Every driver's fingerprint, in parallel; a driver whose fingerprint throws is reported undetected. */
export async function fingerprintDrivers(drivers: readonly TaskDriver[]): Promise<Record<string, DriverInfo>> {
  const results = await Promise.all(drivers.map(async (d): Promise<[string, DriverInfo]> => {
    try {
      return [d.name, await d.fingerprint()];
    } catch (err) {
      return [d.name, { detected: false, healthy: false, healthDescription: `fingerprint failed: ${err instanceof Error ? err.message : String(err)}`, attributes: {} }];
    }
  }));
  const out: Record<string, DriverInfo> = {};
  for (const [name, info] of results) out[name] = info;
  return out;
}

function hostAttributes(h: HostFacts): Record<string, string> {
  const a: Record<string, string> = {
    'cpu.arch': h.arch,
    'cpu.numcores': String(h.cpu.cores),
    'cpu.frequency': String(h.cpu.mhz),
    'cpu.totalcompute': String(h.cpu.totalMHz),
    'cpu.modelname': h.cpu.modelName,
    'memory.totalbytes': String(h.memoryBytes),
    'kernel.name': h.kernel.name,
    'kernel.version': h.kernel.version,
    'kernel.arch': h.kernel.arch,
    'os.name': h.os.name,
    'os.version': h.os.version,
    'nomad.version': NOMADTS_VERSION,
    'unique.hostname': h.hostname,
    'unique.network.ip-address': h.ip,
    'unique.storage.volume': h.disk.path,
    'unique.storage.bytestotal': String(h.disk.totalBytes),
    'unique.storage.bytesfree': String(h.disk.freeBytes),
  };
  if (h.cgroupVersion !== '') a['os.cgroups.version'] = h.cgroupVersion;
  return a;
}
