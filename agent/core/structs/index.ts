export * from './job.js';
export * from './node.js';
export * from './alloc.js';
export * from './eval.js';
export * from './deployment.js';
export * from './config.js';
export * from './plan.js';
export * from './state-reader.js';
