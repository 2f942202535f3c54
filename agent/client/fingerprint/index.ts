/**
 * Client fingerprinting: the host's facts, driver health and the client configuration
 * turned into the Node the client registers; the client config parser; the node id
 * kept in the data dir.
 */
export { fingerprintNode, fingerprintDrivers, NOMADTS_VERSION } from './fingerprint.js';
export type { FingerprintInput } from './fingerprint.js';
export { parseClientConfig, defaultClientConfig, clientOptionBool, rawExecEnabled } from './client-config.js';
export type { ClientConfig } from './client-config.js';
export { loadOrCreateNodeId, nodeIdPath } from './node-id.js';
export { probeHost } from './host.js';
export type { HostFacts, HostProbeOptions } from './host.js';
