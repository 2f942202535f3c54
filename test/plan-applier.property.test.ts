/**
 * Property: whatever plans concurrent schedulers submit, built on whatever stale
 * snapshots, the plan applier never over-commits a node, commits exactly what it
 * reports as accepted, and asks for a refresh whenever it refuses something.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng, uuid } from '../agent/core/lib/index.js';
import { PlanApplier, planResultCommand } from '../agent/core/plan/index.js';
import { Fsm } from '../agent/core/state/index.js';
import type { Allocation, Job, Node, Plan } from '../agent/core/structs/index.js';
import { allocsFit, allocTerminalStatus, emptyPlan, newAllocation } from '../agent/core/structs/index.js';
import { parseJobText } from '../agent/jobspec/index.js';
import { simulatedNodes } from '../agent/sim/index.js';

const small = [{ nodeClass: 'tiny', cpuCores: 1, mhzPerCore: 1_000, memoryMB: 1_024, diskMB: 10_000 }];

function alloc(job: Job, node: Node, cpu: number, mem: number, port: number | null, rngId: string): Allocation {
  return newAllocation({
    id: rngId,
    namespace: job.namespace,
    evalId: 'e',
    name: `${job.id}.g[0]`,
    nodeId: node.id,
    nodeName: node.name,
    jobId: job.id,
    job,
    taskGroup: 'g',
    resources: { cpu, memoryMB: mem, memoryMaxMB: mem, diskMB: 100, ports: port === null ? [] : [{ label: 'p', value: port, to: port, hostIp: '' }] },
  });
}

describe('PlanApplier', () => {
  it('never over-commits a node under concurrent plans built on stale state', async () => {
    const job = await parseJobText('job "j" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "x" }\n    }\n  }\n}\n', { filename: 'j.hcl' });
    const placement = fc.record({ node: fc.nat(5), cpu: fc.integer({ min: 50, max: 600 }), mem: fc.integer({ min: 32, max: 600 }), port: fc.option(fc.integer({ min: 8000, max: 8003 })), stop: fc.nat(3) });
    const planArb = fc.array(placement, { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(planArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), fc.integer(), async (rounds, seed) => {
        const rng = new SeededRng(seed);
        const nodes = simulatedNodes({ count: 6, rng, shapes: small });
        const fsm = new Fsm();
        let index = 0;
        fsm.apply(++index, { type: 'UpsertJob', job });
        for (const n of nodes) fsm.apply(++index, { type: 'UpsertNode', node: n });
        const stored = fsm.store.snapshot().jobByID('default', 'j')!;
        const accepted = new Set<string>();
        const applier = new PlanApplier({
          latestState: () => fsm.store.snapshot(),
          commit: async (plan, result) => {
            await Promise.resolve();
            fsm.apply(++index, planResultCommand(plan, result));
            return index;
          },
          tokenValid: () => true,
        });
        for (const round of rounds) {
          // Every plan in a round is built on the same (soon stale) snapshot and submitted at once.
          const snap = fsm.store.snapshot();
          const plans: Plan[] = round.map((entries) => {
            const plan = emptyPlan(uuid(rng), 't', 50, stored, snap.index);
            for (const e of entries) {
              const node = nodes[e.node]!;
              const running = snap.allocsByNode(node.id).filter((a) => !allocTerminalStatus(a));
              const victim = running[e.stop];
              if (victim !== undefined && e.stop === 0) (plan.nodeUpdate[node.id] ??= []).push({ ...victim, desiredStatus: 'stop' });
              (plan.nodeAllocation[node.id] ??= []).push(alloc(stored, node, e.cpu, e.mem, e.port, uuid(rng)));
            }
            return plan;
          });
          const results = await Promise.all(plans.map((p) => applier.submit(p)));
          results.forEach((r, i) => {
            for (const list of Object.values(r.nodeAllocation)) for (const a of list) accepted.add(a.id);
            const planned = Object.keys(plans[i]!.nodeAllocation).length;
            const committed = Object.keys(r.nodeAllocation).length;
            if (committed < planned) expect(r.refreshIndex).toBeGreaterThan(0);
            expect(r.rejectedNodes.length).toBe(new Set([...Object.keys(plans[i]!.nodeAllocation), ...Object.keys(plans[i]!.nodeUpdate)]).size - new Set([...Object.keys(r.nodeAllocation), ...Object.keys(r.nodeUpdate)]).size);
          });
        }
        const state = fsm.store.snapshot();
        for (const n of nodes) {
          const fit = allocsFit(n, state.allocsByNode(n.id));
          expect(fit.fit, `node ${n.name}: ${fit.dimension}`).toBe(true);
        }
        // What is in state is exactly what the applier said it accepted.
        expect(new Set(state.allocsByJob('default', 'j').map((a) => a.id))).toEqual(accepted);
      }),
      { numRuns: 150, seed: 20261122 },
    );
  });

  it('refuses a plan whose evaluation token is no longer outstanding, and writes nothing', async () => {
    const job = await parseJobText('job "j" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "x" }\n    }\n  }\n}\n', { filename: 'j.hcl' });
    const rng = new SeededRng(1);
    const [node] = simulatedNodes({ count: 1, rng });
    const fsm = new Fsm();
    fsm.apply(1, { type: 'UpsertJob', job });
    fsm.apply(2, { type: 'UpsertNode', node: node! });
    const stored = fsm.store.snapshot().jobByID('default', 'j')!;
    const applier = new PlanApplier({ latestState: () => fsm.store.snapshot(), commit: () => Promise.reject(new Error('must not commit')), tokenValid: () => false });
    const plan = emptyPlan('e1', 'stale', 50, stored, 2);
    plan.nodeAllocation[node!.id] = [alloc(stored, node!, 100, 100, null, 'a1')];
    await expect(applier.submit(plan)).rejects.toThrow(/token is no longer outstanding/);
    expect(fsm.store.snapshot().allocCount()).toBe(0);
    expect(applier.stats().invalidToken).toBe(1);
  });

  it('rejects placements on a node that went down or became ineligible since the snapshot', async () => {
    const job = await parseJobText('job "j" {\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "x" }\n    }\n  }\n}\n', { filename: 'j.hcl' });
    const rng = new SeededRng(2);
    const [a, b] = simulatedNodes({ count: 2, rng });
    const fsm = new Fsm();
    let index = 0;
    fsm.apply(++index, { type: 'UpsertJob', job });
    fsm.apply(++index, { type: 'UpsertNode', node: a! });
    fsm.apply(++index, { type: 'UpsertNode', node: b! });
    const stored = fsm.store.snapshot().jobByID('default', 'j')!;
    const plan = emptyPlan('e1', 't', 50, stored, index);
    plan.nodeAllocation[a!.id] = [alloc(stored, a!, 100, 100, null, 'x1')];
    plan.nodeAllocation[b!.id] = [alloc(stored, b!, 100, 100, null, 'x2')];
    fsm.apply(++index, { type: 'UpdateNodeStatus', nodeId: a!.id, status: 'down', updatedAt: 0 });
    const applier = new PlanApplier({ latestState: () => fsm.store.snapshot(), commit: async (p, r) => (fsm.apply(++index, planResultCommand(p, r)), index), tokenValid: () => true });
    const r = await applier.submit(plan);
    expect(r.rejectedNodes).toEqual([a!.id]);
    expect(r.refreshIndex).toBe(index - 1);
    expect(Object.keys(r.nodeAllocation)).toEqual([b!.id]);
    expect(fsm.store.snapshot().allocByID('x1')).toBeUndefined();
    expect(fsm.store.snapshot().allocByID('x2')).toBeDefined();
  });
});
