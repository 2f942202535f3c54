/**
 * The gossip layer's domain types: members, their states, tags, the protocol's messages and its
 * configuration. Pure data; nothing here does I/O.
 */
import { NomadError } from '../../core/lib/index.js';

/** A member's state as this member sees it (memberlist's stateAlive/Suspect/Dead/Left). */
export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';

/** Free-form labels a member advertises, e.g. role, region, datacenter, Raft address, build. */
export type Tags = Readonly<Record<string, string>>;

/** A member as reported by `Memberlist.members()` and in events. */
export interface Member {
  readonly name: string;
  /** Where it listens for gossip (`host:port`, UDP and TCP on the same port). */
  readonly addr: string;
  readonly tags: Tags;
  readonly status: MemberStatus;
  /** Its incarnation number: only the member itself raises it, to refute suspicion or change tags. */
  readonly incarnation: number;
  /** When (this member's clock) the status last changed. */
  readonly statusSince: number;
}

/**
 * What `subscribe` reports: a member appeared or came back (`alive`), is suspected, was declared
 * failed, left gracefully, changed tags or address (`updated`), or was forgotten (`reaped`).
 */
export interface MemberEvent {
  readonly type: 'alive' | 'suspect' | 'failed' | 'left' | 'updated' | 'reaped';
  readonly member: Member;
}

/** Well-known tag names for nomadts servers (Nomad puts the same facts in Serf tags). */
export const TAG = {
  role: 'role',
  region: 'region',
  datacenter: 'dc',
  raftAddr: 'raft_addr',
  build: 'build',
} as const;

/** The tags a nomadts server advertises. */
export function serverTags(t: { region: string; datacenter: string; raftAddr: string; build: string; extra?: Tags }): Tags {
  return { ...t.extra, [TAG.role]: 'server', [TAG.region]: t.region, [TAG.datacenter]: t.datacenter, [TAG.raftAddr]: t.raftAddr, [TAG.build]: t.build };
}

// ---- messages (the wire's shapes; codec.ts validates every field on the way in) ----

/** Direct probe. `node` names the intended target so a restarted process with another name ignores it. */
export interface PingMsg { t: 'ping'; seq: number; node: string }
/** Ask the receiver to probe `node` at `addr` for us and relay the ack (and a nack if `nack`). */
export interface PingReqMsg { t: 'ping-req'; seq: number; node: string; addr: string; nack: boolean }
export interface AckMsg { t: 'ack'; seq: number }
/** The relay of an indirect probe got no answer in time: the requester's own network works. */
export interface NackMsg { t: 'nack'; seq: number }
export interface AliveMsg { t: 'alive'; node: string; addr: string; inc: number; tags: Tags }
export interface SuspectMsg { t: 'suspect'; node: string; inc: number; from: string }
/** `from === node` means the member left gracefully. */
export interface DeadMsg { t: 'dead'; node: string; inc: number; from: string }

export type PacketMsg = PingMsg | PingReqMsg | AckMsg | NackMsg | AliveMsg | SuspectMsg | DeadMsg;

/** One member's state in a push-pull exchange. */
export interface PushPullState { node: string; addr: string; inc: number; status: MemberStatus; tags: Tags }
export interface PushPullMsg { t: 'push-pull'; join: boolean; states: PushPullState[] }
/** A stream carries a push-pull exchange or a fallback ping (answered by an ack). */
export type StreamMsg = PushPullMsg | PingMsg | AckMsg;

// ---- configuration ----

