/**
 * Job specifications: Nomad-style HCL (and JSON) → the canonical, validated domain `Job`.
 * Only `parseJobFile` touches the file system.
 */
export { parseJobFile, parseJobText, parseJobJSON, DefaultMaxBytes, DefaultMaxDepth } from './parse.js';
export type { ParseOptions, ParseFileOptions, VarFile } from './parse.js';
export { canonicalizeJob, defaultRestart, defaultReschedule, JobDefaults } from './canonicalize.js';
export { jobToJSON } from './json.js';
export { parseDuration, formatDuration } from './duration.js';
export { checkCron } from './cron.js';
export type { JobDraft, Draft } from './draft.js';
export { formatPath } from './path.js';
export type { FieldPath, PathSegment } from './path.js';

import type { Job } from '../core/structs/index.js';
import { Issues, throwIssues } from './path.js';
import type { SourceMap } from './source-map.js';
import { validateJob as collect } from './validate.js';

/**
 * Validates a canonical job; throws a MultiError naming every problem. `source`
 * (the HCL text it came from) lets messages carry line:column.
 */
export function validateJob(job: Job, hint: { filename?: string; source?: SourceMap } = {}): void {
  const issues = new Issues();
  collect(job, issues);
  throwIssues(issues.list, hint.filename ?? '<job>', hint.source);
}

export { SourceMap } from './source-map.js';
