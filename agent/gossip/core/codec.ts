/**
 * Wire encoding of the protocol's messages. A packet is one format byte (1: JSON) followed by a
 * JSON array of messages (memberlist's compound message): pings, acks and piggybacked broadcasts
 * share one datagram. A stream payload is the format byte and one JSON message. Every field of
 * every inbound message is checked; anything malformed drops the whole packet.
 */
import type { AckMsg, AliveMsg, DeadMsg, MemberStatus, NackMsg, PacketMsg, PingMsg, PingReqMsg, PushPullMsg, PushPullState, StreamMsg, SuspectMsg, Tags } from './types.js';
import type { OpenResult } from './transport.js';

export const FORMAT_JSON_V1 = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** One message as the JSON text that goes inside a packet's array. */
export function encodeMessage(m: PacketMsg): string {
  return JSON.stringify(m);
}

/** A packet from already-encoded messages. */
export function framePacket(parts: readonly string[]): Uint8Array {
  return frame(`[${parts.join(',')}]`);
}

/** Bytes a packet of these parts takes: format byte, brackets, commas. */
export function packetSize(partBytes: number, count: number): number {
  return 1 + 2 + partBytes + Math.max(0, count - 1);
}

export function encodeStream(m: StreamMsg): Uint8Array {
  return frame(JSON.stringify(m));
}

function frame(text: string): Uint8Array {
  const body = encoder.encode(text);
  const out = new Uint8Array(body.length + 1);
  out[0] = FORMAT_JSON_V1;
  out.set(body, 1);
  return out;
}

export type Decoded<T> = { ok: true; value: T } | Extract<OpenResult, { ok: false }>;

function parseFrame(data: Uint8Array): { ok: true; value: unknown } | Extract<OpenResult, { ok: false }> {
  if (data.length < 2) return { ok: false, reason: 'truncated' };
  if (data[0] !== FORMAT_JSON_V1) return { ok: false, reason: 'unknown-version' };
  try {
    return { ok: true, value: JSON.parse(decoder.decode(data.subarray(1))) as unknown };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

export function decodePacket(data: Uint8Array): Decoded<PacketMsg[]> {
  const f = parseFrame(data);
  if (!f.ok) return f;
  if (!Array.isArray(f.value) || f.value.length === 0 || f.value.length > 1024) return { ok: false, reason: 'malformed' };
  const out: PacketMsg[] = [];
  for (const raw of f.value as unknown[]) {
    const m = checkPacketMsg(raw);
    if (m === undefined) return { ok: false, reason: 'malformed' };
    out.push(m);
  }
  return { ok: true, value: out };
}

export function decodeStream(data: Uint8Array): Decoded<StreamMsg> {
  const f = parseFrame(data);
  if (!f.ok) return f;
  const m = checkStreamMsg(f.value);
  return m === undefined ? { ok: false, reason: 'malformed' } : { ok: true, value: m };
}

// ---- field checks ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 255;
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const STATUSES: ReadonlySet<string> = new Set<MemberStatus>(['alive', 'suspect', 'failed', 'left']);

function isTags(v: unknown): v is Tags {
  if (!isObj(v)) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
}

function checkPacketMsg(v: unknown): PacketMsg | undefined {
  if (!isObj(v)) return undefined;
  switch (v.t) {
    case 'ping':
      return isSeq(v.seq) && isName(v.node) ? ({ t: 'ping', seq: v.seq, node: v.node } satisfies PingMsg) : undefined;
    case 'ping-req':
      return isSeq(v.seq) && isName(v.node) && isName(v.addr) && typeof v.nack === 'boolean'
        ? ({ t: 'ping-req', seq: v.seq, node: v.node, addr: v.addr, nack: v.nack } satisfies PingReqMsg) : undefined;
    case 'ack':
      return isSeq(v.seq) ? ({ t: 'ack', seq: v.seq } satisfies AckMsg) : undefined;
    case 'nack':
      return isSeq(v.seq) ? ({ t: 'nack', seq: v.seq } satisfies NackMsg) : undefined;
    case 'alive':
      return isName(v.node) && isName(v.addr) && isSeq(v.inc) && isTags(v.tags)
        ? ({ t: 'alive', node: v.node, addr: v.addr, inc: v.inc, tags: v.tags } satisfies AliveMsg) : undefined;
    case 'suspect':
      return isName(v.node) && isSeq(v.inc) && isName(v.from) ? ({ t: 'suspect', node: v.node, inc: v.inc, from: v.from } satisfies SuspectMsg) : undefined;
    case 'dead':
      return isName(v.node) && isSeq(v.inc) && isName(v.from) ? ({ t: 'dead', node: v.node, inc: v.inc, from: v.from } satisfies DeadMsg) : undefined;
    default:
      return undefined;
  }
}

function checkState(v: unknown): PushPullState | undefined {
  if (!isObj(v)) return undefined;
  if (!isName(v.node) || !isName(v.addr) || !isSeq(v.inc) || typeof v.status !== 'string' || !STATUSES.has(v.status) || !isTags(v.tags)) return undefined;
  return { node: v.node, addr: v.addr, inc: v.inc, status: v.status as MemberStatus, tags: v.tags };
}

function checkStreamMsg(v: unknown): StreamMsg | undefined {
  if (!isObj(v)) return undefined;
  if (v.t === 'push-pull') {
    if (typeof v.join !== 'boolean' || !Array.isArray(v.states) || v.states.length > 100_000) return undefined;
    const states: PushPullState[] = [];
    for (const s of v.states as unknown[]) {
      const c = checkState(s);
      if (c === undefined) return undefined;
      states.push(c);
    }
    return { t: 'push-pull', join: v.join, states } satisfies PushPullMsg;
  }
  if (v.t === 'ping' || v.t === 'ack') {
    const m = checkPacketMsg(v);
    return m?.t === 'ping' || m?.t === 'ack' ? m : undefined;
  }
  return undefined;
}
