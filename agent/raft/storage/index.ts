/**
 * agent/raft/storage: durable Raft storage (edge code: node:fs). `DiskStorage.open(dir)` recovers a
 * segmented, checksummed, group-committed log plus snapshot files and serves the core's
 * `LogStorage` from memory; `save(ready)` resolves once the Ready's snapshot, entries and hard
 * state are durable.
 */
export { DiskStorage } from './disk-storage.js';
export type { DiskStorageOptions, RecoveryReport, SaveRequest, StorageStats } from './disk-storage.js';
export { crc32c } from './crc32c.js';
