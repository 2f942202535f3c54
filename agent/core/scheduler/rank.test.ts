import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../lib/index.js';
import type { Allocation, Job, Node, SchedulerConfiguration, TaskGroup } from '../structs/index.js';
import { allocsFit, appendAlloc, emptyPlan } from '../structs/index.js';
import { EvalContext } from './context.js';
import type { RankIterator } from './rank.js';
import { RankOption } from './rank.js';
import { LimitIterator } from './select.js';
import type { RankedNode, SelectOptions } from './stack.js';
import { GenericStack } from './stack.js';
import { mockAlloc, mockJob, mockNode, mockTask, mockTaskGroup, MockState, withComputedClass } from '../testing/index.js';

function setup(nodes: Node[], job: Job, allocs: Allocation[] = [], config: Partial<SchedulerConfiguration> = {}, seed = 1) {
  const state = new MockState({ nodes, allocs, jobs: [job], config });
  const ctx = new EvalContext(state, emptyPlan('eval-1', 'tok', 50, job, state.index), new SeededRng(seed));
  const stack = new GenericStack(job.type === 'batch', ctx);
  stack.setNodes(nodes);
  stack.setJob(job);
  return { ctx, stack };
}

/** Select and append to the plan, as the scheduler does. */
function place(ctx: EvalContext, stack: GenericStack, job: Job, tg: TaskGroup, n: number, opts: SelectOptions = {}): RankedNode[] {
  const out: RankedNode[] = [];
  for (let i = 0; i < n; i++) {
    const r = stack.select(tg, opts);
    if (r === null) break;
    out.push(r);
    appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { group: tg.name, nodeId: r.node.id, index: i }, { resources: r.resources }));
  }
  return out;
}

function other(): Job {
  return mockJob({ id: 'other' });
}

/** An allocation of another job using `cpu`/`memoryMB` on `nodeId`. */
function load(nodeId: string, cpu: number, memoryMB: number, ports: number[] = []): Allocation {
  return mockAlloc(other(), { nodeId }, { resources: { cpu, memoryMB, memoryMaxMB: memoryMB, diskMB: 0, ports: ports.map((p) => ({ label: `p${p}`, value: p, to: 0, hostIp: '' })) } });
}

const small = (patch: Partial<TaskGroup> = {}) =>
  mockTaskGroup({ tasks: [mockTask({ resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 } })], ephemeralDisk: { sizeMB: 10, sticky: false, migrate: false }, ...patch });

