import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NomadError } from '../core/lib/index.js';
import type { AllocMetric, Allocation, Constraint, Deployment, Evaluation, Job, Node, PlanResult } from '../core/structs/index.js';
import { ConstraintOperators, defaultSchedulerConfiguration, JobTypes } from '../core/structs/index.js';
import type { ClientAllocUpdate, StateEvent } from '../core/state/index.js';
import {
  HOUR,
  MINUTE,
  mockAlloc,
  mockDeployment,
  mockDeploymentGroupState,
  mockEval,
  mockJob,
  mockNode,
  mockTask,
  mockTaskGroup,
  mockTaskState,
  mockUpdateStrategy,
  SECOND,
} from '../core/testing/index.js';
import { parseJobFile } from '../jobspec/index.js';
import * as pb from '../../proto/index.js';
import {
  allocClientUpdateFromProto,
  allocClientUpdateToProto,
  allocMetricFromProto,
  allocMetricToProto,
  allocToProto,
  decodeAlloc,
  decodeDeployment,
  decodeEval,
  decodeEvent,
  decodeJob,
  decodeNode,
  decodeWire,
  deploymentToProto,
  encodeAlloc,
  encodeDeployment,
  encodeEval,
  encodeEvent,
  encodeJob,
  encodeNode,
  encodeWire,
  evalToProto,
  jobFromProto,
  jobToProto,
  nodeToProto,
  planAnnotationsFromProto,
  planAnnotationsToProto,
  planResultSummaryFromProto,
  planResultSummaryToProto,
  schedulerConfigFromProto,
  schedulerConfigToProto,
  summarizePlanResult,
  topicFilterFromProto,
  topicFilterToProto,
  opsEventToProto,
  opsEventFromProto,
  opsFilterToProto,
  opsFilterFromProto,
} from './index.js';

const JOBS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'jobs');

