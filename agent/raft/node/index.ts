/**
 * agent/raft/node: the driver around the Raft core — ticks from a Clock, persist → send → apply →
 * advance for every Ready, proposals with back-pressure and deadlines, ReadIndex reads, snapshots
 * of the state machine past a threshold. Storage and network come in (RaftStorage, Transport).
 */
export { RaftNode } from './node.js';
export type { RaftNodeOptions, StateMachine, ProposalResult } from './node.js';
export { MemoryRaftStorage } from './storage.js';
export type { RaftStorage } from './storage.js';
