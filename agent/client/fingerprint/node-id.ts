/** The node id, created once and kept in `<dataDir>/client/node-id` so it survives restarts. */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import { replaceFileSync } from '../../runtime/index.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function nodeIdPath(dataDir: string): string {
  return join(dataDir, 'client', 'node-id');
}

/**
 * Reads the node id, or creates and persists a new one (written to a temporary file and
 * renamed, so a crash never leaves half an id). A file that holds something other than a
 * UUID is an error, not silently replaced: a new id would register a second node.
 */
export function loadOrCreateNodeId(dataDir: string): string {
  if (dataDir === '') throw new NomadError('invalid_argument', 'data_dir is required to keep the node id', { field: 'data_dir' });
  const path = nodeIdPath(dataDir);
  let existing: string | undefined;
  try {
    existing = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (existing !== undefined) {
    if (!UUID_RE.test(existing)) {
      throw new NomadError('invalid_argument', `${path}: not a node id (expected a UUID); remove the file to give this client a new identity`, { position: { file: path } });
    }
    return existing;
  }
  const id = randomUUID();
  mkdirSync(join(dataDir, 'client'), { recursive: true, mode: 0o700 });
  replaceFileSync(path, `${id}\n`, { mode: 0o600, durable: true });
  return id;
}