export interface MemberlistConfig {
  /** Unique member name (Nomad: `<node name>.<region>`). */
  name: string;
  tags: Tags;
  /** SWIM protocol period: one probe per interval. */
  probeIntervalMs: number;
  /** How long to wait for a direct ack before probing indirectly. */
  probeTimeoutMs: number;
  /** Members asked to probe indirectly (ping-req) when a direct probe times out. */
  indirectChecks: number;
  /** λ in the retransmit limit λ·⌈log10(N+1)⌉. */
  retransmitMult: number;
  /** Suspicion timeout = mult · max(1, log10 N) · probe interval (its minimum). */
  suspicionMult: number;
  /** The maximum suspicion timeout, as a multiple of the minimum (before confirmations). */
  suspicionMaxTimeoutMult: number;
  gossipIntervalMs: number;
  /** Fan-out: members sent pending broadcasts every gossip interval. */
  gossipNodes: number;
  /** Keep gossiping to a failed member this long, so it can learn it was declared failed and refute. */
  gossipToTheDeadMs: number;
  /** Full state sync with one random live member this often (scaled up for large clusters). 0 disables. */
  pushPullIntervalMs: number;
  /** Try a push-pull with one random failed member this often, so partitions heal (Serf's reconnect). 0 disables. */
  reconnectIntervalMs: number;
  /** Forget failed and left members after this long. */
  reapAfterMs: number;
  /** Lifeguard's local health: timeouts are scaled by up to this factor when this member seems unhealthy. */
  awarenessMaxMultiplier: number;
  /** Largest UDP payload built (before encryption). */
  packetSizeLimit: number;
  /** Stream (TCP) exchanges give up after this long. */
  streamTimeoutMs: number;
  /** Largest tag set, in encoded bytes (memberlist's meta limit). */
  maxTagBytes: number;
}

/** memberlist's DefaultLANConfig, with Serf's reconnect and reap settings. */
export const DEFAULT_CONFIG: Omit<MemberlistConfig, 'name' | 'tags'> = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 30_000,
  reapAfterMs: 24 * 3600_000,
  awarenessMaxMultiplier: 8,
  packetSizeLimit: 1400,
  streamTimeoutMs: 10_000,
  maxTagBytes: 512,
};

/** Defaults filled in and every field checked; a bad value is an error naming the field. */
export function resolveConfig(c: Partial<MemberlistConfig> & { name: string }): MemberlistConfig {
  const cfg: MemberlistConfig = { ...DEFAULT_CONFIG, tags: {}, ...c };
  if (typeof cfg.name !== 'string' || cfg.name === '' || cfg.name.length > 255) {
    throw new NomadError('invalid_argument', 'gossip name must be 1-255 characters', { field: 'name' });
  }
  const positive: (keyof MemberlistConfig)[] = ['probeIntervalMs', 'probeTimeoutMs', 'retransmitMult', 'suspicionMult', 'gossipIntervalMs', 'gossipNodes', 'reapAfterMs', 'awarenessMaxMultiplier', 'packetSizeLimit', 'streamTimeoutMs', 'maxTagBytes'];
  for (const k of positive) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new NomadError('invalid_argument', `${k} must be a positive number, got ${JSON.stringify(v)}`, { field: k });
  }
  const nonNegative: (keyof MemberlistConfig)[] = ['indirectChecks', 'gossipToTheDeadMs', 'pushPullIntervalMs', 'reconnectIntervalMs'];
  for (const k of nonNegative) {
    const v = cfg[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new NomadError('invalid_argument', `${k} must be a number ≥ 0, got ${JSON.stringify(v)}`, { field: k });
  }
  if (cfg.suspicionMaxTimeoutMult < 1) throw new NomadError('invalid_argument', 'suspicionMaxTimeoutMult must be ≥ 1', { field: 'suspicionMaxTimeoutMult' });
  if (cfg.probeTimeoutMs > cfg.probeIntervalMs) throw new NomadError('invalid_argument', 'probeTimeoutMs must not exceed probeIntervalMs', { field: 'probeTimeoutMs' });
  checkTags(cfg.tags, cfg.maxTagBytes);
  return cfg;
}

export function checkTags(tags: Tags, maxBytes: number): void {
  if (typeof tags !== 'object' || tags === null) throw new NomadError('invalid_argument', 'tags must be an object of strings', { field: 'tags' });
  for (const [k, v] of Object.entries(tags)) {
    if (typeof v !== 'string') throw new NomadError('invalid_argument', `tag ${k} must be a string`, { field: `tags.${k}` });
  }
  const size = utf8Length(JSON.stringify(tags));
  if (size > maxBytes) throw new NomadError('invalid_argument', `tags take ${size} bytes encoded, more than the limit of ${maxBytes}`, { field: 'tags' });
}

/** Bytes of `s` in UTF-8, without allocating. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

export function sameTags(a: Tags, b: Tags): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
