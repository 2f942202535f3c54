/**
 * The API client the CLI and console use: typed, domain-level calls to a server over gRPC with
 * mutual TLS. Configured directly, or from the environment as Nomad's CLI is (NOMAD_ADDR,
 * NOMAD_CACERT, ...): NOMADTS_ADDR, NOMADTS_CACERT, NOMADTS_CLIENT_CERT, NOMADTS_CLIENT_KEY.
 */
import { readFileSync } from 'node:fs';
import { NomadError } from '../core/lib/index.js';
import type { RpcClientOptions } from '../rpc/index.js';
import { RpcApiClient } from '../rpc/index.js';
import { pidAlive, readDiscovery } from './discovery.js';

/** Where a server listens when NOMADTS_ADDR is not set. */
export const DefaultAddress = '127.0.0.1:4647';

export type ApiClientOptions = RpcClientOptions;

export class ApiClient extends RpcApiClient {
  /**
   * From NOMADTS_ADDR (host:port, an `https://` prefix is accepted; default 127.0.0.1:4647),
   * NOMADTS_CACERT, NOMADTS_CLIENT_CERT and NOMADTS_CLIENT_KEY (PEM file paths, all required),
   * and NOMADTS_REGION (default `global`). Each one left unset is taken from the dev agent
   * running on this machine, when there is one (see discovery.ts).
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>>, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): ApiClient {
    return new ApiClient(optionsFromEnv(env, read));
  }
}

/**
 * The API client's options from the environment. A variable that is set always wins; each one
 * that is not falls back to the dev agent published in the discovery file (when present and its
 * process alive), then to the default (address) or an error naming the variable (certificates).
 */
export function optionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
  alive: (pid: number) => boolean = pidAlive,
): ApiClientOptions {
  const set = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  const needsDiscovery = ['NOMADTS_ADDR', 'NOMADTS_CACERT', 'NOMADTS_CLIENT_CERT', 'NOMADTS_CLIENT_KEY', 'NOMADTS_REGION'].some((n) => set(n) === undefined);
  const dev = needsDiscovery ? readDiscovery(env, read, alive) : undefined;
  const address = parseAddress(set('NOMADTS_ADDR') ?? dev?.rpcAddr ?? DefaultAddress);
  const file = (name: string, fallback: string | undefined, what: string): string => {
    const path = set(name) ?? fallback;
    if (path === undefined) {
      throw new NomadError('invalid_argument', `${name} is not set: the API needs ${what} (PEM file) for mutual TLS`, { field: name });
    }
    try {
      return read(path);
    } catch (err) {
      throw new NomadError('invalid_argument', `${name}: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { field: name });
    }
  };
  const region = set('NOMADTS_REGION') ?? dev?.region;
  return {
    address,
    caPem: file('NOMADTS_CACERT', dev?.caFile, 'the cluster CA certificate'),
    certPem: file('NOMADTS_CLIENT_CERT', dev?.certFile, 'a cli certificate'),
    keyPem: file('NOMADTS_CLIENT_KEY', dev?.keyFile, "the cli certificate's private key"),
    ...(region !== undefined ? { region } : {}),
  };
}

/** `host:port` from NOMADTS_ADDR; `https://host:port` and a trailing `/` are accepted. */
export function parseAddress(raw: string): string {
  let s = raw.trim();
  if (s.startsWith('https://')) s = s.slice('https://'.length);
  else if (/^[a-z]+:\/\//i.test(s)) throw new NomadError('invalid_argument', `NOMADTS_ADDR ${JSON.stringify(raw)}: only https:// (or a bare host:port) is supported`, { field: 'NOMADTS_ADDR' });
  s = s.replace(/\/+$/, '');
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]/]+):(\d{1,5})$/i.exec(s);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port < 1 || port > 65535) {
    throw new NomadError('invalid_argument', `NOMADTS_ADDR ${JSON.stringify(raw)} must be host:port (e.g. 127.0.0.1:4647)`, { field: 'NOMADTS_ADDR' });
  }
  return s;
}
