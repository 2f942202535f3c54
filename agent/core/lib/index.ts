export { VirtualClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { SeededRng, shuffle, uuid } from './rng.js';
export type { Rng } from './rng.js';
export { NomadError, MultiError } from './errors.js';
export type { ErrorCode, Position } from './errors.js';
