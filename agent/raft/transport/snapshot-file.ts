/**
 * The file `operator snapshot save` writes and `restore` reads: one header line of JSON, then the
 * state image (the FSM's canonical JSON, exactly the bytes ClusterService.SnapshotSave streams).
 *
 *   {"format":"nomadts-snapshot","version":1,"size":S,"sha256":"<hex>"}\n<S bytes of image>
 *
 * The header covers the image with its size and SHA-256 (as Nomad's snapshot archive covers its
 * parts with SHA-256 sums), so a truncated, padded or altered file is refused before anything is
 * sent; every header field is checked too, so no changed byte goes unnoticed. What the image holds
 * (its index, every row) is checked by the server (agent/core/state checkSnapshot).
 */
import { createHash } from 'node:crypto';
import { NomadError } from '../../core/lib/index.js';

export const SnapshotFileFormat = 'nomadts-snapshot';
export const SnapshotFileVersion = 1;
/**
 * The largest state image a restore accepts: it travels as one Raft log entry, and a Raft
 * message (like every message on a server's listener) is at most 16 MiB (agent/rpc
 * MaxMessageBytes); 1 MiB is left for the message around it.
 */
export const MaxRestoreBytes = 15 * 1024 * 1024;

export interface SnapshotFileInfo {
  size: number;
  sha256: string;
  /** The state image (a view into the file's bytes). */
  image: Uint8Array;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The file's bytes for a state image. */
export function encodeSnapshotFile(image: Uint8Array): Buffer {
  const header = JSON.stringify({ format: SnapshotFileFormat, version: SnapshotFileVersion, size: image.byteLength, sha256: sha256Hex(image) });
  return Buffer.concat([Buffer.from(`${header}\n`, 'utf8'), image]);
}

const MaxHeaderBytes = 4096;

/**
 * Check a snapshot file completely (header, size, checksum) and return its image. `name` (the
 * file's path) starts every error message. Nothing here looks inside the image.
 */
export function decodeSnapshotFile(bytes: Uint8Array, name: string): SnapshotFileInfo {
  function refuse(what: string): never {
    throw new NomadError('invalid_argument', `${name}: ${what}`, { field: 'file' });
  }
  if (bytes.byteLength === 0) refuse('the file is empty (not a nomadts state file)');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nl = buf.subarray(0, MaxHeaderBytes).indexOf(0x0a);
  if (nl < 0) {
    if (buf.subarray(0, 64).toString('utf8').startsWith('{"format":"nomadts-state"')) refuse('a bare state image without the snapshot header and checksum; save it again with this version\'s `operator snapshot save`');
    refuse(`not a nomadts state file (no "${SnapshotFileFormat}" header line)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(buf.subarray(0, nl).toString('utf8'));
  } catch {
    refuse(`not a nomadts state file (the first line is not a "${SnapshotFileFormat}" header)`);
  }
  const h = header !== null && typeof header === 'object' && !Array.isArray(header) ? (header as Record<string, unknown>) : {};
  if (h.format !== SnapshotFileFormat) refuse(`not a nomadts state file (format ${JSON.stringify(h.format ?? null)}, expected "${SnapshotFileFormat}")`);
  if (h.version !== SnapshotFileVersion) refuse(`unsupported snapshot file version ${JSON.stringify(h.version ?? null)} (this build reads version ${SnapshotFileVersion})`);
  const { size, sha256 } = h;
  if (Object.keys(h).length !== 4) refuse(`corrupt header: unexpected fields (${Object.keys(h).filter((k) => !['format', 'version', 'size', 'sha256'].includes(k)).join(', ') || 'missing ones'})`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) refuse(`corrupt header: size ${JSON.stringify(size ?? null)} is not a byte count`);
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) refuse('corrupt header: sha256 is not a SHA-256 in hex');
  const image = buf.subarray(nl + 1);
  if (image.byteLength < size) refuse(`truncated: the header promises ${size} bytes of state, the file holds ${image.byteLength}`);
  if (image.byteLength > size) refuse(`corrupt: ${image.byteLength - size} bytes follow the ${size} bytes of state the header promises`);
  const got = sha256Hex(image);
  if (got !== sha256) refuse(`checksum mismatch: the header says SHA-256 ${sha256}, the state hashes to ${got} (the file is corrupt)`);
  return { size, sha256, image };
}
