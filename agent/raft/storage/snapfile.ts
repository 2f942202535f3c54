/**
 * Snapshot files: `<index:16 hex>-<term:16 hex>.snap` in the snapshot directory.
 *
 *   header (48 bytes): magic "NTRFTSNP" | version u32 | meta length u32 | data length u64 |
 *                      index u64 | term u64 | crc32c(meta + data) u32 | crc32c(bytes 0..43) u32
 *   meta: JSON { index, term, conf }
 *   data: the state machine image
 *
 * Written to a temporary name, fsynced, renamed into place and the directory fsynced, so a crash
 * leaves either the whole file or none. The newest two are kept; on open the newest valid one is
 * loaded (a damaged newest file is reported and the previous one used).
 */
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import type { ConfState, Snapshot } from '../core/index.js';
import { crc32c } from './crc32c.js';
import { fsyncDir } from './fsutil.js';

export const SNAP_MAGIC = 'NTRFTSNP';
export const SNAP_VERSION = 1;
const HEADER = 48;
const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

function putU64(b: Buffer, off: number, n: number): void {
  b.writeUInt32LE(n % 0x1_0000_0000, off);
  b.writeUInt32LE(Math.floor(n / 0x1_0000_0000), off + 4);
}
function getU64(b: Buffer, off: number): number {
  return b.readUInt32LE(off + 4) * 0x1_0000_0000 + b.readUInt32LE(off);
}

export function encodeSnapshotFile(snap: Snapshot): Buffer[] {
  const meta = Buffer.from(JSON.stringify({ index: snap.meta.index, term: snap.meta.term, conf: snap.meta.conf }), 'utf8');
  const h = Buffer.alloc(HEADER);
  h.write(SNAP_MAGIC, 0, 'latin1');
  h.writeUInt32LE(SNAP_VERSION, 8);
  h.writeUInt32LE(meta.length, 12);
  putU64(h, 16, snap.data.length);
  putU64(h, 24, snap.meta.index);
  putU64(h, 32, snap.meta.term);
  h.writeUInt32LE(crc32c(snap.data, 0, snap.data.length, crc32c(meta)), 40);
  h.writeUInt32LE(crc32c(h, 0, 44), 44);
  return [h, meta, Buffer.from(snap.data.buffer, snap.data.byteOffset, snap.data.length)];
}

/** Decode and verify a snapshot file's bytes; the error says what is wrong. */
export function decodeSnapshotFile(b: Buffer, file: string): Snapshot {
  const bad = (why: string): NomadError => new NomadError('internal', why, { position: { file } });
  if (b.length < HEADER) throw bad(`truncated snapshot header (${b.length} of ${HEADER} bytes)`);
  const magic = b.toString('latin1', 0, 8);
  if (magic !== SNAP_MAGIC) throw bad(`not a nomadts raft snapshot (magic ${JSON.stringify(magic)})`);
  const version = b.readUInt32LE(8);
  if (version !== SNAP_VERSION) throw bad(`unsupported snapshot version ${version} (this build reads version ${SNAP_VERSION})`);
  if (b.readUInt32LE(44) !== crc32c(b, 0, 44)) throw bad('snapshot header checksum mismatch');
  const metaLen = b.readUInt32LE(12);
  const dataLen = getU64(b, 16);
  if (b.length !== HEADER + metaLen + dataLen) throw bad(`snapshot is ${b.length} bytes, header says ${HEADER + metaLen + dataLen}`);
  if (crc32c(b, HEADER, b.length) !== b.readUInt32LE(40)) throw bad('snapshot body checksum mismatch');
  let meta: { index?: unknown; term?: unknown; conf?: { voters?: unknown; learners?: unknown; promoting?: unknown } };
  try {
    meta = JSON.parse(b.toString('utf8', HEADER, HEADER + metaLen)) as typeof meta;
  } catch {
    throw bad('snapshot metadata is not JSON');
  }
  const index = getU64(b, 24);
  const term = getU64(b, 32);
  if (meta.index !== index || meta.term !== term) throw bad('snapshot metadata disagrees with its header');
  const conf = meta.conf;
  const ids = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (conf === undefined || !ids(conf.voters) || !ids(conf.learners) || (conf.promoting !== undefined && !ids(conf.promoting))) {
    throw bad('snapshot membership (conf) is malformed');
  }
  const c: ConfState = conf.promoting === undefined ? { voters: conf.voters, learners: conf.learners } : { voters: conf.voters, learners: conf.learners, promoting: conf.promoting };
  return { meta: { index, term, conf: c }, data: new Uint8Array(b.buffer, b.byteOffset + HEADER + metaLen, dataLen) };
}

/** Write `snap` durably (temp file, fsync, rename, fsync dir); returns its path. */
export async function writeSnapshotFile(dir: string, snap: Snapshot): Promise<string> {
  const name = snapshotFileName(snap.meta.index, snap.meta.term);
  const tmp = join(dir, `${name}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writev(encodeSnapshotFile(snap));
    await fh.sync();
  } finally {
    await fh.close();
  }
  const path = join(dir, name);
  await rename(tmp, path);
  await fsyncDir(dir);
  return path;
}

interface SnapFile {
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

async function listSnapshotFiles(dir: string): Promise<SnapFile[]> {
  const out: SnapFile[] = [];
  for (const name of await readdir(dir)) {
    const m = NAME.exec(name);
    if (m !== null) out.push({ name, index: parseInt(m[1]!, 16), term: parseInt(m[2]!, 16) });
  }
  // Newest first: by index, then term.
  return out.sort((a, b) => b.index - a.index || b.term - a.term);
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot | undefined;
  readonly file: string | undefined;
  /** Files newer than the one loaded that failed verification, with the reason. */
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
  /** How many snapshot files exist (valid or not). */
  readonly files: number;
}

/** The newest snapshot that verifies, after removing leftover temporary files. */
export async function loadNewestSnapshot(dir: string): Promise<LoadedSnapshot> {
  for (const name of await readdir(dir)) if (name.endsWith('.snap.tmp')) await unlink(join(dir, name));
  const files = await listSnapshotFiles(dir);
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const f of files) {
    const path = join(dir, f.name);
    try {
      const snap = decodeSnapshotFile(await readFile(path), path);
      if (snap.meta.index !== f.index || snap.meta.term !== f.term) throw new NomadError('internal', `file name disagrees with its header (index ${snap.meta.index}, term ${snap.meta.term})`, { position: { file: path } });
      return { snapshot: snap, file: path, skipped, files: files.length };
    } catch (err) {
      skipped.push({ file: path, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return { snapshot: undefined, file: undefined, skipped, files: files.length };
}

/** Keep the newest `keep` snapshot files, delete the rest. */
export async function pruneSnapshots(dir: string, keep: number): Promise<string[]> {
  const removed: string[] = [];
  for (const f of (await listSnapshotFiles(dir)).slice(keep)) {
    await unlink(join(dir, f.name));
    removed.push(f.name);
  }
  if (removed.length > 0) await fsyncDir(dir);
  return removed;
}
