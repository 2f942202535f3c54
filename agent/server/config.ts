/**
 * A server agent's configuration in HCL, as Nomad's: the top-level `name`, `region`,
 * `datacenter`, `data_dir`, `bind_addr`, `advertise { rpc }`, `ports { rpc }`, `tls { ca_file
 * cert_file key_file }`, and the `server { enabled bootstrap_expect raft_multiplier }` and
 * `server_join { retry_join }` blocks. Every problem is reported with file:line:column and the
 * field (`server.hcl:4:3: server.bootstrap_expect: must be between 1 and 7, got 9`); blocks this
 * file does not read (client, telemetry, ...) are accepted and ignored.
 */
import { parse } from '@cdktn/hcl2json';
import { hostname } from 'node:os';
import { MultiError, NomadError } from '../core/lib/index.js';
import { parseDuration, SourceMap } from '../jobspec/index.js';
import type { FieldPath } from '../jobspec/index.js';

export interface ServerAgentConfig {
  /** The server's name, also its Raft id (default the host name). Unique in the cluster. */
  name: string;
  region: string;
  datacenter: string;
  dataDir: string;
  /** Address the RPC listener binds (default 0.0.0.0). */
  bindAddr: string;
  /** host:port other servers and the CLI reach this server at (default bind_addr:rpc port; 127.0.0.1 for 0.0.0.0). */
  advertiseRpc: string;
  rpcPort: number;
  server: {
    enabled: boolean;
    /** Servers to wait for before the first election (1 = bootstrap alone). */
    bootstrapExpect: number;
    /** Scales Raft timing: tick = 100 ms × multiplier, election timeout 10 ticks (Nomad: 1 is fastest). */
    raftMultiplier: number;
    // issue 6 (gossip): dead-server cleanup grace and gossip timing scale.
    /** A server gossip marks failed this long is removed from Raft by the leader (default 2 min). */
    deadServerCleanupMs: number;
    /** Gossip probe interval; every gossip timer scales with it (default 1 s, memberlist's LAN). */
    gossipProbeIntervalMs: number;
    /** Scheduler workers on this server, leader or follower (Nomad's num_schedulers; unset: 2; 0 = none). */
    numSchedulers?: number;
    /** Snapshot the state and compact the Raft log once this many entries were applied since the last snapshot (Nomad's raft_snapshot_threshold; unset: the Raft node's default, 8192). */
    raftSnapshotThreshold?: number;
  };
  // issue 6 (gossip): the serf port (undefined: rpc+1, or any free port if that is taken) and advertised serf address.
  serfPort: number | undefined;
  advertiseSerf: string;
  /** Other servers' host:port to find at start-up. */
  retryJoin: string[];
  tls: { caFile: string; certFile: string; keyFile: string } | undefined;
}

const TOP_KEYS = ['name', 'region', 'datacenter', 'data_dir', 'bind_addr', 'advertise', 'ports', 'server', 'server_join', 'tls'];
const IGNORED_KEYS = new Set(['client', 'acl', 'telemetry', 'plugin', 'consul', 'vault', 'addresses', 'log_level', 'log_json', 'log_file', 'enable_debug', 'ui', 'leave_on_interrupt', 'leave_on_terminate']);

class Decoder {
  readonly errors: NomadError[] = [];
  constructor(private readonly file: string, private readonly map: SourceMap) {}

  fail(path: FieldPath, message: string): undefined {
    const field = path.map((s) => s.name).join('.');
    const pos = this.map.locate(path);
    this.errors.push(new NomadError('validation', `${field}: ${message}`, { position: pos === undefined ? { file: this.file } : { file: this.file, line: pos.line, column: pos.column }, field }));
    return undefined;
  }

  block(v: unknown, path: FieldPath): Record<string, unknown> | undefined {
    const blocks = Array.isArray(v) ? v : [v];
    if (blocks.length !== 1) return this.fail(path, 'only one block is allowed');
    const b: unknown = blocks[0];
    if (b !== null && typeof b === 'object' && !Array.isArray(b)) return b as Record<string, unknown>;
    return this.fail(path, 'must be a block');
  }

  string(v: unknown, path: FieldPath): string | undefined {
    if (typeof v === 'string') return v;
    return this.fail(path, `must be a string, got ${describe(v)}`);
  }

  bool(v: unknown, path: FieldPath): boolean | undefined {
    if (typeof v === 'boolean') return v;
    return this.fail(path, `must be true or false, got ${describe(v)}`);
  }

