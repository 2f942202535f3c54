import { describe, expect, it } from 'vitest';
import { TestCluster } from './testkit.js';

describe('raft core smoke', () => {
  it('elects a leader and replicates', () => {
    const c = new TestCluster();
    for (const id of ['1', '2', '3']) c.add(id, ['1', '2', '3']);
    c.node('1').rn.campaign();
    c.stabilize();
    expect(c.leader()).toBe('1');
    const r = c.propose('1', 'a');
    expect(r).toMatchObject({ index: 2 });
    c.stabilize();
    for (const id of ['1', '2', '3']) expect(c.node(id).fsm).toEqual(['a']);
    // console.log(c.takeOutput().join('\n'));
  });
});
