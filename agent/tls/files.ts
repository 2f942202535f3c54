/** Writing certificate and key files: keys 0600, and never over a file that is already there. */
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { NomadError } from '../core/lib/index.js';

export interface PemFile {
  path: string;
  content: string;
  /** True for private keys: written 0600. Certificates are 0644. */
  secret: boolean;
}

/**
 * Writes every file or none: refuses when any path exists, and removes what it wrote if a
 * later write fails. The existence check and the exclusive create (`wx`) both guard races.
 */
export function writeNewPemFiles(files: readonly PemFile[]): void {
  const existing = files.filter((f) => existsSync(f.path)).map((f) => f.path);
  if (existing.length > 0) {
    throw new NomadError('conflict', `refusing to overwrite ${existing.join(', ')}: move or delete ${existing.length === 1 ? 'it' : 'them'} first`);
  }
  const written: string[] = [];
  try {
    for (const f of files) {
      writeFileSync(f.path, f.content, { flag: 'wx', mode: f.secret ? 0o600 : 0o644 });
      written.push(f.path);
    }
  } catch (err) {
    for (const p of written) {
      try { unlinkSync(p); } catch { /* already gone */ }
    }
    throw new NomadError('internal', `could not write ${files[written.length]?.path ?? 'certificate files'}: ${(err as Error).message}`);
  }
}

/** Replaces files (the dev certificates under a data dir, which nomadts owns). Keys 0600. */
export function writePemFiles(dir: string, files: readonly PemFile[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const f of files) {
    try { unlinkSync(f.path); } catch { /* not there */ }
    writeFileSync(f.path, f.content, { flag: 'wx', mode: f.secret ? 0o600 : 0o644 });
  }
}

/** Reads a PEM file, or throws a NomadError naming the file and what it was meant to be. */
export function readPemFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new NomadError('not_found', `cannot read ${what} ${path}: ${why}`);
  }
}
