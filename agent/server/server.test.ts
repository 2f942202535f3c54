/**
 * The server's leader duties around blocked evaluations, with the real broker, workers,
 * schedulers and plan applier on a virtual clock: what blocks, what unblocks it, and what
 * leaves it alone.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, VirtualClock } from '../core/lib/index.js';
import type { Node } from '../core/structs/index.js';
import { allocTerminalStatus } from '../core/structs/index.js';
import { mockJob, mockNode, mockTask, mockTaskGroup, withComputedClass } from '../core/testing/index.js';
import { SimCluster } from '../sim/index.js';

const node = (id: string, patch: Partial<Node> = {}): Node => withComputedClass(mockNode({ id, name: id, ...patch }));
const withDocker = (id: string): Node => {
  const n = mockNode({ id, name: id });
  return withComputedClass({ ...n, attributes: { ...n.attributes, 'driver.docker': '1' }, drivers: { ...n.drivers, docker: { detected: true, healthy: true, healthDescription: 'healthy', attributes: {} } } });
};

async function cluster(nodes: Node[]): Promise<SimCluster> {
  return SimCluster.start({ clock: new VirtualClock(), rng: new SeededRng(77), nodes });
}

const live = (c: SimCluster, jobId: string) => c.server.state().allocsByJob('default', jobId).filter((a) => !allocTerminalStatus(a));
const blockedInState = (c: SimCluster) => c.server.state().evals().filter((e) => e.status === 'blocked');

describe('blocked evaluations on the leader', () => {
  it('a job needing a missing driver waits; a node of a class already seen ineligible leaves it blocked, a node with the driver unblocks it', async () => {
    const c = await cluster([node('a'), node('b')]);
    await c.submit(mockJob({ id: 'dock', datacenters: ['dc1'], taskGroups: [mockTaskGroup({ count: 2, tasks: [mockTask({ driver: 'docker' })] })] }));
    await c.settle();
    expect(live(c, 'dock')).toHaveLength(0);
    const [blocked] = blockedInState(c);
    expect(blocked).toBeDefined();
    expect(c.server.blocked.has(blocked!.id)).toBe(true);
    const processed = c.server.stats().evals['service']!.processed;
    // Same computed class as a and b (no docker): nothing to try.
    await c.server.registerNode(node('c'));
    await c.settle();
    expect(c.server.stats().evals['service']!.processed).toBe(processed);
    expect(c.server.blocked.has(blocked!.id)).toBe(true);
    // A node that could run it.
    await c.server.registerNode(withDocker('d'));
    await c.settle();
    expect(live(c, 'dock').map((a) => a.nodeId)).toEqual(['d', 'd']);
    expect(c.server.blocked.size).toBe(0);
    expect(blockedInState(c)).toEqual([]);
    expect(c.server.stats().evals['service']).toMatchObject({ blocked: 1, unblocked: 1 });
    await c.stop();
  });

  it('a job short of capacity is unblocked when capacity of its class appears: a node added, or another job stopped', async () => {
    // mockNode: 4,000 MHz − 100 reserved; each alloc 500 MHz → 7 per node.
    const c = await cluster([node('a')]);
    await c.submit(mockJob({ id: 'big', datacenters: ['dc1'], taskGroups: [mockTaskGroup({ count: 10 })] }));
    await c.settle();
    expect(live(c, 'big')).toHaveLength(7);
    expect(c.server.blocked.size).toBe(1);
    await c.server.registerNode(node('b'));
    await c.settle();
    expect(live(c, 'big')).toHaveLength(10);
    expect(c.server.blocked.size).toBe(0);

    await c.submit(mockJob({ id: 'more', datacenters: ['dc1'], priority: 40, taskGroups: [mockTaskGroup({ count: 6 })] }));
    await c.settle();
    expect(live(c, 'more')).toHaveLength(4);
    expect(c.server.blocked.size).toBe(1);
    await c.server.deregisterJob('default', 'big', false);
    await c.settle();
    expect(live(c, 'more')).toHaveLength(6);
    expect(c.server.blocked.size).toBe(0);
    await c.stop();
  });

  it('blocked evaluations survive a leadership change: rebuilt from state, then unblocked as before', async () => {
    const c = await cluster([node('a')]);
    await c.submit(mockJob({ id: 'big', datacenters: ['dc1'], taskGroups: [mockTaskGroup({ count: 9 })] }));
    await c.settle();
    expect(c.server.blocked.size).toBe(1);
    c.server.revokeLeadership();
    expect(c.server.blocked.size).toBe(0);
    // Capacity appears while no leader holds the blocked eval: the new leader sees it in state.
    await c.server.registerNode(node('b'));
    c.server.establishLeadership();
    await c.settle();
    expect(live(c, 'big')).toHaveLength(9);
    expect(c.server.blocked.size).toBe(0);
    await c.stop();
  });
});
