/**
 * `nomadts node drain -enable|-disable [-deadline D] [-no-deadline] [-force] [-ignore-system]
 * [-keep-ineligible] [-detach|-monitor] <node>`, as Nomad's `node drain`: enabling makes the
 * node ineligible and the leader's drainer migrates its allocations (each group within its
 * migrate.max_parallel, batch allocations at the deadline, system jobs last); at the
 * deadline whatever is left is stopped. Without -detach the command then monitors the
 * drain (allocations migrated, remaining, time to the deadline) until it completes.
 * `-monitor` alone watches a drain already under way. Every flag is checked before anything
 * is sent: a bad flag changes nothing.
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Allocation, Node } from '../../agent/core/structs/index.js';
import { allocTerminalStatus, isSystemType } from '../../agent/core/structs/index.js';
import type { ApiClient } from '../../agent/api/index.js';
import { formatDuration, parseDuration } from '../../agent/jobspec/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals, resolveId, shortId, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

/** Nomad's default drain deadline. */
const DefaultDeadlineMs = 3_600_000;

export interface DrainRequest {
  mode: 'enable' | 'disable' | 'monitor';
  /** For enable: > 0 deadline, 0 none, -1 force. */
  deadlineMs: number;
  ignoreSystemJobs: boolean;
  keepIneligible: boolean;
  monitor: boolean;
}

/** The flags as a request, or an error naming the flag; pure, so nothing is sent for bad input. */
export function drainRequest(bool: ReadonlySet<string>, values: ReadonlyMap<string, string>): DrainRequest {
  const enable = bool.has('enable');
  const disable = bool.has('disable');
  const monitorFlag = bool.has('monitor');
  if (enable && disable) throw new NomadError('invalid_argument', 'give only one of -enable or -disable', { field: 'enable' });
  if (!enable && !disable && !monitorFlag) throw new NomadError('invalid_argument', 'give -enable, -disable or -monitor', { field: 'enable' });
  if (bool.has('detach') && monitorFlag) throw new NomadError('invalid_argument', '-detach and -monitor cannot be used together', { field: 'detach' });
  if (bool.has('self')) throw new NomadError('invalid_argument', '-self needs a local client agent; give the node id instead', { field: 'self' });
  const deadlineText = values.get('deadline');
  const noDeadline = bool.has('no-deadline');
  const force = bool.has('force');
  if (!enable) {
    for (const f of ['deadline', 'no-deadline', 'force', 'ignore-system'] as const) {
      if (bool.has(f) || (f === 'deadline' && deadlineText !== undefined)) throw new NomadError('invalid_argument', `-${f} only applies with -enable`, { field: f });
    }
  }
  if (bool.has('keep-ineligible') && !disable) throw new NomadError('invalid_argument', '-keep-ineligible only applies with -disable', { field: 'keep-ineligible' });
  if ([deadlineText !== undefined, noDeadline, force].filter(Boolean).length > 1) {
    throw new NomadError('invalid_argument', 'give only one of -deadline, -no-deadline or -force', { field: 'deadline' });
  }
  let deadlineMs = DefaultDeadlineMs;
  if (deadlineText !== undefined) {
    const ms = parseDuration(deadlineText);
    if (ms === undefined || ms <= 0) {
      throw new NomadError('invalid_argument', `-deadline: ${JSON.stringify(deadlineText)} is not a positive duration (e.g. "30m", "1h", "90s")`, { field: 'deadline' });
    }
    deadlineMs = ms;
  } else if (noDeadline) deadlineMs = 0;
  else if (force) deadlineMs = -1;
  return {
    mode: enable ? 'enable' : disable ? 'disable' : 'monitor',
    deadlineMs,
    ignoreSystemJobs: bool.has('ignore-system'),
    keepIneligible: bool.has('keep-ineligible'),
    monitor: monitorFlag || (enable && !bool.has('detach')),
  };
}

