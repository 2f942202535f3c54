import { describe, expect, it } from 'vitest';
import { mockEval } from '../testing/index.js';
import { BlockedEvals } from './blocked-evals.js';

const blockedEval = (id: string, over: Parameters<typeof mockEval>[0] = {}) =>
  mockEval({ id, jobId: `job-${id}`, status: 'blocked', createIndex: 10, modifyIndex: 10, snapshotIndex: 9, ...over });

function enabled(): BlockedEvals {
  const b = new BlockedEvals();
  b.setEnabled(true);
  return b;
}

describe('BlockedEvals', () => {
  it('unblocks on capacity in a class the eval was eligible for or never saw, never in an ineligible one', () => {
    const b = enabled();
    b.block(blockedEval('a', { classEligibility: { c1: true, c2: false } }));
    b.unblock('c2', 20);
    expect(b.takeUnblocked()).toEqual([]);
    expect(b.size).toBe(1);
    b.unblock('c1', 21);
    expect(b.takeUnblocked().map((e) => e.id)).toEqual(['a']);
    b.block(blockedEval('b', { classEligibility: { c1: true }, snapshotIndex: 30 }));
    b.unblock('c-new', 31);
    expect(b.takeUnblocked().map((e) => e.id)).toEqual(['b']);
    expect(b.stats().counters).toEqual({ blocked: 2, unblocked: 2, duplicates: 0 });
  });

  it('an eval that escaped its computed class is unblocked by any capacity change', () => {
    const b = enabled();
    b.block(blockedEval('x', { escapedComputedClass: true, classEligibility: { c1: false } }));
    b.unblock('c1', 20);
    expect(b.takeUnblocked().map((e) => e.id)).toEqual(['x']);
  });

  it('keeps one blocked eval per job: the newer wins, the older is a duplicate for the reaper', () => {
    const b = enabled();
    b.block(blockedEval('old', { jobId: 'j', createIndex: 10 }));
    b.block(blockedEval('new', { jobId: 'j', createIndex: 12 }));
    b.block(blockedEval('older', { jobId: 'j', createIndex: 5 }));
    expect(b.forJob('default', 'j')?.id).toBe('new');
    expect(b.takeDuplicates(10).map((e) => e.id)).toEqual(['old', 'older']);
    expect(b.stats().countersByType['service']).toEqual({ blocked: 2, unblocked: 0, duplicates: 2 });
  });

  it('does not lose an unblock that happened after the scheduler took its snapshot', () => {
    const b = enabled();
    b.unblock('c1', 15);
    b.block(blockedEval('late', { snapshotIndex: 14, classEligibility: { c1: true } }));
    expect(b.takeUnblocked().map((e) => e.id)).toEqual(['late']);
    b.block(blockedEval('fresh', { snapshotIndex: 15, classEligibility: { c1: true } }));
    expect(b.takeUnblocked()).toEqual([]);
    b.block(blockedEval('inelig', { snapshotIndex: 3, classEligibility: { c1: false } }));
    expect(b.takeUnblocked()).toEqual([]);
  });

  it('ignores evals not blocked, holds nothing while disabled, and forgets everything when disabled', () => {
    const b = new BlockedEvals();
    b.block(blockedEval('a'));
    expect(b.size).toBe(0);
    b.setEnabled(true);
    b.block(mockEval({ id: 'p', status: 'pending' }));
    expect(b.size).toBe(0);
    b.block(blockedEval('a'));
    b.untrack('default', 'job-a');
    expect(b.size).toBe(0);
    b.block(blockedEval('c'));
    b.setEnabled(false);
    expect(b.size).toBe(0);
    b.unblock('any', 99);
    expect(b.takeUnblocked()).toEqual([]);
  });
});
