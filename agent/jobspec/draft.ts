/**
 * A job as written: every field optional. The decoders (HCL and JSON) produce a
 * JobDraft; canonicalizeJob fills Nomad's defaults and yields the domain `Job`.
 */
import type { Job } from '../core/structs/index.js';

export type Draft<T> = T extends readonly (infer U)[]
  ? Draft<U>[]
  : T extends object
    ? { [K in keyof T]?: Draft<T[K]> | undefined }
    : T;

export type JobDraft = Draft<Job>;
export type TaskGroupDraft = NonNullable<JobDraft['taskGroups']>[number];
export type TaskDraft = NonNullable<TaskGroupDraft['tasks']>[number];