/** A job that uses every block, with distinct values so a swapped field shows. */
function richJob(): Job {
  const constraints: Constraint[] = ConstraintOperators.map((op, i) => ({ lTarget: `\${meta.k${i}}`, rTarget: `v${i}`, operand: op }));
  return mockJob({
    id: 'rich',
    name: 'rich-name',
    namespace: 'prod',
    region: 'eu',
    priority: 73,
    datacenters: ['dc1', 'dc2'],
    nodePool: 'gpu',
    allAtOnce: true,
    constraints,
    affinities: [{ lTarget: '${node.class}', rTarget: 'big', operand: '=', weight: -35 }],
    spreads: [{ attribute: '${node.datacenter}', weight: 40, targets: [{ value: 'dc1', percent: 70 }, { value: 'dc2', percent: 30 }] }],
    update: mockUpdateStrategy({ stagger: 11 * SECOND, maxParallel: 3, healthCheck: 'task_states', canary: 2, autoRevert: true, autoPromote: true }),
    periodic: { enabled: true, crons: ['*/5 * * * *', '0 1 * * *'], prohibitOverlap: true, timeZone: 'Europe/Paris' },
    parameterized: { payload: 'required', metaRequired: ['a'], metaOptional: ['b', 'c'] },
    parentId: 'parent',
    meta: { owner: 'ops', 'with space': 'x=y', unicode: 'ü→✓' },
    stop: true,
    status: 'running',
    version: 7,
    stable: true,
    createIndex: 101,
    modifyIndex: 205,
    jobModifyIndex: 199,
    submitTime: 1_700_000_000_123,
    taskGroups: [
      mockTaskGroup({
        name: 'api',
        count: 4,
        constraints: [{ lTarget: '', rTarget: '', operand: 'distinct_hosts' }],
        affinities: [{ lTarget: '${meta.rack}', rTarget: 'r1', operand: 'set_contains_any', weight: 50 }],
        spreads: [{ attribute: '${meta.rack}', weight: 100, targets: [] }],
        update: mockUpdateStrategy({ healthCheck: 'manual', progressDeadline: 0 }),
        migrate: { maxParallel: 2, healthCheck: 'task_states', minHealthyTime: 3 * SECOND, healthyDeadline: 4 * MINUTE },
        reschedule: { attempts: 3, interval: HOUR, delay: 9 * SECOND, delayFunction: 'fibonacci', maxDelay: 2 * HOUR, unlimited: false },
        restart: { attempts: 5, interval: 6 * MINUTE, delay: 7 * SECOND, mode: 'delay', renderTemplates: true },
        networks: [
          { mode: 'bridge', mbits: 10, reservedPorts: [{ label: 'http', value: 8080, to: 80, hostNetwork: 'public' }], dynamicPorts: [{ label: 'metrics', value: 0, to: 0, hostNetwork: '' }] },
          { mode: 'none', mbits: 0, reservedPorts: [], dynamicPorts: [] },
        ],
        services: [
          {
            name: 'api',
            portLabel: 'http',
            tags: ['a', 'b'],
            provider: 'consul',
            checks: [
              { name: 'alive', type: 'http', path: '/health', portLabel: 'http', interval: 10 * SECOND, timeout: 2 * SECOND, command: '', args: [] },
              { name: 'script', type: 'script', path: '', portLabel: '', interval: 30 * SECOND, timeout: 5 * SECOND, command: '/bin/check', args: ['-v', '--x'] },
            ],
          },
        ],
        ephemeralDisk: { sizeMB: 300, sticky: true, migrate: true },
        meta: { tier: 'front' },
        tasks: [
          mockTask({
            name: 'server',
            driver: 'docker',
            user: 'nobody',
            config: { image: 'nginx:1.25', ports: ['http'], nested: { list: [1, 2.5, 'x', null, true], deep: { k: 'v' } }, args: ['${NOMAD_PORT_http}'] },
            env: { A: '1', B: '' },
            meta: { role: 'leader' },
            resources: { cpu: 1234, memoryMB: 567, memoryMaxMB: 890, cores: 2 },
            constraints: [{ lTarget: '${attr.cpu.arch}', rTarget: 'amd64', operand: '==' }],
            affinities: [{ lTarget: '${attr.unique.hostname}', rTarget: 'h1', operand: 'regexp', weight: 1 }],
            services: [{ name: 'task-svc', portLabel: 'metrics', tags: [], provider: 'nomad', checks: [{ name: 'g', type: 'grpc', path: '', portLabel: 'metrics', interval: 1, timeout: 2, command: '', args: [] }] }],
            templates: [
              { data: 'key={{ key "x" }}', sourcePath: '', destPath: 'local/x.env', changeMode: 'signal', changeSignal: 'SIGHUP', envvars: true, perms: '0640', leftDelim: '[[', rightDelim: ']]', splay: 5 * SECOND },
            ],
            artifacts: [{ source: 'https://example.com/a.tgz', destination: 'local/', mode: 'dir', options: { checksum: 'sha256:abc' } }],
            lifecycle: { hook: 'poststop', sidecar: true },
            leader: true,
            killTimeout: 12 * SECOND,
            killSignal: 'SIGTERM',
            logs: { maxFiles: 3, maxFileSizeMB: 15, disabled: true },
            restart: { attempts: 1, interval: 2 * MINUTE, delay: 3 * SECOND, mode: 'fail', renderTemplates: false },
          }),
          mockTask({ name: 'sidecar', lifecycle: { hook: 'prestart', sidecar: false }, config: {} }),
        ],
      }),
      mockTaskGroup({ name: 'batchy', update: null, migrate: null, reschedule: null }),
    ],
  });
}

function richMetric(): AllocMetric {
  return {
    nodesEvaluated: 50,
    nodesFiltered: 12,
    nodesInPool: 60,
    nodesAvailable: { dc1: 30, dc2: 20 },
    classFiltered: { 'v1:abc': 4 },
    constraintFiltered: { '${attr.kernel.name} = linux': 8 },
    nodesExhausted: 9,
    classExhausted: { 'v1:def': 2 },
    dimensionExhausted: { cpu: 3, memory: 5, 'network: reserved port collision 8080': 1 },
    quotaExhausted: ['q1'],
    scoreMetaData: [{ nodeId: 'n1', scores: { binpack: 0.8125, 'job-anti-affinity': -0.5 }, normScore: 0.15625 }],
    allocationTime: 1.75,
    coalescedFailures: 6,
  };
}

