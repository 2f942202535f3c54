/**
 * Property tests of the reconciler (nomad property-tests its reconciler with
 * rapid, reconcile_cluster_prop_test.go): random job shapes and random
 * existing allocation sets, checked against invariants that must always hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../lib/index.js';
import type { Allocation, Deployment, Job, Node, ReschedulePolicy, TaskGroup, UpdateStrategy } from '../structs/index.js';
import { allocIndex, allocName, allocTerminalStatus } from '../structs/index.js';
import type { ReconcileResult } from './reconcile.js';
import { reconcile } from './reconcile.js';
import { mockAlloc, mockDeployment, mockDeploymentGroupState, mockJob, mockNode, mockTask, mockTaskGroup, mockUpdateStrategy } from '../testing/index.js';

const NOW = 1_700_000_000_000;
const SLOT_STATES = ['none', 'running', 'pending', 'failed', 'complete', 'lost', 'stopped', 'down', 'gone', 'drain', 'drain-migrate'] as const;
type SlotState = (typeof SLOT_STATES)[number];

interface Slot {
  state: SlotState;
  oldVersion: boolean;
  history: 'none' | 'failed-replaced' | 'stopped';
}
interface GroupSpec {
  count: number;
  slots: Slot[];
  change: 'none' | 'inplace' | 'destructive';
}
interface Scenario {
  batch: boolean;
  groups: GroupSpec[];
  update: UpdateStrategy | null;
  reschedule: ReschedulePolicy | null;
  deployment: 'none' | 'current' | 'current-promoted' | 'old';
}

const slotArb: fc.Arbitrary<Slot> = fc.record({
  state: fc.constantFrom(...SLOT_STATES),
  oldVersion: fc.boolean(),
  history: fc.constantFrom('none' as const, 'failed-replaced' as const, 'stopped' as const),
});
const groupArb: fc.Arbitrary<GroupSpec> = fc.record({
  count: fc.nat({ max: 8 }),
  slots: fc.array(slotArb, { maxLength: 10 }),
  change: fc.constantFrom('none' as const, 'inplace' as const, 'destructive' as const),
});

/** Scenarios where nothing limits convergence: service, no update block, failures replaced at once. */
const unlimitedArb: fc.Arbitrary<Scenario> = fc.record({
  batch: fc.constant(false),
  groups: fc.array(groupArb, { minLength: 1, maxLength: 3 }),
  update: fc.constant(null),
  reschedule: fc.constant<ReschedulePolicy | null>({ attempts: 0, interval: 0, delay: 0, delayFunction: 'constant', maxDelay: 0, unlimited: true }),
  deployment: fc.constant('none' as const),
});

/** Anything goes: batch, update blocks with canaries, limited and delayed reschedules, deployments. */
const anyArb: fc.Arbitrary<Scenario> = fc.record({
  batch: fc.boolean(),
  groups: fc.array(groupArb, { minLength: 1, maxLength: 3 }),
  update: fc.option(
    fc.record({ maxParallel: fc.integer({ min: 1, max: 3 }), canary: fc.nat({ max: 2 }) }).map((u) => mockUpdateStrategy(u)),
    { nil: null },
  ),
  reschedule: fc.option(
    fc.record({
      attempts: fc.nat({ max: 3 }),
      interval: fc.constantFrom(0, 60_000, 3_600_000),
      delay: fc.constantFrom(0, 500, 5_000, 30_000),
      delayFunction: fc.constantFrom('constant' as const, 'exponential' as const, 'fibonacci' as const),
      maxDelay: fc.constantFrom(0, 60_000),
      unlimited: fc.boolean(),
    }),
    { nil: null },
  ),
  deployment: fc.constantFrom('none' as const, 'current' as const, 'current-promoted' as const, 'old' as const),
});

interface Built {
  job: Job;
  allocs: Allocation[];
  tainted: Map<string, Node | null>;
  deployment: Deployment | null;
}

