/** The node drainer: migrations per group within migrate.max_parallel, deadlines, system jobs last. */
export { drainStep, drainDeadlineAt, allocHealthyForDrain } from './drainer.js';
export type { DrainActions, GroupDrain, NodeDrainProgress } from './drainer.js';