function richAlloc(): Allocation {
  const job = richJob();
  return mockAlloc(job, { group: 'api', index: 3, nodeId: 'node-x' }, {
    evalId: 'eval-9',
    resources: { cpu: 1500, memoryMB: 700, memoryMaxMB: 900, diskMB: 300, ports: [{ label: 'http', value: 8080, to: 80, hostIp: '10.0.0.5' }, { label: 'metrics', value: 23456, to: 0, hostIp: '10.0.0.5' }] },
    metrics: richMetric(),
    desiredStatus: 'evict',
    desiredDescription: 'preempted',
    desiredTransition: { migrate: true, reschedule: false, forceReschedule: true },
    clientStatus: 'failed',
    clientDescription: 'task failed',
    taskStates: {
      server: mockTaskState({ state: 'dead', failed: true, restarts: 2, lastRestart: 11, startedAt: 12, finishedAt: 13, events: [{ type: 'Started', time: 12, message: '' }, { type: 'Terminated', time: 13, message: 'exit 1' }] }),
      sidecar: mockTaskState({ state: 'pending' }),
    },
    deploymentId: 'dep-1',
    deploymentStatus: { healthy: false, canary: true, timestamp: 1_700_000_000_999, modifyIndex: 77 },
    previousAllocation: 'alloc-prev',
    nextAllocation: 'alloc-next',
    rescheduleTracker: [{ rescheduleTime: 1000, prevAllocId: 'p1', prevNodeId: 'n1', delay: 30 * SECOND }],
    followupEvalId: 'eval-follow',
    createIndex: 21,
    modifyIndex: 22,
    allocModifyIndex: 23,
    createTime: 1_700_000_000_001,
    modifyTime: 1_700_000_000_002,
  });
}

function richNode(): Node {
  return mockNode({
    id: 'node-rich',
    nodeClass: 'big',
    computedClass: 'v1:0123456789abcdef',
    meta: { rack: 'r1' },
    drivers: {
      exec: { detected: true, healthy: true, healthDescription: 'healthy', attributes: { 'driver.exec.version': '1' } },
      docker: { detected: true, healthy: false, healthDescription: 'daemon down', attributes: {} },
    },
    reserved: { cpu: 100, memoryMB: 256, diskMB: 4096, reservedPorts: [22, 8500, 8501] },
    status: 'disconnected',
    statusDescription: 'missed heartbeats',
    statusUpdatedAt: 1_700_000_000_500,
    schedulingEligibility: 'ineligible',
    drainStrategy: { deadline: -1, ignoreSystemJobs: true, forceDeadline: 1_700_000_100_000, startedAt: 1_700_000_000_000 },
    createIndex: 3,
    modifyIndex: 4,
  });
}

function richEval(): Evaluation {
  return mockEval({
    id: 'eval-rich',
    type: 'sysbatch',
    triggeredBy: 'max-disconnect-timeout',
    jobModifyIndex: 8,
    nodeId: 'n1',
    nodeModifyIndex: 9,
    deploymentId: 'dep',
    status: 'blocked',
    statusDescription: 'blocked on resources',
    waitUntil: 1_700_000_000_777,
    nextEval: 'e-next',
    previousEval: 'e-prev',
    blockedEval: 'e-blocked',
    failedTgAllocs: { api: richMetric() },
    classEligibility: { 'v1:a': true, 'v1:b': false },
    escapedComputedClass: true,
    quotaLimitReached: 'quota',
    annotatePlan: true,
    queuedAllocations: { api: 3, web: 0 },
    snapshotIndex: 41,
    createIndex: 42,
    modifyIndex: 43,
    createTime: 44,
    modifyTime: 45,
  });
}