export interface DrainProgress {
  migrated: number;
  remaining: number;
  /** ms to the deadline, null for none. */
  deadlineLeftMs: number | null;
  done: boolean;
}

/** Progress of a node's drain from the node and its allocations (`startedAllocs`: the allocs live when watching began). */
export function drainProgress(node: Node, allocs: readonly Allocation[], startedAllocs: ReadonlySet<string>, now: number): DrainProgress {
  const ds = node.drainStrategy;
  let remaining = 0;
  let migrated = 0;
  for (const a of allocs) {
    const terminal = allocTerminalStatus(a);
    if (!terminal) {
      if (ds?.ignoreSystemJobs === true && a.job !== null && isSystemType(a.job.type)) continue;
      remaining++;
    } else if (startedAllocs.has(a.id) || a.desiredTransition.migrate) {
      migrated++;
    }
  }
  const deadlineLeftMs = ds === null || ds.deadline === 0 ? null : Math.max(0, ds.forceDeadline - now);
  return { migrated, remaining, deadlineLeftMs, done: ds === null };
}

function progressLine(p: DrainProgress): string {
  const deadline = p.deadlineLeftMs === null ? 'no deadline' : `deadline in ${formatDuration(Math.round(p.deadlineLeftMs / 1000) * 1000)}`;
  return `Drain progress: ${p.migrated} allocation${p.migrated === 1 ? '' : 's'} migrated, ${p.remaining} remaining, ${deadline}\n`;
}

async function monitorDrain(client: ApiClient, nodeId: string, out: Out, pollMs: number): Promise<number> {
  const first = await client.listAllocs({ nodeId });
  const started = new Set(first.value.filter((a) => !allocTerminalStatus(a)).map((a) => a.id));
  let last = '';
  for (;;) {
    const node = (await client.getNode(nodeId)).value;
    const allocs = (await client.listAllocs({ nodeId })).value;
    const p = drainProgress(node, allocs, started, Date.now());
    const line = progressLine(p);
    if (line !== last) {
      out.stdout(line);
      last = line;
    }
    if (p.done) {
      out.stdout(`Node "${shortId(nodeId)}" drain complete${node.schedulingEligibility === 'ineligible' ? ' (node remains ineligible)' : ''}\n`);
      return Exit.ok;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export async function nodeDrain(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withClient(
    out,
    env,
    args,
    { bool: ['enable', 'disable', 'no-deadline', 'force', 'ignore-system', 'keep-ineligible', 'detach', 'monitor', 'self'], value: ['deadline'] },
    async (client, f) => {
      const req = drainRequest(f.bool, f.value);
      const [prefix] = positionals(f, ['node']);
      const id = await resolveId('node', prefix!, (p) => client.listNodes({ prefix: p }));
      const pollMs = Number(env['NOMADTS_DRAIN_POLL_MS'] ?? 1000);
      if (req.mode === 'enable') {
        await client.updateDrain(id, { deadlineMs: req.deadlineMs, ignoreSystemJobs: req.ignoreSystemJobs });
        const how = req.deadlineMs < 0 ? 'force' : req.deadlineMs === 0 ? 'no deadline' : `deadline ${formatDuration(req.deadlineMs)}`;
        out.stdout(`Node "${shortId(id)}" drain strategy set (${how}${req.ignoreSystemJobs ? ', ignoring system jobs' : ''})\n`);
      } else if (req.mode === 'disable') {
        await client.updateDrain(id, null, !req.keepIneligible);
        out.stdout(`Node "${shortId(id)}" drain strategy unset${req.keepIneligible ? ' (node remains ineligible)' : ''}\n`);
        return Exit.ok;
      } else {
        const node = (await client.getNode(id)).value;
        if (node.drainStrategy === null) {
          out.stdout(`Node "${shortId(id)}" is not draining\n`);
          return Exit.ok;
        }
      }
      return req.monitor ? monitorDrain(client, id, out, Number.isFinite(pollMs) && pollMs > 0 ? pollMs : 1000) : Exit.ok;
    },
  );
}
