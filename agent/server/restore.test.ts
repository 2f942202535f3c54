/**
 * Server.restoreCommitted: an operator's snapshot restore applied at a log index. The state
 * becomes the image's and the leader duties are rebuilt from it (blocked evaluations held
 * again, then unblocked by capacity as before); a bad image changes nothing; a server not
 * leading restores the state and starts no duties.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng, VirtualClock } from '../core/lib/index.js';
import type { Node } from '../core/structs/index.js';
import { allocTerminalStatus } from '../core/structs/index.js';
import { mockJob, mockNode, mockTaskGroup, withComputedClass } from '../core/testing/index.js';
import { SimCluster } from '../sim/index.js';

const node = (id: string): Node => withComputedClass(mockNode({ id, name: id }));
const live = (c: SimCluster, jobId: string) => c.server.state().allocsByJob('default', jobId).filter((a) => !allocTerminalStatus(a));

/** A one-node cluster where job `big` (9 × 500 MHz) has 7 allocations placed and 1 blocked evaluation. */
async function withBlockedJob(): Promise<SimCluster> {
  const c = await SimCluster.start({ clock: new VirtualClock(), rng: new SeededRng(5), nodes: [node('a')] });
  await c.submit(mockJob({ id: 'big', datacenters: ['dc1'], taskGroups: [mockTaskGroup({ count: 9 })] }));
  await c.settle();
  expect(live(c, 'big')).toHaveLength(7);
  expect(c.server.blocked.size).toBe(1);
  return c;
}

describe('Server.restoreCommitted', () => {
  it('brings the saved state back and rebuilds the leader duties from it', async () => {
    const c = await withBlockedJob();
    const image = c.server.fsm.snapshot();
    const savedAt = c.server.fsm.lastApplied();
    // The state is lost after the save: the job purged, its blocked evaluation gone with it.
    await c.server.deregisterJob('default', 'big', true);
    await c.settle();
    expect(c.server.state().jobByID('default', 'big')).toBeUndefined();
    expect(c.server.blocked.size).toBe(0);

    const at = c.server.fsm.lastApplied() + 1;
    expect(c.server.restoreCommitted(at, image)).toBe(savedAt);
    expect(c.server.fsm.lastApplied()).toBe(at);
    expect(c.server.state().jobByID('default', 'big')).toBeDefined();
    expect(live(c, 'big')).toHaveLength(7);
    // The duties were rebuilt from the restored state: its blocked evaluation is held again...
    expect(c.server.isLeader).toBe(true);
    expect(c.server.blocked.size).toBe(1);
    // ...and capacity unblocks it as before; writes go on after the restore's index.
    const index = await c.server.registerNode(node('b'));
    expect(index).toBeGreaterThan(at);
    await c.settle();
    expect(live(c, 'big')).toHaveLength(9);
    expect(c.server.blocked.size).toBe(0);
    await c.stop();
  });

  it('refuses a corrupt image and an index that does not increase, and changes nothing', async () => {
    const c = await withBlockedJob();
    const image = c.server.fsm.snapshot();
    const before = c.server.state();
    const at = c.server.fsm.lastApplied() + 1;
    expect(() => c.server.restoreCommitted(at, image.subarray(0, image.length - 1))).toThrow(/snapshot refused: not valid JSON/);
    expect(() => c.server.restoreCommitted(at, new Uint8Array(0))).toThrow(/snapshot refused/);
    expect(() => c.server.restoreCommitted(at - 1, image)).toThrow(/must be an integer greater than the last applied index/);
    expect(c.server.state()).toBe(before);
    expect(c.server.blocked.size).toBe(1);
    expect(c.server.isLeader).toBe(true);
    await c.stop();
  });

  it('on a server without the leader duties: the state is restored and no duty starts', async () => {
    const c = await withBlockedJob();
    const image = c.server.fsm.snapshot();
    await c.server.deregisterJob('default', 'big', true);
    await c.settle();
    c.server.revokeLeadership();
    c.server.restoreCommitted(c.server.fsm.lastApplied() + 1, image);
    expect(live(c, 'big')).toHaveLength(7);
    expect(c.server.isLeader).toBe(false);
    expect(c.server.blocked.size).toBe(0);
    await c.stop();
  });
});