function richDeployment(): Deployment {
  return mockDeployment(richJob(), {
    status: 'unblocking',
    statusDescription: 'waiting',
    jobVersion: 7,
    taskGroups: {
      api: mockDeploymentGroupState({ autoRevert: true, autoPromote: true, promoted: true, placedCanaries: ['c1', 'c2'], desiredCanaries: 2, desiredTotal: 4, placedAllocs: 3, healthyAllocs: 2, unhealthyAllocs: 1, requireProgressBy: 99 }),
    },
    createTime: 5,
    modifyTime: 6,
  });
}

function expectNomadError(fn: () => unknown, field: string): NomadError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NomadError);
  const err = caught as NomadError;
  expect(err.code).toBe('invalid_argument');
  expect(err.field).toBe(field);
  expect(err.message).toContain(field);
  return err;
}

describe('round trip: domain → proto → bytes → proto → domain', () => {
  it('keeps every field of a job that uses every block', () => {
    const job = richJob();
    expect(decodeJob(encodeJob(job))).toEqual(job);
  });

  it('keeps the mock builders’ defaults (nulls, empty maps, zero values)', () => {
    const job = mockJob();
    expect(decodeJob(encodeJob(job))).toEqual(job);
    const node = mockNode();
    expect(decodeNode(encodeNode(node))).toEqual(node);
    const alloc = mockAlloc(job);
    expect(decodeAlloc(encodeAlloc(alloc))).toEqual(alloc);
    const ev = mockEval();
    expect(decodeEval(encodeEval(ev))).toEqual(ev);
    const dep = mockDeployment(job);
    expect(decodeDeployment(encodeDeployment(dep))).toEqual(dep);
  });

  it('keeps every constraint operator and every job type distinct', () => {
    for (const type of JobTypes) {
      const job = mockJob({ type, constraints: ConstraintOperators.map((operand) => ({ lTarget: 'l', rTarget: 'r', operand })) });
      const back = decodeJob(encodeJob(job));
      expect(back.type).toBe(type);
      expect(back.constraints.map((c) => c.operand)).toEqual([...ConstraintOperators]);
    }
  });

  it('keeps a rich node, allocation, evaluation and deployment', () => {
    const node = richNode();
    expect(decodeNode(encodeNode(node))).toEqual(node);
    const alloc = richAlloc();
    expect(decodeAlloc(encodeAlloc(alloc))).toEqual(alloc);
    const ev = richEval();
    expect(decodeEval(encodeEval(ev))).toEqual(ev);
    const dep = richDeployment();
    expect(decodeDeployment(encodeDeployment(dep))).toEqual(dep);
  });

  it('keeps an allocation’s unknown health (null) apart from true and false', () => {
    for (const healthy of [null, true, false]) {
      const alloc = { ...richAlloc(), deploymentStatus: { healthy, canary: false, timestamp: 1, modifyIndex: 2 } };
      expect(decodeAlloc(encodeAlloc(alloc)).deploymentStatus?.healthy).toBe(healthy);
    }
  });

  it('does not share objects between the domain value and the wire message', () => {
    const job = richJob();
    const p = jobToProto(job);
    p.meta['owner'] = 'changed';
    p.taskGroups[0]!.tasks[0]!.env['A'] = 'changed';
    expect(job.meta['owner']).toBe('ops');
    expect(job.taskGroups[0]!.tasks[0]!.env['A']).toBe('1');
  });

  const jobFiles = readdirSync(JOBS).filter((f) => f.endsWith('.nomad.hcl')).sort();
  it('has example jobs to read', () => {
    expect(jobFiles.length).toBeGreaterThanOrEqual(9);
  });
  for (const f of jobFiles) {
    it(`keeps jobs/${f} as parsed`, async () => {
      const varFiles = f === 'variables.nomad.hcl' ? [join(JOBS, 'variables.vars')] : [];
      const job = await parseJobFile(join(JOBS, f), { varFiles });
      const back = decodeJob(encodeJob(job));
      expect(back).toEqual(job);
      // And the copy inside an allocation.
      const alloc = mockAlloc(job);
      expect(decodeAlloc(encodeAlloc(alloc)).job).toEqual(job);
    });
  }
});

