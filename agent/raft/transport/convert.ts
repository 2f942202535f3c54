/**
 * Raft messages between the core's domain types (agent/raft/core) and the wire (RaftMessage of
 * proto/nomadts/v1/raft.proto). Lossless for every field a message type carries; decoding refuses
 * an unknown type, a missing snapshot meta or a bad entry type with a NomadError naming the field.
 */
import { NomadError } from '../../core/lib/index.js';
import type { ConfState, Entry, EntryType, Message, MessageType, SnapshotMeta } from '../core/index.js';
import * as pb from '../../../proto/index.js';

const EntryTypeToProto: Record<EntryType, pb.RaftEntryType> = {
  normal: pb.RaftEntryType.RAFT_ENTRY_TYPE_NORMAL,
  'conf-change': pb.RaftEntryType.RAFT_ENTRY_TYPE_CONF_CHANGE,
  noop: pb.RaftEntryType.RAFT_ENTRY_TYPE_NOOP,
};
const EntryTypeFromProto = new Map<number, EntryType>(Object.entries(EntryTypeToProto).map(([k, v]) => [v, k as EntryType]));

const TypeToProto: Record<MessageType, pb.RaftMessageType> = {
  app: pb.RaftMessageType.RAFT_MESSAGE_TYPE_APP,
  'app-resp': pb.RaftMessageType.RAFT_MESSAGE_TYPE_APP_RESP,
  vote: pb.RaftMessageType.RAFT_MESSAGE_TYPE_VOTE,
  'vote-resp': pb.RaftMessageType.RAFT_MESSAGE_TYPE_VOTE_RESP,
  prevote: pb.RaftMessageType.RAFT_MESSAGE_TYPE_PREVOTE,
  'prevote-resp': pb.RaftMessageType.RAFT_MESSAGE_TYPE_PREVOTE_RESP,
  heartbeat: pb.RaftMessageType.RAFT_MESSAGE_TYPE_HEARTBEAT,
  'heartbeat-resp': pb.RaftMessageType.RAFT_MESSAGE_TYPE_HEARTBEAT_RESP,
  snap: pb.RaftMessageType.RAFT_MESSAGE_TYPE_SNAP,
  'snap-resp': pb.RaftMessageType.RAFT_MESSAGE_TYPE_SNAP_RESP,
  'timeout-now': pb.RaftMessageType.RAFT_MESSAGE_TYPE_TIMEOUT_NOW,
  'read-index': pb.RaftMessageType.RAFT_MESSAGE_TYPE_READ_INDEX,
  'read-index-resp': pb.RaftMessageType.RAFT_MESSAGE_TYPE_READ_INDEX_RESP,
  'transfer-leader': pb.RaftMessageType.RAFT_MESSAGE_TYPE_TRANSFER_LEADER,
};
const TypeFromProto = new Map<number, MessageType>(Object.entries(TypeToProto).map(([k, v]) => [v, k as MessageType]));

const EmptyBytes = Buffer.alloc(0);
const bytes = (b: Uint8Array): Buffer => (b.byteLength === 0 ? EmptyBytes : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export function entryToProto(e: Entry): pb.RaftEntry {
  return { index: e.index, term: e.term, type: EntryTypeToProto[e.type], data: bytes(e.data) };
}

export function entryFromProto(e: pb.RaftEntry, field = 'entry'): Entry {
  const type = EntryTypeFromProto.get(e.type);
  if (type === undefined) throw new NomadError('invalid_argument', `${field}.type: unknown Raft entry type ${e.type}`, { field: `${field}.type` });
  return { index: e.index, term: e.term, type, data: new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength) };
}

function confToProto(c: ConfState): pb.RaftConfState {
  return { voters: [...c.voters], learners: [...c.learners], promoting: [...(c.promoting ?? [])] };
}

function confFromProto(c: pb.RaftConfState): ConfState {
  return { voters: c.voters, learners: c.learners, ...(c.promoting.length > 0 ? { promoting: c.promoting } : {}) };
}

function metaToProto(m: SnapshotMeta): pb.RaftSnapshotMeta {
  return { index: m.index, term: m.term, conf: confToProto(m.conf) };
}

