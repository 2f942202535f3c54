import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../lib/index.js';
import { OpsEventBus } from './index.js';

describe('OpsEventBus', () => {
  it('numbers events, stamps them with the injected clock and hands them to a waiting reader', async () => {
    const clock = new VirtualClock(1_000);
    const bus = new OpsEventBus({ clock });
    const sub = bus.subscribe();
    const pending = sub.next();
    clock.advance(5);
    bus.emit('Broker', 'EvalEnqueued', 'e1', { jobId: 'web' });
    const r = await pending;
    expect(r).toEqual({ kind: 'events', events: [{ topic: 'Broker', type: 'EvalEnqueued', key: 'e1', seq: 1, time: 1_005, payload: { jobId: 'web' } }] });
    expect(bus.lastSeq()).toBe(1);
  });

  it('filters by topic and key', async () => {
    const bus = new OpsEventBus({ clock: new VirtualClock(0) });
    const sub = bus.subscribe({ filter: { Plan: ['e2'], Raft: '*' } });
    bus.emit('Broker', 'EvalEnqueued', 'e2', {});
    bus.emit('Plan', 'PlanApplied', 'e1', {});
    bus.emit('Plan', 'PlanApplied', 'e2', {});
    bus.emit('Raft', 'RaftStatus', 's1', { term: 3 });
    const r = await sub.next();
    expect(r.kind === 'events' ? r.events.map((e) => `${e.topic}/${e.key}`) : r).toEqual(['Plan/e2', 'Raft/s1']);
  });

  it('tells a reader that fell behind the ring how much it lost and resumes at the oldest event held', async () => {
    const bus = new OpsEventBus({ clock: new VirtualClock(0), capacity: 4 });
    const sub = bus.subscribe({ fromSeq: 0 });
    for (let i = 0; i < 10; i++) bus.emit('Broker', 'EvalEnqueued', `e${i}`, {});
    expect(await sub.next()).toEqual({ kind: 'lost', lost: 6, resumeFrom: 7 });
    const r = await sub.next();
    expect(r.kind === 'events' ? r.events.map((e) => e.seq) : r).toEqual([7, 8, 9, 10]);
  });

  it('replays from a sequence number still in the ring and caps a batch', async () => {
    const bus = new OpsEventBus({ clock: new VirtualClock(0), maxBatch: 2 });
    for (let i = 0; i < 5; i++) bus.emit('Drain', 'DrainProgress', 'n1', { remaining: 5 - i });
    const sub = bus.subscribe({ fromSeq: 2 });
    const a = await sub.next();
    const b = await sub.next();
    expect(a.kind === 'events' ? a.events.map((e) => e.seq) : a).toEqual([3, 4]);
    expect(b.kind === 'events' ? b.events.map((e) => e.seq) : b).toEqual([5]);
  });

  it('closing wakes a waiting reader with closed and forgets it', async () => {
    const bus = new OpsEventBus({ clock: new VirtualClock(0) });
    const sub = bus.subscribe();
    const pending = sub.next();
    expect(bus.subscribers()).toBe(1);
    sub.close();
    expect(await pending).toEqual({ kind: 'closed' });
    expect(bus.subscribers()).toBe(0);
  });

  it('refuses a bad capacity or a negative start', () => {
    expect(() => new OpsEventBus({ clock: new VirtualClock(0), capacity: 0 })).toThrow(/capacity/);
    expect(() => new OpsEventBus({ clock: new VirtualClock(0) }).subscribe({ fromSeq: -1 })).toThrow(/fromSeq/);
  });
});