describe('bin packing', () => {
  const nodes = [mockNode({ id: 'empty' }), mockNode({ id: 'half' })];
  const allocs = [load('half', 1900, 3968)];

  it('binpack prefers the fuller node', () => {
    const job = mockJob({ taskGroups: [small()] });
    const { stack } = setup(nodes, job, allocs);
    const r = stack.select(job.taskGroups[0]!)!;
    expect(r.node.id).toBe('half');
    expect(r.scores.binpack).toBeGreaterThan(0);
  });

  it('the spread algorithm prefers the emptier node', () => {
    const job = mockJob({ taskGroups: [small()] });
    const { stack } = setup(nodes, job, allocs, { schedulerAlgorithm: 'spread' });
    expect(stack.select(job.taskGroups[0]!)!.node.id).toBe('empty');
  });

  it('returns the allocation resources, per-task shares and assigned ports', () => {
    const tg = small({
      networks: [{ mode: 'host', mbits: 0, reservedPorts: [{ label: 'http', value: 8080, to: 0, hostNetwork: 'default' }], dynamicPorts: [{ label: 'rpc', value: 0, to: -1, hostNetwork: 'default' }] }],
      tasks: [mockTask({ name: 'a', resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 128, cores: 0 } }), mockTask({ name: 'b', resources: { cpu: 50, memoryMB: 32, memoryMaxMB: 0, cores: 0 } })],
    });
    const job = mockJob({ taskGroups: [tg] });
    const { stack } = setup(nodes, job);
    const r = stack.select(tg)!;
    expect(r.resources).toMatchObject({ cpu: 150, memoryMB: 96, memoryMaxMB: 160, diskMB: 10 });
    expect(r.taskResources).toEqual({ a: { cpu: 100, memoryMB: 64, memoryMaxMB: 128 }, b: { cpu: 50, memoryMB: 32, memoryMaxMB: 32 } });
    const http = r.resources.ports.find((p) => p.label === 'http')!;
    const rpc = r.resources.ports.find((p) => p.label === 'rpc')!;
    expect(http.value).toBe(8080);
    expect(rpc.value).toBeGreaterThanOrEqual(20000);
    expect(rpc.value).toBeLessThanOrEqual(32000);
    expect(rpc.to).toBe(rpc.value);
  });

  it('records exhaustion per dimension, including port collisions', () => {
    const tg = small({ networks: [{ mode: 'host', mbits: 0, reservedPorts: [{ label: 'http', value: 8080, to: 0, hostNetwork: 'default' }], dynamicPorts: [] }] });
    const job = mockJob({ taskGroups: [tg] });
    const ns = [
      mockNode({ id: 'cpu', nodeClass: 'small' }),
      mockNode({ id: 'mem', nodeClass: 'small' }),
      mockNode({ id: 'disk', nodeClass: 'small', resources: { ...mockNode().resources, diskMB: 4 * 1024 + 5 } }),
      mockNode({ id: 'port' }),
      mockNode({ id: 'reserved', reserved: { ...mockNode().reserved, reservedPorts: [22, 8080] } }),
      mockNode({ id: 'clash' }),
    ];
    const existing = [load('cpu', 3850, 0), load('mem', 0, 7900), load('port', 0, 0, [8080]), load('clash', 0, 0, [9000]), load('clash', 0, 0, [9000])];
    const { stack, ctx } = setup(ns, job, existing);
    expect(stack.select(tg)).toBeNull();
    const m = ctx.metrics;
    expect(m.nodesEvaluated).toBe(6);
    expect(m.nodesExhausted).toBe(6);
    expect(m.dimensionExhausted).toEqual({
      cpu: 1,
      memory: 1,
      disk: 1,
      'network: reserved port collision http=8080': 2,
      'network: port collision 9000': 1,
    });
    expect(m.classExhausted).toEqual({ small: 3 });
  });

  it('counts the plan: placements fill a node until it is exhausted', () => {
    const tg = small({ tasks: [mockTask({ resources: { cpu: 1000, memoryMB: 64, memoryMaxMB: 0, cores: 0 } })] });
    const job = mockJob({ taskGroups: [tg] });
    const { stack, ctx } = setup([mockNode({ id: 'only' })], job);
    expect(place(ctx, stack, job, tg, 10)).toHaveLength(3); // 3900 MHz available
    expect(ctx.metrics.dimensionExhausted).toEqual({ cpu: 1 });
  });

  it('agrees with structs.allocsFit on what fits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ cpu: fc.integer({ min: 0, max: 2000 }), mem: fc.integer({ min: 0, max: 4000 }) }), { maxLength: 5 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 6000 }), (loads, cpu, mem) => {
        const node = mockNode({ id: 'p' });
        const existing = loads.map((l) => load('p', l.cpu, l.mem));
        const tg = small({ tasks: [mockTask({ resources: { cpu, memoryMB: mem, memoryMaxMB: 0, cores: 0 } })] });
        const job = mockJob({ taskGroups: [tg] });
        const { stack } = setup([node], job, existing);
        const r = stack.select(tg);
        const candidate = mockAlloc(job, { nodeId: 'p' }, { resources: { cpu, memoryMB: mem, memoryMaxMB: mem, diskMB: 10, ports: [] } });
        expect(r !== null).toBe(allocsFit(node, [...existing, candidate]).fit);
      }),
      { numRuns: 60, seed: 42 },
    );
  });
});

