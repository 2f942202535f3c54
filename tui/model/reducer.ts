/**
 * The console's reducer: (state, action) → state, pure. Fed by the feed (tui/feed.ts: a state
 * snapshot from the API, then the event stream) and by the keys (tui/keymap.ts). Nothing here
 * talks to the cluster; operator actions are described (OperatorAction) and carried out by
 * tui/actions.ts, whose result comes back as a `notice`.
 */
import type { Allocation, Evaluation, Job, Node } from '../../agent/core/structs/index.js';
import type { OpsEvent, StateEvent } from '../../agent/api/index.js';
import type { AllocView, DrainProgress, EvalStep, EvalView, JobView, LogLine, Modal, NodeView, Notice, PanelId, ServerView, TopState } from './state.js';
import { Limits, Panels } from './state.js';

export type Action =
  | { type: 'snapshot'; index: number; nodes: readonly Node[]; jobs: readonly Job[]; allocs: readonly Allocation[]; evals: readonly Evaluation[]; now: number }
  | { type: 'events'; events: readonly StateEvent[]; ops: readonly OpsEvent[]; now: number }
  | { type: 'lost'; what: 'state' | 'ops'; count: number; resumeFrom: number; now: number }
  | { type: 'connection'; status: TopState['connection']['status']; error?: string; address?: string; now: number }
  | { type: 'tick'; now: number }
  /** Measured use per node (what its client last reported): CPU in MHz, memory in MiB. */
  | { type: 'usage'; nodes: readonly { nodeId: string; cpuMhz: number; memoryMB: number }[] }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'focus'; panel: PanelId }
  | { type: 'focus-step'; delta: 1 | -1 }
  | { type: 'move'; delta: number; count: number }
  | { type: 'alloc-step'; delta: 1 | -1 }
  | { type: 'filter-start' }
  | { type: 'filter-text'; text: string }
  | { type: 'filter-end'; keep: boolean }
  | { type: 'help'; show?: boolean }
  | { type: 'modal'; modal: Modal | null }
  | { type: 'logs'; allocId: string; task: string; lines: readonly string[] }
  | { type: 'notice'; notice: Omit<Notice, 'at'>; now: number };

export function reduce(s: TopState, a: Action): TopState {
  switch (a.type) {
    case 'snapshot':
      return snapshot(s, a);
    case 'events':
      return applyEvents(s, a.events, a.ops, a.now);
    case 'lost': {
      const counters = { ...s.counters, ...(a.what === 'state' ? { lostState: s.counters.lostState + a.count } : { lostOps: s.counters.lostOps + a.count }) };
      const text = a.what === 'state' ? `state events lost: re-reading state at index ${a.resumeFrom}` : `${a.count} operational events lost (the console fell behind); resuming at #${a.resumeFrom}`;
      return appendLog({ ...s, counters }, [{ at: a.now, topic: 'Console', text }]);
    }
    case 'connection': {
      const connection = { ...s.connection, status: a.status, error: a.error ?? '', address: a.address ?? s.connection.address };
      const text = a.status === 'live' ? `connected to ${s.connection.address}` : a.status === 'error' ? `connection lost: ${a.error ?? ''}` : `connecting to ${s.connection.address}`;
      return appendLog({ ...s, connection, now: a.now }, [{ at: a.now, topic: 'Console', text }]);
    }
    case 'tick':
      return a.now === s.now ? s : { ...s, now: a.now };
    case 'usage': {
      const nodes = new Map(s.nodes);
      const reported = new Map(a.nodes.map((u) => [u.nodeId, u]));
      for (const [id, n] of nodes) {
        const u = reported.get(id);
        const cpuUsed = u === undefined ? null : u.cpuMhz;
        const memoryUsedMB = u === undefined ? null : u.memoryMB;
        if (n.cpuUsed !== cpuUsed || n.memoryUsedMB !== memoryUsedMB) nodes.set(id, { ...n, cpuUsed, memoryUsedMB });
      }
      return { ...s, nodes };
    }
    case 'resize':
      return a.cols === s.ui.cols && a.rows === s.ui.rows ? s : { ...s, ui: { ...s.ui, cols: a.cols, rows: a.rows } };
    case 'focus':
      return { ...s, ui: { ...s.ui, focus: a.panel, filter: '', filtering: false, allocCursor: 0 } };
    case 'focus-step': {
      const i = Panels.indexOf(s.ui.focus);
      const next = Panels[(i + a.delta + Panels.length) % Panels.length]!;
      return { ...s, ui: { ...s.ui, focus: next, filter: '', filtering: false, allocCursor: 0 } };
    }
    case 'move': {
      const cur = s.ui.selected[s.ui.focus];
      const max = Math.max(0, a.count - 1);
      const next = Math.min(max, Math.max(0, cur + a.delta));
      if (next === cur) return s;
      return { ...s, ui: { ...s.ui, allocCursor: 0, selected: { ...s.ui.selected, [s.ui.focus]: next } } };
    }
    case 'alloc-step':
      return { ...s, ui: { ...s.ui, allocCursor: Math.max(0, s.ui.allocCursor + a.delta) } };
    case 'filter-start':
      return { ...s, ui: { ...s.ui, filtering: true } };
    case 'filter-text':
      return { ...s, ui: { ...s.ui, filter: a.text, selected: { ...s.ui.selected, [s.ui.focus]: 0 } } };
    case 'filter-end':
      return { ...s, ui: { ...s.ui, filtering: false, filter: a.keep ? s.ui.filter : '' } };
    case 'help':
      return { ...s, ui: { ...s.ui, help: a.show ?? !s.ui.help } };
    case 'modal':
      return { ...s, ui: { ...s.ui, modal: a.modal } };
    case 'logs': {
      const m = s.ui.modal;
      if (m === null || m.kind !== 'logs' || m.allocId !== a.allocId || m.task !== a.task) return s;
      const lines = [...m.lines, ...a.lines].slice(-Limits.logTail);
      return { ...s, ui: { ...s.ui, modal: { ...m, lines } } };
    }
    case 'notice':
      return appendLog(
        { ...s, ui: { ...s.ui, notice: { ...a.notice, at: a.now } } },
        [{ at: a.now, topic: 'Action', text: `${a.notice.text}${a.notice.command !== '' ? `  $ ${a.notice.command}` : ''}` }],
      );
  }
}

