/** Node ↔ nomadts.v1.Node. */
import type * as d from '../core/structs/index.js';
import * as pb from '../../proto/index.js';
import { copyMap, EnumCodec, invalidField, mapValues, required } from './codec.js';

export const nodeStatusCodec = new EnumCodec<d.NodeStatus, pb.NodeStatus>('node status', {
  initializing: pb.NodeStatus.NODE_STATUS_INITIALIZING,
  ready: pb.NodeStatus.NODE_STATUS_READY,
  down: pb.NodeStatus.NODE_STATUS_DOWN,
  disconnected: pb.NodeStatus.NODE_STATUS_DISCONNECTED,
});

export const eligibilityCodec = new EnumCodec<d.SchedulingEligibility, pb.SchedulingEligibility>('scheduling eligibility', {
  eligible: pb.SchedulingEligibility.SCHEDULING_ELIGIBILITY_ELIGIBLE,
  ineligible: pb.SchedulingEligibility.SCHEDULING_ELIGIBILITY_INELIGIBLE,
});

export function nodeToProto(n: d.Node, path = 'node'): pb.Node {
  const r = n.resources;
  return {
    id: n.id,
    name: n.name,
    datacenter: n.datacenter,
    nodeClass: n.nodeClass,
    nodePool: n.nodePool,
    computedClass: n.computedClass,
    httpAddr: n.httpAddr,
    attributes: copyMap(n.attributes),
    meta: copyMap(n.meta),
    resources: {
      cpu: r.cpu,
      cpuCores: r.cpuCores,
      memoryMb: r.memoryMB,
      diskMb: r.diskMB,
      mbits: r.mbits,
      minDynamicPort: r.minDynamicPort,
      maxDynamicPort: r.maxDynamicPort,
    },
    reserved: { cpu: n.reserved.cpu, memoryMb: n.reserved.memoryMB, diskMb: n.reserved.diskMB, reservedPorts: [...n.reserved.reservedPorts] },
    drivers: mapValues(n.drivers, (v) => ({ detected: v.detected, healthy: v.healthy, healthDescription: v.healthDescription, attributes: copyMap(v.attributes) })),
    status: nodeStatusCodec.encode(n.status, path, 'status'),
    statusDescription: n.statusDescription,
    statusUpdatedAtMs: n.statusUpdatedAt,
    schedulingEligibility: eligibilityCodec.encode(n.schedulingEligibility, path, 'schedulingEligibility'),
    drainStrategy:
      n.drainStrategy === null
        ? undefined
        : {
            deadlineMs: n.drainStrategy.deadline,
            ignoreSystemJobs: n.drainStrategy.ignoreSystemJobs,
            forceDeadlineMs: n.drainStrategy.forceDeadline,
            startedAtMs: n.drainStrategy.startedAt,
          },
    createIndex: n.createIndex,
    modifyIndex: n.modifyIndex,
  };
}

export function nodeFromProto(n: pb.Node, path = 'node'): d.Node {
  if (n.id === '') throw invalidField(path, 'id', 'required field is missing');
  const r = required(n.resources, path, 'resources');
  const reserved = required(n.reserved, path, 'reserved');
  return {
    id: n.id,
    name: n.name,
    datacenter: n.datacenter,
    nodeClass: n.nodeClass,
    nodePool: n.nodePool,
    computedClass: n.computedClass,
    httpAddr: n.httpAddr,
    attributes: copyMap(n.attributes),
    meta: copyMap(n.meta),
    resources: {
      cpu: r.cpu,
      cpuCores: r.cpuCores,
      memoryMB: r.memoryMb,
      diskMB: r.diskMb,
      mbits: r.mbits,
      minDynamicPort: r.minDynamicPort,
      maxDynamicPort: r.maxDynamicPort,
    },
    reserved: { cpu: reserved.cpu, memoryMB: reserved.memoryMb, diskMB: reserved.diskMb, reservedPorts: [...reserved.reservedPorts] },
    drivers: mapValues(n.drivers, (v) => ({ detected: v.detected, healthy: v.healthy, healthDescription: v.healthDescription, attributes: copyMap(v.attributes) })),
    status: nodeStatusCodec.decode(n.status, path, 'status'),
    statusDescription: n.statusDescription,
    statusUpdatedAt: n.statusUpdatedAtMs,
    schedulingEligibility: eligibilityCodec.decode(n.schedulingEligibility, path, 'schedulingEligibility'),
    drainStrategy:
      n.drainStrategy === undefined
        ? null
        : {
            deadline: n.drainStrategy.deadlineMs,
            ignoreSystemJobs: n.drainStrategy.ignoreSystemJobs,
            forceDeadline: n.drainStrategy.forceDeadlineMs,
            startedAt: n.drainStrategy.startedAtMs,
          },
    createIndex: n.createIndex,
    modifyIndex: n.modifyIndex,
  };
}