  int(v: unknown, path: FieldPath, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, `must be an integer, got ${describe(v)}`);
    if (v < min || v > max) return this.fail(path, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  /** A Go duration string ("30s") in [minMs, maxMs]; issue 6. */
  duration(v: unknown, path: FieldPath, minMs: number, maxMs: number): number | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    const ms = parseDuration(s);
    if (ms === undefined) return this.fail(path, `must be a duration such as "30s", got ${JSON.stringify(s)}`);
    if (ms < minMs || ms > maxMs) return this.fail(path, `must be between ${minMs} ms and ${maxMs} ms, got ${JSON.stringify(s)}`);
    return ms;
  }

  address(v: unknown, path: FieldPath): string | undefined {
    const s = this.string(v, path);
    if (s === undefined) return undefined;
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(s);
    if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) return this.fail(path, `must be host:port, got ${JSON.stringify(s)}`);
    return s;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list or block';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function parseError(filename: string, err: unknown): NomadError {
  const raw = err instanceof Error ? err.message : String(err);
  const inner = raw.replace(/^parse config:\s*/, '').replace(/^\[/, '').replace(/\]$/, '');
  const first = inner.split(/\],?\s*\[|\n/)[0] ?? inner;
  const m = /^.*?:(\d+),(\d+)(?:-(?:\d+,)?\d+)?:\s*(.*)$/s.exec(first);
  if (m === null) return new NomadError('parse', inner, { position: { file: filename } });
  return new NomadError('parse', m[3]!.trim(), { position: { file: filename, line: Number(m[1]), column: Number(m[2]) } });
}

