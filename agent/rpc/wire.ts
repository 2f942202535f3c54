/**
 * Domain value ↔ protobuf bytes in one call, and the one place a malformed message
 * (truncated bytes, a wrong wire type, an int64 beyond 2^53) becomes a NomadError.
 */
import type * as d from '../core/structs/index.js';
import type { StateEvent } from '../core/state/index.js';
import { NomadError } from '../core/lib/index.js';
import * as pb from '../../proto/index.js';
import { allocFromProto, allocToProto } from './alloc.js';
import { deploymentFromProto, deploymentToProto } from './deployment.js';
import { evalFromProto, evalToProto } from './eval.js';
import { eventFromProto, eventToProto } from './event.js';
import { jobFromProto, jobToProto } from './job.js';
import { nodeFromProto, nodeToProto } from './node.js';

/** What ts-proto generates for each message (`pb.Job`, `pb.Node`, ...). */
export interface WireCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/** Decodes `bytes` as a `what` message; a malformed message is a NomadError naming `what`. */
export function decodeWire<T>(codec: WireCodec<T>, bytes: Uint8Array, what: string): T {
  try {
    return codec.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new NomadError('invalid_argument', `${what}: malformed protobuf message: ${why}`, { field: what });
  }
}

export function encodeWire<T>(codec: WireCodec<T>, message: T): Uint8Array {
  return codec.encode(message).finish();
}

export const encodeJob = (job: d.Job): Uint8Array => encodeWire(pb.Job, jobToProto(job));
export const decodeJob = (bytes: Uint8Array): d.Job => jobFromProto(decodeWire(pb.Job, bytes, 'job'));
export const encodeNode = (node: d.Node): Uint8Array => encodeWire(pb.Node, nodeToProto(node));
export const decodeNode = (bytes: Uint8Array): d.Node => nodeFromProto(decodeWire(pb.Node, bytes, 'node'));
export const encodeAlloc = (alloc: d.Allocation): Uint8Array => encodeWire(pb.Allocation, allocToProto(alloc));
export const decodeAlloc = (bytes: Uint8Array): d.Allocation => allocFromProto(decodeWire(pb.Allocation, bytes, 'alloc'));
export const encodeEval = (ev: d.Evaluation): Uint8Array => encodeWire(pb.Evaluation, evalToProto(ev));
export const decodeEval = (bytes: Uint8Array): d.Evaluation => evalFromProto(decodeWire(pb.Evaluation, bytes, 'eval'));
export const encodeDeployment = (dep: d.Deployment): Uint8Array => encodeWire(pb.Deployment, deploymentToProto(dep));
export const decodeDeployment = (bytes: Uint8Array): d.Deployment => deploymentFromProto(decodeWire(pb.Deployment, bytes, 'deployment'));
export const encodeEvent = (e: StateEvent): Uint8Array => encodeWire(pb.Event, eventToProto(e));
export const decodeEvent = (bytes: Uint8Array): StateEvent => eventFromProto(decodeWire(pb.Event, bytes, 'event'));
