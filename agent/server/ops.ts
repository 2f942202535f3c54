/**
 * The server's operational events (agent/core/ops): worker steps, plan results
 * and periodic broker and Raft status, put on the server's OpsEventBus for the
 * event stream and `nomadts top`. Kept here so the server's wiring stays short.
 */
import type { BrokerStats } from '../core/broker/index.js';
import type { Clock, TimerHandle } from '../core/lib/index.js';
import type { OpsPayload, OpsSink } from '../core/ops/index.js';
import type { Evaluation, Plan, PlanResult } from '../core/structs/index.js';
import type { WorkerStep } from '../core/worker/index.js';

/** A worker's step as a Broker or Plan event keyed by the evaluation's id. */
export function emitWorkerStep(ops: OpsSink, s: WorkerStep): void {
  switch (s.kind) {
    case 'dequeued':
      ops.emit('Broker', 'EvalDequeued', s.evalId, { worker: s.workerId });
      return;
    case 'acked':
      ops.emit('Broker', 'EvalAcked', s.evalId, { worker: s.workerId });
      return;
    case 'nacked':
      ops.emit('Broker', 'EvalNacked', s.evalId, { worker: s.workerId, error: s.error });
      return;
    case 'plan-submitted':
      ops.emit('Plan', 'PlanSubmitted', s.evalId, { worker: s.workerId, placements: s.placements, stops: s.stops });
      return;
    case 'plan-result':
      // The applier's own event (below) carries the details; this one closes the worker's wait.
      return;
  }
}

export function emitEvalEnqueued(ops: OpsSink, e: Evaluation): void {
  ops.emit('Broker', 'EvalEnqueued', e.id, {
    jobId: e.jobId,
    namespace: e.namespace,
    type: e.type,
    triggeredBy: e.triggeredBy,
    priority: e.priority,
    nodeId: e.nodeId,
  });
}

/**
 * The plan applier's verdict: `PlanApplied` when everything fitted,
 * `PlanPartlyRejected` with each refused node's reason otherwise, and the
 * score parts of the placed allocations' best nodes.
 */
export function emitPlanApplied(ops: OpsSink, plan: Plan, result: PlanResult, rejections: Record<string, string>): void {
  let placed = 0;
  let stopped = 0;
  const scores: OpsPayload[] = [];
  for (const list of Object.values(result.nodeAllocation)) {
    placed += list.length;
    for (const a of list) {
      const best = a.metrics?.scoreMetaData[0];
      if (best !== undefined && scores.length < 5) scores.push({ alloc: a.name, nodeId: best.nodeId, normScore: best.normScore, scores: { ...best.scores } });
    }
  }
  for (const list of Object.values(result.nodeUpdate)) stopped += list.length;
  const rejected = Object.entries(rejections).map(([nodeId, reason]) => ({ nodeId, reason }));
  ops.emit('Plan', rejected.length > 0 ? 'PlanPartlyRejected' : 'PlanApplied', plan.evalId, {
    jobId: plan.job?.id ?? '',
    placed,
    stopped,
    refreshIndex: result.refreshIndex,
    allocIndex: result.allocIndex,
    rejected,
    scores,
  });
}

export function brokerStatsPayload(stats: BrokerStats): OpsPayload {
  const byType: OpsPayload = {};
  for (const [type, c] of Object.entries(stats.byType)) byType[type] = { ...c };
  return { enabled: stats.enabled, paused: stats.paused, waiters: stats.waiters, total: { ...stats.total }, byType, counters: { ...stats.counters } };
}

/**
 * Every `intervalMs`, put the broker's depths and this server's Raft view on the
 * bus, so a console that just connected has both within one interval.
 */
export function startStatusTicker(clock: Clock, intervalMs: number, tick: () => void): { stop(): void } {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const loop = (): void => {
    if (stopped) return;
    tick();
    timer = clock.setTimer(intervalMs, loop);
  };
  loop();
  return {
    stop: () => {
      stopped = true;
      timer?.cancel();
    },
  };
}
