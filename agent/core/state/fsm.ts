/**
 * The FSM: the only writer of the state store. Raft hands it committed log entries
 * (`apply(index, command)`); each command becomes ONE atomic write stamped with that
 * index. A command is checked and applied on transient copies of the tables; only a
 * command that succeeds is swapped in, so a failure leaves nothing behind. After the
 * swap the changed objects are published to the event buffer.
 *
 * Deterministic: no clock, no randomness; times come inside the commands.
 */
import { NomadError } from '../lib/index.js';
import { computeNodeClass, jobKey, TableNames } from '../structs/index.js';
import type { Allocation, Deployment, DesiredTransition, Evaluation, Job, Node, TableName } from '../structs/index.js';
import type { AllocInput, DeploymentStatusUpdate, FsmCommand, FsmResult } from './commands.js';
import { FsmCommandTypes } from './commands.js';
import { jsonEqual } from './canonical.js';
import { EventBuffer } from './events.js';
import type { EventTopic, StateEvent, StateEventPayload, StateEventType } from './events.js';
import { deriveJobStatus } from './job-status.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { commitTables, StateStore } from './store.js';
import { JobTrackedVersions, WriteTxn } from './tables.js';
import type { Change } from './tables.js';
import {
  allocLooksValid,
  checkAlloc,
  checkDeployment,
  checkEval,
  checkJob,
  checkNode,
  checkSchedulerConfig,
  ClientStatuses,
  DeploymentStatuses,
  Eligibilities,
  invalid,
  NodeStatuses,
  optArray,
  reqArray,
  reqBool,
  reqId,
  reqNumber,
  reqObject,
  reqOneOf,
  reqString,
} from './validate.js';

/** Job fields the servers maintain: a change in only these is not a new version. */
const ServerJobFields: ReadonlySet<string> = new Set(['status', 'version', 'stable', 'createIndex', 'modifyIndex', 'jobModifyIndex', 'submitTime']);

export function jobSpecChanged(prev: Job, next: Job): boolean {
  return !jsonEqual(prev, next, ServerJobFields);
}

export interface FsmOptions {
  store?: StateStore;
  events?: EventBuffer;
  /**
   * Object.freeze stored rows (default true): a reader that mutates a shared object
   * throws instead of corrupting the state. Turning it off saves ~25% of apply time
   * on allocation-heavy writes (benchmarks); the rows must still be treated as frozen.
   */
  freezeObjects?: boolean;
}

/** Per-apply scratch: which jobs were (re)registered with a new spec. */
interface ApplyCtx {
  txn: WriteTxn;
  index: number;
  cmdField: string;
  newVersionJobs: Set<string>;
}

export class Fsm {
  readonly store: StateStore;
  readonly events: EventBuffer;
  private readonly freeze: boolean;

  constructor(opts: FsmOptions = {}) {
    this.store = opts.store ?? new StateStore();
    this.events = opts.events ?? new EventBuffer();
    this.freeze = opts.freezeObjects ?? true;
  }

  /** The index of the last command applied (or restored). */
  lastApplied(): number {
    return this.store.index;
  }

  /**
   * Apply one committed command at `index`. Throws a NomadError (and changes nothing,
   * lastApplied included) when the index does not increase or the command is invalid.
   */
  apply(index: number, cmd: FsmCommand): FsmResult {
    const last = this.store.index;
    if (!Number.isSafeInteger(index) || index <= last) {
      throw new NomadError('invalid_argument', `log index ${String(index)} must be an integer greater than the last applied index ${last}`, { field: 'index' });
    }
    const raw = reqObject(cmd, 'command');
    const type = reqOneOf(raw.type, FsmCommandTypes, 'command.type');
    const ctx: ApplyCtx = { txn: new WriteTxn(this.store.snapshot().tables, index, this.freeze), index, cmdField: type, newVersionJobs: new Set() };
    const applied = this.dispatch(ctx, cmd);
    this.settleJobStatuses(ctx);
    const tables = ctx.txn.commit();
    this.store[commitTables](tables);
    // Events are built only when a subscriber reads them (most writes have none).
    const changes: Change[] = [];
    for (const c of ctx.txn.changes) {
      if (TopicOf[c.table] === undefined) continue;
      if (c.value !== null) c.prev = null; // only a deletion's event needs the old row: do not keep it alive
      changes.push(c);
    }
    this.events.publishLazy(index, changes.length, () => toEvents(type, index, changes));
    return { index, applied };
  }