function build(s: Scenario): Built {
  const groups = (change: boolean): TaskGroup[] =>
    s.groups.map((g, gi) => {
      const name = `g${gi}`;
      const spec = s.groups[gi]!;
      const config = change && spec.change === 'destructive' ? { command: '/bin/v1' } : { command: '/bin/v0' };
      const killTimeout = change && spec.change === 'inplace' ? 9_000 : 5_000;
      return mockTaskGroup({ name, count: g.count, update: s.update, reschedule: s.reschedule, tasks: [mockTask({ name: 't', config, killTimeout })] });
    });
  const base = mockJob({ type: s.batch ? 'batch' : 'service', taskGroups: groups(false) });
  const job: Job = { ...base, version: 1, jobModifyIndex: 11, modifyIndex: 11, taskGroups: groups(true) };

  let deployment: Deployment | null = null;
  if (s.deployment === 'old') deployment = mockDeployment(base);
  else if (s.deployment !== 'none') {
    deployment = mockDeployment(job);
    for (const g of job.taskGroups) {
      deployment.taskGroups[g.name] = mockDeploymentGroupState({ desiredTotal: g.count, desiredCanaries: s.update?.canary ?? 0, promoted: s.deployment === 'current-promoted' });
    }
  }

  const allocs: Allocation[] = [];
  s.groups.forEach((g, gi) => {
    g.slots.forEach((slot, i) => {
      const v = slot.oldVersion ? base : job;
      const group = `g${gi}`;
      const at = (patch: Partial<Allocation>, opts: Parameters<typeof mockAlloc>[1] = {}): Allocation =>
        mockAlloc(v, { group, index: i, nodeId: 'ok', ...opts }, patch);
      const inDeployment: Partial<Allocation> =
        deployment !== null && !slot.oldVersion && s.deployment !== 'old' ? { deploymentId: deployment.id } : {};
      const done = NOW - 1_000;
      switch (slot.state) {
        case 'none':
          break;
        case 'running':
          allocs.push(at(inDeployment));
          break;
        case 'pending':
          allocs.push(at(inDeployment, { clientStatus: 'pending' }));
          break;
        case 'failed':
          allocs.push(at(inDeployment, { clientStatus: 'failed', finishedAt: done }));
          break;
        case 'complete':
          allocs.push(at({}, { clientStatus: 'complete', finishedAt: done }));
          break;
        case 'lost':
          allocs.push(at({}, { clientStatus: 'lost' }));
          break;
        case 'stopped':
          allocs.push(at({}, { clientStatus: 'complete', desiredStatus: 'stop', finishedAt: done }));
          break;
        case 'down':
        case 'gone':
        case 'drain':
          allocs.push(at({}, { nodeId: slot.state }));
          break;
        case 'drain-migrate':
          allocs.push(at({ desiredTransition: { migrate: true, reschedule: false, forceReschedule: false } }, { nodeId: 'drain' }));
          break;
      }
      if (slot.history === 'failed-replaced') allocs.push(at({ nextAllocation: 'replacement' }, { clientStatus: 'failed', finishedAt: done - 5_000 }));
      if (slot.history === 'stopped') allocs.push(at({}, { clientStatus: 'lost', desiredStatus: 'stop' }));
    });
  });

  const tainted = new Map<string, Node | null>([
    ['down', mockNode({ id: 'down', status: 'down' })],
    ['gone', null],
    ['drain', mockNode({ id: 'drain', schedulingEligibility: 'ineligible', drainStrategy: { deadline: 0, ignoreSystemJobs: false, forceDeadline: 0, startedAt: 0 } })],
  ]);
  return { job, allocs, tainted, deployment };
}

function run(b: Built, batch: boolean): ReconcileResult {
  return reconcile({
    job: b.job,
    allocs: b.allocs,
    taintedNodes: b.tainted,
    deployment: b.deployment,
    evalId: 'eval-prop',
    evalPriority: 50,
    now: NOW,
    batch,
    rng: new SeededRng(1),
  });
}

/** The allocations after the plan: stops applied, placements and in-place copies added. */
function apply(job: Job, allocs: Allocation[], r: ReconcileResult): Allocation[] {
  const template = mockAlloc(job);
  const state = new Map(allocs.map((a) => [a.id, a]));
  const stop = (a: Allocation): void => {
    state.set(a.id, { ...a, desiredStatus: 'stop' });
  };
  for (const s of r.stop) stop(s.alloc);
  for (const a of r.inplaceUpdate) state.set(a.id, a);
  let n = 0;
  const add = (name: string, group: string): void => {
    const id = `new-${n++}`;
    state.set(id, { ...template, id, name, taskGroup: group, desiredStatus: 'run', clientStatus: 'pending', nextAllocation: '' });
  };
  for (const d of r.destructiveUpdate) {
    stop(d.stopAlloc);
    add(d.placeName, d.placeTaskGroup.name);
  }
  for (const p of r.place) add(p.name, p.taskGroup.name);
  return [...state.values()];
}

