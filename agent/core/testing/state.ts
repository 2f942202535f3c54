import type { Allocation, Deployment, Evaluation, Job, Node, NodeUsage, PeriodicLaunch, SchedulerConfiguration, StateReader, TableName } from '../structs/index.js';
import { computeNodeUsage, defaultSchedulerConfiguration } from '../structs/index.js';

const NoAllocs: readonly Allocation[] = Object.freeze([]);

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
  private readonly nodeList: readonly Node[];
  private readonly usage = new Map<string, NodeUsage>();

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
    this.nodeList = [...this.nodeMap.values()];
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
  nodesView(): readonly Node[] {
    return this.nodeList;
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
  allocsByNodeView(nodeId: string): readonly Allocation[] {
    return this.byNode.get(nodeId) ?? NoAllocs;
  }
  nodeUsage(nodeId: string): NodeUsage {
    let u = this.usage.get(nodeId);
    if (u === undefined) {
      u = computeNodeUsage(this.allocsByNodeView(nodeId));
      this.usage.set(nodeId, u);
    }
    return u;
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
