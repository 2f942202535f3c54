import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NomadError } from '../lib/index.js';
import { mockAlloc, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';
import { allocLooksValid, checkAlloc } from './validate.js';

const job = mockJob('web');
const good = { ...mockAlloc('a1', job, 'n1', 'e1'), job: null };

describe('allocLooksValid (the plan-result fast path)', () => {
  it('never passes what checkAlloc refuses (random corruptions of a good allocation)', () => {
    const field = fc.constantFrom('id', 'namespace', 'jobId', 'nodeId', 'evalId', 'taskGroup', 'desiredStatus', 'clientStatus', 'job');
    const value = fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(''), fc.constant('run'), fc.constant('running'), fc.string(), fc.integer(), fc.constant({}), fc.constant(job), fc.constant([]));
    fc.assert(
      fc.property(fc.array(fc.tuple(field, value), { maxLength: 3 }), fc.boolean(), fc.boolean(), (edits, jobOptional, withChecked) => {
        const v: Record<string, unknown> = { ...good };
        for (const [k, x] of edits) v[k] = x;
        const checked = withChecked ? job : null;
        if (!allocLooksValid(v, jobOptional, checked)) return;
        expect(() => checkAlloc(v, 'alloc', jobOptional, checked)).not.toThrow();
      }),
      { numRuns: 2_000, seed: 3 },
    );
  });

  it('passes a well-formed allocation without a job, or with the already checked plan job', () => {
    expect(allocLooksValid(good, true, null)).toBe(true);
    expect(allocLooksValid({ ...good, job }, true, job)).toBe(true);
    expect(allocLooksValid({ ...good, job }, true, null)).toBe(false); // its own job: checkAlloc checks it
    expect(allocLooksValid([good], true, null)).toBe(false);
  });

  it('a bad allocation in a plan result is still refused naming its field, and nothing changes', () => {
    const fsm = new Fsm();
    fsm.apply(1, { type: 'UpsertNode', node: mockNode('n1') });
    fsm.apply(2, { type: 'UpsertJob', job });
    const before = fsm.snapshot();
    let err: unknown;
    try {
      fsm.apply(3, { type: 'ApplyPlanResults', allocsUpdated: [good, { ...good, id: 'a2', clientStatus: 'bogus' as never }], allocsStopped: [], allocsPreempted: [], job });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NomadError);
    expect((err as NomadError).message).toMatch(/^ApplyPlanResults\.allocsUpdated\[1\]\.clientStatus: must be one of/);
    expect(fsm.snapshot()).toEqual(before);
    expect(fsm.lastApplied()).toBe(2);
  });
});
