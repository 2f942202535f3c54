/**
 * The five panels. Each draws a list (the selected row inverted) and a detail of the selected
 * row, in exactly `height` lines of `width` columns: the screen never scrolls, so it never
 * flickers. Components only render; every figure comes from the selectors.
 */
import React from 'react';
import { Box, Text } from 'ink';
import type { TopState } from '../model/index.js';
import type { EvalView } from '../model/index.js';
import { allocsOf, evalRows, jobRows, logRows, nodeRows, selected, serverRows } from '../model/index.js';
import { ago, bar, clockTime, columns, delta, fit, pct } from './text.js';

export interface Line {
  text: string;
  color?: string;
  bold?: boolean;
  inverse?: boolean;
  dim?: boolean;
}

export function Lines({ lines, width, height }: { lines: readonly Line[]; width: number; height: number }): React.ReactElement {
  const shown = lines.slice(0, height);
  while (shown.length < height) shown.push({ text: '' });
  return (
    <Box flexDirection="column" width={width} height={height}>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate" {...(l.color !== undefined ? { color: l.color } : {})} bold={l.bold === true} inverse={l.inverse === true} dimColor={l.dim === true}>
          {fit(l.text, width)}
        </Text>
      ))}
    </Box>
  );
}

/** The rows of a list that fit in `height`, scrolled so the selection shows. */
export function windowed<T>(rows: readonly T[], sel: number, height: number): { rows: readonly T[]; offset: number } {
  if (rows.length <= height) return { rows, offset: 0 };
  const s = Math.min(Math.max(0, sel), rows.length - 1);
  const offset = Math.min(Math.max(0, s - height + 1), rows.length - height);
  const start = s < offset ? s : offset;
  return { rows: rows.slice(start, start + height), offset: start };
}

function list<T>(header: string, rows: readonly T[], sel: number, height: number, render: (r: T) => Line): Line[] {
  const out: Line[] = [{ text: header, bold: true, dim: false }];
  if (rows.length === 0) {
    out.push({ text: '  (none)', dim: true });
    return out;
  }
  const clamped = Math.min(Math.max(0, sel), rows.length - 1);
  const w = windowed(rows, clamped, Math.max(1, height - 1));
  w.rows.forEach((r, i) => {
    const l = render(r);
    out.push(w.offset + i === clamped ? { ...l, inverse: true } : l);
  });
  return out;
}

/**
 * Splits the body into list and detail heights: the list takes what its rows need (with its
 * header), up to 60% of the body; the detail of the selected row gets the rest.
 */
export function split(height: number, listRows: number): { list: number; detail: number } {
  const most = Math.max(2, Math.floor(height * 0.6));
  const list = Math.min(most, Math.max(2, listRows + 1));
  return { list, detail: Math.max(0, height - list) };
}

