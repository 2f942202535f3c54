import type { JobType } from '../structs/index.js';
import type { Scheduler, SchedulerDeps } from '../worker/index.js';
import { GenericScheduler } from './generic.js';
import { SystemScheduler } from './system.js';

/** The scheduler for a job type: the worker's SchedulerFactory. */
export function newScheduler(type: JobType, deps: SchedulerDeps): Scheduler {
  switch (type) {
    case 'service':
      return new GenericScheduler(false, deps);
    case 'batch':
      return new GenericScheduler(true, deps);
    case 'system':
      return new SystemScheduler(false, deps);
    case 'sysbatch':
      return new SystemScheduler(true, deps);
  }
}
