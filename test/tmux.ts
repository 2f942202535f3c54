/**
 * Driving `nomadts top` inside a detached tmux session for the console's end-to-end tests: send
 * keys, read the screen, poll until something shows (the screen, the console's process state and
 * key trace, and any other context given, go into the failure message).
 *
 * Each test file gets its own tmux server (a socket in its own directory): a shared server would
 * give a session started later the environment of the test that started the server (tmux builds
 * a session's environment from the server's), so its console could find another test's agent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil } from './e2e.js';

export interface TmuxScreen {
  tmux(...args: string[]): string;
  /** The pane's text now ('' when the session is gone). */
  screen(): string;
  until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, tries?: number, everyMs?: number): Promise<T>;
  /** A probe for `until`: the match of `re` on the screen, or undefined. */
  onScreen(re: RegExp): () => RegExpExecArray | undefined;
  /** Start the session running `command` (the env's NOMADTS_TOP_TRACE, if set, is kept for failures). */
  start(width: number, height: number, command: string): void;
}

/** The tmux settings for a test whose files live in `dir`: its own server, and the console's key trace. */
export function tmuxEnv(dir: string): NodeJS.ProcessEnv {
  return { TMUX: '', TMUX_TMPDIR: dir, NOMADTS_TOP_TRACE: join(dir, 'top-trace.log') };
}

/** What a stuck console was doing: its scheduler state, kernel wait channel and CPU time. */
function processState(pid: string): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8');
    return `pid ${pid} state ${f[0]} wchan ${wchan || '-'} utime ${f[11]} stime ${f[12]} (ticks)`;
  } catch (err) {
    return `pid ${pid}: ${(err as Error).message}`;
  }
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
  const consoleState = (): string => {
    let pane = '';
    try {
      pane = processState(tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim());
    } catch {
      pane = 'the session is gone';
    }
    const trace = env().NOMADTS_TOP_TRACE;
    const keys = trace !== undefined && existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').slice(-40).join('\n') : '(no trace)';
    return `--- console process ---\n${pane}\n--- console trace (last 40 lines) ---\n${keys}`;
  };
  return {
    tmux,
    screen,
    until: (what, probe, tries = 160, everyMs = 250) =>
      pollUntil(what, probe, {
        tries,
        everyMs,
        context: () => `--- screen ---\n${screen()}\n${consoleState()}${context !== undefined ? `\n${context()}` : ''}`,
      }),
    onScreen: (re) => () => re.exec(screen()) ?? undefined,
    start: (width, height, command) => {
      tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), command);
    },
  };
}
