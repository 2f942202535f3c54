import { describe, expect, it } from 'vitest';
import { SeededRng } from '../lib/index.js';
import type { Constraint, Job, Node } from '../structs/index.js';
import { appendAlloc, emptyPlan } from '../structs/index.js';
import { EvalContext } from './context.js';
import type { FeasibleIterator } from './feasible.js';
import {
  checkOperand,
  compileConstraint,
  ConstraintChecker,
  datacenterMatcher,
  DistinctHostsIterator,
  DistinctPropertyIterator,
  DriverChecker,
  FeasibilityWrapper,
  NodeSource,
  ShuffleOrder,
  readyNodesInDCs,
} from './feasible.js';
import { resolveTarget } from './targets.js';
import { mockAlloc, mockJob, mockNode, mockTaskGroup, MockState, withComputedClass } from '../testing/index.js';

function ctxFor(nodes: Node[], allocs = [] as ReturnType<typeof mockAlloc>[], job: Job | null = null): EvalContext {
  return new EvalContext(new MockState({ nodes, allocs }), emptyPlan('eval-1', 'tok', 50, job, 1000), new SeededRng(7));
}

function drain(it: FeasibleIterator): string[] {
  const out: string[] = [];
  for (let n = it.next(); n !== null; n = it.next()) out.push(n.id);
  return out;
}

const c = (lTarget: string, operand: Constraint['operand'], rTarget: string): Constraint => ({ lTarget, operand, rTarget });

describe('target resolution', () => {
  const node = mockNode({ id: 'n1', name: 'alpha', datacenter: 'dc2', nodeClass: 'gpu', nodePool: 'prod', meta: { rack: 'r1' } });
  it('resolves node fields, attributes and meta', () => {
    expect(resolveTarget('${node.unique.id}', node)).toBe('n1');
    expect(resolveTarget('${node.unique.name}', node)).toBe('alpha');
    expect(resolveTarget('${node.datacenter}', node)).toBe('dc2');
    expect(resolveTarget('${node.class}', node)).toBe('gpu');
    expect(resolveTarget('${node.pool}', node)).toBe('prod');
    expect(resolveTarget('${attr.kernel.name}', node)).toBe('linux');
    expect(resolveTarget('${attr.unique.hostname}', node)).toBe('host-n1');
    expect(resolveTarget('${meta.rack}', node)).toBe('r1');
  });
  it('treats unknown targets as not set and plain strings as literals', () => {
    expect(resolveTarget('${meta.nope}', node)).toBeUndefined();
    expect(resolveTarget('${attr.constructor}', node)).toBeUndefined();
    expect(resolveTarget('${node.bogus}', node)).toBeUndefined();
    expect(resolveTarget('${attr.kernel.name', node)).toBeUndefined();
    expect(resolveTarget('linux', node)).toBe('linux');
    expect(resolveTarget('', node)).toBe('');
  });
});

