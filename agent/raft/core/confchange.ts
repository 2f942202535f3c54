/**
 * Conf-change entries carry the change and the membership it results in, as UTF-8 JSON. Applying
 * one sets the membership to that result (only one change is in flight at a time, so the leader
 * computes it against the membership it will apply to); a server that joins with no membership
 * learns the whole of it from the first conf-change entry (or snapshot) it receives.
 */
import { NomadError } from '../../core/lib/index.js';
import type { ConfChange, ConfState } from './types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface ConfChangeEntry extends ConfChange {
  /** The membership after the change. */
  readonly conf: ConfState;
}

export function encodeConfChange(cc: ConfChange, conf: ConfState): Uint8Array {
  return enc.encode(JSON.stringify({ type: cc.type, id: cc.id, conf }));
}

export function decodeConfChange(data: Uint8Array): ConfChangeEntry {
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(data));
  } catch {
    throw new NomadError('invalid_argument', 'conf-change entry: data is not JSON');
  }
  const o = v as { type?: unknown; id?: unknown; conf?: { voters?: unknown; learners?: unknown; promoting?: unknown } };
  if (o.type !== 'add-voter' && o.type !== 'add-learner' && o.type !== 'remove') {
    throw new NomadError('invalid_argument', `conf-change entry: type must be add-voter, add-learner or remove, got ${JSON.stringify(o.type)}`, { field: 'type' });
  }
  if (typeof o.id !== 'string' || o.id === '') {
    throw new NomadError('invalid_argument', 'conf-change entry: id must be a non-empty string', { field: 'id' });
  }
  const c = o.conf;
  if (!c || !isIds(c.voters) || !isIds(c.learners) || (c.promoting !== undefined && !isIds(c.promoting))) {
    throw new NomadError('invalid_argument', 'conf-change entry: conf must have voters and learners (lists of server ids)', { field: 'conf' });
  }
  const conf: ConfState = c.promoting !== undefined && c.promoting.length > 0
    ? { voters: c.voters, learners: c.learners, promoting: c.promoting }
    : { voters: c.voters, learners: c.learners };
  return { type: o.type, id: o.id, conf };
}

function isIds(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x !== '');
}

/** The membership after applying `cc` to `conf`. 'add-voter' of a non-member adds a learner
 * marked for promotion; of a learner, promotes it. */
export function applyChange(conf: ConfState, cc: ConfChange): ConfState {
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners);
  const promoting = new Set(conf.promoting ?? []);
  switch (cc.type) {
    case 'add-voter':
      if (voters.has(cc.id)) break;
      if (learners.has(cc.id)) {
        learners.delete(cc.id);
        promoting.delete(cc.id);
        voters.add(cc.id);
      } else {
        learners.add(cc.id);
        promoting.add(cc.id);
      }
      break;
    case 'add-learner':
      if (!voters.has(cc.id)) learners.add(cc.id);
      break;
    case 'remove':
      voters.delete(cc.id);
      learners.delete(cc.id);
      promoting.delete(cc.id);
      break;
  }
  return promoting.size > 0
    ? { voters: [...voters], learners: [...learners], promoting: [...promoting] }
    : { voters: [...voters], learners: [...learners] };
}
