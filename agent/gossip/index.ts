/**
 * agent/gossip: server membership and failure detection by SWIM gossip (Nomad's servers use Serf
 * over memberlist). The pure protocol is in core/; net/ is the real UDP/TCP transport, sim/ a
 * simulated network, keyring/ AES-256-GCM encryption and the keyring file. `startGossip` wires
 * them for an agent.
 */
import { SystemClock, systemRng } from '../runtime/index.js';
import type { MemberlistConfig, Tags } from './core/index.js';
import { Memberlist } from './core/index.js';
import type { Keyring } from './keyring/index.js';
import { KeyringSealer, loadKeyring } from './keyring/index.js';
import type { NetTransport } from './net/index.js';
import { listenNet } from './net/index.js';

export * from './core/index.js';
export { listenNet, NetTransport, splitHostPort } from './net/index.js';
export type { NetTransportOptions } from './net/index.js';
export { SimCluster, SimNetwork } from './sim/index.js';
export type { SimClusterOptions, SimNetworkOptions } from './sim/index.js';
export { decodeKey, generateKey, Keyring, KeyringSealer, keyringPath, loadKeyring, saveKeyring } from './keyring/index.js';
export type { KeyringListing } from './keyring/index.js';

export interface StartGossipOptions {
  name: string;
  bindAddr?: string;
  port?: number;
  advertiseAddr?: string;
  tags?: Tags;
  config?: Partial<Omit<MemberlistConfig, 'name' | 'tags'>>;
  /** Encrypt with the keyring in this file (see keyringPath); omitted → plaintext. */
  keyringFile?: string;
  /** Addresses to join at start; failure to reach any rejects. */
  join?: readonly string[];
  seed?: number;
}

export interface Gossip {
  memberlist: Memberlist;
  transport: NetTransport;
  keyring: Keyring | undefined;
}

/** A memberlist on real sockets with the wall clock, started (and joined, if `join` is given). */
export async function startGossip(o: StartGossipOptions): Promise<Gossip> {
  const keyring = o.keyringFile === undefined ? undefined : loadKeyring(o.keyringFile);
  const transport = await listenNet({ ...(o.bindAddr !== undefined ? { bindAddr: o.bindAddr } : {}), ...(o.port !== undefined ? { port: o.port } : {}), ...(o.advertiseAddr !== undefined ? { advertiseAddr: o.advertiseAddr } : {}) });
  const memberlist = new Memberlist({ ...o.config, name: o.name, tags: o.tags ?? {} }, {
    clock: new SystemClock(),
    rng: systemRng(o.seed).rng,
    transport,
    ...(keyring !== undefined ? { sealer: new KeyringSealer(keyring) } : {}),
  });
  memberlist.start();
  if (o.join !== undefined && o.join.length > 0) {
    try {
      await memberlist.join(o.join);
    } catch (err) {
      memberlist.shutdown();
      throw err;
    }
  }
  return { memberlist, transport, keyring };
}
