/**
 * `nomadts operator snapshot inspect [-json] <file>`: what a saved state file holds — its format,
 * version, index, size, checksum and the number of rows per table — without a server. The file's
 * header, size and SHA-256 are checked first (as `operator snapshot restore` does).
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit, errorText, json, keyValues, parseFlags, positionals } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { readSnapshotFile } from './operator-io.js';

const Tables = ['jobs', 'jobVersions', 'nodes', 'allocs', 'evals', 'deployments'];

export async function operatorSnapshotInspect(args: readonly string[], out: Out, _env: Env = process.env): Promise<number> {
  try {
    const f = parseFlags(args, { bool: ['json'] });
    const [file] = positionals(f, ['file']);
    const snap = readSnapshotFile(file!);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.from(snap.image).toString('utf8'));
    } catch (err) {
      throw new NomadError('invalid_argument', `${file!}: not a nomadts state file: ${(err as Error).message}`);
    }
    const o = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    if (o.format !== 'nomadts-state') throw new NomadError('invalid_argument', `${file!}: not a nomadts state file (format ${JSON.stringify(o.format ?? null)}, expected "nomadts-state")`);
    const counts: Record<string, number> = {};
    for (const t of Tables) if (Array.isArray(o[t])) counts[t] = (o[t] as unknown[]).length;
    const info = { format: o.format, version: o.version, index: o.index, sizeBytes: snap.fileBytes, sha256: snap.sha256, rows: counts };
    if (f.bool.has('json')) {
      out.stdout(json(info));
      return Exit.ok;
    }
    out.stdout(keyValues([
      ['Format', String(o.format)],
      ['Version', String(o.version)],
      ['Index', String(o.index)],
      ['Size', `${snap.fileBytes} bytes`],
      ['SHA-256', `${snap.sha256} (verified)`],
      ...Object.entries(counts).map(([k, n]) => [k, n] as const),
    ]));
    return Exit.ok;
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
}
