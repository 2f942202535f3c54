/**
 * Linux control groups for isolated task drivers (exec): per-task memory and CPU limits,
 * usage counters and OOM-kill counts, on cgroup v1 and v2 behind one interface.
 */
export { CgroupsV1, CgroupsV2, detectCgroups, listChildren, parseTaskCgroup, readKeyed, sharesToWeight } from './cgroups.js';
export type { CgroupLimits, CgroupManager, CgroupsV1Options, CgroupsV2Options, CgroupUsage, CgroupVersion, DetectOptions, TaskCgroup } from './cgroups.js';
