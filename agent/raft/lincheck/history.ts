/**
 * Client histories for the linearizability checker: the events a test records (one per call and one
 * per completion), pairing them into operations, and a parser for Jepsen's text log format (the
 * reference histories in `shared/fixtures/jepsen-etcd`).
 */
import { NomadError } from '../../core/lib/index.js';

/** A register's value; `null` is "absent" (Jepsen's `nil`). Compared with `===`. */
export type KvValue = string | number | null;

/** The operations of the key-value model: read a key, write it, compare-and-set it. */
export type KvFunction = 'read' | 'write' | 'cas';

/**
 * `invoke` starts a call; `ok` says it took effect (a read's `value` is what it saw); `fail` says it
 * certainly did not (a failed cas saw a value other than `from`); `info` says the outcome is unknown:
 * the call may take effect at any time after its invocation, or never, and it never completes.
 */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/**
 * One line of a history, in real-time order (the array order is the time order). `value` is the
 * written value for a write, `[from, to]` for a cas, and for a read the value seen (on `ok`; ignored
 * on `invoke`). `key` defaults to `""` (a single register).
 */
export interface HistoryEvent {
  readonly process: number | string;
  readonly type: EventType;
  readonly f: KvFunction;
  readonly key?: string;
  readonly value: KvValue | readonly [KvValue, KvValue];
}

/** A call paired with its completion. `ret` is `Infinity` when the outcome is unknown. */
export interface Operation {
  /** Dense 0-based id in call order. */
  readonly id: number;
  readonly process: number | string;
  readonly f: KvFunction;
  readonly key: string;
  /** Written value (write), or the value read (read with outcome `ok`). */
  readonly value: KvValue;
  /** cas only. */
  readonly from: KvValue;
  /** cas only. */
  readonly to: KvValue;
  readonly outcome: 'ok' | 'fail' | 'unknown';
  /** Index of the invoke event. */
  readonly call: number;
  /** Index of the completion event; `Infinity` if it never completed or completed with `info`. */
  readonly ret: number;
}

/**
 * Pair invocations with completions. A process has at most one call outstanding; a completion with
 * no outstanding call, or a second invoke while one is outstanding, is an error naming the event.
 * Calls that never complete become `unknown`. A `fail`ed read or write is dropped (it had no effect
 * and observed nothing); reads with an unknown outcome are dropped too (they constrain nothing).
 */
export function toOperations(events: readonly HistoryEvent[]): Operation[] {
  interface Pending { index: number; ev: HistoryEvent }
  const pending = new Map<number | string, Pending>();
  const done: Array<{ p: Pending; outcome: Operation['outcome']; ret: number; readValue: KvValue }> = [];
  events.forEach((ev, index) => {
    if (ev.type === 'invoke') {
      const open = pending.get(ev.process);
      if (open !== undefined) {
        throw new NomadError('invalid_argument', `history event ${index}: process ${String(ev.process)} invokes ${ev.f} while its ${open.ev.f} from event ${open.index} is outstanding`, { field: `events[${index}]` });
      }
      checkShape(ev, index);
      pending.set(ev.process, { index, ev });
      return;
    }
    const open = pending.get(ev.process);
    if (open === undefined) {
      throw new NomadError('invalid_argument', `history event ${index}: process ${String(ev.process)} completes ${ev.f} (${ev.type}) with no call outstanding`, { field: `events[${index}]` });
    }
    if (open.ev.f !== ev.f) {
      throw new NomadError('invalid_argument', `history event ${index}: process ${String(ev.process)} completes ${ev.f} but invoked ${open.ev.f} at event ${open.index}`, { field: `events[${index}]` });
    }
    pending.delete(ev.process);
    if (ev.type === 'info') {
      done.push({ p: open, outcome: 'unknown', ret: Infinity, readValue: null });
      return;
    }
    let readValue: KvValue = null;
    if (ev.f === 'read' && ev.type === 'ok') {
      if (Array.isArray(ev.value)) {
        throw new NomadError('invalid_argument', `history event ${index}: a read's value must be a single value, got a pair`, { field: `events[${index}].value` });
      }
      readValue = ev.value as KvValue;
    }
    done.push({ p: open, outcome: ev.type, ret: index, readValue });
  });
  for (const p of pending.values()) done.push({ p, outcome: 'unknown', ret: Infinity, readValue: null });

  done.sort((a, b) => a.p.index - b.p.index);
  const ops: Operation[] = [];
  for (const d of done) {
    const ev = d.p.ev;
    if (d.outcome === 'fail' && ev.f !== 'cas') continue;
    if (d.outcome === 'unknown' && ev.f === 'read') continue;
    const pair = ev.f === 'cas' ? (ev.value as readonly [KvValue, KvValue]) : undefined;
    ops.push({
      id: ops.length,
      process: ev.process,
      f: ev.f,
      key: ev.key ?? '',
      value: ev.f === 'read' ? d.readValue : ev.f === 'write' ? (ev.value as KvValue) : null,
      from: pair === undefined ? null : pair[0],
      to: pair === undefined ? null : pair[1],
      outcome: d.outcome,
      call: d.p.index,
      ret: d.ret,
    });
  }
  return ops;
}

function checkShape(ev: HistoryEvent, index: number): void {
  const isPair = Array.isArray(ev.value);
  if (ev.f === 'cas' && (!isPair || (ev.value as readonly unknown[]).length !== 2)) {
    throw new NomadError('invalid_argument', `history event ${index}: cas needs value [from, to]`, { field: `events[${index}].value` });
  }
  if (ev.f === 'write' && isPair) {
    throw new NomadError('invalid_argument', `history event ${index}: write needs a single value, got a pair`, { field: `events[${index}].value` });
  }
}

const LINE = /^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;

/**
 * Parse a Jepsen log (`INFO  jepsen.util - <process> :<type> :<f> <value>`, tabs or spaces) into
 * events on the single register `""`. Values: `nil` → null, integers → numbers, `[a b]` → a pair,
 * a keyword (`:timed-out`) on a `fail` or `info` line → ignored (the invoke's value counts). Blank lines are skipped; any other line is an
 * error naming `file:line`.
 */
export function parseJepsenLog(text: string, file = '<history>'): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (m === null) {
      throw new NomadError('parse', `not a Jepsen history line: ${JSON.stringify(line.slice(0, 80))}`, { position: { file, line: i + 1 } });
    }
    const type = m[2] as EventType;
    const f = m[3] as KvFunction;
    const raw = m[4]!;
    let value: HistoryEvent['value'];
    if ((type === 'info' || type === 'fail') && raw.startsWith(':')) {
      value = null; // e.g. `:timed-out`: the completion's value is unused (the invoke's counts)
    } else if (f === 'cas') {
      const pair = /^\[(\S+)\s+(\S+)\]$/.exec(raw);
      if (pair === null) throw new NomadError('parse', `cas needs [from to], got ${JSON.stringify(raw)}`, { position: { file, line: i + 1 } });
      value = [parseAtom(pair[1]!, file, i + 1), parseAtom(pair[2]!, file, i + 1)];
    } else {
      value = parseAtom(raw, file, i + 1);
    }
    events.push({ process: Number(m[1]), type, f, value });
  }
  return events;
}

function parseAtom(raw: string, file: string, line: number): KvValue {
  if (raw === 'nil') return null;
  if (/^-?\d+$/.test(raw)) return Number(raw);
  throw new NomadError('parse', `expected nil or an integer, got ${JSON.stringify(raw)}`, { position: { file, line } });
}