// ---- state: snapshot and state events ----------------------------------------------------

function snapshot(s: TopState, a: Extract<Action, { type: 'snapshot' }>): TopState {
  const nodes = new Map<string, NodeView>();
  for (const n of a.nodes) nodes.set(n.id, nodeView(n, s.nodes.get(n.id)));
  const jobs = new Map<string, JobView>();
  for (const j of a.jobs) jobs.set(`${j.namespace}/${j.id}`, jobView(j));
  const allocs = new Map<string, AllocView>();
  for (const al of a.allocs) allocs.set(al.id, allocView(al));
  const evals = new Map(s.evals);
  for (const e of a.evals) evals.set(e.id, mergeEval(evals.get(e.id), e));
  return { ...s, index: Math.max(s.index, a.index), now: a.now, nodes, jobs, allocs, evals: capEvals(evals) };
}

function nodeView(n: Node, prev: NodeView | undefined): NodeView {
  return {
    id: n.id,
    name: n.name,
    datacenter: n.datacenter,
    nodeClass: n.nodeClass,
    status: n.status,
    eligibility: n.schedulingEligibility,
    draining: n.drainStrategy !== null,
    drainDeadline: n.drainStrategy?.forceDeadline ?? 0,
    cpuTotal: n.resources.cpu - n.reserved.cpu,
    memoryTotalMB: n.resources.memoryMB - n.reserved.memoryMB,
    cpuUsed: prev?.cpuUsed ?? null,
    memoryUsedMB: prev?.memoryUsedMB ?? null,
  };
}

function jobView(j: Job): JobView {
  return {
    key: `${j.namespace}/${j.id}`,
    id: j.id,
    namespace: j.namespace,
    type: j.type,
    status: j.stop ? 'stopped' : j.status,
    priority: j.priority,
    stop: j.stop,
    groups: j.taskGroups.map((g) => ({ name: g.name, count: g.count })),
  };
}

function allocView(a: Allocation): AllocView {
  return {
    id: a.id,
    name: a.name,
    namespace: a.namespace,
    jobId: a.jobId,
    taskGroup: a.taskGroup,
    nodeId: a.nodeId,
    evalId: a.evalId,
    desiredStatus: a.desiredStatus,
    clientStatus: a.clientStatus,
    cpu: a.resources.cpu,
    memoryMB: a.resources.memoryMB,
    tasks: Object.keys(a.taskResources),
  };
}

