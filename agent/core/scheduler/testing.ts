/**
 * TEST FIXTURES for scheduler tests (not used by production code): canonical,
 * fully-defaulted Job / TaskGroup / Task / Node / Allocation / Deployment values,
 * in the spirit of nomad's `nomad/mock` package. Every builder takes a patch that
 * is shallow-merged over the defaults. IDs come from a per-prefix counter, so a
 * test file always produces the same IDs (no randomness, no clock).
 */
import type {
  Allocation,
  AllocClientStatus,
  AllocDesiredStatus,
  Deployment,
  DeploymentGroupState,
  Job,
  Node,
  ReschedulePolicy,
  RestartPolicy,
  Task,
  TaskGroup,
  TaskState,
  UpdateStrategy,
} from '../structs/index.js';
import type { Evaluation, PeriodicLaunch, SchedulerConfiguration, StateReader, TableName } from '../structs/index.js';
import { allocName, computeNodeClass, defaultSchedulerConfiguration, emptyAllocMetric } from '../structs/index.js';

const counters = new Map<string, number>();

/** A deterministic, readable id: `alloc-000001`, `node-000002`, ... */
export function mockId(prefix: string): string {
  const n = (counters.get(prefix) ?? 0) + 1;
  counters.set(prefix, n);
  return `${prefix}-${String(n).padStart(6, '0')}`;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export function mockRestartPolicy(patch: Partial<RestartPolicy> = {}): RestartPolicy {
  return { attempts: 2, interval: 30 * MINUTE, delay: 15 * SECOND, mode: 'fail', renderTemplates: false, ...patch };
}

/** Nomad's service default: unlimited, exponential from 30s, capped at 1h. */
export function mockServiceReschedulePolicy(patch: Partial<ReschedulePolicy> = {}): ReschedulePolicy {
  return { attempts: 0, interval: 0, delay: 30 * SECOND, delayFunction: 'exponential', maxDelay: HOUR, unlimited: true, ...patch };
}

/** Nomad's batch default: 1 attempt per 24h, constant 5s delay. */
export function mockBatchReschedulePolicy(patch: Partial<ReschedulePolicy> = {}): ReschedulePolicy {
  return { attempts: 1, interval: 24 * HOUR, delay: 5 * SECOND, delayFunction: 'constant', maxDelay: 0, unlimited: false, ...patch };
}

export function mockUpdateStrategy(patch: Partial<UpdateStrategy> = {}): UpdateStrategy {
  return {
    stagger: 30 * SECOND,
    maxParallel: 1,
    healthCheck: 'checks',
    minHealthyTime: 10 * SECOND,
    healthyDeadline: 5 * MINUTE,
    progressDeadline: 10 * MINUTE,
    autoRevert: false,
    autoPromote: false,
    canary: 0,
    ...patch,
  };
}

export function mockTask(patch: Partial<Task> = {}): Task {
  return {
    name: 'web',
    driver: 'exec',
    user: '',
    config: { command: '/bin/date', args: ['+%s'] },
    env: { FOO: 'bar' },
    meta: {},
    resources: { cpu: 500, memoryMB: 256, memoryMaxMB: 0, cores: 0 },
    constraints: [],
    affinities: [],
    services: [],
    templates: [],
    artifacts: [],
    lifecycle: null,
    leader: false,
    killTimeout: 5 * SECOND,
    killSignal: 'SIGINT',
    logs: { maxFiles: 10, maxFileSizeMB: 10, disabled: false },
    restart: mockRestartPolicy(),
    ...patch,
  };
}

export function mockTaskGroup(patch: Partial<TaskGroup> = {}): TaskGroup {
  return {
    name: 'web',
    count: 10,
    constraints: [],
    affinities: [],
    spreads: [],
    update: null,
    migrate: { maxParallel: 1, healthCheck: 'checks', minHealthyTime: 10 * SECOND, healthyDeadline: 5 * MINUTE },
    reschedule: mockServiceReschedulePolicy(),
    restart: mockRestartPolicy(),
    networks: [],
    services: [],
    ephemeralDisk: { sizeMB: 150, sticky: false, migrate: false },
    meta: {},
    tasks: [mockTask()],
    ...patch,
  };
}

/** A service job `my-job` (unless patched) with one group `web` of count 10, version 0. */
export function mockJob(patch: Partial<Job> = {}): Job {
  return {
    id: 'my-job',
    name: 'my-job',
    namespace: 'default',
    region: 'global',
    type: 'service',
    priority: 50,
    datacenters: ['dc1'],
    nodePool: 'default',
    allAtOnce: false,
    constraints: [{ lTarget: '${attr.kernel.name}', rTarget: 'linux', operand: '=' }],
    affinities: [],
    spreads: [],
    update: null,
    periodic: null,
    parameterized: null,
    parentId: '',
    meta: {},
    taskGroups: [mockTaskGroup()],
    stop: false,
    status: 'pending',
    version: 0,
    stable: false,
    createIndex: 10,
    modifyIndex: 10,
    jobModifyIndex: 10,
    submitTime: 0,
    ...patch,
  };
}

/** A batch job (group `worker`, count 10) with the batch reschedule default. */
export function mockBatchJob(patch: Partial<Job> = {}): Job {
  return mockJob({
    id: 'my-batch',
    name: 'my-batch',
    type: 'batch',
    taskGroups: [mockTaskGroup({ name: 'worker', reschedule: mockBatchReschedulePolicy(), tasks: [mockTask({ name: 'worker' })] })],
    ...patch,
  });
}

/** A new version of `job` with `change` applied to a copy of its group `group`. */
export function mockJobVersion(job: Job, change: (g: TaskGroup) => TaskGroup = (g) => g, group?: string): Job {
  return {
    ...job,
    version: job.version + 1,
    modifyIndex: job.modifyIndex + 1,
    jobModifyIndex: job.jobModifyIndex + 1,
    taskGroups: job.taskGroups.map((g) => (group === undefined || g.name === group ? change(g) : g)),
  };
}

export function mockNode(patch: Partial<Node> = {}): Node {
  const id = patch.id ?? mockId('node');
  return {
    id,
    name: `node-${id}`,
    datacenter: 'dc1',
    nodeClass: '',
    nodePool: 'default',
    computedClass: 'v1:0000000000000000',
    httpAddr: '127.0.0.1:4646',
    attributes: {
      'kernel.name': 'linux',
      'cpu.arch': 'amd64',
      'driver.exec': '1',
      'unique.hostname': `host-${id}`,
      'nomad.version': '1.9.0',
    },
    meta: {},
    resources: { cpu: 4000, cpuCores: 4, memoryMB: 8192, diskMB: 100 * 1024, mbits: 1000, minDynamicPort: 20000, maxDynamicPort: 32000 },
    reserved: { cpu: 100, memoryMB: 256, diskMB: 4 * 1024, reservedPorts: [22] },
    drivers: { exec: { detected: true, healthy: true, healthDescription: 'healthy', attributes: {} } },
    status: 'ready',
    statusDescription: '',
    statusUpdatedAt: 0,
    schedulingEligibility: 'eligible',
    drainStrategy: null,
    createIndex: 1,
    modifyIndex: 1,
    ...patch,
  };
}

export function mockTaskState(patch: Partial<TaskState> = {}): TaskState {
  return { state: 'running', failed: false, restarts: 0, lastRestart: 0, startedAt: 0, finishedAt: 0, events: [], ...patch };
}

export interface MockAllocOptions {
  group?: string;
  index?: number;
  nodeId?: string;
  clientStatus?: AllocClientStatus;
  desiredStatus?: AllocDesiredStatus;
  /** When the alloc's tasks finished (failed/complete allocs): drives reschedule timing. */
  finishedAt?: number;
}

/**
 * An allocation of `job` (its first group unless `group` is given), named
 * `<job>.<group>[index]`, running on `nodeId`. Fields can be overridden with `patch`.
 */
export function mockAlloc(job: Job, opts: MockAllocOptions = {}, patch: Partial<Allocation> = {}): Allocation {
  const group = opts.group ?? job.taskGroups[0]?.name ?? 'web';
  const tg = job.taskGroups.find((g) => g.name === group);
  const clientStatus = opts.clientStatus ?? 'running';
  // A lost alloc's client never reported its end: its tasks stay as last seen (running).
  const terminal = clientStatus === 'complete' || clientStatus === 'failed';
  const taskStates: Record<string, TaskState> = {};
  for (const t of tg?.tasks ?? []) {
    taskStates[t.name] = mockTaskState(
      terminal
        ? { state: 'dead', failed: clientStatus === 'failed', finishedAt: opts.finishedAt ?? 0 }
        : clientStatus === 'pending' ? { state: 'pending' } : {},
    );
  }
  const cpu = tg?.tasks.reduce((s, t) => s + t.resources.cpu, 0) ?? 0;
  const mem = tg?.tasks.reduce((s, t) => s + t.resources.memoryMB, 0) ?? 0;
  return {
    id: mockId('alloc'),
    namespace: job.namespace,
    evalId: 'eval-initial',
    name: allocName(job.id, group, opts.index ?? 0),
    nodeId: opts.nodeId ?? 'node-a',
    nodeName: opts.nodeId ?? 'node-a',
    jobId: job.id,
    job,
    taskGroup: group,
    resources: { cpu, memoryMB: mem, memoryMaxMB: mem, diskMB: tg?.ephemeralDisk.sizeMB ?? 0, ports: [] },
    taskResources: Object.fromEntries((tg?.tasks ?? []).map((t) => [t.name, { cpu: t.resources.cpu, memoryMB: t.resources.memoryMB, memoryMaxMB: t.resources.memoryMaxMB }])),
    metrics: emptyAllocMetric(),
    desiredStatus: opts.desiredStatus ?? 'run',
    desiredDescription: '',
    desiredTransition: { migrate: false, reschedule: false, forceReschedule: false },
    clientStatus,
    clientDescription: '',
    taskStates,
    deploymentId: '',
    deploymentStatus: null,
    previousAllocation: '',
    nextAllocation: '',
    rescheduleTracker: [],
    followupEvalId: '',
    createIndex: 20,
    modifyIndex: 20,
    allocModifyIndex: 20,
    createTime: 0,
    modifyTime: opts.finishedAt ?? 0,
    ...patch,
  };
}

/** `count` allocs of `job`'s group named [0..count), spread over `nodes` round-robin. */
export function mockAllocs(job: Job, count: number, opts: MockAllocOptions & { nodes?: string[] } = {}): Allocation[] {
  const nodes = opts.nodes ?? ['node-a'];
  const out: Allocation[] = [];
  for (let i = 0; i < count; i++) out.push(mockAlloc(job, { ...opts, index: i, nodeId: nodes[i % nodes.length]! }));
  return out;
}

export function mockDeploymentGroupState(patch: Partial<DeploymentGroupState> = {}): DeploymentGroupState {
  return {
    autoRevert: false,
    autoPromote: false,
    progressDeadline: 10 * MINUTE,
    promoted: false,
    placedCanaries: [],
    desiredCanaries: 0,
    desiredTotal: 10,
    placedAllocs: 0,
    healthyAllocs: 0,
    unhealthyAllocs: 0,
    requireProgressBy: 0,
    ...patch,
  };
}

/** A running deployment for `job`'s current version, one group state per task group. */
export function mockDeployment(job: Job, patch: Partial<Deployment> = {}): Deployment {
  const taskGroups: Record<string, DeploymentGroupState> = {};
  for (const g of job.taskGroups) taskGroups[g.name] = mockDeploymentGroupState({ desiredTotal: g.count });
  return {
    id: mockId('deployment'),
    namespace: job.namespace,
    jobId: job.id,
    jobVersion: job.version,
    jobModifyIndex: job.jobModifyIndex,
    jobCreateIndex: job.createIndex,
    taskGroups,
    status: 'running',
    statusDescription: 'Deployment is running',
    createIndex: 30,
    modifyIndex: 30,
    createTime: 0,
    modifyTime: 0,
    ...patch,
  };
}

// ---------------------------------------------------------------------------
// Placement-stack fixtures (added for context/feasible/rank/stack tests).

/** `node` with its real computed class (mockNode's default class is a placeholder shared by all nodes). */
export function withComputedClass(node: Node): Node {
  return { ...node, computedClass: computeNodeClass(node) };
}

/**
 * A read-only state snapshot over plain arrays, for stack tests. Lookups by
 * node/job are indexed; everything else is a scan (fine at test sizes).
 */
export class MockState implements StateReader {
  readonly index: number;
  private readonly nodeMap = new Map<string, Node>();
  private readonly byNode = new Map<string, Allocation[]>();
  private readonly byJob = new Map<string, Allocation[]>();
  private readonly allocList: Allocation[];
  private readonly jobList: Job[];
  private readonly evalList: Evaluation[];
  private readonly config: SchedulerConfiguration;

  constructor(opts: { nodes?: Node[]; allocs?: Allocation[]; jobs?: Job[]; evals?: Evaluation[]; config?: Partial<SchedulerConfiguration>; index?: number } = {}) {
    this.index = opts.index ?? 1000;
    for (const n of opts.nodes ?? []) this.nodeMap.set(n.id, n);
    this.allocList = opts.allocs ?? [];
    for (const a of this.allocList) {
      const bn = this.byNode.get(a.nodeId);
      if (bn === undefined) this.byNode.set(a.nodeId, [a]);
      else bn.push(a);
      const key = `${a.namespace}/${a.jobId}`;
      const bj = this.byJob.get(key);
      if (bj === undefined) this.byJob.set(key, [a]);
      else bj.push(a);
    }
    this.jobList = opts.jobs ?? [];
    this.evalList = opts.evals ?? [];
    this.config = { ...defaultSchedulerConfiguration(), ...opts.config };
  }

  tableIndex(_table: TableName): number {
    return this.index;
  }
  jobByID(namespace: string, id: string): Job | undefined {
    return this.jobList.find((j) => j.namespace === namespace && j.id === id);
  }
  jobVersion(namespace: string, id: string, version: number): Job | undefined {
    return this.jobList.find((j) => j.namespace === namespace && j.id === id && j.version === version);
  }
  jobVersions(namespace: string, id: string): Job[] {
    return this.jobList.filter((j) => j.namespace === namespace && j.id === id);
  }
  jobs(): Job[] {
    return [...this.jobList];
  }
  nodeByID(id: string): Node | undefined {
    return this.nodeMap.get(id);
  }
  nodes(): Node[] {
    return [...this.nodeMap.values()];
  }
  nodeCount(): number {
    return this.nodeMap.size;
  }
  allocByID(id: string): Allocation | undefined {
    return this.allocList.find((a) => a.id === id);
  }
  allocsByJob(namespace: string, jobId: string): Allocation[] {
    return [...(this.byJob.get(`${namespace}/${jobId}`) ?? [])];
  }
  allocsByNode(nodeId: string): Allocation[] {
    return [...(this.byNode.get(nodeId) ?? [])];
  }
  allocsByEval(evalId: string): Allocation[] {
    return this.allocList.filter((a) => a.evalId === evalId);
  }
  allocCount(): number {
    return this.allocList.length;
  }
  evalByID(id: string): Evaluation | undefined {
    return this.evalList.find((e) => e.id === id);
  }
  evalsByJob(namespace: string, jobId: string): Evaluation[] {
    return this.evalList.filter((e) => e.namespace === namespace && e.jobId === jobId);
  }
  evals(): Evaluation[] {
    return [...this.evalList];
  }
  deploymentByID(_id: string): Deployment | undefined {
    return undefined;
  }
  deploymentsByJob(_namespace: string, _jobId: string): Deployment[] {
    return [];
  }
  latestDeploymentByJob(_namespace: string, _jobId: string): Deployment | undefined {
    return undefined;
  }
  periodicLaunch(_namespace: string, _jobId: string): PeriodicLaunch | undefined {
    return undefined;
  }
  schedulerConfig(): SchedulerConfiguration {
    return this.config;
  }
}
