/** Small, fully-typed objects for this module's tests. */
import { DefaultNamespace, emptyAllocMetric, TableNames } from '../structs/index.js';
import type { Allocation, Deployment, Evaluation, Job, Node, TaskGroup } from '../structs/index.js';
import type { StateSnapshot } from './store.js';

export function mockNode(id: string, over: Partial<Node> = {}): Node {
  return {
    id,
    name: `node-${id}`,
    datacenter: 'dc1',
    nodeClass: '',
    nodePool: 'default',
    computedClass: '',
    httpAddr: '127.0.0.1:4646',
    attributes: { 'kernel.name': 'linux', 'unique.hostname': `host-${id}` },
    meta: {},
    resources: { cpu: 4000, cpuCores: 4, memoryMB: 8192, diskMB: 100_000, mbits: 1000, minDynamicPort: 20000, maxDynamicPort: 32000 },
    reserved: { cpu: 0, memoryMB: 0, diskMB: 0, reservedPorts: [] },
    drivers: { mock: { detected: true, healthy: true, healthDescription: '', attributes: {} } },
    status: 'ready',
    statusDescription: '',
    statusUpdatedAt: 0,
    schedulingEligibility: 'eligible',
    drainStrategy: null,
    createIndex: 0,
    modifyIndex: 0,
    ...over,
  };
}

function group(name: string, count: number): TaskGroup {
  return {
    name,
    count,
    constraints: [],
    affinities: [],
    spreads: [],
    update: null,
    migrate: null,
    reschedule: null,
    restart: { attempts: 2, interval: 1_800_000, delay: 15_000, mode: 'fail', renderTemplates: false },
    networks: [],
    services: [],
    ephemeralDisk: { sizeMB: 300, sticky: false, migrate: false },
    meta: {},
    tasks: [
      {
        name: 'main',
        driver: 'mock',
        user: '',
        config: { run_for: '10s' },
        env: {},
        meta: {},
        resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
        constraints: [],
        affinities: [],
        services: [],
        templates: [],
        artifacts: [],
        lifecycle: null,
        leader: false,
        killTimeout: 5000,
        killSignal: 'SIGINT',
        logs: { maxFiles: 10, maxFileSizeMB: 10, disabled: false },
        restart: { attempts: 2, interval: 1_800_000, delay: 15_000, mode: 'fail', renderTemplates: false },
      },
    ],
  };
}

export function mockJob(id: string, over: Partial<Job> = {}): Job {
  return {
    id,
    name: id,
    namespace: DefaultNamespace,
    region: 'global',
    type: 'service',
    priority: 50,
    datacenters: ['dc1'],
    nodePool: 'default',
    allAtOnce: false,
    constraints: [],
    affinities: [],
    spreads: [],
    update: null,
    periodic: null,
    parameterized: null,
    parentId: '',
    meta: {},
    taskGroups: [group('web', 3)],
    stop: false,
    status: 'pending',
    version: 0,
    stable: false,
    createIndex: 0,
    modifyIndex: 0,
    jobModifyIndex: 0,
    submitTime: 0,
    ...over,
  };
}

export function mockEval(id: string, jobId: string, over: Partial<Evaluation> = {}): Evaluation {
  return {
    id,
    namespace: DefaultNamespace,
    priority: 50,
    type: 'service',
    triggeredBy: 'job-register',
    jobId,
    jobModifyIndex: 0,
    nodeId: '',
    nodeModifyIndex: 0,
    deploymentId: '',
    status: 'pending',
    statusDescription: '',
    waitUntil: 0,
    nextEval: '',
    previousEval: '',
    blockedEval: '',
    failedTgAllocs: {},
    classEligibility: {},
    escapedComputedClass: false,
    quotaLimitReached: '',
    annotatePlan: false,
    queuedAllocations: {},
    snapshotIndex: 0,
    createIndex: 0,
    modifyIndex: 0,
    createTime: 0,
    modifyTime: 0,
    ...over,
  };
}

