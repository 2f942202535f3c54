/**
 * Resource usage (agent/core/structs usage.ts) ↔ the wire (proto usage.proto). Decoding refuses
 * a missing alloc or node id and a negative or non-finite figure, naming the field.
 */
import type { AllocResourceUsage, NodeResourceUsage, TaskResourceUsage } from '../core/structs/index.js';
import type * as pb from '../../proto/index.js';
import { invalidField, keyPath, mapValues, missingField } from './codec.js';

export function taskUsageToProto(u: TaskResourceUsage): pb.TaskResourceUsage {
  return { timestampMs: u.timestamp, cpuPercent: u.cpuPercent, cpuMhz: u.cpuMhz, cpuTotalMs: u.cpuTotalMs, memoryRssBytes: u.memoryRssBytes };
}

function figure(v: number, path: string, field: string): number {
  if (!Number.isFinite(v) || v < 0) throw invalidField(path, field, `must be a finite number ≥ 0, got ${v}`);
  return v;
}

export function taskUsageFromProto(p: pb.TaskResourceUsage, path = 'usage'): TaskResourceUsage {
  return {
    timestamp: figure(p.timestampMs, path, 'timestamp'),
    cpuPercent: figure(p.cpuPercent, path, 'cpuPercent'),
    cpuMhz: figure(p.cpuMhz, path, 'cpuMhz'),
    cpuTotalMs: figure(p.cpuTotalMs, path, 'cpuTotalMs'),
    memoryRssBytes: figure(p.memoryRssBytes, path, 'memoryRssBytes'),
  };
}

export function allocUsageToProto(a: AllocResourceUsage): pb.AllocResourceUsage {
  return { allocId: a.allocId, tasks: mapValues(a.tasks, taskUsageToProto) };
}

export function allocUsageFromProto(p: pb.AllocResourceUsage, path = 'alloc'): AllocResourceUsage {
  if (p.allocId === '') throw missingField(path, 'allocId');
  return { allocId: p.allocId, tasks: mapValues(p.tasks, (t, k) => taskUsageFromProto(t, keyPath(path, 'tasks', k))) };
}

export function nodeUsageToProto(n: NodeResourceUsage): pb.NodeResourceUsage {
  return { nodeId: n.nodeId, receivedAtMs: n.receivedAt, allocs: n.allocs.map(allocUsageToProto) };
}

export function nodeUsageFromProto(p: pb.NodeResourceUsage, path = 'usage'): NodeResourceUsage {
  if (p.nodeId === '') throw missingField(path, 'nodeId');
  return { nodeId: p.nodeId, receivedAt: figure(p.receivedAtMs, path, 'receivedAt'), allocs: p.allocs.map((a, i) => allocUsageFromProto(a, `${path}.allocs[${i}]`)) };
}
