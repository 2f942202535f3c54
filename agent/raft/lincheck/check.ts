/**
 * The linearizability search (Wing & Gong, with Lowe's memoisation, as Porcupine does it).
 *
 * A key's operations become a doubly linked list of call and return entries in time order. The
 * search walks it: at a call entry it tries to linearize that operation now (the model must accept
 * its outcome in the current state); if the pair (set of linearized operations, model state) was
 * seen before it skips it, otherwise it lifts the call and its return out of the list and restarts
 * from the head. Reaching a return entry whose call is still in the list means that operation
 * cannot be placed before it returned: backtrack (pop the last linearized operation, put it back,
 * try the next candidate). An empty list is a linearization; backtracking past the start proves
 * there is none. Unknown outcomes return "at infinity", i.e. after everything.
 *
 * The set of linearized operations is a bitset with an incremental Zobrist hash, so a cache probe
 * costs O(1) plus one bitset compare on a hash hit. Calls of unknown outcome with identical
 * effects (twins) are applied only in call order, which cuts the orders a history with many
 * timed-out writes offers (2-4x fewer steps on the scale test's failing histories).
 */
import type { HistoryEvent, Operation } from './history.js';
import { toOperations } from './history.js';
import type { Model } from './model.js';

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckOptions {
  /**
   * Search steps (list entries visited) allowed over the whole check; when spent, the verdict of
   * the keys not yet decided is `unknown`. Deterministic, unlike a wall-clock timeout. Default 50M.
   */
  readonly maxSteps?: number;
}

export interface KeyResult {
  readonly key: string;
  readonly verdict: Verdict;
  readonly operations: number;
  readonly steps: number;
  /**
   * For `not-linearizable`: the longest sequence of operations the search could linearize (op
   * ids in order) and the operations still pending at that point, one of which had to be placed
   * before its return and could not be. The place to start reading a failing history.
   */
  readonly longestPrefix?: readonly number[];
  readonly stuckOn?: readonly number[];
}

export interface CheckResult {
  /** `not-linearizable` if any key is; else `unknown` if any key ran out of budget; else `linearizable`. */
  readonly verdict: Verdict;
  readonly operations: number;
  readonly steps: number;
  /** One entry per key, in first-call order. */
  readonly keys: readonly KeyResult[];
}

const DEFAULT_MAX_STEPS = 50_000_000;

/**
 * Is this history of calls and completions (real-time order) linearizable under `model`?
 * Throws (invalid_argument) on a malformed history; never loops forever (see `maxSteps`).
 */
export function checkHistory<S>(events: readonly HistoryEvent[], model: Model<S>, opts: CheckOptions = {}): CheckResult {
  return checkOperations(toOperations(events), model, opts);
}

/** As `checkHistory`, for operations already paired (e.g. recorded with call/return times). */
export function checkOperations<S>(ops: readonly Operation[], model: Model<S>, opts: CheckOptions = {}): CheckResult {
  let budget = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const keys: KeyResult[] = [];
  let steps = 0;
  let verdict: Verdict = 'linearizable';
  for (const [key, list] of byKey) {
    const r = checkKey(key, list, model, budget);
    budget -= r.steps;
    steps += r.steps;
    keys.push(r);
    if (r.verdict === 'not-linearizable') verdict = 'not-linearizable';
    else if (r.verdict === 'unknown' && verdict === 'linearizable') verdict = 'unknown';
  }
  return { verdict, operations: ops.length, steps, keys };
}

interface CacheEntry<S> {
  readonly bits: Uint32Array;
  readonly state: S;
}

