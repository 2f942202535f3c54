/**
 * `nomadts operator snapshot save <file>`: the cluster state as of a linearizable read point on the
 * server asked (ClusterService.SnapshotSave, streamed in 1 MiB chunks), written to `file`
 * atomically (a temporary file renamed into place) behind a header with its size and SHA-256
 * (agent/raft/transport snapshot-file.ts), which `operator snapshot restore` checks.
 */
import { encodeSnapshotFile } from '../../agent/raft/transport/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { withCluster } from './operator-io.js';
import { replaceFileSync } from '../../agent/runtime/index.js';

export async function operatorSnapshotSave(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, {}, async (c, f) => {
    const [file] = positionals(f, ['file']);
    const snap = await c.snapshotSave();
    const bytes = encodeSnapshotFile(snap.data);
    replaceFileSync(file!, bytes, { mode: 0o600, durable: true });
    out.stdout(`State file written to ${file!} (index ${snap.index}, ${bytes.byteLength} bytes)\n`);
    return Exit.ok;
  });
}
