export { Server } from './server.js';
export type { ServerOptions, RegisterJobResult } from './server.js';