describe('constraint operators', () => {
  it('equality and inequality (missing attributes: = fails, != holds)', () => {
    for (const op of ['=', '==', 'is']) {
      expect(checkOperand(op, 'a', 'a')).toBe(true);
      expect(checkOperand(op, 'a', 'b')).toBe(false);
      expect(checkOperand(op, undefined, 'a')).toBe(false);
    }
    for (const op of ['!=', 'not']) {
      expect(checkOperand(op, 'a', 'b')).toBe(true);
      expect(checkOperand(op, 'a', 'a')).toBe(false);
      expect(checkOperand(op, undefined, 'a')).toBe(true);
    }
  });
  it('ordering: numeric when both are numbers, else lexical', () => {
    expect(checkOperand('<', '9', '10')).toBe(true);
    expect(checkOperand('<', '9', '10a')).toBe(false); // lexical: "9" > "10a"
    expect(checkOperand('>=', '2.5', '2.50')).toBe(true);
    expect(checkOperand('<=', '-1', '0')).toBe(true);
    expect(checkOperand('>', 'b', 'a')).toBe(true);
    expect(checkOperand('>', ' ', '0')).toBe(false); // blank is not zero
    expect(checkOperand('<', undefined, '5')).toBe(false);
  });
  it('regexp (invalid patterns match nothing)', () => {
    expect(checkOperand('regexp', 'linux-5.4', '^linux-[0-9]+')).toBe(true);
    expect(checkOperand('regexp', 'darwin', '^linux')).toBe(false);
    expect(checkOperand('regexp', 'x', '(')).toBe(false);
    expect(checkOperand('regexp', undefined, '.*')).toBe(false);
  });
  it('version and semver', () => {
    expect(checkOperand('version', '1.9.0', '>= 1.8, < 2.0')).toBe(true);
    expect(checkOperand('version', '1.9.0-beta', '>= 1.8')).toBe(false);
    expect(checkOperand('semver', '1.9.0-beta', '>= 1.8.0')).toBe(true);
    expect(checkOperand('version', undefined, '>= 1.0')).toBe(false);
  });
  it('set operators trim spaces', () => {
    expect(checkOperand('set_contains', 'a, b ,c', 'c,a')).toBe(true);
    expect(checkOperand('set_contains_all', 'a,b', 'a, b, d')).toBe(false);
    expect(checkOperand('set_contains_any', 'a , b', 'x, b')).toBe(true);
    expect(checkOperand('set_contains_any', 'a,b', 'x,y')).toBe(false);
    expect(checkOperand('set_contains', undefined, 'a')).toBe(false);
  });
  it('is_set / is_not_set', () => {
    expect(checkOperand('is_set', 'x', undefined)).toBe(true);
    expect(checkOperand('is_set', undefined, undefined)).toBe(false);
    expect(checkOperand('is_not_set', undefined, undefined)).toBe(true);
    expect(checkOperand('is_not_set', '', undefined)).toBe(false);
  });
  it('unknown operators never match; distinct_* pass (checked elsewhere)', () => {
    expect(checkOperand('~=', 'a', 'a')).toBe(false);
    expect(checkOperand('distinct_hosts', undefined, undefined)).toBe(true);
  });
  it('compiled constraints carry their display string and escape flag', () => {
    const k = compileConstraint(c('${attr.kernel.name}', '=', 'linux'));
    expect(k.text).toBe('${attr.kernel.name} = linux');
    expect(k.escapes).toBe(false);
    expect(compileConstraint(c('${node.unique.name}', '!=', 'x')).escapes).toBe(true);
    expect(compileConstraint(c('${meta.zone}', '=', '${meta.unique.zone}')).escapes).toBe(true);
    const node = mockNode({ meta: { zone: 'a', 'unique.zone': 'a' } });
    expect(compileConstraint(c('${meta.zone}', '=', '${meta.unique.zone}')).matches(node)).toBe(true);
  });
  it('ConstraintChecker reports the first failing constraint', () => {
    const ch = new ConstraintChecker();
    ch.setConstraints([c('${attr.kernel.name}', '=', 'linux'), c('${attr.cpu.arch}', '=', 'arm64'), c('', 'distinct_hosts', '')]);
    expect(ch.check(mockNode())).toBe('${attr.cpu.arch} = arm64');
    expect(ch.check(mockNode({ attributes: { 'kernel.name': 'linux', 'cpu.arch': 'arm64' } }))).toBe('');
  });
});

describe('DriverChecker', () => {
  it('needs every driver detected and healthy, or the legacy attribute', () => {
    const ch = new DriverChecker();
    ch.setDrivers(['exec', 'docker']);
    const base = mockNode();
    expect(ch.check(base)).toBe('missing drivers');
    const withDocker = mockNode({ drivers: { ...base.drivers, docker: { detected: true, healthy: true, healthDescription: '', attributes: {} } } });
    expect(ch.check(withDocker)).toBe('');
    const unhealthy = mockNode({ drivers: { ...base.drivers, docker: { detected: true, healthy: false, healthDescription: 'down', attributes: {} } } });
    expect(ch.check(unhealthy)).toBe('missing drivers');
    const legacy = mockNode({ drivers: {}, attributes: { 'driver.exec': 'true', 'driver.docker': '1' } });
    expect(ch.check(legacy)).toBe('');
    const legacyOff = mockNode({ drivers: {}, attributes: { 'driver.exec': 'true', 'driver.docker': '0' } });
    expect(ch.check(legacyOff)).toBe('missing drivers');
  });
});

