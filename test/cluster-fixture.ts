/**
 * One three-server cluster of real processes per test file (the built CLI, as the raft
 * benchmark drives it): started before the file's tests, stopped and its directory removed
 * after. Call inside a `describe`; read `.cluster` in tests and hooks.
 */
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// eslint-disable-next-line no-restricted-imports -- the same process cluster the raft benchmark drives
import { NomadtsCluster } from '../scripts/bench/nomadts-cluster.js';
// eslint-disable-next-line no-restricted-imports -- its options
import type { NomadtsClusterOptions } from '../scripts/bench/nomadts-cluster.js';
import { cliMain } from './e2e.js';

export function realCluster(prefix: string, opts: Omit<NomadtsClusterOptions, 'cliMain'> = {}): { readonly cluster: NomadtsCluster; readonly dir: string } {
  let dir = '';
  let cluster: NomadtsCluster | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `nomadts-${prefix}-`));
    cluster = new NomadtsCluster(dir, { ...opts, cliMain });
    await cluster.start();
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 60_000);
  return {
    /** The cluster's own directory (configs, data dirs, logs), removed after the file's tests. */
    get dir(): string {
      return dir;
    },
    get cluster(): NomadtsCluster {
      if (cluster === undefined) throw new Error('realCluster: the cluster starts in beforeAll');
      return cluster;
    },
  };
}
