/**
 * Keys are data: one table of bindings (shown by `?`), and one pure function that turns a key
 * press into reducer actions and, for operator actions, a description of what to run. The Ink
 * layer only names the key (`tab`, `up`, `d`, ...) and carries out what comes back.
 */
import type { Action } from './reducer.js';
import type { OperatorAction, PanelId, TopState } from './state.js';
import { Panels } from './state.js';
import { allocsOf, evalRows, jobRows, nodeRows, rowCount, selected, serverRows } from './selectors.js';

export interface Binding {
  keys: readonly string[];
  help: string;
  /** Panels where it applies (none = everywhere). */
  panels?: readonly PanelId[];
  /** Changes the cluster: disabled by --read-only. */
  acts?: boolean;
}

export const Bindings: readonly Binding[] = [
  { keys: ['tab', 'shift-tab'], help: 'next / previous panel' },
  { keys: ['1', '2', '3', '4', '5'], help: 'Servers, Nodes, Jobs, Evaluations, Events' },
  { keys: ['up', 'down', 'k', 'j'], help: 'move the selection' },
  { keys: ['pageup', 'pagedown'], help: 'move the selection by a page' },
  { keys: ['[', ']'], help: 'previous / next allocation of the selected job or node' },
  { keys: ['/'], help: 'filter the panel (enter keeps, esc clears)' },
  { keys: ['?'], help: 'this help' },
  { keys: ['d'], help: 'drain the selected node (asks for a deadline, confirms); again to stop draining', panels: ['nodes'], acts: true },
  { keys: ['e'], help: 'toggle the selected node\'s scheduling eligibility', panels: ['nodes'], acts: true },
  { keys: ['t'], help: 'transfer leadership to the selected server (shows its lag, confirms)', panels: ['servers'], acts: true },
  { keys: ['s'], help: 'stop the selected job (confirms)', panels: ['jobs'], acts: true },
  { keys: ['l'], help: 'tail the logs of the selected allocation', panels: ['jobs', 'nodes'] },
  { keys: ['q'], help: 'quit (esc closes a dialog)' },
];

export interface KeyResult {
  actions: Action[];
  /** An operator action confirmed by the user: carry it out. */
  run?: OperatorAction;
  quit?: boolean;
}

const none: KeyResult = { actions: [] };

/** The command line that does the same as an operator action. */
export function commandLine(a: OperatorAction): string {
  switch (a.kind) {
    case 'drain':
      return `nomadts node drain -enable -deadline ${a.deadline} ${a.nodeId}`;
    case 'drain-disable':
      return `nomadts node drain -disable ${a.nodeId}`;
    case 'eligibility':
      return `nomadts node eligibility ${a.eligible ? '-enable' : '-disable'} ${a.nodeId}`;
    case 'transfer-leadership':
      return `nomadts operator raft transfer-leadership -peer-id ${a.serverId}`;
    case 'stop-job':
      return `nomadts job stop${a.namespace !== 'default' ? ` -namespace ${a.namespace}` : ''} ${a.jobId}`;
    case 'logs':
      return `nomadts alloc logs -f ${a.allocId} ${a.task}`;
  }
}

/** A Go-style duration (`1h`, `30m`, `1h30m`, `90s`) in milliseconds, or an error message. */
export function parseDeadline(text: string): number | string {
  const t = text.trim();
  if (t === '') return 'a deadline is required, e.g. 1h, 30m or 90s';
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    at = re.lastIndex;
  }
  if (at !== t.length || at === 0) return `"${t}" is not a duration (use e.g. 1h, 30m, 90s or 1h30m)`;
  if (total <= 0) return 'the deadline must be longer than 0';
  return total;
}

function pageSize(s: TopState): number {
  return Math.max(1, s.ui.rows - 8);
}

export function handleKey(s: TopState, key: string): KeyResult {
  const m = s.ui.modal;
  if (m !== null) return modalKey(s, key);
  if (s.ui.filtering) return filterKey(s, key);
  if (s.ui.help) return key === 'q' ? { actions: [], quit: true } : { actions: [{ type: 'help', show: false }] };
  const count = rowCount(s, s.ui.focus);
  // The event log reads upwards from the newest line: "up" goes back in time.
  const dir = s.ui.focus === 'events' ? -1 : 1;
  switch (key) {
    case 'q':
      return { actions: [], quit: true };
    case 'tab':
      return { actions: [{ type: 'focus-step', delta: 1 }] };
    case 'shift-tab':
      return { actions: [{ type: 'focus-step', delta: -1 }] };
    case 'up':
    case 'k':
      return { actions: [{ type: 'move', delta: -dir, count }] };
    case 'down':
    case 'j':
      return { actions: [{ type: 'move', delta: dir, count }] };
    case 'pageup':
      return { actions: [{ type: 'move', delta: -dir * pageSize(s), count }] };
    case 'pagedown':
      return { actions: [{ type: 'move', delta: dir * pageSize(s), count }] };
    case '[':
    case ']':
      return { actions: [{ type: 'alloc-step', delta: key === ']' ? 1 : -1 }] };
    case '/':
      return { actions: [{ type: 'filter-start' }] };
    case '?':
      return { actions: [{ type: 'help', show: true }] };
    case 'escape':
      return s.ui.filter !== '' ? { actions: [{ type: 'filter-end', keep: false }] } : none;
    default:
      break;
  }
  if (/^[1-5]$/.test(key)) return { actions: [{ type: 'focus', panel: Panels[Number(key) - 1]! }] };
  return panelKey(s, key);
}

