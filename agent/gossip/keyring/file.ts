/**
 * The keyring file (Serf's keyring format: a JSON array of base64 keys, the primary first),
 * written atomically with mode 0600. Nomad keeps it at `<data_dir>/server/serf.keyring`; nomadts
 * at `<data_dir>/server/gossip.keyring`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import { Keyring } from './keyring.js';
import { replaceFileSync } from '../../runtime/index.js';

export function keyringPath(dataDir: string): string {
  return join(dataDir, 'server', 'gossip.keyring');
}

export function loadKeyring(path: string): Keyring {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NomadError(code === 'ENOENT' ? 'not_found' : 'unavailable', `${path}: cannot read the keyring (${code ?? String(err)})`);
  }
  let keys: unknown;
  try {
    keys = JSON.parse(text);
  } catch {
    throw new NomadError('parse', 'not JSON; expected an array of base64 keys, the primary first', { position: { file: path } });
  }
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw new NomadError('parse', 'expected an array of base64 keys, the primary first', { position: { file: path } });
  }
  try {
    return new Keyring(keys);
  } catch (err) {
    if (err instanceof NomadError) throw new NomadError(err.code, err.message, { position: { file: path }, ...(err.field !== undefined ? { field: err.field } : {}) });
    throw err;
  }
}

export function saveKeyring(path: string, keyring: Keyring): void {
  mkdirSync(dirname(path), { recursive: true });
  replaceFileSync(path, `${JSON.stringify(keyring.list().keys, null, 2)}\n`, { mode: 0o600, durable: true });
}
