export { SystemClock, systemRng } from './clock.js';
export { replaceFileSync } from './files.js';
export type { ReplaceOptions } from './files.js';
