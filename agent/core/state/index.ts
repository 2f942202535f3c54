/**
 * The replicated state: tables in persistent maps, O(1) immutable snapshots that
 * implement StateReader, blocking queries, the FSM (the only writer) and the
 * bounded event buffer it publishes to.
 */
export { StateStore, StateSnapshot } from './store.js';
export type { WaitOptions } from './store.js';
export { Fsm, jobSpecChanged } from './fsm.js';
export type { FsmOptions } from './fsm.js';
export { FsmCommandTypes } from './commands.js';
export type { AllocInput, ClientAllocUpdate, DeploymentStatusUpdate, FsmCommand, FsmCommandType, FsmResult } from './commands.js';
export { EventBuffer, EventTopics } from './events.js';
export type { StateEvent, StateEventType, StateEventPayload, EventTopic, TopicFilter, Subscription, SubscriptionResult } from './events.js';
export { deriveJobStatus } from './job-status.js';
export { JobTrackedVersions } from './tables.js';
export { SnapshotFormat, SnapshotVersion, checkSnapshot } from './snapshot.js';
