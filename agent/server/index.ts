export { Server, planResultCommand } from './server.js';
export type { ServerOptions, RegisterJobResult } from './server.js';