describe('job anti-affinity', () => {
  it('penalises nodes already running the group: -(collisions+1)/count', () => {
    const tg = small({ count: 4 });
    const job = mockJob({ taskGroups: [tg] });
    const nodes = [mockNode({ id: 'a' }), mockNode({ id: 'b' })];
    const { stack, ctx } = setup(nodes, job, [mockAlloc(job, { nodeId: 'a' })]);
    const r = stack.select(tg)!;
    expect(r.node.id).toBe('b');
    expect(r.scores['job-anti-affinity']).toBe(0);
    const a = ctx.metrics.scoreMetaData.find((s) => s.nodeId === 'a')!;
    expect(a.scores['job-anti-affinity']).toBe(-0.5);
    expect(a.normScore).toBeCloseTo((a.scores.binpack! - 0.5) / 2, 10);
  });

  it('spreads a group over equal nodes even under binpack', () => {
    const tg = small({ count: 4 });
    const job = mockJob({ taskGroups: [tg] });
    const nodes = ['a', 'b', 'c', 'd'].map((id) => mockNode({ id }));
    const { stack, ctx } = setup(nodes, job);
    const placed = place(ctx, stack, job, tg, 4).map((r) => r.node.id);
    expect(new Set(placed).size).toBe(4);
  });
});

describe('reschedule penalty', () => {
  it('avoids the previous node', () => {
    const tg = small();
    const job = mockJob({ taskGroups: [tg] });
    const nodes = [mockNode({ id: 'prev' }), mockNode({ id: 'fresh' })];
    // Without the penalty the fuller node 'prev' would win.
    const { stack, ctx } = setup(nodes, job, [load('prev', 1000, 1000)]);
    expect(stack.select(tg)!.node.id).toBe('prev');
    const r = stack.select(tg, { penaltyNodeIds: new Set(['prev']) })!;
    expect(r.node.id).toBe('fresh');
    expect(r.scores['node-reschedule-penalty']).toBe(0);
    expect(ctx.metrics.scoreMetaData.find((s) => s.nodeId === 'prev')!.scores['node-reschedule-penalty']).toBe(-1);
  });
});

describe('node affinity', () => {
  const nodes = Array.from({ length: 10 }, (_, i) => withComputedClass(mockNode({ id: `n${i}`, meta: { rack: i < 3 ? 'r1' : 'r2' } })));

  it('prefers matching nodes', () => {
    const tg = small({ affinities: [{ lTarget: '${meta.rack}', operand: '=', rTarget: 'r1', weight: 50 }] });
    const job = mockJob({ taskGroups: [tg] });
    const { stack } = setup(nodes, job);
    for (let i = 0; i < 5; i++) {
      const r = stack.select(tg)!;
      expect(r.node.meta.rack).toBe('r1');
      expect(r.scores['node-affinity']).toBe(1);
    }
  });

  it('a negative weight avoids matching nodes; partial matches are weighted', () => {
    const tg = small({
      affinities: [
        { lTarget: '${meta.rack}', operand: '=', rTarget: 'r1', weight: -50 },
        { lTarget: '${attr.kernel.name}', operand: '=', rTarget: 'linux', weight: 50 },
      ],
    });
    const job = mockJob({ taskGroups: [tg] });
    const { stack, ctx } = setup(nodes, job);
    const r = stack.select(tg)!;
    expect(r.node.meta.rack).toBe('r2');
    expect(r.scores['node-affinity']).toBe(0.5);
    // r1 nodes sum to 0: no affinity part recorded for them.
    const r1 = ctx.metrics.scoreMetaData.filter((s) => s.nodeId === 'n0' || s.nodeId === 'n1' || s.nodeId === 'n2');
    for (const s of r1) expect(s.scores['node-affinity']).toBeUndefined();
  });

  it('job- and task-level affinities count too', () => {
    const tg = small({ tasks: [mockTask({ resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 }, affinities: [{ lTarget: '${meta.rack}', operand: '=', rTarget: 'r1', weight: 100 }] })] });
    const job = mockJob({ taskGroups: [tg], affinities: [{ lTarget: '${meta.rack}', operand: '=', rTarget: 'r1', weight: 100 }] });
    const { stack } = setup(nodes, job);
    expect(stack.select(tg)!.scores['node-affinity']).toBe(1);
  });
});

