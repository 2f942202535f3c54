/** agent/raft/sim: the seeded Raft simulation (crashes, torn writes, partitions, loss,
 * duplication, reordering; safety every step, liveness after healing, client histories). */
export { runSimulation, SimFailure } from './sim.js';
export type { SimOptions, SimResult, SimStats } from './sim.js';
export { checkSimulation, replayCommand } from './check.js';
export type { SeedReport } from './check.js';
