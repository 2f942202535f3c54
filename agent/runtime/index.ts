export { SystemClock, systemRng } from './clock.js';
