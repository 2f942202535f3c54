/**
 * Task drivers (after nomad plugins/drivers): one interface, a `raw_exec` driver that
 * runs plain processes, and a deterministic `mock` driver for tests of the layers above.
 */
export { canRecover, canSignal, canStats } from './driver.js';
export type {
  DriverInfo, ExitResult, RecoverableDriver, SignalDriver, StatsDriver, TaskConfig, TaskDriver, TaskHandle, TaskState, TaskStatus, TaskUsage,
} from './driver.js';
export { RawExecDriver } from './raw-exec.js';
export type { RawExecOptions } from './raw-exec.js';
export { ExecClientOptions, ExecDriver, execOptionsFromClient, type ExecOptions } from './exec/index.js';
export { MockDriver } from './mock.js';
export type { MockDriverOptions } from './mock.js';
export { ConfigChecker } from './config.js';
export { DockerClientOptions, DockerDriver, dockerOptionsFromClient, type DockerDriverOptions } from './docker/index.js';
