/**
 * The gossip keyring and AES-256-GCM sealing (memberlist keyring.go/security.go, learnt from):
 * the primary key encrypts, every installed key is tried to decrypt, so keys rotate without
 * downtime: install the new key everywhere → use it everywhere → remove the old one.
 *
 * Sealed payload: [version 1][12-byte nonce][ciphertext][16-byte GCM tag]; the version byte is
 * authenticated as additional data. Anything else is refused with a reason and changes nothing.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { NomadError } from '../../core/lib/index.js';
import type { OpenResult, Sealer } from '../core/index.js';

export const SEAL_VERSION = 1;
const NONCE = 12;
const TAG = 16;
export const KEY_BYTES = 32;

/** A base64 key, checked to be 32 bytes (AES-256). */
export function decodeKey(b64: string, field = 'key'): Buffer {
  const trimmed = b64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new NomadError('invalid_argument', `${field} is not base64`, { field });
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new NomadError('invalid_argument', `${field} must be ${KEY_BYTES} bytes (AES-256), got ${key.length}`, { field });
  return key;
}

/** A new random key, base64 (what `nomadts operator gossip keygen` prints). */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

export interface KeyringListing {
  primary: string;
  keys: string[];
}

export class Keyring {
  private keys: Buffer[];

  /** `keys[0]` is the primary. At least one key. */
  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new NomadError('invalid_argument', 'a keyring needs at least one key', { field: 'keys' });
    this.keys = [];
    keys.forEach((k, i) => {
      const key = decodeKey(k, `keys[${i}]`);
      if (!this.keys.some((x) => x.equals(key))) this.keys.push(key);
    });
  }

  /** Add a key for decryption (a no-op if installed). */
  install(b64: string): void {
    const key = decodeKey(b64);
    if (!this.keys.some((k) => k.equals(key))) this.keys.push(key);
  }

  /** Make an installed key the primary (the one that encrypts). */
  use(b64: string): void {
    const key = decodeKey(b64);
    const i = this.keys.findIndex((k) => k.equals(key));
    if (i < 0) throw new NomadError('not_found', 'key is not installed; install it first', { field: 'key' });
    this.keys.unshift(...this.keys.splice(i, 1));
  }

  /** Remove a key; the primary cannot be removed. */
  remove(b64: string): void {
    const key = decodeKey(b64);
    const i = this.keys.findIndex((k) => k.equals(key));
    if (i < 0) throw new NomadError('not_found', 'key is not installed', { field: 'key' });
    if (i === 0) throw new NomadError('conflict', 'the primary key cannot be removed; use another key first', { field: 'key' });
    this.keys.splice(i, 1);
  }

  list(): KeyringListing {
    const all = this.keys.map((k) => k.toString('base64'));
    return { primary: all[0]!, keys: all };
  }

  /** @internal */
  primary(): Buffer {
    return this.keys[0]!;
  }

  /** @internal */
  all(): readonly Buffer[] {
    return this.keys;
  }
}

/** Seals with the keyring's current primary; opens with any installed key (read live: rotation needs no restart). */
export class KeyringSealer implements Sealer {
  readonly overhead = 1 + NONCE + TAG;

  constructor(private readonly keyring: Keyring) {}

  seal(plain: Uint8Array): Uint8Array {
    const nonce = randomBytes(NONCE);
    const header = Buffer.from([SEAL_VERSION]);
    const c = createCipheriv('aes-256-gcm', this.keyring.primary(), nonce);
    c.setAAD(header);
    const body = Buffer.concat([c.update(plain), c.final()]);
    // A plain Uint8Array, not a Buffer: Buffer#slice shares memory, Uint8Array#slice copies.
    const out = new Uint8Array(1 + NONCE + body.length + TAG);
    out.set(header, 0);
    out.set(nonce, 1);
    out.set(body, 1 + NONCE);
    out.set(c.getAuthTag(), 1 + NONCE + body.length);
    return out;
  }

  open(sealed: Uint8Array): OpenResult {
    if (sealed.length < 1) return { ok: false, reason: 'truncated' };
    if (sealed[0] !== SEAL_VERSION) return { ok: false, reason: 'unknown-version' };
    if (sealed.length < 1 + NONCE + TAG + 1) return { ok: false, reason: 'truncated' };
    const nonce = sealed.subarray(1, 1 + NONCE);
    const body = sealed.subarray(1 + NONCE, sealed.length - TAG);
    const tag = sealed.subarray(sealed.length - TAG);
    for (const key of this.keyring.all()) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, nonce);
        d.setAAD(sealed.subarray(0, 1));
        d.setAuthTag(tag);
        const plain = Buffer.concat([d.update(body), d.final()]);
        return { ok: true, data: new Uint8Array(plain) };
      } catch {
        // wrong key or tampered: try the next key
      }
    }
    return { ok: false, reason: 'decrypt-failed' };
  }
}