describe('readyNodesInDCs', () => {
  it('filters by datacenter pattern, pool and readiness and counts per DC', () => {
    const nodes = [
      mockNode({ id: 'a', datacenter: 'dc1' }),
      mockNode({ id: 'b', datacenter: 'dc2' }),
      mockNode({ id: 'c', datacenter: 'eu1' }),
      mockNode({ id: 'd', datacenter: 'dc1', status: 'down' }),
      mockNode({ id: 'e', datacenter: 'dc1', schedulingEligibility: 'ineligible' }),
      mockNode({ id: 'f', datacenter: 'dc1', drainStrategy: { deadline: 0, ignoreSystemJobs: false, forceDeadline: 0, startedAt: 0 } }),
      mockNode({ id: 'g', datacenter: 'dc1', nodePool: 'gpu' }),
    ];
    const state = new MockState({ nodes });
    const r = readyNodesInDCs(state, ['dc*'], 'default');
    expect(r.nodes.map((n) => n.id).sort()).toEqual(['a', 'b']);
    expect(r.byDC).toEqual({ dc1: 1, dc2: 1 });
    expect([...r.notReady].sort()).toEqual(['d', 'e', 'f']);
    expect(r.nodesInPool).toBe(6);
    expect(readyNodesInDCs(state, ['*'], 'all').nodes.map((n) => n.id).sort()).toEqual(['a', 'b', 'c', 'g']);
    expect(readyNodesInDCs(state, ['eu1', 'dc2'], 'default').nodes.map((n) => n.id).sort()).toEqual(['b', 'c']);
    expect(readyNodesInDCs(state, ['nowhere'], 'default').nodes).toEqual([]);
  });
  it('globs match whole names and escape regexp characters', () => {
    const m = datacenterMatcher(['us-*-1', 'a.b']);
    expect(m('us-east-1')).toBe(true);
    expect(m('us-east-12')).toBe(false);
    expect(m('a.b')).toBe(true);
    expect(m('axb')).toBe(false);
  });
});

describe('NodeSource', () => {
  it('continues where the last selection stopped and sees each node once per selection', () => {
    const nodes = ['a', 'b', 'c'].map((id) => mockNode({ id }));
    const ctx = ctxFor(nodes);
    const src = new NodeSource(ctx);
    src.setNodes(nodes);
    expect(src.next()?.id).toBe('a');
    src.reset();
    expect(drain(src)).toEqual(['b', 'c', 'a']);
    src.reset();
    expect(drain(src)).toEqual(['b', 'c', 'a']);
    expect(ctx.metrics.nodesEvaluated).toBe(7);
    src.setNodes([]);
    expect(src.next()).toBeNull();
  });
});

describe('NodeSource on a shared list (setSharedNodes)', () => {
  /** Visits (node id, visit slot) over `rounds` selections that each take up to `take` nodes. */
  const visits = (setup: (src: NodeSource, ctx: EvalContext) => void, nodes: Node[], rounds: number, take: number): string[] => {
    const ctx = ctxFor(nodes);
    const src = new NodeSource(ctx);
    setup(src, ctx);
    const out: string[] = [];
    for (let r = 0; r < rounds; r++) {
      src.reset();
      for (let t = 0; t < take; t++) {
        const n = src.next();
        if (n === null) break;
        out.push(`${n.id}@${ctx.visitSlot}`);
      }
    }
    return out;
  };

  it('visits exactly what a shuffled copy visits, wrapping around, and leaves the list and slots as they were', () => {
    for (const size of [1, 2, 7, 40]) {
      const nodes = Array.from({ length: size }, (_, i) => mockNode({ id: `n${i}` }));
      const slots = Int32Array.from(nodes, (_, i) => 100 + i);
      const order = new ShuffleOrder(64);
      for (const seed of [1, 2, 3]) {
        for (const [rounds, take] of [[1, size], [5, 3], [3, size + 2]] as const) {
          const copy = visits((src) => src.setNodes([...nodes], new SeededRng(seed), slots.slice()), nodes, rounds, take);
          // The same order object, reused: each setSharedNodes starts it afresh.
          const shared = visits((src) => src.setSharedNodes(nodes, slots, new SeededRng(seed), order), nodes, rounds, take);
          expect(shared).toEqual(copy);
        }
      }
      expect(nodes.map((n) => n.id)).toEqual(Array.from({ length: size }, (_, i) => `n${i}`));
      expect([...slots]).toEqual(Array.from({ length: size }, (_, i) => 100 + i));
    }
  });

  it('without slots visits with slot -1; refuses mismatched slots or an order too small, changing nothing', () => {
    const nodes = ['a', 'b', 'c'].map((id) => mockNode({ id }));
    expect(visits((src) => src.setSharedNodes(nodes, null, new SeededRng(1), new ShuffleOrder(3)), nodes, 1, 3).every((v) => v.endsWith('@-1'))).toBe(true);
    const ctx = ctxFor(nodes);
    const src = new NodeSource(ctx);
    src.setNodes([nodes[0]!]);
    expect(() => src.setSharedNodes(nodes, new Int32Array(2), new SeededRng(1), new ShuffleOrder(3))).toThrow(/2 slots for 3 nodes/);
    expect(() => src.setSharedNodes(nodes, null, new SeededRng(1), new ShuffleOrder(2))).toThrow(/order for 2 nodes cannot shuffle 3/);
    expect(drain(src)).toEqual(['a']);
  });
});