function refuse(s: TopState, text: string): KeyResult {
  return { actions: [{ type: 'notice', notice: { level: 'error', text, command: '' }, now: s.now }] };
}

function confirm(title: string, action: OperatorAction): KeyResult {
  return { actions: [{ type: 'modal', modal: { kind: 'confirm', title, command: commandLine(action), action } }] };
}

function panelKey(s: TopState, key: string): KeyResult {
  const binding = Bindings.find((b) => b.keys.includes(key));
  if (binding === undefined) return none;
  if (binding.panels !== undefined && !binding.panels.includes(s.ui.focus)) return none;
  if (binding.acts === true && s.ui.readOnly) return refuse(s, 'read-only console: actions are disabled (started with --read-only)');
  const sel = s.ui.selected[s.ui.focus];
  switch (key) {
    case 'd': {
      const n = selected(nodeRows(s), sel);
      if (n === undefined) return refuse(s, 'no node selected');
      if (n.draining) return confirm(`Stop draining ${n.name}? It stays ineligible.`, { kind: 'drain-disable', nodeId: n.id, nodeName: n.name });
      return { actions: [{ type: 'modal', modal: { kind: 'prompt', title: `Drain ${n.name}: its allocations migrate to other nodes`, label: 'deadline', value: '1h', next: 'drain-deadline', nodeId: n.id } }] };
    }
    case 'e': {
      const n = selected(nodeRows(s), sel);
      if (n === undefined) return refuse(s, 'no node selected');
      const eligible = n.eligibility !== 'eligible';
      return confirm(`Make ${n.name} ${eligible ? 'eligible' : 'ineligible'} for scheduling?`, { kind: 'eligibility', nodeId: n.id, nodeName: n.name, eligible });
    }
    case 't': {
      const x = selected(serverRows(s), sel);
      if (x === undefined) return refuse(s, 'no server selected');
      if (x.isLeader) return refuse(s, `${x.id} is already the leader`);
      return confirm(`Transfer leadership to ${x.id}? Its match index is ${x.matchIndex}, ${x.lag} entries behind the leader.`, { kind: 'transfer-leadership', serverId: x.id });
    }
    case 's': {
      const j = selected(jobRows(s), sel);
      if (j === undefined) return refuse(s, 'no job selected');
      if (j.stop) return refuse(s, `job ${j.id} is already stopped`);
      return confirm(`Stop job ${j.id}? Its allocations are stopped.`, { kind: 'stop-job', namespace: j.namespace, jobId: j.id });
    }
    case 'l': {
      const allocs = s.ui.focus === 'jobs' ? allocsOf(s, { jobKey: selected(jobRows(s), sel)?.key ?? '' }) : allocsOf(s, { nodeId: selected(nodeRows(s), sel)?.id ?? '' });
      const a = selected(allocs, s.ui.allocCursor);
      if (a === undefined) return refuse(s, 'no allocation to tail here');
      const task = a.tasks[0];
      if (task === undefined) return refuse(s, `allocation ${a.name} has no tasks`);
      const action: OperatorAction = { kind: 'logs', allocId: a.id, task };
      return {
        actions: [
          { type: 'modal', modal: { kind: 'logs', allocId: a.id, task, lines: [] } },
          { type: 'notice', notice: { level: 'info', text: `tailing ${a.name} ${task}`, command: commandLine(action) }, now: s.now },
        ],
        run: action,
      };
    }
    default:
      return none;
  }
}

function modalKey(s: TopState, key: string): KeyResult {
  const m = s.ui.modal!;
  switch (m.kind) {
    case 'confirm':
      if (key === 'y' || key === 'return') return { actions: [{ type: 'modal', modal: null }], run: m.action };
      if (key === 'n' || key === 'escape' || key === 'q') return { actions: [{ type: 'modal', modal: null }] };
      return none;
    case 'logs':
      if (key === 'escape' || key === 'q' || key === 'l') return { actions: [{ type: 'modal', modal: null }] };
      return none;
    case 'prompt': {
      if (key === 'escape') return { actions: [{ type: 'modal', modal: null }] };
      if (key === 'backspace') return { actions: [{ type: 'modal', modal: { ...m, value: m.value.slice(0, -1) } }] };
      if (key === 'return') {
        const ms = parseDeadline(m.value);
        if (typeof ms === 'string') return refuse(s, `drain deadline: ${ms}`);
        const n = s.nodes.get(m.nodeId);
        const name = n?.name ?? m.nodeId;
        return confirm(`Drain ${name} with a ${m.value.trim()} deadline?`, { kind: 'drain', nodeId: m.nodeId, nodeName: name, deadline: m.value.trim() });
      }
      if (key.length === 1 && /[0-9a-z.]/.test(key)) return { actions: [{ type: 'modal', modal: { ...m, value: m.value + key } }] };
      return none;
    }
  }
}

function filterKey(s: TopState, key: string): KeyResult {
  if (key === 'return') return { actions: [{ type: 'filter-end', keep: true }] };
  if (key === 'escape') return { actions: [{ type: 'filter-end', keep: false }] };
  if (key === 'backspace') return { actions: [{ type: 'filter-text', text: s.ui.filter.slice(0, -1) }] };
  if (key.length === 1) return { actions: [{ type: 'filter-text', text: s.ui.filter + key }] };
  return none;
}

/** The evaluation shown in detail (the selected one in the Evaluations panel). */
export function selectedEval(s: TopState): ReturnType<typeof evalRows>[number] | undefined {
  return selected(evalRows(s), s.ui.selected.evals);
}
