/**
 * The on-disk formats of the Raft log (all integers little-endian).
 *
 * Segment file `<seq:16 hex>.wal`:
 *   header (32 bytes): magic "NTRFTWAL" | version u32 | reserved u32 | seq u64 | reserved u32 | crc32c(bytes 0..27) u32
 *   then records, back to back.
 * Record: length u32 (of the body) | crc32c(body) u32 | body
 *   body[0] = kind:
 *     1 entry      index u64 | term u64 | entry type u8 (0 normal, 1 conf-change, 2 noop) | data
 *     2 hard state term u64 | commit u64 | vote length u16 | vote (UTF-8)
 *     3 snapshot   index u64 | term u64: the log was replaced by the snapshot at (index, term)
 */
import type { Entry, EntryType, HardState } from '../core/index.js';
import { crc32c } from './crc32c.js';

export const SEGMENT_MAGIC = 'NTRFTWAL';
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 32;
export const RECORD_HEADER_BYTES = 8;
/** A length field above this is garbage, not a record (entries are far smaller). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export const REC_ENTRY = 1;
export const REC_HARD_STATE = 2;
export const REC_SNAPSHOT = 3;

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'conf-change', 'noop'];
const enc = new TextEncoder();
const dec = new TextDecoder();

export type LogRecord =
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hard-state'; readonly hardState: HardState }
  | { readonly kind: 'snapshot'; readonly index: number; readonly term: number };

function putU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32LE(n % 0x1_0000_0000, off);
  buf.writeUInt32LE(Math.floor(n / 0x1_0000_0000), off + 4);
}

function getU64(buf: Uint8Array, off: number): number {
  const lo = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
  const hi = (buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

export function encodeSegmentHeader(seq: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.write(SEGMENT_MAGIC, 0, 'latin1');
  b.writeUInt32LE(SEGMENT_VERSION, 8);
  putU64(b, 16, seq);
  b.writeUInt32LE(crc32c(b, 0, 28), 28);
  return b;
}

/** The segment's sequence number, or an error message (wrong magic, version or checksum). */
export function decodeSegmentHeader(b: Uint8Array): { seq: number } | { error: string } {
  if (Buffer.from(b.buffer, b.byteOffset, 8).toString('latin1') !== SEGMENT_MAGIC) {
    return { error: `not a nomadts raft log segment (magic ${JSON.stringify(Buffer.from(b.buffer, b.byteOffset, 8).toString('latin1'))})` };
  }
  const view = Buffer.from(b.buffer, b.byteOffset, SEGMENT_HEADER_BYTES);
  const version = view.readUInt32LE(8);
  if (version !== SEGMENT_VERSION) return { error: `unsupported segment version ${version} (this build reads version ${SEGMENT_VERSION})` };
  if (view.readUInt32LE(28) !== crc32c(b, 0, 28)) return { error: 'segment header checksum mismatch' };
  return { seq: getU64(b, 16) };
}

/** Sizes of the records `entries` encode to (for batching before allocating). */
export function entryRecordBytes(e: Entry): number {
  return RECORD_HEADER_BYTES + 18 + e.data.length;
}

function seal(buf: Buffer, off: number, bodyLen: number): void {
  buf.writeUInt32LE(bodyLen, off);
  buf.writeUInt32LE(crc32c(buf, off + 8, off + 8 + bodyLen), off + 4);
}

/** Write an entry record at `off`; returns the offset after it. */
export function writeEntryRecord(buf: Buffer, off: number, e: Entry): number {
  const body = off + RECORD_HEADER_BYTES;
  buf[body] = REC_ENTRY;
  putU64(buf, body + 1, e.index);
  putU64(buf, body + 9, e.term);
  buf[body + 17] = ENTRY_TYPES.indexOf(e.type);
  buf.set(e.data, body + 18);
  seal(buf, off, 18 + e.data.length);
  return body + 18 + e.data.length;
}