  /** The whole state as deterministic bytes (canonical JSON, format-versioned). */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.store.snapshot().tables);
  }

  /**
   * Replace the whole state with a snapshot. A corrupt or unknown snapshot is refused
   * with a NomadError and the current state kept. Subscribers to the event buffer are
   * told they lost events (there is no per-object history across a restore).
   */
  restore(bytes: Uint8Array): void {
    const tables = decodeSnapshot(bytes, this.freeze);
    this.store[commitTables](tables);
    this.events.reset(tables.index);
  }

  /**
   * An operator's snapshot restore committed to the log at `index` (operator snapshot restore):
   * the state becomes the image's, stamped as one write at `index` (the store's index and every
   * table index move to `index`, so blocking queries on any table wake, and the next command
   * goes on from there). The image is decoded and checked completely first: a corrupt one, an
   * index that does not increase, or one not above the image's own index (the rows' indexes
   * would be ahead of the state's) is refused with a NomadError and nothing changes.
   * Returns the index the image was saved at.
   */
  restoreAt(index: number, bytes: Uint8Array): number {
    const last = this.store.index;
    if (!Number.isSafeInteger(index) || index <= last) {
      throw new NomadError('invalid_argument', `log index ${String(index)} must be an integer greater than the last applied index ${last}`, { field: 'index' });
    }
    const tables = decodeSnapshot(bytes, this.freeze);
    // Every index inside the image is at most the one it was saved at; the state's must stay below the log's.
    if (tables.index >= index) {
      throw new NomadError('invalid_argument', `the image was saved at index ${tables.index}, not below the restore's log index ${index}: the log must first move past it`, { field: 'index' });
    }
    const tableIndex = {} as Record<TableName, number>;
    for (const t of TableNames) tableIndex[t] = index;
    this.store[commitTables]({ ...tables, index, tableIndex: Object.freeze(tableIndex) });
    this.events.reset(index);
    return tables.index;
  }

  private dispatch(ctx: ApplyCtx, cmd: FsmCommand): boolean {
    const f = ctx.cmdField;
    switch (cmd.type) {
      case 'UpsertNode':
        this.upsertNode(ctx, cmd.node);
        return true;
      case 'DeregisterNodes': {
        const ids = reqArray(cmd.nodeIds, `${f}.nodeIds`);
        if (ids.length === 0) invalid(`${f}.nodeIds`, 'must name at least one node');
        ids.forEach((id, i) => {
          const nodeId = reqId(id, `${f}.nodeIds[${i}]`);
          this.mustNode(ctx, nodeId, `${f}.nodeIds[${i}]`);
          ctx.txn.deleteNode(nodeId);
        });
        return true;
      }
      case 'UpdateNodeStatus': {
        const node = this.mustNode(ctx, reqId(cmd.nodeId, `${f}.nodeId`), `${f}.nodeId`);
        const status = reqOneOf(cmd.status, NodeStatuses, `${f}.status`);
        const updatedAt = reqNumber(cmd.updatedAt, `${f}.updatedAt`);
        ctx.txn.putNode({ ...node, status, statusUpdatedAt: updatedAt, modifyIndex: ctx.index });
        this.upsertEvals(ctx, cmd.evals, `${f}.evals`);
        return true;
      }
      case 'UpdateNodeEligibility': {
        const node = this.mustNode(ctx, reqId(cmd.nodeId, `${f}.nodeId`), `${f}.nodeId`);
        const eligibility = reqOneOf(cmd.eligibility, Eligibilities, `${f}.eligibility`);
        if (eligibility === 'eligible' && node.drainStrategy !== null) {
          throw new NomadError('conflict', `node ${node.id} is draining: it cannot be made eligible until the drain ends`, { field: `${f}.eligibility` });
        }
        ctx.txn.putNode({ ...node, schedulingEligibility: eligibility, modifyIndex: ctx.index });
        this.upsertEvals(ctx, cmd.evals, `${f}.evals`);
        return true;
      }
      case 'UpdateNodeDrain': {
        const node = this.mustNode(ctx, reqId(cmd.nodeId, `${f}.nodeId`), `${f}.nodeId`);
        const markEligible = reqBool(cmd.markEligible, `${f}.markEligible`);
        let drain = null;
        if (cmd.drainStrategy !== null) {
          const d = reqObject(cmd.drainStrategy, `${f}.drainStrategy`);
          reqNumber(d.deadline, `${f}.drainStrategy.deadline`);
          reqBool(d.ignoreSystemJobs, `${f}.drainStrategy.ignoreSystemJobs`);
          drain = cmd.drainStrategy;
        }
        const schedulingEligibility = drain !== null ? 'ineligible' : markEligible ? 'eligible' : node.schedulingEligibility;
        ctx.txn.putNode({ ...node, drainStrategy: drain, schedulingEligibility, modifyIndex: ctx.index });
        this.upsertEvals(ctx, cmd.evals, `${f}.evals`);
        return true;
      }
      case 'UpsertJob':
        this.upsertJob(ctx, checkJob(cmd.job, `${f}.job`));
        if (cmd.eval !== undefined) this.upsertEvals(ctx, [cmd.eval], `${f}.eval`);
        return true;
      case 'DeregisterJob': {
        const ns = reqId(cmd.namespace, `${f}.namespace`);
        const id = reqId(cmd.jobId, `${f}.jobId`);
        const purge = reqBool(cmd.purge, `${f}.purge`);
        const job = ctx.txn.jobs.get(jobKey(ns, id));
        if (job === undefined) throw new NomadError('not_found', `job "${id}" in namespace "${ns}" not found`, { field: `${f}.jobId` });
        if (purge) ctx.txn.deleteJob(ns, id);
        else this.upsertJob(ctx, { ...job, stop: true, submitTime: reqNumber(cmd.submitTime, `${f}.submitTime`) });
        if (cmd.eval !== undefined) this.upsertEvals(ctx, [cmd.eval], `${f}.eval`);
        return true;
      }
      case 'UpsertEvals': {
        const evals = reqArray(cmd.evals, `${f}.evals`);
        this.upsertEvals(ctx, evals, `${f}.evals`);
        return true;
      }
      case 'DeleteEvalsAllocs': {
        reqArray(cmd.evalIds, `${f}.evalIds`).forEach((id, i) => ctx.txn.deleteEval(reqId(id, `${f}.evalIds[${i}]`)));
        reqArray(cmd.allocIds, `${f}.allocIds`).forEach((id, i) => ctx.txn.deleteAlloc(reqId(id, `${f}.allocIds[${i}]`)));
        return true;
      }
      case 'ApplyPlanResults':
        this.applyPlanResults(ctx, cmd);
        return true;
      case 'UpdateAllocsFromClient':
        this.updateAllocsFromClient(ctx, cmd);
        return true;
      case 'UpdateAllocDesiredTransition': {
        reqArray(cmd.transitions, `${f}.transitions`).forEach((raw, i) => {
          const t = reqObject(raw, `${f}.transitions[${i}]`);
          const allocId = reqId(t.allocId, `${f}.transitions[${i}].allocId`);
          const tr = reqObject(t.transition, `${f}.transitions[${i}].transition`);
          const merged: DesiredTransition = { migrate: false, reschedule: false, forceReschedule: false };
          const existing = ctx.txn.allocs.get(allocId);
          if (existing === undefined) return; // garbage collected meanwhile: nothing to mark
          Object.assign(merged, existing.desiredTransition);
          for (const k of ['migrate', 'reschedule', 'forceReschedule'] as const) {
            if (tr[k] !== undefined) merged[k] = reqBool(tr[k], `${f}.transitions[${i}].transition.${k}`);
          }
          ctx.txn.putAlloc({ ...existing, desiredTransition: merged, modifyIndex: ctx.index });
        });
        this.upsertEvals(ctx, cmd.evals, `${f}.evals`);
        return true;
      }
      case 'UpsertDeployment':
        this.upsertDeployment(ctx, checkDeployment(cmd.deployment, `${f}.deployment`));
        return true;
      case 'UpdateDeploymentStatus': {
        const updatedAt = reqNumber(cmd.updatedAt, `${f}.updatedAt`);
        this.updateDeploymentStatus(ctx, cmd.update, `${f}.update`, updatedAt);
        if (cmd.job !== undefined) this.upsertJob(ctx, checkJob(cmd.job, `${f}.job`));
        if (cmd.eval !== undefined) this.upsertEvals(ctx, [cmd.eval], `${f}.eval`);
        return true;
      }
      case 'UpsertPeriodicLaunch': {
        const l = reqObject(cmd.launch, `${f}.launch`);
        const ns = reqId(l.namespace, `${f}.launch.namespace`);
        const jobId = reqId(l.jobId, `${f}.launch.jobId`);
        const launch = reqNumber(l.launch, `${f}.launch.launch`);
        const k = jobKey(ns, jobId);
        if (!ctx.txn.jobs.has(k)) throw new NomadError('not_found', `periodic launch for unknown job "${jobId}" in namespace "${ns}"`, { field: `${f}.launch.jobId` });
        const prev = ctx.txn.periodicLaunch.get(k);
        ctx.txn.putPeriodicLaunch({ namespace: ns, jobId, launch, createIndex: prev?.createIndex ?? ctx.index, modifyIndex: ctx.index });
        return true;
      }
      case 'SetSchedulerConfig': {
        const config = checkSchedulerConfig(cmd.config, `${f}.config`);
        const current = ctx.txn.schedulerConfig;
        if (cmd.cas !== undefined && reqNumber(cmd.cas, `${f}.cas`) !== current.modifyIndex) return false;
        ctx.txn.putSchedulerConfig({
          ...config,
          preemptionConfig: { ...config.preemptionConfig },
          createIndex: current.createIndex === 0 ? ctx.index : current.createIndex,
          modifyIndex: ctx.index,
        });
        return true;
      }
    }
  }

  private mustNode(ctx: ApplyCtx, id: string, field: string): Node {
    const node = ctx.txn.nodes.get(id);
    if (node === undefined) throw new NomadError('not_found', `node ${id} not found`, { field });
    return node;
  }

  private upsertNode(ctx: ApplyCtx, raw: Node): void {
    const node = checkNode(raw, `${ctx.cmdField}.node`);
    const prev = ctx.txn.nodes.get(node.id);
    ctx.txn.putNode({
      ...node,
      computedClass: computeNodeClass(node),
      // Eligibility and drain belong to the servers: a client re-registering keeps them.
      schedulingEligibility: prev?.schedulingEligibility ?? node.schedulingEligibility,
      drainStrategy: prev !== undefined ? prev.drainStrategy : node.drainStrategy,
      createIndex: prev?.createIndex ?? ctx.index,
      modifyIndex: ctx.index,
    });
  }

  private upsertJob(ctx: ApplyCtx, job: Job): void {
    const k = jobKey(job.namespace, job.id);
    const prev = ctx.txn.jobs.get(k);
    const idx = ctx.index;
    let stored: Job;
    if (prev === undefined) {
      stored = { ...job, version: 0, stable: false, status: 'pending', createIndex: idx, modifyIndex: idx, jobModifyIndex: idx };
      ctx.newVersionJobs.add(k);
    } else if (jobSpecChanged(prev, job)) {
      stored = { ...job, version: prev.version + 1, stable: false, status: prev.status, createIndex: prev.createIndex, modifyIndex: idx, jobModifyIndex: idx };
      ctx.newVersionJobs.add(k);
    } else {
      stored = {
        ...job,
        version: prev.version,
        stable: prev.stable,
        status: prev.status,
        submitTime: prev.submitTime,
        createIndex: prev.createIndex,
        modifyIndex: idx,
        jobModifyIndex: prev.jobModifyIndex,
      };
    }
    ctx.txn.putJob(stored);
    if (!ctx.txn.dirtyJobs.has(k)) ctx.txn.dirtyJobs.set(k, false);
    // Version history: newest first, the same version replaced in place.
    const old = ctx.txn.jobVersions.get(k) ?? [];
    const versions = [stored, ...old.filter((v) => v.version !== stored.version)].sort((a, b) => b.version - a.version);
    while (versions.length > JobTrackedVersions) {
      // Drop the oldest, unless it is the newest stable version: then drop the one before it.
      const firstStable = versions.findIndex((v) => v.stable);
      versions.splice(firstStable === versions.length - 1 ? versions.length - 2 : versions.length - 1, 1);
    }
    ctx.txn.putJobVersions(job.namespace, job.id, versions);
  }

  private upsertEvals(ctx: ApplyCtx, evals: unknown[] | undefined, field: string): void {
    optArray(evals, field).forEach((raw, i) => {
      const ev = checkEval(raw, `${field}[${i}]`);
      const prev = ctx.txn.evals.get(ev.id);
      const stored: Evaluation = { ...ev, createIndex: prev?.createIndex ?? ctx.index, modifyIndex: ctx.index };
      ctx.txn.putEval(stored);
      // Nomad: a successful eval makes the job's blocked evals pointless; cancel them.
      if (stored.status === 'complete' && Object.keys(stored.failedTgAllocs ?? {}).length === 0) {
        const blocked: Evaluation[] = [];
        ctx.txn.evalsByJob.get(jobKey(stored.namespace, stored.jobId))?.forEach((e) => {
          if (e.status === 'blocked' && e.id !== stored.id) blocked.push(e);
        });
        for (const b of blocked) {
          ctx.txn.putEval({ ...b, status: 'canceled', statusDescription: `evaluation "${stored.id}" successful`, modifyIndex: ctx.index });
        }
      }
    });
  }

  private upsertDeployment(ctx: ApplyCtx, d: Deployment): void {
    const prev = ctx.txn.deployments.get(d.id);
    ctx.txn.putDeployment({ ...d, createIndex: prev?.createIndex ?? ctx.index, modifyIndex: ctx.index });
  }

  private updateDeploymentStatus(ctx: ApplyCtx, raw: DeploymentStatusUpdate, field: string, updatedAt: number | undefined): void {
    const u = reqObject(raw, field);
    const id = reqId(u.deploymentId, `${field}.deploymentId`);
    const status = reqOneOf(u.status, DeploymentStatuses, `${field}.status`);
    const statusDescription = reqString(u.statusDescription, `${field}.statusDescription`);
    const d = ctx.txn.deployments.get(id);
    if (d === undefined) throw new NomadError('not_found', `deployment ${id} not found`, { field: `${field}.deploymentId` });
    ctx.txn.putDeployment({ ...d, status, statusDescription, modifyIndex: ctx.index, modifyTime: updatedAt ?? d.modifyTime });
    // A successful deployment makes its job version stable.
    if (status === 'successful') this.markJobStable(ctx, d.namespace, d.jobId, d.jobVersion);
  }

  private markJobStable(ctx: ApplyCtx, namespace: string, jobId: string, version: number): void {
    const k = jobKey(namespace, jobId);
    const versions = ctx.txn.jobVersions.get(k);
    if (versions !== undefined && versions.some((v) => v.version === version && !v.stable)) {
      ctx.txn.putJobVersions(namespace, jobId, versions.map((v) => (v.version === version ? { ...v, stable: true, modifyIndex: ctx.index } : v)));
    }
    const job = ctx.txn.jobs.get(k);
    if (job !== undefined && job.version === version && !job.stable) ctx.txn.putJob({ ...job, stable: true, modifyIndex: ctx.index });
  }

  private applyPlanResults(ctx: ApplyCtx, cmd: Extract<FsmCommand, { type: 'ApplyPlanResults' }>): void {
    const f = ctx.cmdField;
    const planJob = cmd.job === undefined || cmd.job === null ? null : checkJob(cmd.job, `${f}.job`);
    const updated = reqArray(cmd.allocsUpdated, `${f}.allocsUpdated`);
    const stopped = reqArray(cmd.allocsStopped, `${f}.allocsStopped`);
    const preempted = reqArray(cmd.allocsPreempted, `${f}.allocsPreempted`);
    // Deployment first, so allocations placed for it are counted on it.
    if (cmd.deployment !== undefined && cmd.deployment !== null) this.upsertDeployment(ctx, checkDeployment(cmd.deployment, `${f}.deployment`));
    optArray(cmd.deploymentUpdates, `${f}.deploymentUpdates`).forEach((u, i) => {
      this.updateDeploymentStatus(ctx, u as DeploymentStatusUpdate, `${f}.deploymentUpdates[${i}]`, undefined);
    });
    if (cmd.evalId !== undefined && cmd.evalId !== '') {
      const ev = ctx.txn.evals.get(reqId(cmd.evalId, `${f}.evalId`));
      if (ev !== undefined) ctx.txn.putEval({ ...ev, modifyIndex: ctx.index });
    }
    // A field name (`ApplyPlanResults.allocsUpdated[3]`) is built only to report a problem.
    const place = (raw: unknown, list: string, i: number, mustExist: boolean): void => {
      const field = (): string => `${f}.${list}[${i}]`;
      const a = (allocLooksValid(raw, true, planJob) ? raw : checkAlloc(raw, field(), true, planJob)) as AllocInput;
      const prev = ctx.txn.allocs.get(a.id);
      if (mustExist && prev === undefined) throw new NomadError('not_found', `allocation ${a.id} to stop does not exist`, { field: `${field()}.id` });
      const job = a.job ?? planJob ?? prev?.job;
      if (job === undefined || job === null) invalid(`${field()}.job`, `allocation ${a.id} carries no job and the plan has none`);
      const stored: Allocation = { ...a, job, createIndex: prev?.createIndex ?? ctx.index, modifyIndex: ctx.index, allocModifyIndex: ctx.index };
      if (prev !== undefined) {
        // The client owns its task states and client status, unless the scheduler marks the alloc lost/unknown.
        stored.taskStates = prev.taskStates;
        if (a.clientStatus !== 'lost' && a.clientStatus !== 'unknown') {
          stored.clientStatus = prev.clientStatus;
          stored.clientDescription = prev.clientDescription;
        }
      }
      this.countForDeployment(ctx, stored, prev);
      ctx.txn.putAlloc(stored, prev);
    };
    for (let i = 0; i < stopped.length; i++) place(stopped[i], 'allocsStopped', i, true);
    for (let i = 0; i < preempted.length; i++) place(preempted[i], 'allocsPreempted', i, true);
    for (let i = 0; i < updated.length; i++) place(updated[i], 'allocsUpdated', i, false);
    // A replacement links its predecessor forward (nomad upsertAllocsImpl), so the
    // reconciler never reschedules a failed allocation twice.
    for (const raw of updated) {
      const a = raw as AllocInput;
      if (a.previousAllocation === '') continue;
      const prev = ctx.txn.allocs.get(a.previousAllocation);
      if (prev !== undefined && prev.nextAllocation !== a.id) ctx.txn.putAlloc({ ...prev, nextAllocation: a.id, modifyIndex: ctx.index });
    }
    this.upsertEvals(ctx, cmd.evals, `${f}.evals`);
  }

  private updateAllocsFromClient(ctx: ApplyCtx, cmd: Extract<FsmCommand, { type: 'UpdateAllocsFromClient' }>): void {
    const f = ctx.cmdField;
    reqArray(cmd.allocs, `${f}.allocs`).forEach((raw, i) => {
      const field = `${f}.allocs[${i}]`;
      const u = reqObject(raw, field);
      const id = reqId(u.id, `${field}.id`);
      const clientStatus = reqOneOf(u.clientStatus, ClientStatuses, `${field}.clientStatus`);
      const clientDescription = reqString(u.clientDescription, `${field}.clientDescription`);
      const taskStates = reqObject(u.taskStates, `${field}.taskStates`) as Allocation['taskStates'];
      const modifyTime = reqNumber(u.modifyTime, `${field}.modifyTime`);
      const prev = ctx.txn.allocs.get(id);
      if (prev === undefined) return; // garbage collected meanwhile: the client will learn it from its alloc list
      const stored: Allocation = { ...prev, clientStatus, clientDescription, taskStates, modifyTime, modifyIndex: ctx.index };
      if (u.deploymentStatus !== undefined && u.deploymentStatus !== null) {
        const ds = reqObject(u.deploymentStatus, `${field}.deploymentStatus`);
        if (ds.healthy !== null) reqBool(ds.healthy, `${field}.deploymentStatus.healthy`);
        const given = u.deploymentStatus as Allocation['deploymentStatus'] & object;
        // Whether it is a canary is the scheduler's call, not the client's.
        stored.deploymentStatus = { ...given, canary: prev.deploymentStatus?.canary ?? given.canary, modifyIndex: ctx.index };
      }
      this.countForDeployment(ctx, stored, prev);
      ctx.txn.putAlloc(stored);
    });
    this.upsertEvals(ctx, cmd.evals, `${f}.evals`);
  }

  /**
   * Keep the deployment's counters in step with its allocations (Nomad's
   * updateDeploymentWithAlloc): placements, canaries, health, progress deadline.
   */
  private countForDeployment(ctx: ApplyCtx, alloc: Allocation, prev: Allocation | undefined): void {
    if (alloc.deploymentId === '') return;
    const d = ctx.txn.deployments.get(alloc.deploymentId);
    const group = d?.taskGroups[alloc.taskGroup];
    if (d === undefined || group === undefined) return;
    const placed = prev === undefined || prev.deploymentId !== alloc.deploymentId ? 1 : 0;
    const prevHealth = prev !== undefined && prev.deploymentId === alloc.deploymentId ? (prev.deploymentStatus?.healthy ?? null) : null;
    const health = alloc.deploymentStatus?.healthy ?? null;
    let healthy = 0;
    let unhealthy = 0;
    if (health !== null && prevHealth !== health) {
      if (health) healthy++;
      else unhealthy++;
      if (prevHealth === true) healthy--;
      if (prevHealth === false) unhealthy--;
    }
    const canary = alloc.deploymentStatus?.canary === true && !group.placedCanaries.includes(alloc.id);
    if (placed === 0 && healthy === 0 && unhealthy === 0 && !canary) return;
    const g = {
      ...group,
      placedAllocs: group.placedAllocs + placed,
      healthyAllocs: group.healthyAllocs + healthy,
      unhealthyAllocs: group.unhealthyAllocs + unhealthy,
      placedCanaries: canary ? [...group.placedCanaries, alloc.id] : group.placedCanaries,
    };
    if (g.progressDeadline !== 0) {
      if (placed !== 0 && g.requireProgressBy === 0) g.requireProgressBy = alloc.modifyTime + g.progressDeadline;
      else if (healthy > 0 && alloc.deploymentStatus !== null) {
        g.requireProgressBy = Math.max(g.requireProgressBy, alloc.deploymentStatus.timestamp + g.progressDeadline);
      }
    }
    ctx.txn.putDeployment({ ...d, taskGroups: { ...d.taskGroups, [alloc.taskGroup]: g }, modifyIndex: ctx.index });
  }

  /** Recompute the status of every job whose allocations, evals or spec changed in this write. */
  private settleJobStatuses(ctx: ApplyCtx): void {
    const txn = ctx.txn;
    for (const [k, evalDelete] of txn.dirtyJobs) {
      const job = txn.jobs.get(k);
      if (job === undefined) continue;
      let status = deriveJobStatus(job, txn.allocsByJob.get(k), txn.evalsByJob.get(k), evalDelete);
      // A job just registered with a new spec waits for its eval, even if an old run finished.
      if (status === 'dead' && !job.stop && ctx.newVersionJobs.has(k)) status = 'pending';
      if (status !== job.status) txn.putJob({ ...job, status, modifyIndex: ctx.index });
    }
  }
}