describe('reconciler properties', () => {
  it('with nothing limited, every group converges to exactly `count` live allocs with unique names', () => {
    fc.assert(
      fc.property(unlimitedArb, (s) => {
        const b = build(s);
        const r = run(b, false);
        const after = apply(b.job, b.allocs, r).filter((a) => !allocTerminalStatus(a));
        for (const g of b.job.taskGroups) {
          const live = after.filter((a) => a.taskGroup === g.name);
          expect(live.length, `group ${g.name}`).toBe(g.count);
          expect(new Set(live.map((a) => a.name)).size, `unique names in ${g.name}`).toBe(live.length);
          for (const a of live) expect(a.name).toBe(allocName(b.job.id, g.name, allocIndex(a.name)));
        }
        // Nothing survives in groups the job no longer has.
        const known = new Set(b.job.taskGroups.map((g) => g.name));
        expect(after.filter((a) => !known.has(a.taskGroup))).toEqual([]);
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('never stops an alloc twice, nor both stops and keeps (updates) one', () => {
    fc.assert(
      fc.property(anyArb, (s) => {
        const b = build(s);
        const r = run(b, s.batch);
        const stopped = [...r.stop.map((x) => x.alloc.id), ...r.destructiveUpdate.map((d) => d.stopAlloc.id)];
        expect(new Set(stopped).size).toBe(stopped.length);
        const stoppedSet = new Set(stopped);
        for (const a of r.inplaceUpdate) expect(stoppedSet.has(a.id)).toBe(false);
        for (const a of r.attributeUpdates) expect(stoppedSet.has(a.id)).toBe(false);
        // Only live allocs are stopped (stopping a terminal alloc is a no-op the plan should not carry).
        for (const x of r.stop) expect(x.alloc.desiredStatus).toBe('run');
        // A placement that replaces an alloc also stops it.
        for (const p of r.place) if (p.previousAlloc !== undefined) expect(stoppedSet.has(p.previousAlloc.id)).toBe(true);
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it('never places two allocs with the same name in one eval (canaries aside), nor over a name that stays live', () => {
    fc.assert(
      fc.property(anyArb, (s) => {
        const b = build(s);
        const r = run(b, s.batch);
        const placedNames = [...r.place.filter((p) => p.canary !== true).map((p) => p.name), ...r.destructiveUpdate.map((d) => d.placeName)];
        expect(new Set(placedNames).size).toBe(placedNames.length);
        const stopped = new Set([...r.stop.map((x) => x.alloc.id), ...r.destructiveUpdate.map((d) => d.stopAlloc.id)]);
        const liveAfter = new Set(b.allocs.filter((a) => !allocTerminalStatus(a) && !stopped.has(a.id)).map((a) => a.name));
        for (const n of placedNames) expect(liveAfter.has(n), `placed over live ${n}`).toBe(false);
      }),
      { numRuns: 400, seed: 11 },
    );
  });

  it('destructive updates per eval never exceed max_parallel', () => {
    fc.assert(
      fc.property(anyArb, (s) => {
        const b = build(s);
        const r = run(b, s.batch);
        for (const g of b.job.taskGroups) {
          const n = r.destructiveUpdate.filter((d) => d.placeTaskGroup.name === g.name).length;
          if (!s.batch && g.update !== null) expect(n).toBeLessThanOrEqual(g.update.maxParallel);
          expect(r.desiredTGUpdates[g.name]?.destructiveUpdate ?? 0).toBe(n);
        }
      }),
      { numRuns: 400, seed: 13 },
    );
  });

  it('is deterministic: the same input gives the same result', () => {
    fc.assert(
      fc.property(anyArb, (s) => {
        const b = build(s);
        expect(run(b, s.batch)).toEqual(run(b, s.batch));
      }),
      { numRuns: 100, seed: 17 },
    );
  });
});
