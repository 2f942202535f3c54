/**
 * Replacing a file whole: the new content goes to a temporary file beside it, which is renamed
 * over the old one, so a reader (or a restart after a crash) sees the old file or the new one,
 * never half of either. `durable` also syncs the file before the rename and the directory after
 * it, for state that must survive a power loss (cluster peers, node id, keyring); without it a
 * crash may keep the old content, which is fine for files rewritten often (log positions,
 * control files, discovery files).
 */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ReplaceOptions {
  /** File mode of the new file (default 0o644 less the umask). */
  mode?: number;
  /** fsync the file before the rename and its directory after. */
  durable?: boolean;
}

/**
 * The temporary name carries the pid: two processes replacing the same file (two agents racing
 * for a discovery file) never write into one temporary file.
 */
export function replaceFileSync(path: string, data: string | Uint8Array, opts: ReplaceOptions = {}): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', opts.mode ?? 0o644);
    try {
      // A temporary file left by a crash keeps its mode through open(): set it.
      if (opts.mode !== undefined) fchmodSync(fd, opts.mode);
      writeFileSync(fd, data);
      if (opts.durable === true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (opts.durable === true) {
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}