describe('spread', () => {
  const nodes: Node[] = [];
  for (const dc of ['dc1', 'dc2', 'dc3']) for (let i = 0; i < 10; i++) nodes.push(withComputedClass(mockNode({ id: `${dc}-${i}`, datacenter: dc })));

  function counts(placed: RankedNode[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of placed) out[r.node.datacenter] = (out[r.node.datacenter] ?? 0) + 1;
    return out;
  }

  it('with targets, placements approach the target percentages', () => {
    const tg = small({ count: 100, spreads: [{ attribute: '${node.datacenter}', weight: 100, targets: [{ value: 'dc1', percent: 50 }, { value: 'dc2', percent: 30 }, { value: 'dc3', percent: 20 }] }] });
    const job = mockJob({ datacenters: ['*'], taskGroups: [tg] });
    const { stack, ctx } = setup(nodes, job);
    const placed = place(ctx, stack, job, tg, 100);
    expect(placed).toHaveLength(100);
    const c = counts(placed);
    expect(Math.abs(c.dc1! - 50)).toBeLessThanOrEqual(2);
    expect(Math.abs(c.dc2! - 30)).toBeLessThanOrEqual(2);
    expect(Math.abs(c.dc3! - 20)).toBeLessThanOrEqual(2);
  });

  it('an implicit target takes what the named targets leave', () => {
    const tg = small({ count: 40, spreads: [{ attribute: '${node.datacenter}', weight: 100, targets: [{ value: 'dc1', percent: 75 }] }] });
    const job = mockJob({ datacenters: ['*'], taskGroups: [tg] });
    const { stack, ctx } = setup(nodes, job);
    const c = counts(place(ctx, stack, job, tg, 40));
    expect(Math.abs(c.dc1! - 30)).toBeLessThanOrEqual(1);
    expect(Math.abs((c.dc2 ?? 0) + (c.dc3 ?? 0) - 10)).toBeLessThanOrEqual(1);
  });

  it('without targets, spreads evenly over the values, counting existing allocations', () => {
    const tg = small({ count: 30, spreads: [{ attribute: '${node.datacenter}', weight: 100, targets: [] }] });
    const job = mockJob({ datacenters: ['*'], taskGroups: [tg] });
    const existing = [0, 1, 2, 3, 4, 5].map((i) => mockAlloc(job, { nodeId: `dc1-${i}`, index: 100 + i }));
    const { stack, ctx } = setup(nodes, job, existing);
    const c = counts(place(ctx, stack, job, tg, 24));
    expect(c.dc1! + 6).toBe(10);
    expect(c.dc2).toBe(10);
    expect(c.dc3).toBe(10);
  });

  it('nodes lacking the attribute are penalised', () => {
    const ns = [mockNode({ id: 'with', meta: { zone: 'z1' } }), mockNode({ id: 'without' })];
    const tg = small({ count: 2, spreads: [{ attribute: '${meta.zone}', weight: 100, targets: [] }] });
    const job = mockJob({ taskGroups: [tg] });
    const { stack, ctx } = setup(ns, job);
    expect(stack.select(tg)!.node.id).toBe('with');
    expect(ctx.metrics.scoreMetaData.find((s) => s.nodeId === 'without')!.scores['allocation-spread']).toBe(-1);
  });
});

