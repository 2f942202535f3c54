/**
 * A person-readable account of a failed check: per non-linearizable key, the longest order the
 * search could build and the operations it could not place next.
 */
import type { CheckResult } from './check.js';
import type { HistoryEvent, KvValue, Operation } from './history.js';
import { toOperations } from './history.js';

function show(v: KvValue): string {
  return v === null ? 'nil' : JSON.stringify(v);
}

/** `#3 p1 cas nil->2 ok [events 4..9]` */
export function formatOperation(op: Operation): string {
  const what = op.f === 'read' ? `read ${op.outcome === 'ok' ? show(op.value) : ''}` : op.f === 'write' ? `write ${show(op.value)}` : `cas ${show(op.from)}->${show(op.to)}`;
  const span = op.ret === Infinity ? `events ${op.call}..` : `events ${op.call}..${op.ret}`;
  return `#${op.id} p${String(op.process)} ${what.trim()} ${op.outcome} [${span}]`;
}

/**
 * Lines explaining `result` for the history it was computed from (`events`); empty when nothing
 * is not linearizable. Keeps at most `tail` operations of each longest linearization.
 */
export function explainFailure(events: readonly HistoryEvent[], result: CheckResult, tail = 10): string[] {
  const ops = toOperations(events);
  const lines: string[] = [];
  for (const k of result.keys) {
    if (k.verdict !== 'not-linearizable') continue;
    const prefix = k.longestPrefix ?? [];
    lines.push(`key ${JSON.stringify(k.key)}: no linearization of its ${k.operations} operations; the longest order found places ${prefix.length}:`);
    if (prefix.length > tail) lines.push(`  ... ${prefix.length - tail} earlier`);
    for (const id of prefix.slice(-tail)) lines.push(`  ${formatOperation(ops[id]!)}`);
    lines.push('then none of these fits next (each either contradicts that state or was overtaken by a completed call):');
    for (const id of k.stuckOn ?? []) lines.push(`  ${formatOperation(ops[id]!)}`);
  }
  return lines;
}