describe('FeasibilityWrapper class caching', () => {
  function cluster(n: number, classes: number): Node[] {
    const out: Node[] = [];
    for (let i = 0; i < n; i++) {
      out.push(withComputedClass(mockNode({ id: `n${i}`, nodeClass: `c${i % classes}`, attributes: { 'kernel.name': i % classes === 0 ? 'windows' : 'linux', 'driver.exec': '1', 'unique.hostname': `h${i}` } })));
    }
    return out;
  }

  class CountingChecker {
    calls = 0;
    constructor(private readonly inner: ConstraintChecker) {}
    check(node: Node): string {
      this.calls++;
      return this.inner.check(node);
    }
  }

  it('runs a class-wide check once per computed class and records why nodes were filtered', () => {
    const nodes = cluster(40, 4);
    const job = mockJob();
    const ctx = ctxFor(nodes, [], job);
    ctx.eligibility.setJob(job);
    const src = new NodeSource(ctx);
    src.setNodes(nodes);
    const inner = new ConstraintChecker();
    inner.setConstraints(job.constraints);
    const counting = new CountingChecker(inner);
    const w = new FeasibilityWrapper(ctx, src, [counting], []);
    w.setTaskGroup('web');
    const ok = drain(w);
    expect(ok).toHaveLength(30);
    expect(counting.calls).toBe(4);
    expect(ctx.metrics.nodesFiltered).toBe(10);
    expect(ctx.metrics.classFiltered).toEqual({ c0: 10 });
    expect(ctx.metrics.constraintFiltered).toEqual({ '${attr.kernel.name} = linux': 10 });
    const classes = ctx.eligibility.classes();
    expect(Object.values(classes).filter((v) => !v)).toHaveLength(1);
    expect(Object.values(classes).filter((v) => v)).toHaveLength(3);
    expect(ctx.eligibility.hasEscaped()).toBe(false);
  });

  it('sees verdicts written or dropped by others between its calls (new job, reset, set from outside)', () => {
    const nodes = cluster(8, 2);
    const job = mockJob();
    const ctx = ctxFor(nodes, [], job);
    ctx.eligibility.setJob(job);
    const src = new NodeSource(ctx);
    // With slots: verdicts are also read by class id (the fast path the wrapper keeps between calls).
    const slots = Int32Array.from(nodes, (n) => ctx.slotOf(n.id));
    expect(slots.every((x) => x >= 0 && ctx.slots.classId[x]! > 0)).toBe(true);
    src.setNodes(nodes, null, slots);
    const inner = new ConstraintChecker();
    inner.setConstraints(job.constraints);
    const counting = new CountingChecker(inner);
    const w = new FeasibilityWrapper(ctx, src, [counting], []);
    w.setTaskGroup('web');
    expect(drain(w)).toHaveLength(4);
    expect(counting.calls).toBe(2);
    const linux = nodes[1]!.computedClass;

    // Written from outside: the class is now ineligible for the job.
    ctx.eligibility.setJobEligibility(linux, 'made up');
    src.reset();
    expect(drain(w)).toEqual([]);
    expect(ctx.metrics.constraintFiltered['made up']).toBe(4);
    expect(counting.calls).toBe(2);

    // A reset forgets every verdict: the checks run again.
    ctx.eligibility.reset();
    src.reset();
    expect(drain(w)).toHaveLength(4);
    expect(counting.calls).toBe(4);

    // Written from outside for the group: filtered with that reason.
    ctx.eligibility.setTaskGroupEligibility('web', linux, 'group says no');
    src.reset();
    expect(drain(w)).toEqual([]);
    expect(ctx.metrics.constraintFiltered['group says no']).toBe(4);

    // Another job (another version): the caches start over.
    ctx.eligibility.setJob({ ...job, version: job.version + 1 });
    src.reset();
    expect(drain(w)).toHaveLength(4);
    expect(counting.calls).toBe(6);
  });

  it('a unique-attribute constraint escapes the class cache and is checked on every node', () => {
    const nodes = cluster(20, 2);
    const job = mockJob({ constraints: [c('${attr.unique.hostname}', '!=', 'h3')] });
    const ctx = ctxFor(nodes, [], job);
    ctx.eligibility.setJob(job);
    const src = new NodeSource(ctx);
    src.setNodes(nodes);
    const inner = new ConstraintChecker();
    inner.setConstraints(job.constraints);
    const counting = new CountingChecker(inner);
    const w = new FeasibilityWrapper(ctx, src, [counting], []);
    w.setTaskGroup('web');
    const ok = drain(w);
    expect(ok).toHaveLength(19);
    expect(ok).not.toContain('n3');
    expect(counting.calls).toBe(20);
    expect(ctx.eligibility.hasEscaped()).toBe(true);
    expect(ctx.eligibility.jobStatus(nodes[0]!.computedClass)).toBe('escaped');
  });

  it('group checks are cached per group; a group-level unique constraint escapes only that group', () => {
    const nodes = cluster(8, 2);
    const g1 = mockTaskGroup({ name: 'g1', constraints: [c('${node.unique.id}', '!=', 'n0')] });
    const g2 = mockTaskGroup({ name: 'g2', constraints: [c('${node.class}', '=', 'c1')] });
    const job = mockJob({ constraints: [], taskGroups: [g1, g2] });
    const ctx = ctxFor(nodes, [], job);
    ctx.eligibility.setJob(job);
    const src = new NodeSource(ctx);
    src.setNodes(nodes);
    const ch = new ConstraintChecker();
    const w = new FeasibilityWrapper(ctx, src, [], [ch]);
    ch.setConstraints(g1.constraints);
    w.setTaskGroup('g1');
    expect(drain(w)).toHaveLength(7);
    expect(ctx.eligibility.taskGroupStatus('g1', nodes[1]!.computedClass)).toBe('escaped');
    ch.setConstraints(g2.constraints);
    w.setTaskGroup('g2');
    src.reset();
    expect(drain(w).sort()).toEqual(['n1', 'n3', 'n5', 'n7']);
    expect(ctx.eligibility.taskGroupStatus('g2', nodes[0]!.computedClass)).toBe('ineligible');
    expect(ctx.eligibility.taskGroupStatus('g2', nodes[1]!.computedClass)).toBe('eligible');
  });

  it('nodes without a computed class are never cached', () => {
    const nodes = [mockNode({ id: 'x', computedClass: '' }), mockNode({ id: 'y', computedClass: '' })];
    const job = mockJob();
    const ctx = ctxFor(nodes, [], job);
    ctx.eligibility.setJob(job);
    expect(ctx.eligibility.jobStatus('')).toBe('escaped');
  });
});

