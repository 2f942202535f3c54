/**
 * Simulated client nodes: what the fingerprinter of a real client would report,
 * generated from a seed. Used by `nomadts simulate`, the scheduler benchmark and
 * tests of the server core. Pure: an Rng in, nodes out.
 */
import type { Rng } from '../core/lib/index.js';
import { uuid } from '../core/lib/index.js';
import type { Node } from '../core/structs/index.js';
import { computeNodeClass } from '../core/structs/index.js';

export interface NodeShape {
  /** Node class name (`node_class` in the client config). */
  nodeClass: string;
  cpuCores: number;
  mhzPerCore: number;
  memoryMB: number;
  diskMB: number;
}

/** Mixed sizes: small, medium, large, and a memory-heavy class. */
export const DefaultShapes: readonly NodeShape[] = [
  { nodeClass: 'small', cpuCores: 2, mhzPerCore: 2_500, memoryMB: 4_096, diskMB: 50_000 },
  { nodeClass: 'medium', cpuCores: 4, mhzPerCore: 2_800, memoryMB: 16_384, diskMB: 100_000 },
  { nodeClass: 'large', cpuCores: 16, mhzPerCore: 3_000, memoryMB: 65_536, diskMB: 400_000 },
  { nodeClass: 'highmem', cpuCores: 8, mhzPerCore: 2_600, memoryMB: 131_072, diskMB: 200_000 },
];

export interface SimulatedNodesOptions {
  count: number;
  rng: Rng;
  datacenters?: readonly string[];
  shapes?: readonly NodeShape[];
  /** Racks per datacenter, exposed as `meta.rack`. */
  racks?: number;
  drivers?: readonly string[];
  namePrefix?: string;
}

export function simulatedNodes(opts: SimulatedNodesOptions): Node[] {
  const dcs = opts.datacenters ?? ['dc1', 'dc2', 'dc3'];
  const shapes = opts.shapes ?? DefaultShapes;
  const racks = opts.racks ?? 8;
  const drivers = opts.drivers ?? ['raw_exec', 'exec', 'docker'];
  const prefix = opts.namePrefix ?? 'node';
  const nodes: Node[] = [];
  for (let i = 0; i < opts.count; i++) {
    const dc = dcs[i % dcs.length]!;
    const shape = shapes[opts.rng.int(shapes.length)]!;
    const id = uuid(opts.rng);
    const name = `${prefix}-${String(i).padStart(4, '0')}`;
    const attributes: Record<string, string> = {
      'kernel.name': 'linux',
      'kernel.version': '6.1.0',
      'os.name': 'debian',
      'os.version': '12',
      'cpu.arch': 'amd64',
      'cpu.numcores': String(shape.cpuCores),
      'cpu.totalcompute': String(shape.cpuCores * shape.mhzPerCore),
      'memory.totalbytes': String(shape.memoryMB * 1024 * 1024),
      'nomad.version': '0.1.0',
      'unique.hostname': name,
      'unique.network.ip-address': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    };
    const driverInfo: Node['drivers'] = {};
    for (const d of drivers) {
      attributes[`driver.${d}`] = '1';
      driverInfo[d] = { detected: true, healthy: true, healthDescription: 'healthy', attributes: {} };
    }
    const meta = { rack: `r${1 + opts.rng.int(racks)}`, zone: `${dc}-${'abc'[i % 3]!}` };
    const partial = { datacenter: dc, nodeClass: shape.nodeClass, nodePool: 'default', attributes, meta, drivers: driverInfo };
    nodes.push({
      id,
      name,
      ...partial,
      computedClass: computeNodeClass(partial),
      httpAddr: `${attributes['unique.network.ip-address']}:4646`,
      resources: {
        cpu: shape.cpuCores * shape.mhzPerCore,
        cpuCores: shape.cpuCores,
        memoryMB: shape.memoryMB,
        diskMB: shape.diskMB,
        mbits: 1_000,
        minDynamicPort: 20_000,
        maxDynamicPort: 32_000,
      },
      reserved: { cpu: 100, memoryMB: 256, diskMB: 1_000, reservedPorts: [22] },
      status: 'ready',
      statusDescription: '',
      statusUpdatedAt: 0,
      schedulingEligibility: 'eligible',
      drainStrategy: null,
      createIndex: 0,
      modifyIndex: 0,
    });
  }
  return nodes;
}
