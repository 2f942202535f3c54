/**
 * The generated wire types of package nomadts.v1 (proto/gen, written by `npm run proto:gen`),
 * behind one face. Only agent/rpc imports this: everything else uses the domain types of
 * agent/core/structs. A new .proto file needs one line here.
 */
export * from './gen/nomadts/v1/alloc.js';
export * from './gen/nomadts/v1/api.js';
export * from './gen/nomadts/v1/client.js';
export * from './gen/nomadts/v1/common.js';
export * from './gen/nomadts/v1/deployment.js';
export * from './gen/nomadts/v1/eval.js';
export * from './gen/nomadts/v1/job.js';
export * from './gen/nomadts/v1/node.js';
export * from './gen/nomadts/v1/operator.js';
export * from './gen/nomadts/v1/plan.js';
export * from './gen/nomadts/v1/usage.js';
export * from './gen/nomadts/v1/raft.js';
export * from './gen/nomadts/v1/raft_propose.js';
