import type { AllocClientStatus, AllocDesiredStatus, Allocation, Job, TaskState } from '../structs/index.js';
import { allocName, newAllocation } from '../structs/index.js';
import { mockId } from './ids.js';

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
 * `<job>.<group>[index]`, running on `nodeId` (default `node-a`), with task states
 * and resources that match its group. Fields can be overridden with `patch`.
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
  return newAllocation({
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
    desiredStatus: opts.desiredStatus ?? 'run',
    clientStatus,
    taskStates,
    createIndex: 20,
    modifyIndex: 20,
    allocModifyIndex: 20,
    modifyTime: opts.finishedAt ?? 0,
    ...patch,
  });
}

/** `count` allocs of `job`'s group named [0..count), spread over `nodes` round-robin. */
export function mockAllocs(job: Job, count: number, opts: MockAllocOptions & { nodes?: string[] } = {}): Allocation[] {
  const nodes = opts.nodes ?? ['node-a'];
  const out: Allocation[] = [];
  for (let i = 0; i < count; i++) out.push(mockAlloc(job, { ...opts, index: i, nodeId: nodes[i % nodes.length]! }));
  return out;
}