/** Parse a server agent's HCL configuration; throws NomadError/MultiError with file:line:column. */
export async function parseServerConfig(text: string, filename: string): Promise<ServerAgentConfig> {
  const map = SourceMap.scan(text, filename, 16);
  let body: Record<string, unknown>;
  try {
    body = (await parse(filename, text)) as Record<string, unknown>;
  } catch (err) {
    throw parseError(filename, err);
  }
  const d = new Decoder(filename, map);
  const at = (...names: Array<[kind: 'attr' | 'block', name: string]>): FieldPath => names.map(([kind, name]) => ({ kind, name }));
  const cfg: ServerAgentConfig = {
    name: hostname(), region: 'global', datacenter: 'dc1', dataDir: '', bindAddr: '0.0.0.0', advertiseRpc: '', rpcPort: 4647,
    server: { enabled: false, bootstrapExpect: 1, raftMultiplier: 1, deadServerCleanupMs: 120_000, gossipProbeIntervalMs: 1_000 }, retryJoin: [], tls: undefined,
    serfPort: undefined, advertiseSerf: '',
  };
  let sawDataDir = false;
  for (const [key, value] of Object.entries(body)) {
    switch (key) {
      case 'name': cfg.name = d.string(value, at(['attr', key])) ?? cfg.name; break;
      case 'region': cfg.region = d.string(value, at(['attr', key])) ?? cfg.region; break;
      case 'datacenter': cfg.datacenter = d.string(value, at(['attr', key])) ?? cfg.datacenter; break;
      case 'data_dir': cfg.dataDir = d.string(value, at(['attr', key])) ?? cfg.dataDir; sawDataDir = true; break;
      case 'bind_addr': cfg.bindAddr = d.string(value, at(['attr', key])) ?? cfg.bindAddr; break;
      case 'advertise': {
        const b = d.block(value, at(['block', key]));
        for (const [k, v] of Object.entries(b ?? {})) {
          if (k === 'rpc') cfg.advertiseRpc = d.address(v, at(['block', key], ['attr', k])) ?? '';
          else if (k === 'serf') cfg.advertiseSerf = d.address(v, at(['block', key], ['attr', k])) ?? ''; // issue 6
          else if (k !== 'http') d.fail(at(['block', key], ['attr', k]), 'unknown attribute (known: rpc, http, serf)');
        }
        break;
      }
      case 'ports': {
        const b = d.block(value, at(['block', key]));
        for (const [k, v] of Object.entries(b ?? {})) {
          if (k === 'rpc') cfg.rpcPort = d.int(v, at(['block', key], ['attr', k]), 0, 65535) ?? cfg.rpcPort;
          else if (k === 'serf') cfg.serfPort = d.int(v, at(['block', key], ['attr', k]), 1, 65535); // issue 6
          else if (k === 'http') d.int(v, at(['block', key], ['attr', k]), 0, 65535);
          else d.fail(at(['block', key], ['attr', k]), 'unknown attribute (known: rpc, http, serf)');
        }
        break;
      }
      case 'server': {
        const b = d.block(value, at(['block', key]));
        for (const [k, v] of Object.entries(b ?? {})) {
          const p = at(['block', key], ['attr', k]);
          if (k === 'enabled') cfg.server.enabled = d.bool(v, p) ?? false;
          else if (k === 'bootstrap_expect') cfg.server.bootstrapExpect = d.int(v, p, 1, 7) ?? 1;
          else if (k === 'raft_multiplier') cfg.server.raftMultiplier = d.int(v, p, 1, 10) ?? 1;
          else if (k === 'num_schedulers') cfg.server.numSchedulers = d.int(v, p, 0, 128) ?? 2; // issue 5 §4
          else if (k === 'raft_snapshot_threshold') {
            const n = d.int(v, p, 8, 1_000_000_000);
            if (n !== undefined) cfg.server.raftSnapshotThreshold = n;
          }
          else if (k === 'dead_server_cleanup' || k === 'gossip_probe_interval') { // issue 6
            const ms = d.duration(v, p, k === 'dead_server_cleanup' ? 1_000 : 50, k === 'dead_server_cleanup' ? 7 * 86_400_000 : 60_000);
            if (ms !== undefined && k === 'dead_server_cleanup') cfg.server.deadServerCleanupMs = ms;
            else if (ms !== undefined) cfg.server.gossipProbeIntervalMs = ms;
          } else d.fail(p, 'unknown attribute (known: enabled, bootstrap_expect, raft_multiplier, num_schedulers, raft_snapshot_threshold, dead_server_cleanup, gossip_probe_interval)');
        }
        break;
      }
      case 'server_join': {
        const b = d.block(value, at(['block', key]));
        for (const [k, v] of Object.entries(b ?? {})) {
          const p = at(['block', key], ['attr', k]);
          if (k !== 'retry_join') {
            d.fail(p, 'unknown attribute (known: retry_join)');
            continue;
          }
          if (!Array.isArray(v)) {
            d.fail(p, `must be a list of host:port, got ${describe(v)}`);
            continue;
          }
          cfg.retryJoin = v.map((x) => d.address(x, p)).filter((x): x is string => x !== undefined);
        }
        break;
      }
      case 'tls': {
        const b = d.block(value, at(['block', key]));
        const files: Record<string, string> = {};
        for (const [k, v] of Object.entries(b ?? {})) {
          const p = at(['block', key], ['attr', k]);
          if (k === 'ca_file' || k === 'cert_file' || k === 'key_file') files[k] = d.string(v, p) ?? '';
          else if (k !== 'rpc' && k !== 'http' && k !== 'verify_server_hostname') d.fail(p, 'unknown attribute (known: ca_file, cert_file, key_file)');
        }
        if (b !== undefined) {
          for (const k of ['ca_file', 'cert_file', 'key_file']) if (files[k] === undefined) d.fail(at(['block', key]), `${k} is required`);
          cfg.tls = { caFile: files.ca_file ?? '', certFile: files.cert_file ?? '', keyFile: files.key_file ?? '' };
        }
        break;
      }
      default:
        if (!IGNORED_KEYS.has(key)) d.fail(at(['attr', key]), `unknown attribute or block (known: ${TOP_KEYS.join(', ')})`);
    }
  }
  if (cfg.server.enabled) {
    if (!sawDataDir || cfg.dataDir === '') d.fail(at(['attr', 'data_dir']), 'is required for a server (Raft keeps its log there)');
    if (cfg.tls === undefined) d.fail(at(['block', 'tls']), 'is required for a server: servers speak only mutual TLS');
  }
  if (cfg.advertiseRpc === '') cfg.advertiseRpc = `${cfg.bindAddr === '0.0.0.0' ? '127.0.0.1' : cfg.bindAddr}:${cfg.rpcPort}`;
  const at0 = (e: NomadError): number => (e.position?.line ?? 1e9) * 1e4 + (e.position?.column ?? 0);
  d.errors.sort((a, b) => at0(a) - at0(b));
  if (d.errors.length === 1) throw d.errors[0]!;
  if (d.errors.length > 1) throw new MultiError(d.errors);
  return cfg;
}