function failures(e: Evaluation): EvalView['failures'] {
  return Object.entries(e.failedTgAllocs).map(([group, m]) => {
    const reasons: string[] = [];
    if (m.nodesEvaluated === 0 && m.nodesInPool === 0) reasons.push('no nodes in the pool');
    for (const [c, n] of Object.entries(m.constraintFiltered)) reasons.push(`filtered ${n}: ${c}`);
    for (const [c, n] of Object.entries(m.classFiltered)) reasons.push(`class ${c} filtered ${n}`);
    for (const [d, n] of Object.entries(m.dimensionExhausted)) reasons.push(`exhausted ${n}: ${d}`);
    if (reasons.length === 0) reasons.push(`${m.nodesEvaluated} evaluated, ${m.nodesFiltered} filtered, ${m.nodesExhausted} exhausted`);
    return { group, reasons };
  });
}

const terminalStep: Partial<Record<Evaluation['status'], EvalStep['kind']>> = {
  blocked: 'blocked',
  complete: 'complete',
  failed: 'failed',
  canceled: 'cancelled',
};

/**
 * Folds an evaluation's state into its view. `seenAt`: when the console learnt of the status
 * (an event's arrival); a snapshot passes the evaluation's own modify time.
 */
function mergeEval(prev: EvalView | undefined, e: Evaluation, seenAt = e.modifyTime): EvalView {
  const base: EvalView = prev ?? {
    id: e.id,
    namespace: e.namespace,
    jobId: e.jobId,
    type: e.type,
    triggeredBy: e.triggeredBy,
    status: '',
    statusDescription: '',
    createdAt: e.createTime,
    steps: [{ kind: 'created', at: e.createTime, detail: e.triggeredBy }],
    failures: [],
    scores: [],
    rejected: [],
  };
  let steps = base.steps;
  const kind = terminalStep[e.status];
  if (kind !== undefined && e.status !== base.status && !steps.some((st) => st.kind === kind)) {
    steps = [...steps, { kind, at: Math.max(seenAt, steps[steps.length - 1]?.at ?? 0), detail: e.statusDescription }];
  }
  if (!steps.some((st) => st.kind === 'created')) steps = [{ kind: 'created', at: e.createTime, detail: e.triggeredBy }, ...steps];
  return {
    ...base,
    jobId: e.jobId,
    type: e.type,
    triggeredBy: e.triggeredBy,
    createdAt: e.createTime,
    status: e.status,
    statusDescription: e.statusDescription,
    steps: sortSteps(steps),
    failures: failures(e),
  };
}

function sortSteps(steps: EvalStep[]): EvalStep[] {
  // Stable by time; a 'created' step always first.
  return [...steps].sort((x, y) => (x.kind === 'created' ? -1 : y.kind === 'created' ? 1 : x.at - y.at));
}

/** Drops the oldest evaluations beyond the limit, finished ones first. */
function capEvals(evals: Map<string, EvalView>): Map<string, EvalView> {
  if (evals.size <= Limits.evals) return evals;
  const order = [...evals.values()].sort((x, y) => Number(x.status === 'pending' || x.status === '') - Number(y.status === 'pending' || y.status === '') || x.createdAt - y.createdAt);
  for (const e of order.slice(0, evals.size - Limits.evals)) evals.delete(e.id);
  return evals;
}

interface Draft {
  nodes?: Map<string, NodeView>;
  jobs?: Map<string, JobView>;
  allocs?: Map<string, AllocView>;
  evals?: Map<string, EvalView>;
  servers?: Map<string, ServerView>;
  drains?: Map<string, DrainProgress>;
  leader?: string;
  leaderAddr?: string;
  broker?: TopState['broker'];
  index?: number;
  log: Omit<LogLine, 'id'>[];
}

