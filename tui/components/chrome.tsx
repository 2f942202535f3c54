/**
 * The frame around the panels: the header (cluster summary), the tabs, the footer (the last
 * action and its command line, or the filter being typed) and the overlays (help, confirm,
 * deadline prompt, log tail). Exactly one line each, so the screen height is fixed.
 */
import React from 'react';
import { Box, Text } from 'ink';
import { Bindings } from '../model/index.js';
import { summary } from '../model/index.js';
import type { TopState } from '../model/index.js';
import { PanelTitles, Panels } from '../model/index.js';
import type { Line } from './panels.js';
import { Lines } from './panels.js';
import { fit } from './text.js';

export function Header({ s, width }: { s: TopState; width: number }): React.ReactElement {
  const x = summary(s);
  const conn = s.connection.status === 'live' ? '● live' : s.connection.status === 'connecting' ? '◌ connecting' : '✕ disconnected';
  const text = `nomadts top${s.ui.readOnly ? ' [read-only]' : ''}  ${conn} ${s.connection.address}  leader ${x.leader || '-'} term ${x.term}  nodes ${x.nodesReady}/${x.nodes}  jobs ${x.jobs}  running ${x.allocsRunning}  queue ${x.broker.ready}r ${x.broker.unacked}u ${x.broker.blocked}b  idx ${s.index}`;
  return (
    <Text wrap="truncate" bold color={s.connection.status === 'live' ? 'green' : 'red'}>
      {fit(text, width)}
    </Text>
  );
}

export function Tabs({ s, width }: { s: TopState; width: number }): React.ReactElement {
  let used = 0;
  const tabs = Panels.map((p, i) => {
    const label = ` ${i + 1} ${PanelTitles[p]} `;
    used += label.length + 1;
    return (
      <Text key={p} inverse={s.ui.focus === p} bold={s.ui.focus === p}>
        {label}
      </Text>
    );
  });
  return (
    <Box width={width}>
      {tabs}
      <Text>{' '.repeat(Math.max(0, width - used))}</Text>
    </Box>
  );
}

export function Footer({ s, width }: { s: TopState; width: number }): React.ReactElement {
  if (s.ui.filtering) return <Text wrap="truncate">{fit(`/${s.ui.filter}▏  (enter keeps the filter, esc clears it)`, width)}</Text>;
  const n = s.ui.notice;
  if (n !== null && s.now - n.at < 30_000) {
    return (
      <Text wrap="truncate" color={n.level === 'error' ? 'red' : 'green'}>
        {fit(`${n.text}${n.command !== '' ? `   $ ${n.command}` : ''}`, width)}
      </Text>
    );
  }
  const hint = s.ui.filter !== '' ? `filter: ${s.ui.filter}  (esc clears)  ` : '';
  return (
    <Text wrap="truncate" dimColor>
      {fit(`${hint}tab panels  ↑↓ select  / filter  ? help  d drain  e eligibility  t leader  s stop  l logs  q quit`, width)}
    </Text>
  );
}

/** A long line broken into lines of at most `width` (a command line must be read whole). */
function wrap(l: Line, width: number): Line[] {
  if (l.text.length <= width) return [l];
  const out: Line[] = [];
  for (let i = 0; i < l.text.length; i += width) out.push({ ...l, text: l.text.slice(i, i + width) });
  return out;
}

/** A box over the body, `height` lines tall. */
function Overlay({ title, lines, width, height }: { title: string; lines: readonly Line[]; width: number; height: number }): React.ReactElement {
  const inner = Math.max(10, width - 4);
  const all: Line[] = [...wrap({ text: title, bold: true }, inner), { text: '─'.repeat(inner), dim: true }, ...lines.flatMap((l) => wrap(l, inner))];
  return (
    <Box borderStyle="round" flexDirection="column" width={width} height={height}>
      <Lines lines={all} width={inner} height={Math.max(1, height - 2)} />
    </Box>
  );
}

export function HelpOverlay({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  const lines: Line[] = Bindings.map((b) => ({
    text: `${b.keys.join(' ').padEnd(18)} ${b.acts === true && s.ui.readOnly ? '[disabled] ' : ''}${b.help}${b.panels !== undefined ? `  (${b.panels.join(', ')})` : ''}`,
    ...(b.acts === true && s.ui.readOnly ? { dim: true } : {}),
  }));
  lines.push({ text: '' }, { text: 'Every action shows the nomadts command line that does the same. Any key closes this help.', dim: true });
  return <Overlay title="Keys" lines={lines} width={width} height={height} />;
}

export function ModalOverlay({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement | null {
  const m = s.ui.modal;
  if (m === null) return null;
  switch (m.kind) {
    case 'confirm':
      return <Overlay title={m.title} lines={[{ text: '' }, { text: `$ ${m.command}`, color: 'cyan' }, { text: '' }, { text: 'y / enter: do it     n / esc: cancel', bold: true }]} width={width} height={Math.min(height, 10)} />;
    case 'prompt':
      return (
        <Overlay
          title={m.title}
          lines={[{ text: '' }, { text: `${m.label}: ${m.value}▏`, bold: true }, { text: '' }, { text: 'a duration such as 1h, 30m, 90s; enter to continue, esc to cancel', dim: true }]}
          width={width}
          height={Math.min(height, 8)}
        />
      );
    case 'logs': {
      const room = Math.max(1, height - 4);
      const lines: Line[] = m.lines.slice(-room).map((l) => ({ text: l }));
      if (lines.length === 0) lines.push({ text: '(waiting for output)', dim: true });
      return <Overlay title={`logs of ${m.allocId.slice(0, 8)} ${m.task} (following; esc closes)`} lines={lines} width={width} height={height} />;
    }
  }
}
