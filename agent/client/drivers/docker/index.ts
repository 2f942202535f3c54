/**
 * The docker task driver (dockerode): containers of the local engine, images built offline
 * (scripts/docker-image.sh), output into the task's log files, recovery after an agent restart.
 */
export { DockerClientOptions, DockerDriver, dockerOptionsFromClient, ImageHint } from './driver.js';
export type { DockerDriverOptions } from './driver.js';
export { buildContainerSpec, containerName, LabelAllocId, LabelManaged, LabelTaskId, LabelTaskName } from './spec.js';
export type { ContainerSpec, DockerPolicy } from './spec.js';
