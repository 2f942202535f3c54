/**
 * Driving `nomadts top` inside a detached tmux session for the console's end-to-end tests: send
 * keys, read the screen, poll until something shows (the screen, and any other context given,
 * go into the failure message).
 */
import { execFileSync } from 'node:child_process';
import { pollUntil } from './e2e.js';

export interface TmuxScreen {
  tmux(...args: string[]): string;
  /** The pane's text now ('' when the session is gone). */
  screen(): string;
  until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, tries?: number, everyMs?: number): Promise<T>;
  /** A probe for `until`: the match of `re` on the screen, or undefined. */
  onScreen(re: RegExp): () => RegExpExecArray | undefined;
}

export function tmuxScreen(session: string, env: () => NodeJS.ProcessEnv, context?: () => string): TmuxScreen {
  const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8', env: env() });
  const screen = (): string => {
    try {
      return tmux('capture-pane', '-p', '-t', session);
    } catch {
      return '';
    }
  };
  return {
    tmux,
    screen,
    until: (what, probe, tries = 160, everyMs = 250) =>
      pollUntil(what, probe, { tries, everyMs, context: () => `--- screen ---\n${screen()}${context !== undefined ? `\n${context()}` : ''}` }),
    onScreen: (re) => () => re.exec(screen()) ?? undefined,
  };
}
