/**
 * The task runner's building blocks on the client: the allocation directory, the
 * task environment and `${...}` interpolation, templates, the restart policy
 * tracker and rotating task logs. See each file's header for the Nomad behaviour
 * it follows.
 */
export { AllocDir, SharedAllocName, SharedDirs, TaskLocalDir, TaskSecretsDir, TaskTmpDir } from './allocdir.js';
export type { PathScope, TaskDirPaths } from './allocdir.js';
export { buildTaskEnv, cleanEnvKey, interpolate, interpolateConfig, nodeVars } from './env.js';
export type { InterpolationVars, TaskEnv, TaskEnvInput, TaskEnvPaths } from './env.js';
export { parseEnvFile, parsePerms, planChanges, renderTemplateText, TaskTemplates, templateName } from './template.js';
export type { ChangePlan, RenderedTemplate, RenderResult } from './template.js';
export {
  ReasonDelay,
  ReasonNoRestartsAllowed,
  ReasonSuccess,
  ReasonUnrecoverable,
  ReasonWithinPolicy,
  RestartJitterFraction,
  RestartTracker,
  restartsOnSuccess,
} from './restarts.js';
export type { RestartDecision, TaskExit } from './restarts.js';
export { logFileName, RotatingLogWriter, rotatingOptions, TaskLogs } from './logs.js';
export type { LogStream, ReadLogsOptions, RotatingLogOptions } from './logs.js';
export { logFifoPath, LogmonMarker, logmonAlive, logmonServing, logmonStopPath, releaseLogmon, retireTaskLogmon, startLogmon, stopLogmon } from './logmon.js';
export type { LogmonHandle } from './logmon.js';