describe('the other wire messages', () => {
  it('round-trips scheduler configuration', () => {
    const cfg = { ...defaultSchedulerConfiguration(), schedulerAlgorithm: 'spread' as const, pauseEvalBroker: true, createIndex: 3, modifyIndex: 4 };
    const bytes = encodeWire(pb.SchedulerConfiguration, schedulerConfigToProto(cfg));
    expect(schedulerConfigFromProto(decodeWire(pb.SchedulerConfiguration, bytes, 'config'))).toEqual(cfg);
  });

  it('round-trips events of every payload kind', () => {
    const job = richJob();
    const events: StateEvent[] = [
      { topic: 'Job', type: 'JobRegistered', key: job.id, filterKeys: [], namespace: 'prod', index: 1, payload: job },
      { topic: 'Job', type: 'JobPeriodicLaunch', key: job.id, filterKeys: [], namespace: 'prod', index: 2, payload: { namespace: 'prod', jobId: job.id, launch: 123, createIndex: 2, modifyIndex: 2 } },
      { topic: 'Node', type: 'NodeDrain', key: 'node-rich', filterKeys: [], namespace: '', index: 3, payload: richNode() },
      { topic: 'Allocation', type: 'PlanResult', key: 'a', filterKeys: ['rich', 'eval-9', 'dep-1', 'node-x'], namespace: 'prod', index: 4, payload: richAlloc() },
      { topic: 'Evaluation', type: 'EvaluationUpdated', key: 'eval-rich', filterKeys: ['my-job'], namespace: 'default', index: 5, payload: richEval() },
      { topic: 'Deployment', type: 'DeploymentStatusUpdate', key: 'd', filterKeys: ['rich'], namespace: 'prod', index: 6, payload: richDeployment() },
      { topic: 'SchedulerConfig', type: 'SchedulerConfigUpdated', key: 'config', filterKeys: [], namespace: '', index: 7, payload: defaultSchedulerConfiguration() },
    ];
    for (const e of events) expect(decodeEvent(encodeEvent(e))).toEqual(e);
  });

  it('round-trips topic filters, with "*" for every key', () => {
    const filter = { Job: ['web', 'api'], Allocation: '*' as const, Node: [] };
    const ops = { Raft: '*' as const, Plan: ['e1'] };
    const bytes = encodeWire(pb.SubscribeRequest, { topics: topicFilterToProto(filter), index: 5, namespace: '*', opsTopics: opsFilterToProto(ops), opsFromSeq: 3, heartbeatMs: 0 });
    const back = decodeWire(pb.SubscribeRequest, bytes, 'subscribe');
    expect(topicFilterFromProto(back.topics)).toEqual(filter);
    expect(opsFilterFromProto(back.opsTopics)).toEqual(ops);
    expect(topicFilterFromProto(topicFilterToProto(undefined))).toBeUndefined();
    expect(opsFilterFromProto(opsFilterToProto(undefined))).toBeUndefined();
  });

  it('round-trips an operational event, and refuses an unknown topic or a payload that is not a JSON object', () => {
    const e = { topic: 'Plan' as const, type: 'PlanPartlyRejected', key: 'e1', seq: 9, time: 1_700_000_000_000, payload: { placed: 2, rejected: [{ nodeId: 'n1', reason: 'cpu' }] } };
    expect(opsEventFromProto(decodeWire(pb.OpsEvent, encodeWire(pb.OpsEvent, opsEventToProto(e)), 'ops'))).toEqual(e);
    expect(() => opsEventFromProto({ ...opsEventToProto(e), topic: 'Gossip' })).toThrow(/ops.topic: unknown operational topic "Gossip"/);
    expect(() => opsEventFromProto({ ...opsEventToProto(e), payloadJson: '[1]' })).toThrow(/ops.payload_json: must be a JSON object/);
    expect(() => opsEventFromProto({ ...opsEventToProto(e), payloadJson: '{' })).toThrow(/ops.payload_json: not JSON/);
    expect(() => opsFilterFromProto([{ topic: 'raft', keys: [] }])).toThrow(/ops_topics\[0\].topic/);
  });

  it('round-trips a client’s allocation update, with and without deployment health', () => {
    const withHealth: ClientAllocUpdate = { id: 'a1', clientStatus: 'running', clientDescription: 'ok', taskStates: { web: mockTaskState({ restarts: 4 }) }, deploymentStatus: { healthy: true, canary: false, timestamp: 5, modifyIndex: 0 }, modifyTime: 9 };
    const without: ClientAllocUpdate = { id: 'a2', clientStatus: 'complete', clientDescription: '', taskStates: {}, modifyTime: 10 };
    for (const u of [withHealth, without]) {
      const bytes = encodeWire(pb.UpdateAllocsRequest, { nodeId: 'n', updates: [allocClientUpdateToProto(u)] });
      const back = decodeWire(pb.UpdateAllocsRequest, bytes, 'updateAllocs');
      expect(allocClientUpdateFromProto(back.updates[0]!)).toEqual(u);
    }
  });

  it('round-trips plan annotations and summarises a plan result by allocation id', () => {
    const desired = { api: { ignore: 1, place: 2, migrate: 3, stop: 4, inPlaceUpdate: 5, destructiveUpdate: 6, canary: 7, preemptions: 8, rescheduleNow: 9, rescheduleLater: 10 } };
    expect(planAnnotationsFromProto(pb.PlanAnnotations.decode(pb.PlanAnnotations.encode(planAnnotationsToProto(desired)).finish()))).toEqual(desired);

    const a = richAlloc();
    const result: PlanResult = {
      nodeUpdate: { 'node-x': [a] },
      nodeAllocation: { 'node-y': [{ ...a, id: 'a2' }, { ...a, id: 'a3' }] },
      nodePreemptions: {},
      deployment: richDeployment(),
      deploymentUpdates: [{ deploymentId: 'd0', status: 'cancelled', statusDescription: 'newer version' }],
      rejectedNodes: ['node-z'],
      refreshIndex: 88,
      allocIndex: 0,
    };
    const summary = summarizePlanResult(result);
    expect(summary.nodeAllocation).toEqual({ 'node-y': ['a2', 'a3'] });
    expect(summary.deploymentId).toBe(result.deployment!.id);
    const bytes = encodeWire(pb.PlanResultSummary, planResultSummaryToProto(summary));
    expect(planResultSummaryFromProto(decodeWire(pb.PlanResultSummary, bytes, 'planResult'))).toEqual(summary);
  });
});