function applyEvents(s: TopState, events: readonly StateEvent[], ops: readonly OpsEvent[], now: number): TopState {
  const d: Draft = { log: [] };
  const nodes = (): Map<string, NodeView> => (d.nodes ??= new Map(s.nodes));
  const jobs = (): Map<string, JobView> => (d.jobs ??= new Map(s.jobs));
  const allocs = (): Map<string, AllocView> => (d.allocs ??= new Map(s.allocs));
  const evals = (): Map<string, EvalView> => (d.evals ??= new Map(s.evals));
  let index = s.index;
  for (const e of events) {
    index = Math.max(index, e.index);
    switch (e.topic) {
      case 'Job': {
        if (!('taskGroups' in e.payload)) break; // a periodic launch
        const j = e.payload as Job;
        if (e.type === 'JobDeregistered' && !j.stop) jobs().delete(`${j.namespace}/${j.id}`);
        else jobs().set(`${j.namespace}/${j.id}`, jobView(j));
        d.log.push({ at: now, topic: 'Job', text: `${e.type} ${j.id}${j.stop ? ' (stopped)' : ''} @${e.index}` });
        break;
      }
      case 'Node': {
        const n = e.payload as Node;
        if (e.type === 'NodeDeregistration') nodes().delete(n.id);
        else nodes().set(n.id, nodeView(n, nodes().get(n.id)));
        d.log.push({ at: now, topic: 'Node', text: `${e.type} ${n.name} ${n.status}${n.schedulingEligibility === 'ineligible' ? ' ineligible' : ''}${n.drainStrategy !== null ? ' draining' : ''} @${e.index}` });
        break;
      }
      case 'Allocation': {
        const al = e.payload as Allocation;
        const prev = allocs().get(al.id);
        if (e.type === 'AllocationDeleted') allocs().delete(al.id);
        else allocs().set(al.id, allocView(al));
        if (prev === undefined || prev.clientStatus !== al.clientStatus || prev.desiredStatus !== al.desiredStatus) {
          d.log.push({ at: now, topic: 'Allocation', text: `${al.name} ${al.desiredStatus}/${al.clientStatus} on ${al.nodeName || al.nodeId.slice(0, 8)} @${e.index}` });
        }
        break;
      }
      case 'Evaluation': {
        const ev = e.payload as Evaluation;
        if (e.type === 'EvaluationDeleted') evals().delete(ev.id);
        else evals().set(ev.id, mergeEval(evals().get(ev.id), ev, now));
        d.log.push({ at: now, topic: 'Evaluation', text: `${ev.id.slice(0, 8)} ${ev.jobId} ${ev.status}${ev.statusDescription !== '' ? `: ${ev.statusDescription}` : ''} @${e.index}` });
        break;
      }
      default:
        d.log.push({ at: now, topic: e.topic, text: `${e.type} ${e.key} @${e.index}` });
    }
  }
  for (const o of ops) applyOps(s, d, o, evals, now);
  if (d.evals !== undefined) d.evals = capEvals(d.evals);
  const counters = { ...s.counters, stateEvents: s.counters.stateEvents + events.length, opsEvents: s.counters.opsEvents + ops.length };
  const next: TopState = {
    ...s,
    now,
    index,
    counters,
    ...(d.nodes !== undefined ? { nodes: d.nodes } : {}),
    ...(d.jobs !== undefined ? { jobs: d.jobs } : {}),
    ...(d.allocs !== undefined ? { allocs: d.allocs } : {}),
    ...(d.evals !== undefined ? { evals: d.evals } : {}),
    ...(d.servers !== undefined ? { servers: d.servers } : {}),
    ...(d.drains !== undefined ? { drains: d.drains } : {}),
    ...(d.leader !== undefined ? { leader: d.leader } : {}),
    ...(d.leaderAddr !== undefined ? { leaderAddr: d.leaderAddr } : {}),
    ...(d.broker !== undefined ? { broker: d.broker } : {}),
  };
  return appendLog(next, d.log);
}

// ---- operational events ----------------------------------------------------------------

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function evalStep(d: Draft, evals: () => Map<string, EvalView>, o: OpsEvent, kind: EvalStep['kind'], detail: string, extra: Partial<EvalView> = {}): void {
  const m = evals();
  const prev = m.get(o.key) ?? {
    id: o.key,
    namespace: str(o.payload.namespace) || 'default',
    jobId: str(o.payload.jobId),
    type: str(o.payload.type),
    triggeredBy: str(o.payload.triggeredBy),
    status: '' as const,
    statusDescription: '',
    createdAt: o.time,
    steps: [],
    failures: [],
    scores: [],
    rejected: [],
  };
  m.set(o.key, { ...prev, ...extra, ...(prev.jobId === '' && str(o.payload.jobId) !== '' ? { jobId: str(o.payload.jobId) } : {}), steps: sortSteps([...prev.steps, { kind, at: o.time, detail }]) });
}

