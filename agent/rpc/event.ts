/** The event stream: StateEvent and topic filters ↔ nomadts.v1.Event / TopicFilter. */
import type * as d from '../core/structs/index.js';
import type { EventTopic, StateEvent, StateEventType, TopicFilter } from '../core/state/index.js';
import * as pb from '../../proto/index.js';
import { NomadError } from '../core/lib/index.js';
import type { OpsEvent, OpsFilter, OpsPayload, OpsTopic } from '../core/ops/index.js';
import { OpsTopics, isOpsTopic } from '../core/ops/index.js';
import { allocFromProto, allocToProto } from './alloc.js';
import { EnumCodec, missingField } from './codec.js';
import { deploymentFromProto, deploymentToProto } from './deployment.js';
import { evalFromProto, evalToProto } from './eval.js';
import { jobFromProto, jobToProto } from './job.js';
import { nodeFromProto, nodeToProto } from './node.js';
import { periodicLaunchFromProto, periodicLaunchToProto, schedulerConfigFromProto, schedulerConfigToProto } from './operator.js';

export const eventTopicCodec = new EnumCodec<EventTopic, pb.EventTopic>('event topic', {
  Job: pb.EventTopic.EVENT_TOPIC_JOB,
  Node: pb.EventTopic.EVENT_TOPIC_NODE,
  Allocation: pb.EventTopic.EVENT_TOPIC_ALLOCATION,
  Evaluation: pb.EventTopic.EVENT_TOPIC_EVALUATION,
  Deployment: pb.EventTopic.EVENT_TOPIC_DEPLOYMENT,
  SchedulerConfig: pb.EventTopic.EVENT_TOPIC_SCHEDULER_CONFIG,
});

const E = pb.EventType;
const eventTypeCodec = new EnumCodec<StateEventType, pb.EventType>('event type', {
  JobRegistered: E.EVENT_TYPE_JOB_REGISTERED,
  JobDeregistered: E.EVENT_TYPE_JOB_DEREGISTERED,
  JobPeriodicLaunch: E.EVENT_TYPE_JOB_PERIODIC_LAUNCH,
  NodeRegistration: E.EVENT_TYPE_NODE_REGISTRATION,
  NodeDeregistration: E.EVENT_TYPE_NODE_DEREGISTRATION,
  NodeStatusUpdate: E.EVENT_TYPE_NODE_STATUS_UPDATE,
  NodeEligibility: E.EVENT_TYPE_NODE_ELIGIBILITY,
  NodeDrain: E.EVENT_TYPE_NODE_DRAIN,
  AllocationUpdated: E.EVENT_TYPE_ALLOCATION_UPDATED,
  AllocationUpdateDesiredStatus: E.EVENT_TYPE_ALLOCATION_UPDATE_DESIRED_STATUS,
  AllocationDeleted: E.EVENT_TYPE_ALLOCATION_DELETED,
  PlanResult: E.EVENT_TYPE_PLAN_RESULT,
  EvaluationUpdated: E.EVENT_TYPE_EVALUATION_UPDATED,
  EvaluationDeleted: E.EVENT_TYPE_EVALUATION_DELETED,
  DeploymentUpdate: E.EVENT_TYPE_DEPLOYMENT_UPDATE,
  DeploymentStatusUpdate: E.EVENT_TYPE_DEPLOYMENT_STATUS_UPDATE,
  SchedulerConfigUpdated: E.EVENT_TYPE_SCHEDULER_CONFIG_UPDATED,
});

/** The payload's kind follows from the topic (the Job topic also carries periodic launches). */
function payloadToProto(e: StateEvent, path: string): pb.Event['payload'] {
  const p = e.payload;
  switch (e.topic) {
    case 'Job':
      return 'taskGroups' in p
        ? { $case: 'job', job: jobToProto(p as d.Job, `${path}.payload`) }
        : { $case: 'periodicLaunch', periodicLaunch: periodicLaunchToProto(p as d.PeriodicLaunch) };
    case 'Node':
      return { $case: 'node', node: nodeToProto(p as d.Node, `${path}.payload`) };
    case 'Allocation':
      return { $case: 'allocation', allocation: allocToProto(p as d.Allocation, `${path}.payload`) };
    case 'Evaluation':
      return { $case: 'evaluation', evaluation: evalToProto(p as d.Evaluation, `${path}.payload`) };
    case 'Deployment':
      return { $case: 'deployment', deployment: deploymentToProto(p as d.Deployment, `${path}.payload`) };
    case 'SchedulerConfig':
      return { $case: 'schedulerConfig', schedulerConfig: schedulerConfigToProto(p as d.SchedulerConfiguration, `${path}.payload`) };
  }
}

