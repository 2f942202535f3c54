export { decodeKey, generateKey, Keyring, KeyringSealer, KEY_BYTES, SEAL_VERSION } from './keyring.js';
export type { KeyringListing } from './keyring.js';
export { keyringPath, loadKeyring, saveKeyring } from './file.js';
