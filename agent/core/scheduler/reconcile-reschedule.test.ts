import { describe, expect, it } from 'vitest';
import type { Allocation, Job, ReschedulePolicy, RescheduleEvent } from '../structs/index.js';
import {
  allocFailTime,
  nextRescheduleDelay,
  nextRescheduleTime,
  rescheduleAttemptsInInterval,
  rescheduleDecision,
  rescheduleFilter,
} from './reconcile-reschedule.js';
import { mockAlloc, mockBatchJob, mockDeployment, mockJob, mockTaskGroup, mockTaskState } from '../testing/index.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const NOW = 1_700_000_000_000;

function jobWith(policy: ReschedulePolicy | null): Job {
  return mockJob({ taskGroups: [mockTaskGroup({ reschedule: policy })] });
}

function policy(p: Partial<ReschedulePolicy>): ReschedulePolicy {
  return { attempts: 0, interval: 0, delay: 5 * S, delayFunction: 'constant', maxDelay: 0, unlimited: true, ...p };
}

function failed(job: Job, failedAt: number, tracker: RescheduleEvent[] = [], patch: Partial<Allocation> = {}): Allocation {
  return mockAlloc(job, { clientStatus: 'failed', finishedAt: failedAt }, { rescheduleTracker: tracker, ...patch });
}

/** Delays produced by failing again right after each reschedule (no back-off reset). */
function delaySequence(p: ReschedulePolicy, n: number): number[] {
  const job = jobWith(p);
  const tracker: RescheduleEvent[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const failTime = NOW + i * S;
    const d = nextRescheduleDelay(failed(job, failTime, tracker));
    out.push(d);
    tracker.push({ rescheduleTime: failTime, prevAllocId: `a${i}`, prevNodeId: 'n', delay: d });
  }
  return out;
}

describe('nextRescheduleDelay', () => {
  it('constant: always the policy delay', () => {
    expect(delaySequence(policy({ delay: 7 * S, delayFunction: 'constant', maxDelay: 20 * S }), 5)).toEqual([7, 7, 7, 7, 7].map((x) => x * S));
  });

  it('exponential: doubles from the delay and is capped at maxDelay', () => {
    expect(delaySequence(policy({ delay: 5 * S, delayFunction: 'exponential', maxDelay: 60 * S }), 7)).toEqual(
      [5, 10, 20, 40, 60, 60, 60].map((x) => x * S),
    );
  });

  it('fibonacci: delay, delay, then the sum of the previous two, capped', () => {
    expect(delaySequence(policy({ delay: 5 * S, delayFunction: 'fibonacci', maxDelay: 50 * S }), 9)).toEqual(
      [5, 5, 10, 15, 25, 40, 50, 50, 50].map((x) => x * S),
    );
  });

  it('resets to the base delay when the failure comes long after a capped reschedule', () => {
    const p = policy({ delay: 5 * S, delayFunction: 'exponential', maxDelay: 60 * S });
    const tracker = [{ rescheduleTime: NOW, prevAllocId: 'x', prevNodeId: 'n', delay: 60 * S }];
    // Failed 61 s after the last reschedule: more than the capped delay → back to 5 s.
    expect(nextRescheduleDelay(failed(jobWith(p), NOW + 61 * S, tracker))).toBe(5 * S);
    // Failed 59 s after: stays capped.
    expect(nextRescheduleDelay(failed(jobWith(p), NOW + 59 * S, tracker))).toBe(60 * S);
  });

  it('fibonacci starts a new series after a reset (max, delay → delay)', () => {
    const p = policy({ delay: 5 * S, delayFunction: 'fibonacci', maxDelay: 50 * S });
    const tracker = [
      { rescheduleTime: NOW, prevAllocId: 'x', prevNodeId: 'n', delay: 50 * S },
      { rescheduleTime: NOW + S, prevAllocId: 'y', prevNodeId: 'n', delay: 5 * S },
    ];
    expect(nextRescheduleDelay(failed(jobWith(p), NOW + 2 * S, tracker))).toBe(5 * S);
  });

  it('is 0 when the group has no reschedule policy', () => {
    expect(nextRescheduleDelay(failed(jobWith(null), NOW))).toBe(0);
  });
});