function payloadFromProto(p: pb.Event['payload'], path: string): d.Job | d.Node | d.Allocation | d.Evaluation | d.Deployment | d.PeriodicLaunch | d.SchedulerConfiguration {
  if (p === undefined) throw missingField(path, 'payload');
  const pp = `${path}.payload`;
  switch (p.$case) {
    case 'job':
      return jobFromProto(p.job, pp);
    case 'periodicLaunch':
      return periodicLaunchFromProto(p.periodicLaunch);
    case 'node':
      return nodeFromProto(p.node, pp);
    case 'allocation':
      return allocFromProto(p.allocation, pp);
    case 'evaluation':
      return evalFromProto(p.evaluation, pp);
    case 'deployment':
      return deploymentFromProto(p.deployment, pp);
    case 'schedulerConfig':
      return schedulerConfigFromProto(p.schedulerConfig, pp);
  }
}

export function eventToProto(e: StateEvent, path = 'event'): pb.Event {
  return {
    topic: eventTopicCodec.encode(e.topic, path, 'topic'),
    type: eventTypeCodec.encode(e.type, path, 'type'),
    key: e.key,
    filterKeys: [...e.filterKeys],
    namespace: e.namespace,
    index: e.index,
    payload: payloadToProto(e, path),
  };
}

export function eventFromProto(e: pb.Event, path = 'event'): StateEvent {
  return {
    topic: eventTopicCodec.decode(e.topic, path, 'topic'),
    type: eventTypeCodec.decode(e.type, path, 'type'),
    key: e.key,
    filterKeys: [...e.filterKeys],
    namespace: e.namespace,
    index: e.index,
    payload: payloadFromProto(e.payload, path),
  };
}

/** `'*'` travels as the single key "*" (Nomad's spelling); an empty filter as no topics. */
export function topicFilterToProto(filter: TopicFilter | undefined, path = 'topics'): pb.TopicFilter[] {
  if (filter === undefined) return [];
  const out: pb.TopicFilter[] = [];
  for (const [topic, keys] of Object.entries(filter) as [EventTopic, readonly string[] | '*' | undefined][]) {
    if (keys === undefined) continue;
    out.push({ topic: eventTopicCodec.encode(topic, path, `${topic}`), keys: keys === '*' ? ['*'] : [...keys] });
  }
  return out;
}

export function topicFilterFromProto(topics: readonly pb.TopicFilter[], path = 'topics'): TopicFilter | undefined {
  if (topics.length === 0) return undefined;
  const out: TopicFilter = {};
  topics.forEach((t, i) => {
    const topic = eventTopicCodec.decode(t.topic, `${path}[${i}]`, 'topic');
    out[topic] = t.keys.length === 1 && t.keys[0] === '*' ? '*' : [...t.keys];
  });
  return out;
}

// ---- Operational events (agent/core/ops) ----------------------------------------

export function opsEventToProto(e: OpsEvent): pb.OpsEvent {
  return { topic: e.topic, type: e.type, key: e.key, seq: e.seq, timeMs: e.time, payloadJson: JSON.stringify(e.payload) };
}

export function opsEventFromProto(e: pb.OpsEvent, path = 'ops'): OpsEvent {
  if (!isOpsTopic(e.topic)) throw new NomadError('invalid_argument', `${path}.topic: unknown operational topic "${e.topic}" (known: ${OpsTopics.join(', ')})`, { field: `${path}.topic` });
  let payload: unknown;
  try {
    payload = JSON.parse(e.payloadJson === '' ? '{}' : e.payloadJson);
  } catch (err) {
    throw new NomadError('invalid_argument', `${path}.payload_json: not JSON (${(err as Error).message})`, { field: `${path}.payload_json` });
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new NomadError('invalid_argument', `${path}.payload_json: must be a JSON object`, { field: `${path}.payload_json` });
  }
  return { topic: e.topic, type: e.type, key: e.key, seq: e.seq, time: e.timeMs, payload: payload as OpsPayload };
}

export function opsFilterToProto(filter: OpsFilter | undefined): pb.OpsTopicFilter[] {
  if (filter === undefined) return [];
  const out: pb.OpsTopicFilter[] = [];
  for (const [topic, keys] of Object.entries(filter) as [OpsTopic, readonly string[] | '*' | undefined][]) {
    if (keys === undefined) continue;
    out.push({ topic, keys: keys === '*' ? [] : [...keys] });
  }
  return out;
}

export function opsFilterFromProto(topics: readonly pb.OpsTopicFilter[], path = 'ops_topics'): OpsFilter | undefined {
  if (topics.length === 0) return undefined;
  const out: OpsFilter = {};
  topics.forEach((t, i) => {
    if (!isOpsTopic(t.topic)) throw new NomadError('invalid_argument', `${path}[${i}].topic: unknown operational topic "${t.topic}" (known: ${OpsTopics.join(', ')})`, { field: `${path}[${i}].topic` });
    out[t.topic] = t.keys.length === 0 || (t.keys.length === 1 && t.keys[0] === '*') ? '*' : [...t.keys];
  });
  return out;
}
