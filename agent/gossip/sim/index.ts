export { SimNetwork } from './network.js';
export type { SimCounters, SimNetworkOptions } from './network.js';
export { SimCluster } from './cluster.js';
export type { SimClusterOptions } from './cluster.js';
