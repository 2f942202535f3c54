/**
 * The schedulers: they only decide. Each sees a read-only StateReader and a
 * Planner; the reconciler is a pure function, placement is an iterator chain
 * (stack.ts), and the plan applier elsewhere is the one writer.
 */
export { newScheduler } from './factory.js';
export { GenericScheduler, MaxBatchScheduleAttempts, MaxServiceScheduleAttempts } from './generic.js';
export { SystemScheduler, MaxSystemScheduleAttempts } from './system.js';
export { reconcile, AllocStopReasons } from './reconcile.js';
export type { ReconcileInput, ReconcileResult, DesiredUpdates } from './reconcile.js';
export { GenericStack, SystemStack, candidateLimit } from './stack.js';
export type { RankedNode, SelectOptions } from './stack.js';
export { EvalContext } from './context.js';
export { readyNodesInDCs } from './feasible.js';
