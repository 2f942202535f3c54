/**
 * `nomadts operator snapshot restore [-address host:port] <file>`: replace the cluster's state with
 * a file `operator snapshot save` wrote. The file is checked completely first (header, size,
 * SHA-256, the size limit), then streamed to the server asked (ClusterService.SnapshotRestore),
 * which checks every row of the image and has the leader commit it as one log entry that every
 * server applies. Any refusal leaves the cluster as it was.
 */
import { NomadError } from '../../agent/core/lib/index.js';
import { MaxRestoreBytes } from '../../agent/raft/transport/index.js';
import type { Env } from './api-io.js';
import { Exit, positionals } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { readSnapshotFile, withCluster } from './operator-io.js';

export async function operatorSnapshotRestore(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  return withCluster(out, env, args, {}, async (c, f) => {
    const [file] = positionals(f, ['file']);
    const snap = readSnapshotFile(file!);
    if (snap.size > MaxRestoreBytes) {
      throw new NomadError('too_large', `${file!}: the state image is ${snap.size} bytes; a restore takes at most ${MaxRestoreBytes} bytes (${MaxRestoreBytes / (1 << 20)} MiB: it travels as one Raft log entry)`, { field: 'file' });
    }
    let r;
    try {
      r = await c.snapshotRestore(snap.image);
    } catch (err) {
      // What the server found wrong inside the image: name the file it came from.
      if (err instanceof NomadError && (err.code === 'invalid_argument' || err.code === 'too_large')) throw new NomadError(err.code, `${file!}: ${err.message}`, { field: 'file' });
      throw err;
    }
    out.stdout(`Snapshot ${file!} restored (saved at index ${r.snapshotIndex}; committed at index ${r.index}, every server applies it there)\n`);
    return Exit.ok;
  });
}