describe('LimitIterator', () => {
  class ListSource implements RankIterator {
    private i = 0;
    constructor(private readonly scores: number[]) {}
    next(): RankOption | null {
      const s = this.scores[this.i++];
      if (s === undefined) return null;
      const o = new RankOption(mockNode({ id: `s${this.i - 1}` }));
      o.finalScore = s;
      return o;
    }
    reset(): void {}
  }
  const ids = (it: LimitIterator) => {
    const out: string[] = [];
    for (let o = it.next(); o !== null; o = it.next()) out.push(o.node.id);
    return out;
  };

  it('takes the first `limit` nodes', () => {
    expect(ids(new LimitIterator(new ListSource([0.5, 0.4, 0.3]), 2))).toEqual(['s0', 's1']);
  });
  it('skips up to 3 nodes scoring at or below the threshold', () => {
    expect(ids(new LimitIterator(new ListSource([0, -1, 0.5, 0.6, 0.7]), 2))).toEqual(['s2', 's3']);
    expect(ids(new LimitIterator(new ListSource([0, 0, 0, 0, 0.9]), 2))).toEqual(['s3', 's4']);
  });
  it('falls back to skipped nodes when nothing better comes', () => {
    expect(ids(new LimitIterator(new ListSource([-1, -0.5]), 2))).toEqual(['s0', 's1']);
    expect(ids(new LimitIterator(new ListSource([-1, 0.2]), 3))).toEqual(['s1', 's0']);
  });
});

describe('RankOption.scoreRecord', () => {
  it('names exactly the recorded parts, in the order Nomad lists them, for every combination', () => {
    const names = ['binpack', 'job-anti-affinity', 'node-reschedule-penalty', 'node-affinity', 'allocation-spread'] as const;
    const fields = ['binpack', 'antiAffinity', 'penalty', 'affinity', 'spread'] as const;
    for (let mask = 0; mask < 32; mask++) {
      const o = new RankOption(mockNode({ id: 'n' }));
      const expected: [string, number][] = [];
      fields.forEach((f, i) => {
        if ((mask & (1 << i)) === 0) return;
        const v = i === 0 ? 0.5 : -(i / 10);
        o[f] = v;
        expected.push([names[i]!, v]);
      });
      const rec = o.scoreRecord();
      expect(Object.entries(rec)).toEqual(expected);
    }
  });
});

describe('RankOption.scoreRecord sharing', () => {
  const option = (binpack: number, antiAffinity: number, penalty = 0, affinity = 0): RankOption => {
    const o = new RankOption(mockNode({ id: 'n' }));
    o.binpack = binpack;
    o.antiAffinity = antiAffinity;
    o.penalty = penalty;
    o.affinity = affinity;
    return o;
  };

  it('options that scored the same without penalty, affinity or spread share one frozen record', () => {
    const a = option(0.625, -0.04).scoreRecord();
    const b = option(0.625, -0.04).scoreRecord();
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.entries(a)).toEqual([['binpack', 0.625], ['job-anti-affinity', -0.04], ['node-reschedule-penalty', 0], ['node-affinity', 0]]);
    expect(option(0.625, 0).scoreRecord()).not.toBe(a);
    expect(option(0.5, -0.04).scoreRecord()).not.toBe(a);
  });

  it('other parts, a spread part or a negative zero get records of their own, with exactly their values', () => {
    const penalised = option(0.625, -0.04, -1);
    expect(penalised.scoreRecord()).not.toBe(penalised.scoreRecord());
    expect(penalised.scoreRecord()['node-reschedule-penalty']).toBe(-1);
    const spread = option(0.625, -0.04);
    spread.spread = 0.5;
    expect(Object.keys(spread.scoreRecord())).toEqual(['binpack', 'job-anti-affinity', 'node-reschedule-penalty', 'node-affinity', 'allocation-spread']);
    expect(Object.isFrozen(spread.scoreRecord())).toBe(false);
    for (const [b, j, p, a] of [[-0, 0, 0, 0], [0.5, -0, 0, 0], [0.5, 0, -0, 0], [0.5, 0, 0, -0]] as const) {
      const rec = option(b, j, p, a).scoreRecord();
      expect(Object.is(rec.binpack, b) && Object.is(rec['job-anti-affinity'], j)).toBe(true);
      expect(Object.is(rec['node-reschedule-penalty'], p) && Object.is(rec['node-affinity'], a)).toBe(true);
    }
    // The +0 records were not replaced by the -0 ones.
    expect(Object.is(option(0, 0).scoreRecord().binpack, 0)).toBe(true);
  });
});
