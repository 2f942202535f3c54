/**
 * `nomadts top [-read-only] [-address host:port]`: the live operator console. Full screen
 * (the terminal's alternate screen, restored on quit), at most 20 frames a second, only the
 * changed lines redrawn. Needs a terminal; scripts use `nomadts event stream`.
 */
import React from 'react';
import { appendFileSync } from 'node:fs';
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit, connect, errorText, parseFlags } from './api-io.js';
import type { Out } from './out.js';
import type { ParsedFlags } from './api-io.js';
import { clusterClient } from './operator-io.js';

/**
 * Without -address, the console watches the cluster's leader (found through the server the
 * environment or discovery file names): the operational events (broker, plans, drains) are the
 * leader's. A dev agent (no ClusterService) or a cluster without a leader: the server as named.
 */
async function preferLeader(env: Env, f: ParsedFlags): Promise<ParsedFlags> {
  if (f.value.has('address')) return f;
  let c: ReturnType<typeof clusterClient> | undefined;
  try {
    c = clusterClient(env, f);
    const st = await c.raftStatus(2_000);
    const addr = st.role === 'leader' ? undefined : st.peers.find((p) => p.id === st.leader)?.address;
    return addr === undefined || addr === '' ? f : { ...f, value: new Map([...f.value, ['address', addr]]) };
  } catch {
    return f;
  } finally {
    c?.close();
  }
}

/**
 * The console's `t`: TransferLeadership on the current leader (found through the server the
 * console is connected to), as `nomadts operator raft transfer-leadership -peer-id` does.
 */
function leadershipTransfer(env: Env, f: ParsedFlags): (serverId: string) => Promise<string> {
  return async (serverId) => {
    const here = clusterClient(env, f);
    try {
      const st = await here.raftStatus();
      const leaderAddr = st.role === 'leader' ? undefined : st.peers.find((p) => p.id === st.leader)?.address;
      if (leaderAddr === undefined || leaderAddr === '') return await here.transferLeadership(serverId);
      const leader = clusterClient(env, { ...f, value: new Map([...f.value, ['address', leaderAddr]]) });
      try {
        return await leader.transferLeadership(serverId);
      } finally {
        leader.close();
      }
    } finally {
      here.close();
    }
  };
}

/**
 * NOMADTS_TOP_TRACE=<file>: the console appends each key it reads, what the key became and each
 * frame it asks for, time-stamped, to the file (for a bug report about a key that did nothing).
 * A file that cannot be written ends the trace; it never stops the console.
 */
function consoleTrace(env: Env): ((line: string) => void) | undefined {
  const file = env.NOMADTS_TOP_TRACE;
  if (file === undefined || file === '') return undefined;
  let broken = false;
  return (line) => {
    if (broken) return;
    try {
      appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    } catch {
      broken = true;
    }
  };
}

export async function top(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  let client: ReturnType<typeof connect> | undefined;
  try {
    const f = parseFlags(args, { bool: ['read-only'] });
    if (f.positional.length > 0) throw new NomadError('invalid_argument', `top takes no arguments, got ${JSON.stringify(f.positional.join(' '))}`);
    if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
      throw new NomadError('invalid_argument', 'nomadts top needs a terminal (stdin and stdout a TTY); scripts can read `nomadts event stream` instead');
    }
    // Ink draws only a final frame when CI or CONTINUOUS_INTEGRATION is set (it reads them when
    // first imported); on a terminal the console is interactive whatever the shell exported.
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    const { render } = await import('ink');
    const { App, TopStore, initialState, runAction, runFeed } = await import('../../tui/index.js');
    client = connect(env, await preferLeader(env, f));
    // The console follows the leader unless -address pins a server; actions use the current one.
    let api = client;
    let followed: ReturnType<typeof connect> | undefined;
    const store = new TopStore(initialState({ address: api.address, readOnly: f.bool.has('read-only'), cols: process.stdout.columns || 80, rows: process.stdout.rows || 24, now: Date.now() }));
    const ac = new AbortController();
    let quit!: () => void;
    const quitting = new Promise<void>((resolve) => {
      quit = resolve;
    });
    const trace = consoleTrace(env);
    if (trace !== undefined) {
      trace(`start pid ${process.pid} ${api.address}`);
      store.subscribe(() => {
        const s = store.getSnapshot();
        trace(`frame ${store.frames} focus ${s.ui.focus}${s.ui.modal !== null ? ' modal' : ''}${s.ui.help ? ' help' : ''}${s.ui.filtering ? ' filtering' : ''}`);
      });
    }
    process.stdout.write('\x1b[?1049h\x1b[H\x1b[?25l');
    const app = render(
      React.createElement(App, {
        store,
        onRun: (a) => void runAction(api, store, a, { transferLeadership: leadershipTransfer(env, f) }),
        onQuit: quit,
        ...(trace !== undefined ? { trace } : {}),
      }),
      { maxFps: 20, incrementalRendering: false, exitOnCtrlC: false, patchConsole: true },
    );
    const feed = runFeed(api, store, {
      signal: ac.signal,
      ...(f.value.has('address')
        ? {}
        : {
            follow: (address: string) => connect(env, { ...f, value: new Map([...f.value, ['address', address]]) }),
            onClient: (c: ReturnType<typeof connect>) => {
              api = c;
              followed = c;
            },
          }),
    });
    process.once('SIGTERM', quit);
    await quitting;
    ac.abort();
    app.unmount();
    store.close();
    process.stdout.write('\x1b[?25h\x1b[?1049l');
    await feed.catch(() => undefined);
    followed?.close();
    return Exit.ok;
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  } finally {
    client?.close();
  }
}
