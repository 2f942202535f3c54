/**
 * What the protocol needs from a network (memberlist's transport.go, reshaped for callbacks):
 * best-effort packets (UDP) and reliable request/reply streams (TCP: connect, write one frame,
 * read one frame, close). Implementations: agent/gossip/net (node:dgram + node:net) and
 * agent/gossip/sim (a simulated network on a VirtualClock). The protocol runs unchanged on both.
 */

export interface TransportHandlers {
  /** A packet arrived from `from` (the sender's gossip address). */
  packet(from: string, data: Uint8Array): void;
  /** A stream opened by `from` carried `data`; answer by calling `reply` once (or never, to drop it). */
  stream(from: string, data: Uint8Array, reply: (data: Uint8Array) => void): void;
}

export interface Transport {
  /** The address other members reach this one at (`host:port`). */
  readonly addr: string;
  listen(handlers: TransportHandlers): void;
  /** Best effort: may be lost, delayed or reordered. */
  sendPacket(to: string, data: Uint8Array): void;
  /**
   * Open a stream to `to`, send `data`, read one reply. `done` is called at most once, with the
   * reply or an Error (refused, reset, timed out). The caller also keeps its own timeout.
   */
  request(to: string, data: Uint8Array, timeoutMs: number, done: (result: Uint8Array | Error) => void): void;
  close(): void;
}

/** Why an inbound packet or stream was dropped. Each is counted in `Memberlist.stats().dropped`. */
export type DropReason = 'truncated' | 'unknown-version' | 'decrypt-failed' | 'malformed';

export type OpenResult = { ok: true; data: Uint8Array } | { ok: false; reason: DropReason };

/**
 * Encryption of every packet and stream payload (memberlist security.go). The keyring-backed
 * AES-256-GCM sealer lives at the edge (agent/gossip/keyring); the core only calls this.
 */
export interface Sealer {
  /** Bytes `seal` adds to a payload. */
  readonly overhead: number;
  seal(plain: Uint8Array): Uint8Array;
  open(sealed: Uint8Array): OpenResult;
}
