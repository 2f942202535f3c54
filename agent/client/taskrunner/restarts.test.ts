import { describe, expect, it } from 'vitest';
import { SeededRng, VirtualClock } from '../../core/lib/index.js';
import type { RestartPolicy } from '../../core/structs/index.js';
import { ReasonDelay, ReasonNoRestartsAllowed, ReasonSuccess, ReasonWithinPolicy, RestartTracker, restartsOnSuccess } from './restarts.js';

const SEC = 1000;
const MIN = 60 * SEC;
const policy = (p: Partial<RestartPolicy> = {}): RestartPolicy => ({ attempts: 2, interval: 5 * MIN, delay: 10 * SEC, mode: 'fail', renderTemplates: false, ...p });
const fail = { exitCode: 1 };

function tracker(p: Partial<RestartPolicy> = {}, jobType: 'service' | 'batch' = 'service', seed = 7) {
  const clock = new VirtualClock(0);
  const t = RestartTracker.forTask(policy(p), jobType, null, clock, new SeededRng(seed));
  return { clock, t };
}

describe('RestartTracker', () => {
  it('restarts within attempts with delay plus up to 25% jitter, then fails in mode fail', () => {
    const { clock, t } = tracker();
    const d1 = t.onExit(fail);
    expect(d1).toMatchObject({ action: 'restart', reason: ReasonWithinPolicy });
    if (d1.action !== 'restart') throw new Error('unreachable');
    expect(d1.delayMs).toBeGreaterThanOrEqual(10 * SEC);
    expect(d1.delayMs).toBeLessThan(12.5 * SEC);
    clock.advance(d1.delayMs + 20 * SEC);
    expect(t.onExit(fail).action).toBe('restart');
    clock.advance(30 * SEC);
    const d3 = t.onExit(fail);
    expect(d3.action).toBe('fail');
    expect(d3.reason).toMatch(/Exceeded allowed attempts 2/);
    expect(t.restartCount).toBe(2);
  });

  it('is deterministic for a seed and jitters across seeds', () => {
    const delays = (seed: number) => {
      const { t } = tracker({ attempts: 100 }, 'service', seed);
      return Array.from({ length: 20 }, () => (t.onExit(fail) as { delayMs: number }).delayMs);
    };
    expect(delays(42)).toEqual(delays(42));
    expect(new Set(delays(42)).size).toBeGreaterThan(1);
    for (const d of delays(3)) {
      expect(d).toBeGreaterThanOrEqual(10 * SEC);
      expect(d).toBeLessThan(12.5 * SEC);
    }
  });

  it('resets the count once the interval has passed', () => {
    const { clock, t } = tracker();
    expect(t.onExit(fail).action).toBe('restart');
    expect(t.onExit(fail).action).toBe('restart');
    expect(t.attemptsInInterval).toBe(2);
    clock.advance(5 * MIN + 1);
    expect(t.onExit(fail).action).toBe('restart');
    expect(t.attemptsInInterval).toBe(1);
    expect(t.onExit(fail).action).toBe('restart');
    expect(t.onExit(fail).action).toBe('fail');
  });

  it('mode delay waits until the interval ends, then restarts within policy again', () => {
    const { clock, t } = tracker({ mode: 'delay' });
    clock.advance(1 * MIN);
    t.onExit(fail);
    t.onExit(fail);
    clock.advance(1 * MIN);
    const wait = t.onExit(fail);
    expect(wait).toEqual({ action: 'wait', delayMs: 3 * MIN, reason: ReasonDelay });
    clock.advance(3 * MIN);
    expect(t.onExit(fail)).toMatchObject({ action: 'restart', reason: ReasonWithinPolicy });
    expect(t.attemptsInInterval).toBe(1);
  });

  it('batch tasks that exit 0 are done; service tasks that exit 0 are restarted', () => {
    const batch = tracker({}, 'batch').t;
    expect(batch.onExit({ exitCode: 0 })).toEqual({ action: 'done', reason: ReasonSuccess });
    expect(batch.onExit({ exitCode: 2 }).action).toBe('restart');
    const service = tracker({}, 'service').t;
    expect(service.onExit({ exitCode: 0 }).action).toBe('restart');
    expect(service.onExit({ exitCode: 0 }).action).toBe('restart');
    expect(service.onExit({ exitCode: 0 }).action).toBe('fail');
  });

  it('treats a signal as a failure unless told otherwise', () => {
    const batch = tracker({}, 'batch').t;
    expect(batch.onExit({ exitCode: 0, signal: 9 }).action).toBe('restart');
    expect(batch.onExit({ exitCode: 0, signal: 9, failed: false }).action).toBe('done');
  });

  it('attempts 0 never restarts', () => {
    const { t } = tracker({ attempts: 0 });
    expect(t.onExit(fail)).toEqual({ action: 'fail', reason: ReasonNoRestartsAllowed });
    expect(tracker({ attempts: 0 }, 'batch').t.onExit({ exitCode: 0 }).action).toBe('done');
  });

  it('start errors: unrecoverable fails at once, recoverable counts like an exit', () => {
    const { t } = tracker({ attempts: 1 });
    expect(t.onStartError(false).action).toBe('fail');
    expect(t.onStartError(true).action).toBe('restart');
    expect(t.onStartError(true).action).toBe('fail');
  });

  it('user restarts are immediate and not counted; kills are done', () => {
    const { t } = tracker({ attempts: 1 });
    expect(t.onUserRestart()).toMatchObject({ action: 'restart', delayMs: 0 });
    expect(t.onUserRestart().action).toBe('restart');
    expect(t.attemptsInInterval).toBe(0);
    expect(t.onExit(fail).action).toBe('restart');
    expect(t.onKilled().action).toBe('done');
  });

  it('restartsOnSuccess follows job type and lifecycle', () => {
    expect(restartsOnSuccess('service', null)).toBe(true);
    expect(restartsOnSuccess('system', null)).toBe(true);
    expect(restartsOnSuccess('batch', null)).toBe(false);
    expect(restartsOnSuccess('sysbatch', null)).toBe(false);
    expect(restartsOnSuccess('service', { hook: 'prestart', sidecar: false })).toBe(false);
    expect(restartsOnSuccess('service', { hook: 'prestart', sidecar: true })).toBe(true);
  });
});
