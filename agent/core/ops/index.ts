export { OpsEventBus, OpsTopics, discardOps, isOpsTopic } from './bus.js';
export type { OpsEvent, OpsEventBusOptions, OpsFilter, OpsPayload, OpsPoll, OpsSink, OpsSubscription, OpsTopic, OpsValue } from './bus.js';