describe('distinct_hosts', () => {
  const nodes = ['a', 'b', 'c'].map((id) => mockNode({ id }));

  function run(job: Job, ctx: EvalContext, group = 'web'): string[] {
    const src = new NodeSource(ctx);
    src.setNodes(nodes);
    const it = new DistinctHostsIterator(ctx, src);
    it.setJob(job);
    it.setTaskGroup(job.taskGroups.find((g) => g.name === group)!);
    return drain(it);
  }

  it('job level: skips nodes running any allocation of the job, including the plan', () => {
    const job = mockJob({ constraints: [c('', 'distinct_hosts', 'true')], taskGroups: [mockTaskGroup({ name: 'web' }), mockTaskGroup({ name: 'db' })] });
    const existing = mockAlloc(job, { group: 'db', nodeId: 'a' });
    const ctx = ctxFor(nodes, [existing], job);
    appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: 'b' }));
    expect(run(job, ctx)).toEqual(['c']);
    expect(ctx.metrics.constraintFiltered).toEqual({ distinct_hosts: 2 });
  });

  it('group level: only the same group collides; stopped allocations free the node', () => {
    const web = mockTaskGroup({ name: 'web', constraints: [c('', 'distinct_hosts', 'true')] });
    const job = mockJob({ constraints: [], taskGroups: [web, mockTaskGroup({ name: 'db' })] });
    const onA = mockAlloc(job, { group: 'web', nodeId: 'a' });
    const dbOnB = mockAlloc(job, { group: 'db', nodeId: 'b' });
    const onC = mockAlloc(job, { group: 'web', nodeId: 'c' });
    const ctx = ctxFor(nodes, [onA, dbOnB, onC], job);
    expect(run(job, ctx)).toEqual(['b']);
    appendAlloc(ctx.plan.nodeUpdate, { ...onC, desiredStatus: 'stop' });
    expect(run(job, ctx)).toEqual(['b', 'c']);
  });

  it('other jobs and terminal allocations do not count', () => {
    const job = mockJob({ constraints: [c('', 'distinct_hosts', 'true')] });
    const other = mockJob({ id: 'other' });
    const ctx = ctxFor(nodes, [mockAlloc(other, { nodeId: 'a' }), mockAlloc(job, { nodeId: 'b', clientStatus: 'complete' })], job);
    expect(run(job, ctx)).toEqual(['a', 'b', 'c']);
  });
});

