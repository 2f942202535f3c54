/**
 * Linearizability checker for client histories (Wing & Gong search with memoisation, as
 * Porcupine does it), pure code: no clock, no I/O.
 *
 *   const events = parseJepsenLog(text);            // or record HistoryEvents yourself
 *   const r = checkHistory(events, registerModel);  // { verdict, keys: [...] }
 *
 * A history is a list of events in real-time order: `invoke` when a client calls, then `ok`,
 * `fail` or `info` (outcome unknown; the call may take effect later or never) from the same
 * process. Keys are checked independently. `maxSteps` bounds the search; past it the verdict is
 * `unknown` instead of a hang. `explainFailure(events, result)` says where a failing history broke.
 */
export { checkHistory, checkOperations } from './check.js';
export type { CheckOptions, CheckResult, KeyResult, Verdict } from './check.js';
export { explainFailure, formatOperation } from './explain.js';
export { parseJepsenLog, toOperations } from './history.js';
export type { EventType, HistoryEvent, KvFunction, KvValue, Operation } from './history.js';
export { registerModel, hashValue } from './model.js';
export type { Model } from './model.js';
