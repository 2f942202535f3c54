import { describe, expect, it } from 'vitest';
import { mockAlloc, mockJob } from '../testing/index.js';
import { appendAlloc, emptyPlan, planRecordLog, planRecordLogMismatch, removeAlloc, trackPlanRecords } from './plan.js';

const job = mockJob({ id: 'j' });
const alloc = (id: string, nodeId: string) => mockAlloc(job, { nodeId }, { id });

describe('plan record logs', () => {
  it('are kept only for tracked records, by appendAlloc, in append order', () => {
    const plan = emptyPlan('e', 't', 50, job, 1);
    appendAlloc(plan.nodeAllocation, alloc('a1', 'n1'));
    expect(planRecordLog(plan.nodeAllocation)).toBeUndefined();

    trackPlanRecords(plan);
    // Entries made before tracking began are in the log too.
    expect(planRecordLog(plan.nodeAllocation)).toEqual({ nodeIds: ['n1'], allocs: [plan.nodeAllocation.n1![0]], epoch: 0 });
    appendAlloc(plan.nodeAllocation, alloc('a2', 'n2'));
    appendAlloc(plan.nodeAllocation, alloc('a3', 'n1'));
    appendAlloc(plan.nodeUpdate, alloc('s1', 'n3'));
    const log = planRecordLog(plan.nodeAllocation)!;
    expect(log.nodeIds).toEqual(['n1', 'n2']);
    expect(log.allocs.map((a) => a.id)).toEqual(['a1', 'a2', 'a3']);
    expect(planRecordLog(plan.nodeUpdate)!.allocs.map((a) => a.id)).toEqual(['s1']);
    expect(planRecordLog(plan.nodePreemptions)).toEqual({ nodeIds: [], allocs: [], epoch: 0 });
    expect(planRecordLogMismatch(plan)).toBe('');
    // Tracking again keeps the log as it is.
    trackPlanRecords(plan);
    expect(planRecordLog(plan.nodeAllocation)).toBe(log);
  });

  it('removeAlloc drops the entry (and an emptied node) and rebuilds the log in a new epoch', () => {
    const plan = emptyPlan('e', 't', 50, job, 1);
    trackPlanRecords(plan);
    appendAlloc(plan.nodeUpdate, alloc('s1', 'n1'));
    appendAlloc(plan.nodeUpdate, alloc('s2', 'n2'));
    appendAlloc(plan.nodeUpdate, alloc('s3', 'n1'));
    const before = planRecordLog(plan.nodeUpdate)!;

    expect(removeAlloc(plan.nodeUpdate, 'n2', 's2')).toBe(true);
    expect(Object.keys(plan.nodeUpdate)).toEqual(['n1']);
    const after = planRecordLog(plan.nodeUpdate)!;
    expect(after).not.toBe(before);
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.nodeIds).toEqual(['n1']);
    expect(after.allocs.map((a) => a.id)).toEqual(['s1', 's3']);
    // The old log's arrays are left as they were (readers holding them see the epoch change instead).
    expect(before.allocs.map((a) => a.id)).toEqual(['s1', 's2', 's3']);
    expect(planRecordLogMismatch(plan)).toBe('');

    // Appending to a node emptied and removed earlier logs it again.
    expect(removeAlloc(plan.nodeUpdate, 'n1', 's1')).toBe(true);
    expect(removeAlloc(plan.nodeUpdate, 'n1', 's3')).toBe(true);
    appendAlloc(plan.nodeUpdate, alloc('s4', 'n1'));
    expect(planRecordLog(plan.nodeUpdate)!.nodeIds).toEqual(['n1']);
    expect(planRecordLogMismatch(plan)).toBe('');
  });

  it('removeAlloc of an entry that is not there changes nothing', () => {
    const plan = emptyPlan('e', 't', 50, job, 1);
    trackPlanRecords(plan);
    appendAlloc(plan.nodeAllocation, alloc('a1', 'n1'));
    const log = planRecordLog(plan.nodeAllocation)!;
    expect(removeAlloc(plan.nodeAllocation, 'n1', 'nope')).toBe(false);
    expect(removeAlloc(plan.nodeAllocation, 'n9', 'a1')).toBe(false);
    expect(removeAlloc(plan.nodeAllocation, 'constructor', 'a1')).toBe(false);
    expect(planRecordLog(plan.nodeAllocation)).toBe(log);
    expect(log.epoch).toBe(0);
    expect(plan.nodeAllocation.n1!.map((a) => a.id)).toEqual(['a1']);
  });

  it('planRecordLogMismatch names a tracked record written behind its log', () => {
    const added = emptyPlan('e', 't', 50, job, 1);
    trackPlanRecords(added);
    added.nodePreemptions.n7 = [alloc('p1', 'n7')];
    expect(planRecordLogMismatch(added)).toMatch(/^plan\.nodePreemptions: node n7 is not in the record's log/);

    const pushed = emptyPlan('e', 't', 50, job, 1);
    trackPlanRecords(pushed);
    appendAlloc(pushed.nodeAllocation, alloc('a1', 'n1'));
    pushed.nodeAllocation.n1!.push(alloc('a2', 'n1'));
    expect(planRecordLogMismatch(pushed)).toMatch(/^plan\.nodeAllocation: 2 entries, 1 logged/);

    const deleted = emptyPlan('e', 't', 50, job, 1);
    trackPlanRecords(deleted);
    appendAlloc(deleted.nodeUpdate, alloc('s1', 'n1'));
    delete deleted.nodeUpdate.n1;
    expect(planRecordLogMismatch(deleted)).toMatch(/^plan\.nodeUpdate: 1 logged node\(s\) missing/);

    // A replaced record is untracked: nothing to compare.
    deleted.nodeUpdate = { n2: [alloc('s2', 'n2')] };
    expect(planRecordLogMismatch(deleted)).toBe('');
  });
});

describe('plan records', () => {
  it('have no prototype: no inherited names look like entries, and they read and serialise as plain records', () => {
    const plan = emptyPlan('e', 't', 50, job, 1);
    for (const rec of [plan.nodeAllocation, plan.nodeUpdate, plan.nodePreemptions]) {
      expect(Object.getPrototypeOf(rec)).toBeNull();
      expect('constructor' in rec).toBe(false);
      expect('toString' in rec).toBe(false);
    }
    appendAlloc(plan.nodeAllocation, alloc('a1', '__proto__'));
    appendAlloc(plan.nodeAllocation, alloc('a2', 'n1'));
    expect(Object.keys(plan.nodeAllocation)).toEqual(['__proto__', 'n1']);
    expect(Object.getPrototypeOf(plan.nodeAllocation)).toBeNull();
    const copy = JSON.parse(JSON.stringify(plan.nodeAllocation)) as Record<string, { id: string }[]>;
    expect(Object.entries(copy).map(([k, v]) => [k, v.map((a) => a.id)])).toEqual([['__proto__', ['a1']], ['n1', ['a2']]]);
    expect(plan.nodeAllocation).toEqual({ n1: [plan.nodeAllocation.n1![0]], ['__proto__']: [plan.nodeAllocation['__proto__']![0]] });
  });
});