function applyOps(s: TopState, d: Draft, o: OpsEvent, evals: () => Map<string, EvalView>, now: number): void {
  const short = o.key.slice(0, 8);
  switch (`${o.topic}/${o.type}`) {
    case 'Broker/EvalEnqueued':
      evalStep(d, evals, o, 'enqueued', `${str(o.payload.type)} p${num(o.payload.priority)}`);
      d.log.push({ at: o.time, topic: 'Broker', text: `enqueued ${short} ${str(o.payload.jobId)} (${str(o.payload.triggeredBy)})` });
      return;
    case 'Broker/EvalDequeued':
      evalStep(d, evals, o, 'dequeued', str(o.payload.worker));
      d.log.push({ at: o.time, topic: 'Broker', text: `dequeued ${short} by ${str(o.payload.worker)}` });
      return;
    case 'Broker/EvalAcked':
      evalStep(d, evals, o, 'acked', str(o.payload.worker));
      return;
    case 'Broker/EvalNacked':
      evalStep(d, evals, o, 'nacked', str(o.payload.error));
      d.log.push({ at: o.time, topic: 'Broker', text: `nacked ${short}: ${str(o.payload.error)}` });
      return;
    case 'Broker/EvalFailed':
      evalStep(d, evals, o, 'failed', `delivery limit; follow-up ${str(o.payload.followUp).slice(0, 8)}`);
      d.log.push({ at: o.time, topic: 'Broker', text: `failed ${short} ${str(o.payload.jobId)}: delivery limit reached, follow-up ${str(o.payload.followUp).slice(0, 8)} waits` });
      return;
    case 'Broker/EvalBlocked':
      evalStep(d, evals, o, 'blocked', str(o.payload.reason));
      d.log.push({ at: o.time, topic: 'Broker', text: `blocked ${short} ${str(o.payload.jobId)}` });
      return;
    case 'Broker/EvalUnblocked':
      evalStep(d, evals, o, 'enqueued', `unblocked ${str(o.payload.reason)}`);
      d.log.push({ at: o.time, topic: 'Broker', text: `unblocked ${short} ${str(o.payload.jobId)}` });
      return;
    case 'Broker/EvalsCancelled': {
      const ids = Array.isArray(o.payload.evalIds) ? o.payload.evalIds.filter((x): x is string => typeof x === 'string') : [];
      for (const id of ids) if (evals().has(id)) evalStep(d, evals, { ...o, key: id }, 'cancelled', 'reaper');
      d.log.push({ at: o.time, topic: 'Broker', text: `reaper cancelled ${num(o.payload.count) || ids.length} superseded evaluations` });
      return;
    }
    case 'Broker/BrokerStats': {
      const t = (o.payload.total ?? {}) as Record<string, unknown>;
      d.broker = { ready: num(t.ready), unacked: num(t.unacked), blocked: num(t.blocked), pending: num(t.pending), delayed: num(t.delayed), failed: num(t.failed) };
      return;
    }
    case 'Plan/PlanSubmitted':
      evalStep(d, evals, o, 'plan-submitted', `${num(o.payload.placements)} place, ${num(o.payload.stops)} stop`);
      return;
    case 'Plan/PlanApplied':
    case 'Plan/PlanPartlyRejected': {
      const rejected = Array.isArray(o.payload.rejected)
        ? o.payload.rejected.map((r) => {
            const x = (r ?? {}) as Record<string, unknown>;
            return { nodeId: str(x.nodeId), reason: str(x.reason) };
          })
        : [];
      const scores = Array.isArray(o.payload.scores)
        ? o.payload.scores.map((r) => {
            const x = (r ?? {}) as Record<string, unknown>;
            const parts: Record<string, number> = {};
            for (const [k, v] of Object.entries((x.scores ?? {}) as Record<string, unknown>)) parts[k] = num(v);
            return { nodeId: str(x.nodeId), normScore: num(x.normScore), scores: parts };
          })
        : [];
      const partly = o.type === 'Plan/PlanPartlyRejected' || rejected.length > 0;
      evalStep(d, evals, o, partly ? 'partly-rejected' : 'applied', `${num(o.payload.placed)} placed, ${num(o.payload.stopped)} stopped${partly ? `, ${rejected.length} nodes refused` : ''}`, { scores, rejected });
      d.log.push({ at: o.time, topic: 'Plan', text: `${partly ? 'partly rejected' : 'applied'} ${short} ${str(o.payload.jobId)}: ${num(o.payload.placed)} placed, ${num(o.payload.stopped)} stopped` });
      return;
    }
    case 'Raft/RaftStatus':
      raftStatus(s, d, o, now);
      return;
    case 'Drain/DrainProgress': {
      const drains = (d.drains ??= new Map(s.drains));
      const p: DrainProgress = { migrated: num(o.payload.migrated), remaining: num(o.payload.remaining), deadline: num(o.payload.deadline), done: o.payload.done === true };
      const prev = drains.get(o.key);
      drains.set(o.key, p);
      if (prev === undefined || prev.remaining !== p.remaining || prev.done !== p.done) {
        d.log.push({ at: o.time, topic: 'Drain', text: `${str(o.payload.nodeName) || o.key.slice(0, 8)}: ${p.done ? 'drain complete' : `${p.migrated} migrated, ${p.remaining} remaining`}` });
      }
      return;
    }
    default:
      if (o.topic === 'Member') {
        memberEvent(s, d, o, now);
        return;
      }
      d.log.push({ at: o.time, topic: o.topic, text: `${o.type} ${o.key}` });
  }
}

