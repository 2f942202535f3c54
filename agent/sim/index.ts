export { simulatedNodes, DefaultShapes } from './nodes.js';
export type { NodeShape, SimulatedNodesOptions } from './nodes.js';
export { SimCluster } from './cluster.js';
export type { SimClusterOptions } from './cluster.js';
