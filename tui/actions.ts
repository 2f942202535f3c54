/**
 * Operator actions from the console, carried out through the API client; each ends in a notice
 * with the equivalent command line (and, for `l`, a log tail into the open log view).
 */
import type { ApiClient } from '../agent/api/index.js';
import { commandLine, parseDeadline } from './model/keymap.js';
import type { OperatorAction } from './model/state.js';
import type { TopStore } from './store.js';

export interface ActionRunnerOptions {
  now?: () => number;
  /**
   * Hand Raft leadership to a server (the cluster's TransferLeadership RPC, as `nomadts operator
   * raft transfer-leadership -peer-id` calls it); resolves with the new leader's id. Without it
   * (a one-server dev agent) the action fails with a notice saying so.
   */
  transferLeadership?: (serverId: string) => Promise<string>;
}

/** Runs one action; never throws: failures become error notices naming what failed. */
export async function runAction(client: ApiClient, store: TopStore, action: OperatorAction, opts: ActionRunnerOptions = {}): Promise<void> {
  const now = opts.now ?? Date.now;
  const command = commandLine(action);
  const notice = (level: 'info' | 'error', text: string): void => store.dispatch({ type: 'notice', notice: { level, text, command }, now: now() });
  try {
    switch (action.kind) {
      case 'eligibility':
        await client.updateEligibility(action.nodeId, action.eligible ? 'eligible' : 'ineligible');
        notice('info', `${action.nodeName} is now ${action.eligible ? 'eligible' : 'ineligible'}`);
        return;
      case 'stop-job': {
        const r = await client.deregisterJob(action.namespace, action.jobId, false);
        notice('info', `job ${action.jobId} stopping (evaluation ${r.evalId.slice(0, 8)})`);
        return;
      }
      case 'drain':
      case 'drain-disable':
        await drain(client, action);
        notice('info', action.kind === 'drain' ? `draining ${action.nodeName} (deadline ${action.deadline})` : `stopped draining ${action.nodeName}`);
        return;
      case 'transfer-leadership': {
        if (opts.transferLeadership === undefined) throw new Error('this server does not serve leadership transfer (a one-server agent has no other voter)');
        const leader = await opts.transferLeadership(action.serverId);
        notice('info', `leadership transferred to ${leader}`);
        return;
      }
      case 'logs':
        await tailLogs(client, store, action.allocId, action.task);
        return;
    }
  } catch (err) {
    notice('error', `${action.kind} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function drain(client: ApiClient, action: Extract<OperatorAction, { kind: 'drain' | 'drain-disable' }>): Promise<void> {
  if (action.kind === 'drain-disable') {
    await client.updateDrain(action.nodeId, null, false);
    return;
  }
  const ms = parseDeadline(action.deadline);
  if (typeof ms === 'string') throw new Error(ms);
  await client.updateDrain(action.nodeId, { deadlineMs: ms, ignoreSystemJobs: false });
}

/** Follows a task's stdout into the log view until the view is closed. */
async function tailLogs(client: ApiClient, store: TopStore, allocId: string, task: string): Promise<void> {
  const ac = new AbortController();
  const stillOpen = (): boolean => {
    const m = store.getSnapshot().ui.modal;
    return m !== null && m.kind === 'logs' && m.allocId === allocId && m.task === task;
  };
  const unsubscribe = store.subscribe(() => {
    if (!stillOpen()) ac.abort();
  });
  const decoder = new TextDecoder();
  let partial = '';
  try {
    for await (const chunk of client.allocLogs(allocId, task, { follow: true, origin: 'end', offset: 8_192, signal: ac.signal })) {
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) store.dispatch({ type: 'logs', allocId, task, lines });
      if (!stillOpen()) break;
    }
  } finally {
    unsubscribe();
    ac.abort();
  }
}
