/**
 * Sequential specifications the checker tests a history against. A model is per key: the checker
 * splits a key-value history by key (keys are independent registers, so the history is linearizable
 * iff each key's sub-history is) and runs one search per key from `init(key)`.
 */
import type { KvValue, Operation } from './history.js';

/** A model's `step` may depend only on an operation's function, key, arguments and outcome (never
 * its process, id or times): the checker treats calls that agree on those as interchangeable. */
export interface Model<S> {
  readonly name: string;
  init(key: string): S;
  /**
   * The state after `op` takes effect at this point of a sequential order, or `undefined` when its
   * recorded outcome is impossible here (a read that saw another value, a cas that succeeded on a
   * different value). An `unknown` outcome must be accepted (it may or may not have applied).
   */
  step(state: S, op: Operation): S | undefined;
  equal(a: S, b: S): boolean;
  /** 32-bit hash consistent with `equal`. */
  hash(state: S): number;
}

/** Sentinel result of a step that is not allowed (states may be `undefined`-free values only). */
const NOT_ALLOWED = undefined;

/**
 * A compare-and-set register per key, starting absent (`null`): `write` sets it; `read` must see
 * the current value; `cas [from to]` with outcome `ok` needs the value to equal `from` and sets
 * `to`; a `fail`ed cas needs a different value and changes nothing; an `unknown` cas applies iff the
 * value equals `from` (placing it after everything stands for "never applied").
 */
export const registerModel: Model<KvValue> = {
  name: 'cas-register',
  init: () => null,
  step(state, op) {
    switch (op.f) {
      case 'read':
        return op.outcome === 'unknown' || op.value === state ? state : NOT_ALLOWED;
      case 'write':
        return op.value;
      case 'cas':
        if (op.outcome === 'ok') return state === op.from ? op.to : NOT_ALLOWED;
        if (op.outcome === 'fail') return state !== op.from ? state : NOT_ALLOWED;
        return state === op.from ? op.to : state;
    }
  },
  equal: (a, b) => a === b,
  hash: hashValue,
};

export function hashValue(v: KvValue): number {
  if (v === null) return 0x9e3779b9 | 0;
  if (typeof v === 'number') return Math.imul((v | 0) ^ ((v / 4294967296) | 0), 0x85ebca6b) ^ 0x5bd1e995;
  let h = 0x811c9dc5;
  for (let i = 0; i < v.length; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
  return h | 0;
}
