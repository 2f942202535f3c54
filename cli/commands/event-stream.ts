/**
 * `nomadts event stream [-topic T[:key]]... [-index N] [-namespace NS] [-limit N] [-heartbeats]`:
 * the cluster's event stream as NDJSON, one object per line, for scripts. State topics (Job,
 * Node, Allocation, Evaluation, Deployment, SchedulerConfig) carry what the FSM changed at a log
 * index; operational topics (Broker, Plan, Raft, Member, Drain) carry what the machinery is doing.
 * No -topic = every topic. Runs until interrupted, the server ends the stream, or -limit events.
 *
 * Lines: {"kind":"state",topic,type,key,namespace,index,payload}, {"kind":"ops",topic,type,key,
 * seq,time,payload}, {"kind":"lost","resumeFrom":N} (state events after -index fell out of the
 * server's buffer), {"kind":"ops-lost","lost":N,"resumeFrom":S} (this reader fell behind), and
 * with -heartbeats {"kind":"heartbeat","index":N}.
 */
import { EventTopics, OpsTopics, isOpsTopic } from '../../agent/api/index.js';
import type { OpsFilter, TopicFilter } from '../../agent/api/index.js';
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit, withClient } from './api-io.js';
import type { Out } from './out.js';

export interface TopicSelection {
  topics?: TopicFilter;
  ops?: OpsFilter;
}

/** `-topic` values → state and operational filters. `*` (or no -topic) = everything. */
export function parseTopics(values: readonly string[]): TopicSelection {
  const topics: Record<string, string[] | '*'> = {};
  const ops: Record<string, string[] | '*'> = {};
  for (const v of values) {
    const colon = v.indexOf(':');
    const name = colon < 0 ? v : v.slice(0, colon);
    const key = colon < 0 ? '*' : v.slice(colon + 1);
    if (name === '*') return {};
    if (key === '') throw new NomadError('invalid_argument', `-topic ${JSON.stringify(v)}: the key after ":" is empty (use ${name} or ${name}:*)`, { field: 'topic' });
    const target = (EventTopics as readonly string[]).includes(name) ? topics : isOpsTopic(name) ? ops : undefined;
    if (target === undefined) {
      throw new NomadError('invalid_argument', `-topic ${JSON.stringify(v)}: unknown topic "${name}" (state topics: ${EventTopics.join(', ')}; operational topics: ${OpsTopics.join(', ')})`, { field: 'topic' });
    }
    const prev = target[name];
    if (key === '*' || prev === '*') target[name] = '*';
    else target[name] = [...(prev ?? []), key];
  }
  const out: TopicSelection = {};
  if (Object.keys(topics).length > 0) out.topics = topics;
  if (Object.keys(ops).length > 0) out.ops = ops;
  return out;
}

function nonNegative(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new NomadError('invalid_argument', `-${flag} must be a non-negative whole number, got ${JSON.stringify(raw)}`, { field: flag });
  return n;
}

export async function eventStream(args: readonly string[], out: Out, env: Env = process.env, signal?: AbortSignal): Promise<number> {
  return withClient(out, env, args, { bool: ['heartbeats'], value: ['index', 'namespace', 'limit'], multi: ['topic'] }, async (client, f) => {
    if (f.positional.length > 0) throw new NomadError('invalid_argument', `event stream takes no arguments, got ${JSON.stringify(f.positional.join(' '))}`);
    const selection = parseTopics(f.multi.get('topic') ?? []);
    const index = nonNegative(f.value.get('index'), 'index') ?? 0;
    const limit = nonNegative(f.value.get('limit'), 'limit');
    const heartbeats = f.bool.has('heartbeats');
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    signal?.addEventListener('abort', stop, { once: true });
    const onSigint = (): void => ac.abort();
    process.once('SIGINT', onSigint);
    let printed = 0;
    const line = (o: unknown): boolean => {
      out.stdout(`${JSON.stringify(o)}\n`);
      printed++;
      if (limit !== undefined && printed >= limit) ac.abort();
      return ac.signal.aborted;
    };
    try {
      if (limit === 0) return Exit.ok;
      for await (const b of client.subscribe({ index, namespace: f.value.get('namespace') ?? '', ...selection, signal: ac.signal })) {
        if (b.lostResumeFrom > 0 && line({ kind: 'lost', resumeFrom: b.lostResumeFrom })) break;
        if (b.opsLost > 0 && line({ kind: 'ops-lost', lost: b.opsLost, resumeFrom: b.opsResumeFrom })) break;
        if (b.heartbeat && heartbeats && line({ kind: 'heartbeat', index: b.index })) break;
        let done = false;
        for (const e of b.events) {
          if ((done = line({ kind: 'state', topic: e.topic, type: e.type, key: e.key, namespace: e.namespace, index: e.index, payload: e.payload }))) break;
        }
        if (done) break;
        for (const e of b.ops) {
          if ((done = line({ kind: 'ops', topic: e.topic, type: e.type, key: e.key, seq: e.seq, time: e.time, payload: e.payload }))) break;
        }
        if (done) break;
      }
      return Exit.ok;
    } finally {
      process.removeListener('SIGINT', onSigint);
      signal?.removeEventListener('abort', stop);
    }
  });
}
