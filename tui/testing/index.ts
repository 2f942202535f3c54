export { T0, ops, sample } from './sample.js';