describe('property: allocation metrics survive the wire', () => {
  // Keys are any string except `__proto__` (a plain-object map cannot hold it as data).
  const key = fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__');
  const count = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const counts = fc.dictionary(key, count, { maxKeys: 6 });
  // Proto3 does not send a zero, so -0 comes back as 0; the domain never distinguishes them.
  const score = fc.double({ noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x));
  const metric: fc.Arbitrary<AllocMetric> = fc.record({
    nodesEvaluated: count,
    nodesFiltered: count,
    nodesInPool: count,
    nodesAvailable: counts,
    classFiltered: counts,
    constraintFiltered: counts,
    nodesExhausted: count,
    classExhausted: counts,
    dimensionExhausted: counts,
    quotaExhausted: fc.array(fc.string(), { maxLength: 3 }),
    scoreMetaData: fc.array(fc.record({ nodeId: fc.string(), scores: fc.dictionary(key, score, { maxKeys: 5 }), normScore: score }), { maxLength: 4 }),
    allocationTime: score,
    coalescedFailures: count,
  });

  it('AllocMetric → proto → bytes → AllocMetric is the identity', () => {
    fc.assert(
      fc.property(metric, (m) => {
        const bytes = encodeWire(pb.AllocMetric, allocMetricToProto(m));
        expect(allocMetricFromProto(decodeWire(pb.AllocMetric, bytes, 'metrics'))).toEqual(m);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('an evaluation’s failed-group metrics survive too', () => {
    fc.assert(
      fc.property(fc.dictionary(key, metric, { maxKeys: 3 }), (failedTgAllocs) => {
        const ev = mockEval({ id: 'e', failedTgAllocs });
        expect(decodeEval(encodeEval(ev))).toEqual(ev);
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe('bad input is a NomadError naming the field', () => {
  const reencode = <T>(codec: { encode(m: T): { finish(): Uint8Array } }, m: T): Uint8Array => codec.encode(m).finish();

  it('an unknown enum value', () => {
    const p = jobToProto(richJob());
    p.type = 99 as pb.JobType;
    const err = expectNomadError(() => decodeJob(reencode(pb.Job, p)), 'job.type');
    expect(err.message).toContain('99');
  });

  it('an unknown enum value deep inside a job', () => {
    const p = jobToProto(richJob());
    p.taskGroups[0]!.tasks[0]!.constraints[0]!.operand = 77 as pb.ConstraintOperator;
    expectNomadError(() => decodeJob(reencode(pb.Job, p)), 'job.taskGroups[0].tasks[0].constraints[0].operand');
  });

  it('an unknown enum value inside a map value of an allocation', () => {
    const p = allocToProto(richAlloc());
    p.taskStates['server']!.state = 12 as pb.TaskRunState;
    expectNomadError(() => decodeAlloc(reencode(pb.Allocation, p)), 'alloc.taskStates["server"].state');
  });

  it('a health check mode that migrate does not accept', () => {
    const p = jobToProto(richJob());
    p.taskGroups[0]!.migrate!.healthCheck = pb.HealthCheckMode.HEALTH_CHECK_MODE_MANUAL;
    expectNomadError(() => decodeJob(reencode(pb.Job, p)), 'job.taskGroups[0].migrate.healthCheck');
  });

  it('an enum left unset (UNSPECIFIED)', () => {
    const p = nodeToProto(richNode());
    p.status = pb.NodeStatus.NODE_STATUS_UNSPECIFIED;
    const err = expectNomadError(() => decodeNode(reencode(pb.Node, p)), 'node.status');
    expect(err.message).toContain('required field is missing');
  });

  it('a required message that is missing', () => {
    const p = jobToProto(richJob());
    delete p.taskGroups[1]!.tasks[0]!.resources;
    expectNomadError(() => decodeJob(reencode(pb.Job, p)), 'job.taskGroups[1].tasks[0].resources');

    const a = allocToProto(richAlloc());
    delete a.job;
    expectNomadError(() => decodeAlloc(reencode(pb.Allocation, a)), 'alloc.job');

    const e = evalToProto(richEval());
    e.id = '';
    expectNomadError(() => decodeEval(reencode(pb.Evaluation, e)), 'eval.id');

    const d = deploymentToProto(richDeployment());
    d.status = pb.DeploymentStatus.DEPLOYMENT_STATUS_UNSPECIFIED;
    expectNomadError(() => decodeDeployment(reencode(pb.Deployment, d)), 'deployment.status');
  });

  it('driver config that is not a JSON object', () => {
    for (const bad of ['{not json', '[1,2]', '"text"', 'null']) {
      const p = jobToProto(richJob());
      p.taskGroups[0]!.tasks[1]!.configJson = bad;
      expectNomadError(() => jobFromProto(pb.Job.decode(reencode(pb.Job, p))), 'job.taskGroups[0].tasks[1].config');
    }
  });

  it('truncated or garbage bytes', () => {
    const bytes = encodeJob(richJob());
    expectNomadError(() => decodeJob(bytes.subarray(0, bytes.length - 7)), 'job');
    expectNomadError(() => decodeJob(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'job');
  });

  it('an index beyond what a JavaScript number holds exactly', () => {
    // create_index = 23, varint of 2^60.
    const tail = [0xb8, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    const bytes = new Uint8Array([...encodeJob(mockJob()), ...tail]);
    const err = expectNomadError(() => decodeJob(bytes), 'job');
    expect(err.message).toMatch(/MAX_SAFE_INTEGER/);
  });

  it('a domain value outside its union on the way out', () => {
    const job = { ...richJob(), type: 'cron' } as unknown as Job;
    expectNomadError(() => jobToProto(job), 'job.type');
  });
});