export function encodeHardStateRecord(hs: HardState): Buffer {
  const vote = enc.encode(hs.vote);
  const bodyLen = 1 + 16 + 2 + vote.length;
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bodyLen);
  const body = RECORD_HEADER_BYTES;
  buf[body] = REC_HARD_STATE;
  putU64(buf, body + 1, hs.term);
  putU64(buf, body + 9, hs.commit);
  buf.writeUInt16LE(vote.length, body + 17);
  buf.set(vote, body + 19);
  seal(buf, 0, bodyLen);
  return buf;
}

export function encodeSnapshotRecord(index: number, term: number): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + 17);
  buf[RECORD_HEADER_BYTES] = REC_SNAPSHOT;
  putU64(buf, RECORD_HEADER_BYTES + 1, index);
  putU64(buf, RECORD_HEADER_BYTES + 9, term);
  seal(buf, 0, 17);
  return buf;
}

/** Why a record could not be read: a torn tail looks the same as corruption from inside the file. */
export interface ScanStop {
  readonly offset: number;
  readonly reason: string;
}

/**
 * Decode records from `buf[start..)`, calling `onRecord(record, offset)` for each good one. Stops
 * at the end of the buffer or at the first record that is short, has an impossible length, fails
 * its checksum or does not decode; returns the end of the last good record and why it stopped.
 * Entry data are views into `buf` (no copy: a segment read at recovery stays in memory while any
 * of its entries do, which the in-memory log holds anyway).
 */
export function scanRecords(buf: Uint8Array, start: number, onRecord: (rec: LogRecord, offset: number) => void): { end: number; stop?: ScanStop } {
  let off = start;
  while (off < buf.length) {
    if (buf.length - off < RECORD_HEADER_BYTES) return { end: off, stop: { offset: off, reason: `short record header (${buf.length - off} bytes)` } };
    const len = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
    const crc = (buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16) | (buf[off + 7]! << 24)) >>> 0;
    if (len === 0 || len > MAX_RECORD_BYTES) return { end: off, stop: { offset: off, reason: `impossible record length ${len}` } };
    const body = off + RECORD_HEADER_BYTES;
    if (body + len > buf.length) return { end: off, stop: { offset: off, reason: `record of ${len} bytes runs past the end of the file` } };
    if (crc32c(buf, body, body + len) !== crc) return { end: off, stop: { offset: off, reason: 'record checksum mismatch' } };
    const rec = decodeBody(buf, body, len);
    if (typeof rec === 'string') return { end: off, stop: { offset: off, reason: rec } };
    onRecord(rec, off);
    off = body + len;
  }
  return { end: off };
}

function decodeBody(buf: Uint8Array, body: number, len: number): LogRecord | string {
  switch (buf[body]) {
    case REC_ENTRY: {
      if (len < 18) return `entry record too short (${len} bytes)`;
      const type = ENTRY_TYPES[buf[body + 17]!];
      if (type === undefined) return `unknown entry type ${buf[body + 17]}`;
      return {
        kind: 'entry',
        entry: { index: getU64(buf, body + 1), term: getU64(buf, body + 9), type, data: new Uint8Array(buf.buffer, buf.byteOffset + body + 18, len - 18) },
      };
    }
    case REC_HARD_STATE: {
      if (len < 19) return `hard state record too short (${len} bytes)`;
      const voteLen = buf[body + 17]! | (buf[body + 18]! << 8);
      if (19 + voteLen !== len) return 'hard state record length mismatch';
      return {
        kind: 'hard-state',
        hardState: { term: getU64(buf, body + 1), commit: getU64(buf, body + 9), vote: dec.decode(buf.subarray(body + 19, body + 19 + voteLen)) },
      };
    }
    case REC_SNAPSHOT:
      if (len !== 17) return 'snapshot record length mismatch';
      return { kind: 'snapshot', index: getU64(buf, body + 1), term: getU64(buf, body + 9) };
    default:
      return `unknown record kind ${buf[body]}`;
  }
}
