export { listenNet, MAX_FRAME, NetTransport, splitHostPort } from './transport.js';
export type { NetTransportOptions } from './transport.js';
