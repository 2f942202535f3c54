/**
 * `nomadts alloc logs [-stderr] [-f] [-tail] [-n lines] <alloc> [<task>]`: a task's stdout (or
 * stderr) log, as Nomad's `alloc logs`. The task may be left out when the allocation's group
 * has only one. -tail prints the last -n lines (default 10; -n alone implies -tail); -f keeps
 * printing new output until interrupted. Served by the agent whose client runs the allocation.
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { ApiClient } from '../../agent/api/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals, resolveId, withClient } from './api-io.js';
import type { Out } from './jobspec-io.js';

/** Lines printed by -tail when -n is not given (Nomad's default). */
export const DefaultTailLines = 10;

export async function allocLogs(args: readonly string[], out: Out, env: Env = process.env, signal?: AbortSignal): Promise<number> {
  return withClient(out, env, args, { bool: ['stderr', 'f', 'tail'], value: ['n'] }, async (client, f) => {
    const [prefix, taskArg] = positionals(f, ['alloc', 'task'], true);
    if (prefix === undefined) throw new NomadError('invalid_argument', 'expected <alloc> [<task>], got nothing');
    const nRaw = f.value.get('n');
    const lines = nRaw === undefined ? DefaultTailLines : Number(nRaw);
    if (!Number.isSafeInteger(lines) || lines < 0) throw new NomadError('invalid_argument', `-n must be a non-negative whole number of lines, got ${JSON.stringify(nRaw)}`, { field: 'n' });
    const tail = f.bool.has('tail') || nRaw !== undefined;

    const id = await resolveId('allocation', prefix, (p) => client.listAllocs({}, { prefix: p, namespace: '*' }));
    const task = taskArg ?? (await onlyTask(client, id));
    const stream = f.bool.has('stderr') ? 'stderr' : 'stdout';
    const follow = f.bool.has('f');
    const decoder = new TextDecoder();
    const print = (b: Buffer): void => {
      const s = decoder.decode(b, { stream: true });
      if (s !== '') out.stdout(s);
    };

    if (tail) {
      print(await lastLines(client, id, task, stream, lines));
      if (!follow) return Exit.ok;
      // Bytes written between the tail read and this call are not shown.
      for await (const chunk of client.allocLogs(id, task, { stream, follow: true, origin: 'end', offset: 0, ...(signal !== undefined ? { signal } : {}) })) print(chunk);
    } else {
      for await (const chunk of client.allocLogs(id, task, { stream, follow, ...(signal !== undefined ? { signal } : {}) })) print(chunk);
    }
    const rest = decoder.decode();
    if (rest !== '') out.stdout(rest);
    return Exit.ok;
  });
}

/** The task of an allocation whose group has exactly one; otherwise an error listing them. */
async function onlyTask(client: ApiClient, allocId: string): Promise<string> {
  const a = (await client.getAlloc(allocId)).value;
  const tasks = a.job.taskGroups.find((g) => g.name === a.taskGroup)?.tasks.map((t) => t.name) ?? [];
  if (tasks.length === 1) return tasks[0]!;
  throw new NomadError('invalid_argument', `allocation ${allocId} has ${tasks.length} tasks, name one: ${tasks.join(', ')}`, { field: 'task' });
}

/**
 * The last `n` lines of a log: reads a window back from the end, widening it until it holds
 * `n` whole lines or the whole log.
 */
async function lastLines(client: ApiClient, allocId: string, task: string, stream: 'stdout' | 'stderr', n: number): Promise<Buffer> {
  if (n === 0) return Buffer.alloc(0);
  for (let window = Math.max(4096, n * 256); ; window *= 4) {
    const parts: Buffer[] = [];
    for await (const chunk of client.allocLogs(allocId, task, { stream, origin: 'end', offset: window })) parts.push(chunk);
    const buf = Buffer.concat(parts);
    const start = lastLinesStart(buf, n);
    if (start >= 0) return buf.subarray(start);
    if (buf.length < window) return buf;
  }
}

/** Where the last `n` lines of `buf` begin (a final newline ends the last line), or -1 if it holds fewer. */
export function lastLinesStart(buf: Uint8Array, n: number): number {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (buf[i] === 0x0a && ++seen === n) return i + 1;
  }
  return -1;
}
