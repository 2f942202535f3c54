/** Conf-change entries carry a ConfChange as UTF-8 JSON. */
import { NomadError } from '../../core/lib/index.js';
import type { ConfChange } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return enc.encode(JSON.stringify({ type: cc.type, id: cc.id }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    throw new NomadError('invalid_argument', 'conf-change entry: data is not JSON');
  }
  const o = v as { type?: unknown; id?: unknown };
  if (o.type !== 'add-voter' && o.type !== 'add-learner' && o.type !== 'remove') {
    throw new NomadError('invalid_argument', `conf-change entry: type must be add-voter, add-learner or remove, got ${JSON.stringify(o.type)}`, { field: 'type' });
  }
  if (typeof o.id !== 'string' || o.id === '') {
    throw new NomadError('invalid_argument', 'conf-change entry: id must be a non-empty string', { field: 'id' });
  }
  return { type: o.type, id: o.id };
}