describe('distinct_property', () => {
  const nodes = [
    mockNode({ id: 'a', meta: { rack: 'r1' } }),
    mockNode({ id: 'b', meta: { rack: 'r1' } }),
    mockNode({ id: 'c', meta: { rack: 'r2' } }),
    mockNode({ id: 'd', meta: {} }),
  ];

  function iter(job: Job, ctx: EvalContext, src: NodeSource): DistinctPropertyIterator {
    src.setNodes(nodes);
    const it = new DistinctPropertyIterator(ctx, src);
    it.setJob(job);
    it.setTaskGroup(job.taskGroups[0]!);
    it.reset();
    return it;
  }

  it('allows one allocation per value by default, counting existing and proposed allocations', () => {
    const job = mockJob({ constraints: [c('${meta.rack}', 'distinct_property', '')] });
    const ctx = ctxFor(nodes, [mockAlloc(job, { nodeId: 'a' })], job);
    const src = new NodeSource(ctx);
    const it = iter(job, ctx, src);
    expect(drain(it)).toEqual(['c']);
    expect(ctx.metrics.constraintFiltered).toEqual({
      'distinct_property: ${meta.rack}=r1 used by 1 allocs': 2,
      'missing property "${meta.rack}"': 1,
    });
    appendAlloc(ctx.plan.nodeAllocation, mockAlloc(job, { nodeId: 'c', index: 1 }));
    it.reset();
    expect(drain(it)).toEqual([]);
  });

  it('rTarget raises the limit; a planned stop frees a slot', () => {
    const job = mockJob({ constraints: [c('${meta.rack}', 'distinct_property', '2')] });
    const a0 = mockAlloc(job, { nodeId: 'a' });
    const a1 = mockAlloc(job, { nodeId: 'b', index: 1 });
    const ctx = ctxFor(nodes, [a0, a1], job);
    const src = new NodeSource(ctx);
    const it = iter(job, ctx, src);
    expect(drain(it)).toEqual(['c']);
    appendAlloc(ctx.plan.nodeUpdate, { ...a1, desiredStatus: 'stop' });
    it.reset();
    expect(drain(it)).toEqual(['a', 'b', 'c']);
  });

  it('a malformed limit filters every node with a readable reason', () => {
    const job = mockJob({ constraints: [c('${meta.rack}', 'distinct_property', 'two')] });
    const ctx = ctxFor(nodes, [], job);
    const it = iter(job, ctx, new NodeSource(ctx));
    expect(drain(it)).toEqual([]);
    expect(Object.keys(ctx.metrics.constraintFiltered)[0]).toContain('is not a whole number');
  });

  it('group-level sets count only that group', () => {
    const tg = mockTaskGroup({ name: 'web', constraints: [c('${meta.rack}', 'distinct_property', '')] });
    const job = mockJob({ constraints: [], taskGroups: [tg, mockTaskGroup({ name: 'db' })] });
    const ctx = ctxFor(nodes, [mockAlloc(job, { group: 'db', nodeId: 'a' })], job);
    const it = iter(job, ctx, new NodeSource(ctx));
    expect(drain(it)).toEqual(['a', 'b', 'c']);
  });
});
