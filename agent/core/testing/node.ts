import type { Node } from '../structs/index.js';
import { computeNodeClass } from '../structs/index.js';
import { mockId } from './ids.js';

/**
 * A ready, eligible linux node with the `exec` driver, 4000 MHz / 8 GB / 100 GB and a
 * little reserved. Its id comes from the `node` counter unless patched. Its computed
 * class is a placeholder shared by all nodes: use `withComputedClass` for the real one.
 */
export function mockNode(patch: Partial<Node> = {}): Node {
  const id = patch.id ?? mockId('node');
  return {
    id,
    name: `node-${id}`,
    datacenter: 'dc1',
    nodeClass: '',
    nodePool: 'default',
    computedClass: 'v1:0000000000000000',
    httpAddr: '127.0.0.1:4646',
    attributes: {
      'kernel.name': 'linux',
      'cpu.arch': 'amd64',
      'driver.exec': '1',
      'unique.hostname': `host-${id}`,
      'nomad.version': '1.9.0',
    },
    meta: {},
    resources: { cpu: 4000, cpuCores: 4, memoryMB: 8192, diskMB: 100 * 1024, mbits: 1000, minDynamicPort: 20000, maxDynamicPort: 32000 },
    reserved: { cpu: 100, memoryMB: 256, diskMB: 4 * 1024, reservedPorts: [22] },
    drivers: { exec: { detected: true, healthy: true, healthDescription: 'healthy', attributes: {} } },
    status: 'ready',
    statusDescription: '',
    statusUpdatedAt: 0,
    schedulingEligibility: 'eligible',
    drainStrategy: null,
    createIndex: 1,
    modifyIndex: 1,
    ...patch,
  };
}

/** `node` with its real computed class (mockNode's default class is a placeholder shared by all nodes). */
export function withComputedClass(node: Node): Node {
  return { ...node, computedClass: computeNodeClass(node) };
}
