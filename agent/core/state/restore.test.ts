/**
 * Fsm.restoreAt: an operator's snapshot restore committed to the log at an index. The state
 * becomes the image's, stamped with the log index; bad images and indexes change nothing.
 */
import { describe, expect, it } from 'vitest';
import { NomadError } from '../lib/index.js';
import { TableNames } from '../structs/index.js';
import { dumpState, mockEval, mockJob, mockNode } from './fixtures.js';
import { Fsm } from './fsm.js';
import { checkSnapshot } from './snapshot.js';

function saved(): { image: Uint8Array; fsm: Fsm } {
  const fsm = new Fsm();
  fsm.apply(3, { type: 'UpsertNode', node: mockNode('n1') });
  fsm.apply(5, { type: 'UpsertJob', job: mockJob('web'), eval: mockEval('e1', 'web') });
  fsm.apply(8, { type: 'UpsertJob', job: mockJob('api'), eval: mockEval('e2', 'api') });
  return { image: fsm.snapshot(), fsm };
}

/** A different cluster's state, further along its log. */
function other(): Fsm {
  const fsm = new Fsm();
  fsm.apply(10, { type: 'UpsertJob', job: mockJob('later'), eval: mockEval('e9', 'later') });
  fsm.apply(20, { type: 'UpsertNode', node: mockNode('n2') });
  return fsm;
}

describe('Fsm.restoreAt', () => {
  it('replaces the whole state with the image and stamps every table with the log index', () => {
    const { image, fsm: source } = saved();
    const fsm = other();
    expect(fsm.restoreAt(25, image)).toBe(8);
    expect(fsm.lastApplied()).toBe(25);
    const state = fsm.store.snapshot();
    expect(state.jobs().map((j) => j.id).sort()).toEqual(['api', 'web']);
    expect(state.jobByID('default', 'later')).toBeUndefined();
    expect(state.nodes().map((n) => n.id)).toEqual(['n1']);
    for (const t of TableNames) expect(state.tableIndex(t)).toBe(25);
    // The rows are the image's, their own indexes included.
    const restored = dumpState(state) as { jobs: { modifyIndex: number }[] };
    const original = dumpState(source.store.snapshot()) as { jobs: { modifyIndex: number }[] };
    expect(restored.jobs).toEqual(original.jobs);
    // Commands go on from the restore's index.
    expect(() => fsm.apply(25, { type: 'UpsertNode', node: mockNode('n3') })).toThrow(/greater than the last applied index 25/);
    fsm.apply(26, { type: 'UpsertNode', node: mockNode('n3') });
    expect(fsm.store.snapshot().nodes().map((n) => n.id).sort()).toEqual(['n1', 'n3']);
  });

  it('wakes blocking queries and index waiters, and tells event subscribers they lost events', async () => {
    const { image } = saved();
    const fsm = other();
    const sub = fsm.events.subscribe({ fromIndex: 20 });
    const next = sub.next();
    const waiting = fsm.store.blockingQuery(['jobs'], 20);
    const atIndex = fsm.store.waitForIndex(21);
    fsm.restoreAt(21, image);
    expect((await waiting).tableIndex('jobs')).toBe(21);
    expect((await atIndex).index).toBe(21);
    expect(await next).toEqual({ kind: 'lost', resumeFrom: 21 });
    sub.close();
  });

  it('refuses a corrupt image, a foreign one, or an index that does not increase, and changes nothing', () => {
    const { image } = saved();
    const fsm = other();
    const before = dumpState(fsm.store.snapshot());
    const text = new TextDecoder().decode(image);
    const bad: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /snapshot refused: not valid JSON/],
      ['truncated', image.subarray(0, image.length - 7), /snapshot refused: not valid JSON/],
      ['foreign format', new TextEncoder().encode(text.replace('"nomadts-state"', '"other-state"')), /unknown format "other-state"/],
      ['bad row', new TextEncoder().encode(text.replace('"id":"web"', '"id":7')), /snapshot refused: .*jobs\[\d\]\.id/],
      ['not utf-8', Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), /snapshot refused: not valid JSON/],
    ];
    for (const [what, bytes, msg] of bad) {
      let err: unknown;
      try {
        fsm.restoreAt(30, bytes);
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(NomadError);
      expect((err as NomadError).message, what).toMatch(msg);
      expect(() => checkSnapshot(bytes), what).toThrow(msg);
    }
    expect(() => fsm.restoreAt(20, image)).toThrow(/log index 20 must be an integer greater than the last applied index 20/);
    // The image's own index must be below the restore's: its rows' indexes would be ahead of the state.
    const fresh = new Fsm();
    expect(() => fresh.restoreAt(8, image)).toThrow(/the image was saved at index 8, not below the restore's log index 8: the log must first move past it/);
    expect(() => fresh.restoreAt(3, image)).toThrow(/saved at index 8, not below the restore's log index 3/);
    expect(fresh.lastApplied()).toBe(0);
    expect(fresh.store.snapshot().jobs()).toEqual([]);
    expect(fresh.restoreAt(9, image)).toBe(8);
    expect(() => fsm.restoreAt(Number.NaN, image)).toThrow(/must be an integer/);
    expect(dumpState(fsm.store.snapshot())).toEqual(before);
    expect(fsm.lastApplied()).toBe(20);
    expect(checkSnapshot(image)).toBe(8);
  });

  it('survives a snapshot of the restored state: the restored state round-trips at the restore index', () => {
    const { image } = saved();
    const fsm = other();
    fsm.restoreAt(25, image);
    const again = new Fsm();
    again.restore(fsm.snapshot());
    expect(again.lastApplied()).toBe(25);
    expect(dumpState(again.store.snapshot())).toEqual(dumpState(fsm.store.snapshot()));
  });
});