export function ServersPanel({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  const rows = serverRows(s);
  const h = split(height, rows.length);
  const W = [18, 11, 6, 9, 9, 9, 7, 6];
  const head = columns(['SERVER', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'MATCH', 'LAG', 'VOTER', 'GOSSIP'], W, width);
  const lines = list(head, rows, s.ui.selected.servers, h.list, (r) => ({
    text: columns([`${r.isLeader ? '★ ' : '  '}${r.id}`, r.role || '?', String(r.term), String(r.commitIndex), String(r.appliedIndex), String(r.matchIndex), String(r.lag), r.voter ? 'yes' : 'no', r.member || '-'], W, width),
    ...(r.role === 'leader' ? { color: 'green' } : r.member === 'failed' ? { color: 'red' } : r.member === 'suspect' ? { color: 'yellow' } : {}),
  }));
  const x = selected(rows, s.ui.selected.servers);
  const detail: Line[] = [{ text: '─'.repeat(width), dim: true }];
  if (x !== undefined) {
    detail.push({ text: `${x.id}: ${x.role || 'unknown role'} in term ${x.term}${x.leader !== '' ? `, leader ${x.leader}` : ''}`, bold: true });
    detail.push({ text: `commit ${x.commitIndex}  applied ${x.appliedIndex}  match ${x.matchIndex}  lag ${x.lag} entries  ${x.voter ? 'voter' : 'non-voter'}` });
    detail.push({ text: `gossip ${x.member || 'not reported'}   last report ${ago(s.now, x.seenAt)} ago` });
    if (!x.isLeader) detail.push({ text: 't: transfer leadership here', dim: true });
  }
  return (
    <Box flexDirection="column">
      <Lines lines={lines} width={width} height={h.list} />
      <Lines lines={detail} width={width} height={h.detail} />
    </Box>
  );
}

export function NodesPanel({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  const rows = nodeRows(s);
  const h = split(height, rows.length);
  const barW = width >= 110 ? 16 : 8;
  const W = [16, 9, 6, 14, barW + 6, barW + 6];
  const head = columns(['NODE', 'STATUS', 'ELIG', 'DRAIN', 'CPU', 'MEMORY', 'ALLOCS'], W, width);
  const lines = list(head, rows, s.ui.selected.nodes, h.list, (n) => {
    const drain = n.drain !== undefined ? (n.drain.done ? 'done' : `${n.drain.migrated}✓ ${n.drain.remaining} left`) : n.draining ? 'draining' : '-';
    return {
      text: columns(
        [
          n.name,
          n.status,
          n.eligibility === 'eligible' ? 'yes' : 'no',
          drain,
          `${bar(n.cpuAllocated, n.cpuUsed, n.cpuTotal, barW)}${pct(n.cpuAllocated, n.cpuTotal)}`,
          `${bar(n.memoryAllocatedMB, n.memoryUsedMB, n.memoryTotalMB, barW)}${pct(n.memoryAllocatedMB, n.memoryTotalMB)}`,
          `${n.allocsRunning}/${n.allocsLive}`,
        ],
        W,
        width,
      ),
      ...(n.status !== 'ready' ? { color: 'red' } : n.draining ? { color: 'yellow' } : n.eligibility !== 'eligible' ? { color: 'gray' } : {}),
    };
  });
  const n = selected(rows, s.ui.selected.nodes);
  const detail: Line[] = [{ text: '─'.repeat(width), dim: true }];
  if (n !== undefined) {
    detail.push({ text: `${n.name} ${n.id.slice(0, 8)}  dc ${n.datacenter}  class ${n.nodeClass || '-'}  ${n.status}, ${n.eligibility}`, bold: true });
    detail.push({
      text: `cpu ${n.cpuAllocated}/${n.cpuTotal} MHz allocated${n.cpuUsed !== null ? `, ${Math.round(n.cpuUsed)} used` : ''}   memory ${n.memoryAllocatedMB}/${n.memoryTotalMB} MiB${n.memoryUsedMB !== null ? `, ${Math.round(n.memoryUsedMB)} used` : ''}   █ used ▒ allocated`,
    });
    if (n.drain !== undefined || n.draining) {
      const dl = n.drain?.deadline ?? n.drainDeadline;
      detail.push({ text: `drain: ${n.drain?.migrated ?? 0} migrated, ${n.drain?.remaining ?? '?'} remaining${dl > 0 ? `, deadline in ${ago(dl, s.now)}` : ''}${n.drain?.done === true ? ' — complete' : ''}`, color: 'yellow' });
    }
    detail.push(...allocLines(allocsOf(s, { nodeId: n.id }), s.ui.allocCursor));
  }
  return (
    <Box flexDirection="column">
      <Lines lines={lines} width={width} height={h.list} />
      <Lines lines={detail} width={width} height={h.detail} />
    </Box>
  );
}

function allocLines(allocs: ReturnType<typeof allocsOf>, cursor: number): Line[] {
  const c = Math.min(cursor, Math.max(0, allocs.length - 1));
  return allocs.map((a, i) => ({
    text: `${i === c ? '▸' : ' '} ${a.id.slice(0, 8)} ${a.name}  ${a.desiredStatus}/${a.clientStatus}  cpu ${a.cpu} mem ${a.memoryMB}`,
    ...(a.clientStatus === 'failed' || a.clientStatus === 'lost' ? { color: 'red' } : a.clientStatus === 'running' ? { color: 'green' } : {}),
  }));
}

export function JobsPanel({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  const rows = jobRows(s);
  const h = split(height, rows.length);
  const W = [20, 9, 9, 5];
  const head = columns(['JOB', 'TYPE', 'STATUS', 'PRI', 'GROUPS  desired/placed/running/failed'], W, width);
  const lines = list(head, rows, s.ui.selected.jobs, h.list, (j) => ({
    text: columns([j.id, j.type, j.status, String(j.priority), j.groupRows.map((g) => `${g.name} ${g.desired}/${g.placed}/${g.running}/${g.failed}`).join('  ')], W, width),
    ...(j.groupRows.some((g) => g.failed > 0) ? { color: 'red' } : j.stop ? { color: 'gray' } : j.groupRows.every((g) => g.running >= g.desired) ? { color: 'green' } : {}),
  }));
  const j = selected(rows, s.ui.selected.jobs);
  const detail: Line[] = [{ text: '─'.repeat(width), dim: true }];
  if (j !== undefined) {
    detail.push({ text: `${j.id} (${j.namespace})  ${j.type}, ${j.status}, priority ${j.priority}`, bold: true });
    for (const g of j.groupRows) detail.push({ text: `  group ${g.name}: desired ${g.desired}  placed ${g.placed}  running ${g.running}  failed ${g.failed}` });
    detail.push(...allocLines(allocsOf(s, { jobKey: j.key }), s.ui.allocCursor));
  }
  return (
    <Box flexDirection="column">
      <Lines lines={lines} width={width} height={h.list} />
      <Lines lines={detail} width={width} height={h.detail} />
    </Box>
  );
}

const stepLabel: Record<EvalView['steps'][number]['kind'], string> = {
  created: 'created',
  enqueued: 'enqueued',
  dequeued: 'dequeued',
  'plan-submitted': 'plan',
  applied: 'applied',
  'partly-rejected': 'partly rejected',
  acked: 'acked',
  nacked: 'nacked',
  blocked: 'blocked',
  cancelled: 'cancelled',
  complete: 'complete',
  failed: 'failed',
};

/** `created → enqueued → dequeued(worker-0) → plan → applied  +14ms`. */
export function timeline(e: EvalView): string {
  const parts = e.steps.map((st) => (st.kind === 'dequeued' && st.detail !== '' ? `dequeued(${st.detail})` : stepLabel[st.kind]));
  const first = e.steps[0]?.at ?? 0;
  const last = e.steps[e.steps.length - 1]?.at ?? 0;
  return `${parts.join(' → ')}  ${delta(last - first)}`;
}

function evalColor(e: EvalView): Partial<Line> {
  if (e.status === 'failed' || e.steps.some((st) => st.kind === 'nacked')) return { color: 'red' };
  if (e.status === 'blocked' || e.steps.some((st) => st.kind === 'partly-rejected')) return { color: 'yellow' };
  if (e.status === 'canceled') return { color: 'gray' };
  if (e.status === 'complete') return { color: 'green' };
  return {};
}

export function EvalsPanel({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  const rows = evalRows(s);
  const h = split(height, rows.length);
  const W = [13, 9, 16, 15, 10];
  const head = columns(['TIME', 'EVAL', 'JOB', 'TRIGGER', 'STATUS', 'TIMELINE'], W, width);
  const lines = list(head, rows, s.ui.selected.evals, h.list, (e) => ({
    text: columns([clockTime(e.createdAt), e.id.slice(0, 8), e.jobId, e.triggeredBy, e.status || '…', timeline(e)], W, width),
    ...evalColor(e),
  }));
  const e = selected(rows, s.ui.selected.evals);
  const detail: Line[] = [{ text: '─'.repeat(width), dim: true }];
  if (e !== undefined) {
    detail.push({ text: `evaluation ${e.id}  job ${e.jobId}  ${e.type}  ${e.status}${e.statusDescription !== '' ? `: ${e.statusDescription}` : ''}`, bold: true });
    let prev = e.steps[0]?.at ?? 0;
    const steps = e.steps.map((st) => {
      const t = `${clockTime(st.at)} ${delta(st.at - prev).padStart(7)}  ${stepLabel[st.kind]}${st.detail !== '' ? ` — ${st.detail}` : ''}`;
      prev = st.at;
      return { text: `  ${t}` };
    });
    detail.push(...steps);
    for (const f of e.failures) {
      detail.push({ text: `  group ${f.group} could not be placed:`, color: 'red' });
      for (const r of f.reasons) detail.push({ text: `    ${r}`, color: 'red' });
    }
    for (const r of e.rejected) detail.push({ text: `  plan refused on node ${r.nodeId.slice(0, 8)}: ${r.reason}`, color: 'yellow' });
    if (e.scores.length > 0) detail.push({ text: '  top node scores:', dim: true });
    for (const sc of e.scores) {
      const parts = Object.entries(sc.scores).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ');
      detail.push({ text: `    ${sc.nodeId.slice(0, 8)} ${sc.normScore.toFixed(3)}  (${parts})` });
    }
  }
  return (
    <Box flexDirection="column">
      <Lines lines={lines} width={width} height={h.list} />
      <Lines lines={detail} width={width} height={h.detail} />
    </Box>
  );
}

const topicColor: Record<string, string> = { Raft: 'magenta', Member: 'magenta', Broker: 'cyan', Plan: 'blue', Drain: 'yellow', Action: 'green', Console: 'gray' };

export function EventsPanel({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  const rows = logRows(s);
  // The log follows the newest line unless the operator moved up into it.
  const sel = s.ui.focus === 'events' && s.ui.selected.events > 0 ? Math.max(0, rows.length - 1 - s.ui.selected.events) : rows.length - 1;
  const w = windowed(rows, sel, height);
  const lines: Line[] = w.rows.map((l) => ({ text: `${clockTime(l.at)} ${l.topic.padEnd(10)} ${l.text}`, ...(topicColor[l.topic] !== undefined ? { color: topicColor[l.topic] } : {}) }));
  return <Lines lines={lines} width={width} height={height} />;
}