function checkKey<S>(key: string, ops: readonly Operation[], model: Model<S>, budget: number): KeyResult {
  const n = ops.length;
  if (budget <= 0) return { key, verdict: 'unknown', operations: n, steps: 0 };
  // Entries: 0 is the head sentinel; op i has call entry 1 + 2i and return entry 2 + 2i.
  const size = 1 + 2 * n;
  const next = new Int32Array(size).fill(-1);
  const prev = new Int32Array(size).fill(-1);
  const order: Array<{ entry: number; time: number; tie: number }> = [];
  ops.forEach((op, i) => {
    order.push({ entry: 1 + 2 * i, time: op.call, tie: i });
    order.push({ entry: 2 + 2 * i, time: op.ret, tie: i });
  });
  // At equal times (only Infinity in practice) order by op; a return never precedes its own call.
  order.sort((a, b) => (a.time === b.time ? a.tie - b.tie || a.entry - b.entry : a.time - b.time));
  let last = 0;
  for (const o of order) {
    next[last] = o.entry;
    prev[o.entry] = last;
    last = o.entry;
  }

  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const zobrist = new Int32Array(n);
  for (let i = 0; i < n; i++) zobrist[i] = mix32(i + 1);
  let bitsHash = 0;
  const cache = new Map<number, Array<CacheEntry<S>>>();
  const stackOp: number[] = [];
  const stackState: S[] = [];
  let state = model.init(key);
  let best: number[] = [];
  let steps = 0;

  const lift = (c: number): void => {
    const r = c + 1;
    next[prev[c]!] = next[c]!;
    if (next[c]! !== -1) prev[next[c]!] = prev[c]!;
    next[prev[r]!] = next[r]!;
    if (next[r]! !== -1) prev[next[r]!] = prev[r]!;
  };
  const unlift = (c: number): void => {
    const r = c + 1;
    next[prev[r]!] = r;
    if (next[r]! !== -1) prev[next[r]!] = r;
    next[prev[c]!] = c;
    if (next[c]! !== -1) prev[next[c]!] = c;
  };

  // Symmetry: calls with unknown outcomes that would have the same effect (same function and
  // arguments) are interchangeable once both are invoked, so only orders that linearize them in
  // call order are explored: op i waits for its previous twin. Sound because any linearization
  // can swap two twins' positions (both returns are at infinity, the later one's call precedes
  // the earlier slot whenever it is a candidate there).
  const prevTwin = new Int32Array(n).fill(-1);
  const lastTwin = new Map<string, number>();
  ops.forEach((op, i) => {
    if (op.outcome !== 'unknown' || op.ret !== Infinity) return;
    const sig = `${op.f}\u0000${typeof op.value}:${String(op.value)}\u0000${typeof op.from}:${String(op.from)}\u0000${typeof op.to}:${String(op.to)}`;
    const prev = lastTwin.get(sig);
    if (prev !== undefined) prevTwin[i] = prev;
    lastTwin.set(sig, i);
  });

  let entry = next[0]!;
  while (next[0]! !== -1) {
    if (++steps > budget) return { key, verdict: 'unknown', operations: n, steps: budget };
    if (entry === -1) {
      // Walked off the end: every remaining entry is a call with an unknown outcome that was
      // refused or already explored in this state (their returns sort last). A dead end.
      entry = backtrack();
      if (entry === -2) return failed();
      continue;
    }
    if ((entry & 1) === 1) {
      const i = (entry - 1) >>> 1;
      const twin = prevTwin[i]!;
      if (twin >= 0 && (bits[twin >>> 5]! & (1 << (twin & 31))) === 0) {
        entry = next[entry]!;
        continue;
      }
      const newState = model.step(state, ops[i]!);
      if (newState !== undefined) {
        const h = bitsHash ^ zobrist[i]!;
        bits[i >>> 5]! |= 1 << (i & 31);
        const probe = (h ^ Math.imul(model.hash(newState), 0x27d4eb2d)) | 0;
        let bucket = cache.get(probe);
        let seen = false;
        if (bucket !== undefined) {
          for (const c of bucket) {
            if (model.equal(c.state, newState) && sameBits(c.bits, bits)) {
              seen = true;
              break;
            }
          }
        }
        if (!seen) {
          if (bucket === undefined) cache.set(probe, (bucket = []));
          bucket.push({ bits: bits.slice(), state: newState });
          stackOp.push(i);
          stackState.push(state);
          state = newState;
          bitsHash = h;
          lift(entry);
          if (stackOp.length > best.length) best = stackOp.slice();
          entry = next[0]!;
          continue;
        }
        bits[i >>> 5]! &= ~(1 << (i & 31));
      }
      entry = next[entry]!;
    } else {
      entry = backtrack();
      if (entry === -2) return failed();
    }
  }
  return { key, verdict: 'linearizable', operations: n, steps };

  function backtrack(): number {
    const i = stackOp.pop();
    if (i === undefined) return -2;
    state = stackState.pop()!;
    bits[i >>> 5]! &= ~(1 << (i & 31));
    bitsHash ^= zobrist[i]!;
    const c = 1 + 2 * i;
    unlift(c);
    return next[c]!;
  }

  function failed(): KeyResult {
    const placed = new Set(best);
    const stuckOn: number[] = [];
    // Pending at the longest prefix: unplaced ops whose call precedes the first unplaced return.
    let firstRet = Infinity;
    ops.forEach((op, i) => {
      if (!placed.has(i) && op.ret < firstRet) firstRet = op.ret;
    });
    ops.forEach((op, i) => {
      if (!placed.has(i) && op.call < firstRet) stuckOn.push(op.id);
    });
    return { key, verdict: 'not-linearizable', operations: n, steps, longestPrefix: best.map((i) => ops[i]!.id), stuckOn };
  }
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A 32-bit integer finaliser (murmur3 fmix32): distinct, well-spread Zobrist keys per op. */
function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
