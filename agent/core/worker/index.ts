export { Worker } from './worker.js';
export type { EvalDelivery, Scheduler, SchedulerDeps, SchedulerFactory, WorkerBroker, WorkerDeps, WorkerStats, WorkerStep } from './worker.js';