const TopicOf: Partial<Record<TableName, EventTopic>> = {
  jobs: 'Job',
  periodic_launch: 'Job',
  nodes: 'Node',
  allocs: 'Allocation',
  evals: 'Evaluation',
  deployments: 'Deployment',
  scheduler_config: 'SchedulerConfig',
};

const NodeEventType: Partial<Record<FsmCommand['type'], StateEventType>> = {
  UpsertNode: 'NodeRegistration',
  DeregisterNodes: 'NodeDeregistration',
  UpdateNodeStatus: 'NodeStatusUpdate',
  UpdateNodeEligibility: 'NodeEligibility',
  UpdateNodeDrain: 'NodeDrain',
};

function eventType(cmd: FsmCommand['type'], table: TableName, deleted: boolean): StateEventType {
  if (cmd === 'ApplyPlanResults' && !deleted) return 'PlanResult';
  switch (table) {
    case 'nodes':
      return deleted ? 'NodeDeregistration' : (NodeEventType[cmd] ?? 'NodeStatusUpdate');
    case 'jobs':
      return deleted || cmd === 'DeregisterJob' ? 'JobDeregistered' : 'JobRegistered';
    case 'periodic_launch':
      return 'JobPeriodicLaunch';
    case 'allocs':
      return deleted ? 'AllocationDeleted' : cmd === 'UpdateAllocDesiredTransition' ? 'AllocationUpdateDesiredStatus' : 'AllocationUpdated';
    case 'evals':
      return deleted ? 'EvaluationDeleted' : 'EvaluationUpdated';
    case 'deployments':
      return cmd === 'UpdateDeploymentStatus' ? 'DeploymentStatusUpdate' : 'DeploymentUpdate';
    default:
      return 'SchedulerConfigUpdated';
  }
}

function toEvents(cmd: FsmCommand['type'], index: number, changes: Iterable<Change>): StateEvent[] {
  const out: StateEvent[] = [];
  for (const c of changes) {
    const topic = TopicOf[c.table];
    if (topic === undefined) continue;
    const deleted = c.value === null;
    const payload = (deleted ? c.prev : c.value) as StateEventPayload;
    const p = payload as unknown as Record<string, unknown>;
    const filterKeys: string[] = [];
    for (const f of ['jobId', 'evalId', 'deploymentId', 'nodeId'] as const) {
      const v = p[f];
      if (typeof v === 'string' && v !== '') filterKeys.push(v);
    }
    const key = c.table === 'jobs' ? (p.id as string) : c.table === 'periodic_launch' ? (p.jobId as string) : c.table === 'scheduler_config' ? 'scheduler-config' : (p.id as string);
    out.push({ topic, type: eventType(cmd, c.table, deleted), key, filterKeys, namespace: typeof p.namespace === 'string' ? p.namespace : '', index, payload });
  }
  return out;
}
