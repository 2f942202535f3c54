/**
 * The client's allocation runner (after nomad client/allocrunner): an AllocRunner runs
 * one allocation's tasks in lifecycle order (prestart → main → poststart, poststop
 * after), each through a TaskRunner with ordered task hooks, restart policy, kill
 * and persisted state for restore after a client restart.
 */
export { AllocRunner, allocGroup } from './alloc-runner.js';
export type { AllocHook, AllocRunnerOptions, AllocUpdateFn } from './alloc-runner.js';
export { MaxTaskEvents, normalizeSignal, TaskEventType, TaskRunner } from './task-runner.js';
export type { TaskEvent, TaskHook, TaskRunnerOptions, TaskSetup } from './task-runner.js';
export { getClientStatus } from './status.js';
export type { ClientStatus } from './status.js';
export { allocStateDir, listPersistedAllocs, readPersistedAlloc, readPersistedTask, taskStateFile } from './persist.js';
export type { PersistedTask } from './persist.js';
