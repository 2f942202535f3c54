/**
 * How the CLI finds a dev agent on the same machine without any NOMADTS_* variable:
 * `nomadts agent -dev` writes a small JSON file at a well-known path
 * (`$XDG_RUNTIME_DIR/nomadts-dev-agent.json`, else `<os tmpdir>/nomadts-dev-agent.json`)
 * naming its RPC address and the cli certificate it created, and removes it on exit.
 * A file whose pid is no longer alive is ignored (the agent crashed).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DiscoveryFileName = 'nomadts-dev-agent.json';

/** What a dev agent publishes about itself (also written to `<dataDir>/agent.json`). */
export interface AgentDiscovery {
  rpcAddr: string;
  region: string;
  caFile: string;
  /** The cli certificate and key (role `cli`), for the operator's commands. */
  certFile: string;
  keyFile: string;
  pid: number;
  dataDir: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The well-known path of the discovery file for this environment. */
export function discoveryFilePath(env: Env = process.env): string {
  const dir = env.XDG_RUNTIME_DIR;
  return join(dir !== undefined && dir !== '' ? dir : tmpdir(), DiscoveryFileName);
}

/** Is a process with this pid alive (signal 0; EPERM means alive but not ours)? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parse a discovery file's text; undefined when it is not one (never throws). */
export function parseDiscovery(text: string): AgentDiscovery | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? o[k] : undefined);
  const rpcAddr = str('rpcAddr');
  const caFile = str('caFile');
  const certFile = str('certFile');
  const keyFile = str('keyFile');
  const pid = o.pid;
  if (rpcAddr === undefined || caFile === undefined || certFile === undefined || keyFile === undefined || typeof pid !== 'number') return undefined;
  return { rpcAddr, caFile, certFile, keyFile, pid, region: str('region') ?? 'global', dataDir: str('dataDir') ?? '' };
}

/**
 * The live dev agent published at the well-known path, or undefined (no file, unreadable,
 * malformed, or its process is gone).
 */
export function readDiscovery(env: Env, read: (path: string) => string, alive: (pid: number) => boolean = pidAlive): AgentDiscovery | undefined {
  let text: string;
  try {
    text = read(discoveryFilePath(env));
  } catch {
    return undefined;
  }
  const d = parseDiscovery(text);
  return d !== undefined && alive(d.pid) ? d : undefined;
}
