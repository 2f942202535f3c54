export { Server } from './server.js';
export type { ServerOptions, RegisterJobResult, EvalTypeCounters, LeadershipOptions } from './server.js';
