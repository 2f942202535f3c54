/**
 * `nomadts top`'s root component: reads the store (useSyncExternalStore), names each key and
 * hands it to the keymap, carries out what comes back (reducer actions; operator actions and
 * quit through the callbacks), and lays the screen out to exactly the terminal's size.
 */
import React, { useEffect, useSyncExternalStore } from 'react';
import { Box, useInput, useStdout } from 'ink';
import type { Key } from 'ink';
import { handleKey } from './model/keymap.js';
import type { OperatorAction, TopState } from './model/state.js';
import type { TopStore } from './store.js';
import { Footer, Header, HelpOverlay, ModalOverlay, Tabs } from './components/chrome.js';
import { EvalsPanel, EventsPanel, JobsPanel, NodesPanel, ServersPanel } from './components/panels.js';

export interface AppProps {
  store: TopStore;
  onRun: (action: OperatorAction) => void;
  onQuit: () => void;
  /** Told each key as it arrives and what it became (`nomadts top` writes it to NOMADTS_TOP_TRACE). */
  trace?: (line: string) => void;
}

/** Ink's key → the keymap's key name. */
export function keyName(input: string, key: Key): string | undefined {
  if (key.tab) return key.shift ? 'shift-tab' : 'tab';
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.escape) return 'escape';
  if (key.return) return 'return';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input === 'c') return 'q';
  if (key.ctrl || key.meta) return undefined;
  return input.length === 1 ? input : undefined;
}

function Body({ s, width, height }: { s: TopState; width: number; height: number }): React.ReactElement {
  if (s.ui.help) return <HelpOverlay s={s} width={width} height={height} />;
  if (s.ui.modal !== null) return <ModalOverlay s={s} width={width} height={height} />;
  // Tall terminals keep a few lines of the event log under the focused panel.
  const logLines = s.ui.focus !== 'events' && height >= 30 ? 8 : 0;
  const main = height - logLines;
  const panel = (() => {
    switch (s.ui.focus) {
      case 'servers':
        return <ServersPanel s={s} width={width} height={main} />;
      case 'nodes':
        return <NodesPanel s={s} width={width} height={main} />;
      case 'jobs':
        return <JobsPanel s={s} width={width} height={main} />;
      case 'evals':
        return <EvalsPanel s={s} width={width} height={main} />;
      case 'events':
        return <EventsPanel s={s} width={width} height={main} />;
    }
  })();
  return (
    <Box flexDirection="column" height={height}>
      {panel}
      {logLines > 0 ? <EventsPanel s={s} width={width} height={logLines} /> : null}
    </Box>
  );
}

export function App({ store, onRun, onQuit, trace }: AppProps): React.ReactElement {
  const s = useSyncExternalStore((l: () => void) => store.subscribe(l), () => store.getSnapshot());
  const { stdout } = useStdout();
  useEffect(() => {
    const resize = (): void => store.dispatch({ type: 'resize', cols: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', resize);
    return () => {
      stdout.off('resize', resize);
    };
  }, [stdout, store]);
  useInput((input, key) => {
    const name = keyName(input, key);
    if (trace !== undefined) trace(`key ${JSON.stringify(input)}${key.meta ? ' meta' : ''}${key.ctrl ? ' ctrl' : ''} -> ${name ?? '(ignored)'}`);
    if (name === undefined) return;
    const r = handleKey(store.getSnapshot(), name);
    if (trace !== undefined) trace(`actions ${r.actions.map((a) => a.type).join(',') || '-'}${r.run !== undefined ? ` run ${r.run.kind}` : ''}${r.quit === true ? ' quit' : ''}`);
    if (r.actions.length > 0) store.dispatch(...r.actions);
    store.flush(); // a key press draws at once
    if (r.run !== undefined) onRun(r.run);
    if (r.quit === true) onQuit();
  });
  const width = Math.max(40, s.ui.cols);
  // One spare line: a frame as tall as the terminal makes it scroll (and flicker).
  const height = Math.max(8, s.ui.rows - 1);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header s={s} width={width} />
      <Tabs s={s} width={width} />
      <Body s={s} width={width} height={height - 3} />
      <Footer s={s} width={width} />
    </Box>
  );
}