/** A wire message with every field at its zero value but the common ones. */
function base(m: Message): pb.RaftMessage {
  return {
    type: TypeToProto[m.type], from: m.from, to: m.to, term: m.term,
    index: 0, logTerm: 0, entries: [], commit: 0, reject: false, rejectHint: 0, transfer: false, ctx: '',
    offset: 0, chunk: EmptyBytes, done: false, target: '',
  };
}

export function messageToProto(m: Message): pb.RaftMessage {
  const p = base(m);
  switch (m.type) {
    case 'app':
      p.index = m.index; p.logTerm = m.logTerm; p.commit = m.commit; p.entries = m.entries.map(entryToProto);
      break;
    case 'app-resp':
      p.index = m.index; p.reject = m.reject; p.rejectHint = m.rejectHint; p.logTerm = m.logTerm;
      break;
    case 'vote':
    case 'prevote':
      p.index = m.index; p.logTerm = m.logTerm; p.transfer = m.transfer;
      break;
    case 'vote-resp':
    case 'prevote-resp':
      p.reject = m.reject;
      break;
    case 'heartbeat':
      p.commit = m.commit; p.ctx = m.ctx;
      break;
    case 'heartbeat-resp':
      p.ctx = m.ctx;
      break;
    case 'snap':
      p.snapshotMeta = metaToProto(m.meta); p.offset = m.offset; p.chunk = bytes(m.chunk); p.done = m.done;
      break;
    case 'snap-resp':
      p.index = m.index; p.offset = m.offset; p.reject = m.reject;
      break;
    case 'timeout-now':
      break;
    case 'read-index':
      p.ctx = m.ctx;
      break;
    case 'read-index-resp':
      p.ctx = m.ctx; p.index = m.index; p.reject = m.reject;
      break;
    case 'transfer-leader':
      p.target = m.target;
      break;
  }
  return p;
}

export function messageFromProto(p: pb.RaftMessage, field = 'message'): Message {
  const type = TypeFromProto.get(p.type);
  if (type === undefined) throw new NomadError('invalid_argument', `${field}.type: unknown Raft message type ${p.type}`, { field: `${field}.type` });
  const c = { from: p.from, to: p.to, term: p.term };
  switch (type) {
    case 'app':
      return { type, ...c, index: p.index, logTerm: p.logTerm, commit: p.commit, entries: p.entries.map((e, i) => entryFromProto(e, `${field}.entries[${i}]`)) };
    case 'app-resp':
      return { type, ...c, index: p.index, reject: p.reject, rejectHint: p.rejectHint, logTerm: p.logTerm };
    case 'vote':
    case 'prevote':
      return { type, ...c, index: p.index, logTerm: p.logTerm, transfer: p.transfer };
    case 'vote-resp':
    case 'prevote-resp':
      return { type, ...c, reject: p.reject };
    case 'heartbeat':
      return { type, ...c, commit: p.commit, ctx: p.ctx };
    case 'heartbeat-resp':
      return { type, ...c, ctx: p.ctx };
    case 'snap': {
      const meta = p.snapshotMeta;
      if (meta === undefined) throw new NomadError('invalid_argument', `${field}.snapshotMeta: missing on a snap message`, { field: `${field}.snapshotMeta` });
      if (meta.conf === undefined) throw new NomadError('invalid_argument', `${field}.snapshotMeta.conf: missing`, { field: `${field}.snapshotMeta.conf` });
      return {
        type, ...c, offset: p.offset, done: p.done,
        meta: { index: meta.index, term: meta.term, conf: confFromProto(meta.conf) },
        chunk: new Uint8Array(p.chunk.buffer, p.chunk.byteOffset, p.chunk.byteLength),
      };
    }
    case 'snap-resp':
      return { type, ...c, index: p.index, offset: p.offset, reject: p.reject };
    case 'timeout-now':
      return { type, ...c };
    case 'read-index':
      return { type, ...c, ctx: p.ctx };
    case 'read-index-resp':
      return { type, ...c, ctx: p.ctx, index: p.index, reject: p.reject };
    case 'transfer-leader':
      return { type, ...c, target: p.target };
  }
}