describe('nextRescheduleTime and attempts', () => {
  const p = policy({ attempts: 2, interval: H, unlimited: false, delay: 10 * S });
  const job = jobWith(p);
  const event = (t: number): RescheduleEvent => ({ rescheduleTime: t, prevAllocId: 'x', prevNodeId: 'n', delay: 10 * S });

  it('is eligible at fail time + delay while attempts remain', () => {
    expect(nextRescheduleTime(failed(job, NOW))).toEqual({ time: NOW + 10 * S, eligible: true });
    expect(nextRescheduleTime(failed(job, NOW, [event(NOW - 10 * MIN)]))).toEqual({ time: NOW + 10 * S, eligible: true });
  });

  it('is not eligible once the attempts within the interval are used up', () => {
    const a = failed(job, NOW, [event(NOW - 20 * MIN), event(NOW - 10 * MIN)]);
    expect(rescheduleAttemptsInInterval(a, p, NOW)).toBe(2);
    expect(nextRescheduleTime(a).eligible).toBe(false);
  });

  it('is eligible again when earlier attempts fall out of the interval', () => {
    const a = failed(job, NOW, [event(NOW - 2 * H), event(NOW - 10 * MIN)]);
    expect(rescheduleAttemptsInInterval(a, p, NOW)).toBe(1);
    expect(nextRescheduleTime(a).eligible).toBe(true);
  });

  it('unlimited policies are always eligible', () => {
    const u = jobWith(policy({ unlimited: true, attempts: 0 }));
    const many = Array.from({ length: 50 }, (_, i) => event(NOW - i * S));
    expect(nextRescheduleTime(failed(u, NOW, many)).eligible).toBe(true);
  });

  it('attempts 0 and not unlimited disables rescheduling', () => {
    const off = jobWith(policy({ unlimited: false, attempts: 0 }));
    expect(nextRescheduleTime(failed(off, NOW)).eligible).toBe(false);
  });

  it('running, complete or server-stopped allocs are never candidates', () => {
    expect(nextRescheduleTime(mockAlloc(job)).eligible).toBe(false);
    expect(nextRescheduleTime(mockAlloc(job, { clientStatus: 'complete', finishedAt: NOW })).eligible).toBe(false);
    expect(nextRescheduleTime(failed(job, NOW, [], { desiredStatus: 'stop' })).eligible).toBe(false);
  });

  it('fail time is the last task finish, else the modify time', () => {
    const a = failed(job, NOW);
    expect(allocFailTime(a)).toBe(NOW);
    expect(allocFailTime({ ...a, taskStates: { web: mockTaskState({ finishedAt: NOW - 5 }), side: mockTaskState({ finishedAt: NOW + 7 }) } })).toBe(NOW + 7);
    expect(allocFailTime({ ...a, taskStates: {}, modifyTime: 42 })).toBe(42);
  });
});

describe('rescheduleDecision', () => {
  const job = jobWith(policy({ delay: 30 * S, delayFunction: 'constant', unlimited: true }));

  it('now when the reschedule time has come (within the 1 s window)', () => {
    expect(rescheduleDecision(failed(job, NOW - 30 * S), NOW, 'e1', null)).toEqual({ kind: 'now' });
    expect(rescheduleDecision(failed(job, NOW - 29.5 * S), NOW, 'e1', null)).toEqual({ kind: 'now' });
  });

  it('later when the time is in the future and no follow-up eval exists yet', () => {
    expect(rescheduleDecision(failed(job, NOW - 10 * S), NOW, 'e1', null)).toEqual({ kind: 'later', time: NOW + 20 * S });
  });

  it('no second follow-up eval; the follow-up eval itself replaces the alloc', () => {
    const a = failed(job, NOW - 10 * S, [], { followupEvalId: 'e-follow' });
    expect(rescheduleDecision(a, NOW, 'e1', null)).toEqual({ kind: 'no' });
    expect(rescheduleDecision(a, NOW, 'e-follow', null)).toEqual({ kind: 'now' });
  });

  it('forceReschedule replaces now, even a running alloc', () => {
    const a = mockAlloc(job, {}, { desiredTransition: { migrate: false, reschedule: false, forceReschedule: true } });
    expect(rescheduleDecision(a, NOW, 'e1', null)).toEqual({ kind: 'now' });
  });

  it('allocs of an active deployment wait for the deployment watcher', () => {
    const d = mockDeployment(job);
    const a = failed(job, NOW - H, [], { deploymentId: d.id });
    expect(rescheduleDecision(a, NOW, 'e1', d)).toEqual({ kind: 'no' });
    expect(rescheduleDecision({ ...a, desiredTransition: { migrate: false, reschedule: true, forceReschedule: false } }, NOW, 'e1', d)).toEqual({ kind: 'now' });
    expect(rescheduleDecision(a, NOW, 'e1', { ...d, status: 'successful' })).toEqual({ kind: 'now' });
  });
});

describe('rescheduleFilter', () => {
  it('batch: successful runs are kept, failures checked, evicted ignored', () => {
    const job = mockBatchJob();
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'complete', finishedAt: NOW }), true)).toBe('keep');
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'running' }), true)).toBe('keep');
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'failed', finishedAt: NOW }), true)).toBe('check');
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'complete', finishedAt: NOW, desiredStatus: 'stop' }), true)).toBe('keep');
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'lost', desiredStatus: 'stop' }), true)).toBe('ignore');
    expect(rescheduleFilter(mockAlloc(job, { desiredStatus: 'evict' }), true)).toBe('ignore');
  });

  it('service: completed and lost allocs are ignored (the count replaces them)', () => {
    const job = mockJob();
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'complete' }), false)).toBe('ignore');
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'lost' }), false)).toBe('ignore');
    expect(rescheduleFilter(mockAlloc(job, { clientStatus: 'failed' }), false)).toBe('check');
    expect(rescheduleFilter(mockAlloc(job), false)).toBe('check');
  });
});
