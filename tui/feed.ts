/**
 * The feed: what fills the console's store. A snapshot of the cluster through the API (nodes,
 * jobs, allocations, evaluations at an index), then the event stream from that index: state
 * events and every operational topic (Broker, Plan, Raft, Member, Drain), replaying what the
 * server still holds of the latter so the evaluation timelines have their history. When state
 * events are lost (the console fell behind the server's buffer) or the connection drops, it
 * takes a fresh snapshot and carries on; reconnects back off up to 5 seconds.
 */
import type { ApiClient } from '../agent/api/index.js';
import type { NodeResourceUsage } from '../agent/core/structs/index.js';
import type { TopStore } from './store.js';

export interface FeedOptions {
  signal: AbortSignal;
  now?: () => number;
  /** Heartbeat frames asked of the server on a quiet stream (ms). */
  heartbeatMs?: number;
  /** How often measured node usage is read (ms). */
  usageEveryMs?: number;
  /**
   * Follow the leader: when the servers report a leader at another address, connect there
   * (the broker, plan and drain events are the leader's) and tell `onClient`.
   */
  follow?: (address: string) => ApiClient;
  onClient?: (client: ApiClient) => void;
}

function usageOf(n: NodeResourceUsage): { cpuMhz: number; memoryMB: number } {
  let cpuMhz = 0;
  let rss = 0;
  for (const a of n.allocs) {
    for (const t of Object.values(a.tasks)) {
      cpuMhz += t.cpuMhz;
      rss += t.memoryRssBytes;
    }
  }
  return { cpuMhz, memoryMB: rss / 2 ** 20 };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

export async function loadSnapshot(client: ApiClient, store: TopStore, now: () => number): Promise<number> {
  const q = { namespace: '*' };
  const [nodes, jobs, allocs, evals] = await Promise.all([client.listNodes(q), client.listJobs(q), client.listAllocs({}, q), client.listEvals({}, q)]);
  const index = Math.max(nodes.index, jobs.index, allocs.index, evals.index);
  store.dispatch({ type: 'snapshot', index, nodes: nodes.value, jobs: jobs.value, allocs: allocs.value, evals: evals.value, now: now() });
  return index;
}

export async function runFeed(first: ApiClient, store: TopStore, opts: FeedOptions): Promise<void> {
  let client = first;
  const now = opts.now ?? Date.now;
  const { signal } = opts;
  const ticker = setInterval(() => store.dispatch({ type: 'tick', now: now() }), 1_000);
  // Measured use is not in the event stream (clients report it every 2 s, the servers keep it
  // in memory): read it on the same period.
  const usage = setInterval(() => {
    client.nodeUsage().then(
      (list) => store.dispatch({ type: 'usage', nodes: list.map((n) => ({ nodeId: n.nodeId, ...usageOf(n) })) }),
      () => undefined, // a server without usage, or a blip: the bars show allocation only
    );
  }, opts.usageEveryMs ?? 2_000);
  let backoff = 250;
  let opsFromSeq = 1;
  try {
    while (!signal.aborted) {
      try {
        store.dispatch({ type: 'connection', status: 'connecting', now: now() });
        const index = await loadSnapshot(client, store, now);
        store.dispatch({ type: 'connection', status: 'live', now: now() });
        backoff = 250;
        for await (const b of client.subscribe({ index, namespace: '*', opsFromSeq, heartbeatMs: opts.heartbeatMs ?? 2_000, signal })) {
          if (b.opsLost > 0) store.dispatch({ type: 'lost', what: 'ops', count: b.opsLost, resumeFrom: b.opsResumeFrom, now: now() });
          if (b.events.length > 0 || b.ops.length > 0) store.dispatch({ type: 'events', events: b.events, ops: b.ops, now: now() });
          const last = b.ops[b.ops.length - 1];
          if (last !== undefined) opsFromSeq = last.seq;
          if (b.lostResumeFrom > 0) {
            store.dispatch({ type: 'lost', what: 'state', count: 0, resumeFrom: b.lostResumeFrom, now: now() });
            break; // re-read state, then subscribe again
          }
          const leaderAddr = store.getSnapshot().leaderAddr;
          if (opts.follow !== undefined && leaderAddr !== '' && leaderAddr !== client.address) {
            const previous = client;
            client = opts.follow(leaderAddr);
            opts.onClient?.(client);
            if (previous !== first) previous.close();
            opsFromSeq = 1; // another server's bus
            store.dispatch({ type: 'connection', status: 'connecting', address: leaderAddr, now: now() });
            break; // snapshot and subscribe on the leader
          }
        }
      } catch (err) {
        if (signal.aborted) break;
        store.dispatch({ type: 'connection', status: 'error', error: err instanceof Error ? err.message : String(err), now: now() });
        await sleep(backoff, signal);
        backoff = Math.min(5_000, backoff * 2);
      }
    }
  } finally {
    clearInterval(ticker);
    clearInterval(usage);
  }
}