function servers(s: TopState, d: Draft): Map<string, ServerView> {
  return (d.servers ??= new Map(s.servers));
}

function emptyServer(id: string, now: number): ServerView {
  return { id, role: '', term: 0, leader: '', commitIndex: 0, appliedIndex: 0, matchIndex: 0, lag: 0, voter: true, member: '', seenAt: now };
}

function raftStatus(s: TopState, d: Draft, o: OpsEvent, now: number): void {
  const m = servers(s, d);
  const id = str(o.payload.id) || o.key;
  const prev = m.get(id) ?? emptyServer(id, now);
  const role = str(o.payload.role);
  const term = num(o.payload.term);
  const leader = str(o.payload.leader);
  m.set(id, { ...prev, role, term, leader, commitIndex: num(o.payload.commitIndex), appliedIndex: num(o.payload.appliedIndex), seenAt: now });
  if (role === 'leader' && Array.isArray(o.payload.peers)) {
    for (const raw of o.payload.peers) {
      const p = (raw ?? {}) as Record<string, unknown>;
      const pid = str(p.id);
      if (pid === '') continue;
      const pv = m.get(pid) ?? emptyServer(pid, now);
      m.set(pid, {
        ...pv,
        matchIndex: num(p.matchIndex),
        lag: num(p.lag),
        voter: p.voter !== false,
        ...(pid !== id ? { role: pv.role === 'leader' || pv.role === '' ? 'follower' : pv.role, term: Math.max(pv.term, term), leader: id } : {}),
      });
    }
  }
  const leaderAddr = str(o.payload.leaderAddr);
  if (leader !== '' && leaderAddr !== '') d.leaderAddr = leaderAddr;
  const currentLeader = d.leader ?? s.leader;
  if (leader !== '' && leader !== currentLeader) {
    d.leader = leader;
    d.log.push({ at: o.time, topic: 'Raft', text: `leader is now ${leader} (term ${term})` });
  } else if (prev.role !== role && prev.role !== '') {
    d.log.push({ at: o.time, topic: 'Raft', text: `${id} is now ${role} (term ${term})` });
  }
}

function memberEvent(s: TopState, d: Draft, o: OpsEvent, now: number): void {
  const m = servers(s, d);
  const name = str(o.payload.name) || o.key;
  const status = str(o.payload.status) || o.type.replace(/^Member/, '').toLowerCase();
  const prev = m.get(name) ?? emptyServer(name, now);
  m.set(name, { ...prev, member: status, seenAt: now });
  if (prev.member !== status) d.log.push({ at: o.time, topic: 'Member', text: `${name} is ${status}` });
}

function appendLog(s: TopState, lines: readonly Omit<LogLine, 'id'>[]): TopState {
  if (lines.length === 0) return s;
  let id = s.nextLogId;
  const added = lines.map((l) => ({ ...l, id: id++ }));
  const log = s.log.length + added.length > Limits.logLines ? [...s.log, ...added].slice(-Limits.logLines) : [...s.log, ...added];
  return { ...s, log, nextLogId: id };
}
