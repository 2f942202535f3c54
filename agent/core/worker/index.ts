export { Worker } from './worker.js';
export type { Scheduler, SchedulerDeps, SchedulerFactory, WorkerBroker, WorkerDeps, WorkerStats, WorkerStep } from './worker.js';
