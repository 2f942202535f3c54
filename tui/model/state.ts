/**
 * The console's state: what `nomadts top` knows about the cluster, and where the operator is.
 * Plain immutable data, changed only by the reducer (reducer.ts); components only render it
 * through the selectors (selectors.ts).
 */
import type { AllocClientStatus, AllocDesiredStatus, EvalStatus, JobType, NodeStatus, SchedulingEligibility } from '../../agent/core/structs/index.js';

export const Panels = ['servers', 'nodes', 'jobs', 'evals', 'events'] as const;
export type PanelId = (typeof Panels)[number];

export const PanelTitles: Readonly<Record<PanelId, string>> = {
  servers: 'Servers',
  nodes: 'Nodes',
  jobs: 'Jobs',
  evals: 'Evaluations',
  events: 'Events',
};

export interface PeerView {
  id: string;
  matchIndex: number;
  lag: number;
  voter: boolean;
}

export interface ServerView {
  id: string;
  /** leader | follower | candidate | pre-candidate | learner, as the server last said. */
  role: string;
  term: number;
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  /** The leader's view of this server's replication (match index, lag, voter). */
  matchIndex: number;
  lag: number;
  voter: boolean;
  /** Gossip status (alive, suspect, failed, left), when gossip reports it. */
  member: string;
  /** Console time of the last report about this server. */
  seenAt: number;
}

/** The parts of an allocation the console counts. */
export interface AllocView {
  id: string;
  name: string;
  namespace: string;
  jobId: string;
  taskGroup: string;
  nodeId: string;
  evalId: string;
  desiredStatus: AllocDesiredStatus;
  clientStatus: AllocClientStatus;
  cpu: number;
  memoryMB: number;
  tasks: string[];
}

export interface NodeView {
  id: string;
  name: string;
  datacenter: string;
  nodeClass: string;
  status: NodeStatus;
  eligibility: SchedulingEligibility;
  draining: boolean;
  /** Unix ms deadline of the drain (0 = none or no deadline). */
  drainDeadline: number;
  cpuTotal: number;
  memoryTotalMB: number;
  /** Measured use reported by the client, when it reports it. */
  cpuUsed: number | null;
  memoryUsedMB: number | null;
}

export interface DrainProgress {
  migrated: number;
  remaining: number;
  deadline: number;
  done: boolean;
}

export interface JobView {
  /** `namespace/id`. */
  key: string;
  id: string;
  namespace: string;
  type: JobType;
  status: string;
  priority: number;
  stop: boolean;
  groups: { name: string; count: number }[];
}

export type EvalStepKind = 'created' | 'enqueued' | 'dequeued' | 'plan-submitted' | 'applied' | 'partly-rejected' | 'acked' | 'nacked' | 'blocked' | 'cancelled' | 'complete' | 'failed';

export interface EvalStep {
  kind: EvalStepKind;
  at: number;
  /** Who or what: the worker, placements, the rejection reason. */
  detail: string;
}

export interface NodeScore {
  nodeId: string;
  normScore: number;
  scores: Record<string, number>;
}

export interface EvalView {
  id: string;
  namespace: string;
  jobId: string;
  type: string;
  triggeredBy: string;
  status: EvalStatus | '';
  statusDescription: string;
  createdAt: number;
  steps: EvalStep[];
  /** Per task group: why placements failed (filtered and exhausted reasons). */
  failures: { group: string; reasons: string[] }[];
  scores: NodeScore[];
  rejected: { nodeId: string; reason: string }[];
}

export interface LogLine {
  id: number;
  at: number;
  topic: string;
  text: string;
}

export type Modal =
  | { kind: 'confirm'; title: string; command: string; action: OperatorAction }
  | { kind: 'prompt'; title: string; label: string; value: string; next: 'drain-deadline'; nodeId: string }
  | { kind: 'logs'; allocId: string; task: string; lines: string[] };

/** What an operator asked the console to do; the effects layer (tui/actions.ts) carries it out. */
export type OperatorAction =
  | { kind: 'drain'; nodeId: string; nodeName: string; deadline: string }
  | { kind: 'drain-disable'; nodeId: string; nodeName: string }
  | { kind: 'eligibility'; nodeId: string; nodeName: string; eligible: boolean }
  | { kind: 'transfer-leadership'; serverId: string }
  | { kind: 'stop-job'; namespace: string; jobId: string }
  | { kind: 'logs'; allocId: string; task: string };

export interface Notice {
  level: 'info' | 'error';
  text: string;
  /** The equivalent `nomadts ...` command line, shown with every action. */
  command: string;
  at: number;
}

export interface Counters {
  stateEvents: number;
  opsEvents: number;
  lostState: number;
  lostOps: number;
}

export interface TopState {
  connection: { status: 'connecting' | 'live' | 'error'; address: string; error: string };
  /** Highest state index seen (snapshot or event). */
  index: number;
  now: number;
  servers: ReadonlyMap<string, ServerView>;
  leader: string;
  /** The leader's RPC address as the servers report it ('' unknown): the feed follows it. */
  leaderAddr: string;
  nodes: ReadonlyMap<string, NodeView>;
  drains: ReadonlyMap<string, DrainProgress>;
  jobs: ReadonlyMap<string, JobView>;
  allocs: ReadonlyMap<string, AllocView>;
  evals: ReadonlyMap<string, EvalView>;
  broker: { ready: number; unacked: number; blocked: number; pending: number; delayed: number; failed: number };
  log: readonly LogLine[];
  nextLogId: number;
  counters: Counters;
  ui: {
    focus: PanelId;
    selected: Readonly<Record<PanelId, number>>;
    /** Which allocation of the selected job or node `l` tails (cycled with [ and ]). */
    allocCursor: number;
    filter: string;
    filtering: boolean;
    help: boolean;
    modal: Modal | null;
    notice: Notice | null;
    readOnly: boolean;
    cols: number;
    rows: number;
  };
}

/** How many event-log lines and evaluations the console keeps (memory stays bounded). */
export const Limits = { logLines: 500, evals: 300, logTail: 200 } as const;

export function initialState(opts: { address: string; readOnly: boolean; cols: number; rows: number; now: number }): TopState {
  return {
    connection: { status: 'connecting', address: opts.address, error: '' },
    index: 0,
    now: opts.now,
    servers: new Map(),
    leader: '',
    leaderAddr: '',
    nodes: new Map(),
    drains: new Map(),
    jobs: new Map(),
    allocs: new Map(),
    evals: new Map(),
    broker: { ready: 0, unacked: 0, blocked: 0, pending: 0, delayed: 0, failed: 0 },
    log: [],
    nextLogId: 1,
    counters: { stateEvents: 0, opsEvents: 0, lostState: 0, lostOps: 0 },
    ui: {
      focus: 'evals',
      selected: { servers: 0, nodes: 0, jobs: 0, evals: 0, events: 0 },
      allocCursor: 0,
      filter: '',
      filtering: false,
      help: false,
      modal: null,
      notice: null,
      readOnly: opts.readOnly,
      cols: opts.cols,
      rows: opts.rows,
    },
  };
}
