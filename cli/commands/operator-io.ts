/**
 * Shared by `operator raft ...` and `server members`: a ClusterService client for -address (or
 * NOMADTS_ADDR) with the TLS files the environment names (the same as the API client's).
 */
import { readFileSync } from 'node:fs';
import { optionsFromEnv } from '../../agent/api/index.js';
import { NomadError } from '../../agent/core/lib/index.js';
import { ClusterClient, decodeSnapshotFile } from '../../agent/raft/transport/index.js';
import type { ClusterRaftStatus, SnapshotFileInfo } from '../../agent/raft/transport/index.js';
import type { Env, ParsedFlags } from './api-io.js';
import { Exit, errorText, parseFlags } from './api-io.js';
import type { Out } from './jobspec-io.js';

export function clusterClient(env: Env, f: ParsedFlags): ClusterClient {
  const address = f.value.get('address');
  const o = optionsFromEnv(address === undefined ? env : { ...env, NOMADTS_ADDR: address });
  return new ClusterClient(o.address, { caPem: o.caPem, certPem: o.certPem, keyPem: o.keyPem, ...(o.region !== undefined ? { region: o.region } : {}), ...(o.serverName !== undefined ? { serverName: o.serverName } : {}) });
}

/** Parse flags, connect, run, print errors the CLI way, close. */
export async function withCluster(out: Out, env: Env, args: readonly string[], spec: { bool?: string[]; value?: string[] }, run: (c: ClusterClient, f: ParsedFlags) => Promise<number>): Promise<number> {
  let client: ClusterClient | undefined;
  try {
    const f = parseFlags(args, spec);
    client = clusterClient(env, f);
    return await run(client, f);
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  } finally {
    client?.close();
  }
}

/** The leader's view when the asked server knows it (match indexes live there), else the server's own. */
export async function leaderView(c: ClusterClient, env: Env, f: ParsedFlags): Promise<ClusterRaftStatus> {
  const st = await c.raftStatus();
  if (st.role === 'leader' || st.leader === '') return st;
  const addr = st.peers.find((p) => p.id === st.leader)?.address;
  if (addr === undefined || addr === '') return st;
  const leader = clusterClient(env, { ...f, value: new Map([...f.value, ['address', addr]]) });
  try {
    return await leader.raftStatus();
  } catch {
    return st;
  } finally {
    leader.close();
  }
}

/** Read and check a snapshot file (`operator snapshot inspect | restore`); every fault names the file. */
export function readSnapshotFile(file: string): SnapshotFileInfo & { fileBytes: number } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new NomadError('invalid_argument', `${file}: cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { field: 'file' });
  }
  return { ...decodeSnapshotFile(bytes, file), fileBytes: bytes.length };
}