export function mockAlloc(id: string, job: Job, nodeId: string, evalId: string, over: Partial<Allocation> = {}): Allocation {
  return {
    id,
    namespace: job.namespace,
    evalId,
    name: `${job.id}.web[0]`,
    nodeId,
    nodeName: `node-${nodeId}`,
    jobId: job.id,
    job,
    taskGroup: 'web',
    resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 64, diskMB: 300, ports: [] },
    taskResources: { main: { cpu: 100, memoryMB: 64, memoryMaxMB: 64 } },
    metrics: emptyAllocMetric(),
    desiredStatus: 'run',
    desiredDescription: '',
    desiredTransition: { migrate: false, reschedule: false, forceReschedule: false },
    clientStatus: 'pending',
    clientDescription: '',
    taskStates: {},
    deploymentId: '',
    deploymentStatus: null,
    previousAllocation: '',
    nextAllocation: '',
    rescheduleTracker: [],
    followupEvalId: '',
    createIndex: 0,
    modifyIndex: 0,
    allocModifyIndex: 0,
    createTime: 0,
    modifyTime: 0,
    ...over,
  };
}

export function mockDeployment(id: string, job: Job, over: Partial<Deployment> = {}): Deployment {
  return {
    id,
    namespace: job.namespace,
    jobId: job.id,
    jobVersion: job.version,
    jobModifyIndex: job.jobModifyIndex,
    jobCreateIndex: job.createIndex,
    taskGroups: {
      web: {
        autoRevert: false,
        autoPromote: false,
        progressDeadline: 600_000,
        promoted: false,
        placedCanaries: [],
        desiredCanaries: 0,
        desiredTotal: 3,
        placedAllocs: 0,
        healthyAllocs: 0,
        unhealthyAllocs: 0,
        requireProgressBy: 0,
      },
    },
    status: 'running',
    statusDescription: 'Deployment is running',
    createIndex: 0,
    modifyIndex: 0,
    createTime: 0,
    modifyTime: 0,
    ...over,
  };
}

/** Every row of every table through the read API, sorted, for comparisons. */
export function dumpState(s: StateSnapshot): unknown {
  const byId = <T extends { id: string }>(xs: T[]): T[] => xs.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const jobs = byId(s.jobs());
  const allocs = byId(s.allocs());
  const evals = byId(s.evals());
  const jobKeys = new Map<string, { namespace: string; id: string }>();
  for (const x of [...jobs.map((j) => ({ namespace: j.namespace, id: j.id })), ...allocs.map((a) => ({ namespace: a.namespace, id: a.jobId })), ...evals.map((e) => ({ namespace: e.namespace, id: e.jobId }))]) {
    jobKeys.set(`${x.namespace}/${x.id}`, x);
  }
  const keys = [...jobKeys.keys()].sort().map((k) => jobKeys.get(k)!);
  const nodeIds = [...new Set([...s.nodes().map((n) => n.id), ...allocs.map((a) => a.nodeId)])].sort();
  return {
    index: s.index,
    tableIndex: TableNames.map((t) => s.tableIndex(t)),
    jobs,
    versions: keys.map((k) => s.jobVersions(k.namespace, k.id)),
    nodes: byId(s.nodes()),
    nodeCount: s.nodeCount(),
    allocs,
    allocCount: s.allocCount(),
    allocsByNode: nodeIds.map((id) => byId(s.allocsByNode(id))),
    allocsByJob: keys.map((k) => byId(s.allocsByJob(k.namespace, k.id))),
    allocsByEval: evals.map((e) => byId(s.allocsByEval(e.id))),
    evals,
    evalsByJob: keys.map((k) => byId(s.evalsByJob(k.namespace, k.id))),
    deployments: byId(s.deployments()),
    deploymentsByJob: keys.map((k) => byId(s.deploymentsByJob(k.namespace, k.id))),
    latestDeployment: keys.map((k) => s.latestDeploymentByJob(k.namespace, k.id)?.id),
    periodic: keys.map((k) => s.periodicLaunch(k.namespace, k.id)),
    schedulerConfig: s.schedulerConfig(),
  };
}
