/**
 * What the Raft node driver needs of a network: hand off messages (fire and forget: Raft
 * tolerates loss, duplication and reordering) and be told of messages addressed to it.
 * Implementations: GrpcTransport (servers over mutual TLS) and MemoryNetwork (tests).
 */
import type { Message, ServerId } from '../core/index.js';

export type MessageHandler = (m: Message) => void;

export interface TransportStats {
  /** Messages handed to send() for each peer, and how many of those were dropped (queue full,
   * peer unknown or unreachable). */
  sent: number;
  dropped: number;
  received: number;
}

export interface Transport {
  /** This server's id (the `from` of what it sends). */
  readonly id: ServerId;
  /** Queue messages for their `to`; never blocks and never throws. */
  send(msgs: readonly Message[]): void;
  /** The handler of every message received for this server (one handler; a later call replaces it). */
  onMessage(handler: MessageHandler): void;
  /** Told when a connection to or from a peer breaks (e.g. its process died and the kernel reset
   * the connection), so the node can react before a timeout would (optional: a transport without
   * connections never calls it). One handler; a later call replaces it. */
  onConnectionLost?(handler: (peer: ServerId) => void): void;
  /** Where to reach a peer (gRPC: host:port). Re-adding replaces the address. */
  addPeer(id: ServerId, address: string): void;
  removePeer(id: ServerId): void;
  stats(): TransportStats;
  close(): Promise<void>;
}
