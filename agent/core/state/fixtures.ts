/**
 * Id-first builders for the state module's tests, thin wrappers over the core's
 * shared fixtures (agent/core/testing). Objects come unstamped (indexes 0), as a
 * caller hands them to the FSM, which stamps them. Not exported from index.ts;
 * excluded from the build.
 */
import { TableNames } from '../structs/index.js';
import type { Allocation, Deployment, Evaluation, Job, Node } from '../structs/index.js';
import * as base from '../testing/index.js';
import type { StateSnapshot } from './store.js';

export function mockNode(id: string, over: Partial<Node> = {}): Node {
  return base.mockNode({ id, createIndex: 0, modifyIndex: 0, ...over });
}

export function mockJob(id: string, over: Partial<Job> = {}): Job {
  return base.mockJob({ id, name: id, createIndex: 0, modifyIndex: 0, jobModifyIndex: 0, ...over });
}

export function mockEval(id: string, jobId: string, over: Partial<Evaluation> = {}): Evaluation {
  return base.mockEval({ id, jobId, ...over });
}

export function mockAlloc(id: string, job: Job, nodeId: string, evalId: string, over: Partial<Allocation> = {}): Allocation {
  return base.mockAlloc(job, { nodeId }, { id, evalId, createIndex: 0, modifyIndex: 0, allocModifyIndex: 0, ...over });
}

export function mockDeployment(id: string, job: Job, over: Partial<Deployment> = {}): Deployment {
  return base.mockDeployment(job, { id, createIndex: 0, modifyIndex: 0, ...over });
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
