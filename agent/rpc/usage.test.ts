/** Usage ↔ wire: lossless round trips, and refusals that name the bad field. */
import { describe, expect, it } from 'vitest';
import type { NodeResourceUsage } from '../core/structs/index.js';
import { NomadError } from '../core/lib/index.js';
import { nodeUsageFromProto, nodeUsageToProto } from './index.js';

const usage: NodeResourceUsage = {
  nodeId: 'n1',
  receivedAt: 1_700_000_000_123,
  allocs: [
    { allocId: 'a1', tasks: { web: { timestamp: 1_700_000_000_000, cpuPercent: 12.5, cpuMhz: 312.25, cpuTotalMs: 4567.5, memoryRssBytes: 52_428_800 } } },
    { allocId: 'a2', tasks: {} },
  ],
};

function refusal(fn: () => unknown): NomadError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NomadError);
    return e as NomadError;
  }
  throw new Error('expected a refusal');
}

describe('usage conversion', () => {
  it('round-trips a node report unchanged', () => {
    expect(nodeUsageFromProto(nodeUsageToProto(usage))).toEqual(usage);
  });

  it('refuses a missing alloc or node id and a negative or non-finite figure, naming the field', () => {
    const wire = nodeUsageToProto(usage);
    expect(refusal(() => nodeUsageFromProto({ ...wire, nodeId: '' })).field).toBe('usage.nodeId');
    expect(refusal(() => nodeUsageFromProto({ ...wire, allocs: [{ allocId: '', tasks: {} }] })).field).toBe('usage.allocs[0].allocId');
    const bad = { ...wire, allocs: [{ allocId: 'a1', tasks: { web: { ...wire.allocs[0]!.tasks['web']!, memoryRssBytes: -1 } } }] };
    const e = refusal(() => nodeUsageFromProto(bad));
    expect(e.field).toBe('usage.allocs[0].tasks["web"].memoryRssBytes');
    expect(e.message).toContain('must be a finite number ≥ 0, got -1');
    const nan = { ...wire, allocs: [{ allocId: 'a1', tasks: { web: { ...wire.allocs[0]!.tasks['web']!, cpuPercent: Number.NaN } } }] };
    expect(refusal(() => nodeUsageFromProto(nan)).field).toBe('usage.allocs[0].tasks["web"].cpuPercent');
  });
});
