import type { Job, ReschedulePolicy, RestartPolicy, Task, TaskGroup, UpdateStrategy } from '../structs/index.js';
import { HOUR, MINUTE, SECOND } from './ids.js';

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

/** A task `web` on the `exec` driver asking for 500 MHz and 256 MB. */
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

/** A group `web` of count 10 with one `mockTask()`, Nomad's service reschedule and migrate defaults. */
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
