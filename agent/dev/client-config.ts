/**
 * A client agent's configuration in HCL, as Nomad's: the top-level `name`, `region`,
 * `datacenter`, `data_dir`, `tls { ca_file cert_file key_file }`, and the `client { enabled
 * servers node_class meta options }` block. Every problem is reported with file:line:column and
 * the field (`client.hcl:3:3: client.servers: must be a list of host:port, got string "x"`).
 * Blocks this file does not read (server, ports, telemetry, ...) are accepted and ignored.
 */
import { parse } from '@cdktn/hcl2json';
import { hostname } from 'node:os';
import { MultiError, NomadError } from '../core/lib/index.js';
import { SourceMap } from '../jobspec/index.js';
import type { FieldPath } from '../jobspec/index.js';

export interface ClientAgentConfig {
  /** The node's name (default the host name). */
  name: string;
  region: string;
  datacenter: string;
  dataDir: string;
  nodeClass: string;
  meta: Record<string, string>;
  /** Free-form client options, e.g. `driver.raw_exec.enable` = "1". */
  options: Record<string, string>;
  /** Servers' host:port; the client uses the first that answers and fails over to the next. */
  servers: string[];
  tls: { caFile: string; certFile: string; keyFile: string };
}

const TOP_KEYS = ['name', 'region', 'datacenter', 'data_dir', 'client', 'tls'];
const CLIENT_KEYS = ['enabled', 'servers', 'node_class', 'meta', 'options'];
const IGNORED_KEYS = new Set(['server', 'server_join', 'bind_addr', 'advertise', 'ports', 'addresses', 'acl', 'telemetry', 'plugin', 'consul', 'vault', 'log_level', 'log_json', 'log_file', 'enable_debug', 'ui', 'leave_on_interrupt', 'leave_on_terminate']);

type Seg = [kind: 'attr' | 'block', name: string];
const at = (...segs: Seg[]): FieldPath => segs.map(([kind, name]) => ({ kind, name }));

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list or block';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Parse a client agent's HCL configuration; throws NomadError/MultiError with file:line:column. */
export async function parseClientConfig(text: string, filename: string): Promise<ClientAgentConfig> {
  const map = SourceMap.scan(text, filename, 16);
  let body: Record<string, unknown>;
  try {
    body = (await parse(filename, text)) as Record<string, unknown>;
  } catch (err) {
    const raw = err instanceof Error ? err.message : String(err);
    const m = /:(\d+),(\d+)(?:-(?:\d+,)?\d+)?:\s*([^\]\n]*)/.exec(raw);
    throw new NomadError('parse', m === null ? raw : m[3]!.trim(), { position: m === null ? { file: filename } : { file: filename, line: Number(m[1]), column: Number(m[2]) } });
  }
  const errors: NomadError[] = [];
  const fail = (path: FieldPath, message: string): undefined => {
    const field = path.map((s) => s.name).join('.');
    const pos = map.locate(path);
    errors.push(new NomadError('validation', `${field}: ${message}`, { position: pos === undefined ? { file: filename } : { file: filename, line: pos.line, column: pos.column }, field }));
    return undefined;
  };
  const str = (v: unknown, path: FieldPath): string | undefined => (typeof v === 'string' ? v : fail(path, `must be a string, got ${describe(v)}`));
  const block = (v: unknown, path: FieldPath): Record<string, unknown> | undefined => {
    const blocks = Array.isArray(v) ? v : [v];
    if (blocks.length !== 1) return fail(path, 'only one block is allowed');
    const b: unknown = blocks[0];
    return b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : fail(path, 'must be a block');
  };
  const stringMap = (v: unknown, path: FieldPath): Record<string, string> => {
    const b = block(v, path);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(b ?? {})) {
      if (typeof x === 'string') out[k] = x;
      else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else fail(path, `${k}: must be a string, got ${describe(x)}`);
    }
    return out;
  };

  const cfg: ClientAgentConfig = { name: hostname(), region: 'global', datacenter: 'dc1', dataDir: '', nodeClass: '', meta: {}, options: {}, servers: [], tls: { caFile: '', certFile: '', keyFile: '' } };
  let enabled = false;
  let sawTls = false;
  for (const [key, value] of Object.entries(body)) {
    switch (key) {
      case 'name': cfg.name = str(value, at(['attr', key])) ?? cfg.name; break;
      case 'region': cfg.region = str(value, at(['attr', key])) ?? cfg.region; break;
      case 'datacenter': cfg.datacenter = str(value, at(['attr', key])) ?? cfg.datacenter; break;
      case 'data_dir': cfg.dataDir = str(value, at(['attr', key])) ?? cfg.dataDir; break;
      case 'client': {
        const b = block(value, at(['block', key]));
        for (const [k, v] of Object.entries(b ?? {})) {
          const p = at(['block', key], ['attr', k]);
          if (k === 'enabled') enabled = typeof v === 'boolean' ? v : (fail(p, `must be true or false, got ${describe(v)}`) ?? false);
          else if (k === 'node_class') cfg.nodeClass = str(v, p) ?? '';
          else if (k === 'meta') cfg.meta = stringMap(v, p);
          else if (k === 'options') cfg.options = stringMap(v, p);
          else if (k === 'servers') {
            if (!Array.isArray(v)) {
              fail(p, `must be a list of host:port, got ${describe(v)}`);
              continue;
            }
            for (const x of v as unknown[]) {
              const m = typeof x === 'string' ? /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(x) : null;
              if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) fail(p, `must be a list of host:port, got ${describe(x)}`);
              else cfg.servers.push(x as string);
            }
          } else fail(p, `unknown attribute (known: ${CLIENT_KEYS.join(', ')})`);
        }
        break;
      }
      case 'tls': {
        const b = block(value, at(['block', key]));
        if (b === undefined) break;
        sawTls = true;
        const files: Record<string, string> = {};
        for (const [k, v] of Object.entries(b)) {
          const p = at(['block', key], ['attr', k]);
          if (k === 'ca_file' || k === 'cert_file' || k === 'key_file') files[k] = str(v, p) ?? '';
          else if (k !== 'rpc' && k !== 'http' && k !== 'verify_server_hostname') fail(p, 'unknown attribute (known: ca_file, cert_file, key_file)');
        }
        for (const k of ['ca_file', 'cert_file', 'key_file']) if (files[k] === undefined || files[k] === '') fail(at(['block', key]), `${k} is required`);
        cfg.tls = { caFile: files.ca_file ?? '', certFile: files.cert_file ?? '', keyFile: files.key_file ?? '' };
        break;
      }
      default:
        if (!IGNORED_KEYS.has(key)) fail(at(['attr', key]), `unknown attribute or block (known: ${TOP_KEYS.join(', ')})`);
    }
  }
  if (!enabled) fail(at(['block', 'client']), 'client.enabled must be true to run a client agent');
  else {
    if (cfg.servers.length === 0) fail(at(['block', 'client'], ['attr', 'servers']), 'at least one server host:port is required');
    if (cfg.dataDir === '') fail(at(['attr', 'data_dir']), 'is required for a client (alloc dirs and the node id live there)');
    if (!sawTls) fail(at(['block', 'tls']), 'is required for a client: agents speak only mutual TLS');
  }
  const pos = (e: NomadError): number => (e.position?.line ?? 1e9) * 1e4 + (e.position?.column ?? 0);
  errors.sort((a, b) => pos(a) - pos(b));
  if (errors.length === 1) throw errors[0]!;
  if (errors.length > 1) throw new MultiError(errors);
  return cfg;
}

/**
 * Which agent a configuration file asks for: `server` when `server { enabled = true }`, `client`
 * when `client { enabled = true }` (a file with both is refused: only `-dev` runs both in one
 * process), `server` otherwise (its parser then says what is missing).
 */
export async function configAgentKind(text: string, filename: string): Promise<'server' | 'client'> {
  let body: Record<string, unknown>;
  try {
    body = (await parse(filename, text)) as Record<string, unknown>;
  } catch {
    return 'server'; // the server parser reports the syntax error with its position
  }
  const enabled = (key: string): boolean => {
    const v = body[key];
    const b: unknown = Array.isArray(v) ? v[0] : v;
    return b !== null && typeof b === 'object' && (b as Record<string, unknown>).enabled === true;
  };
  if (enabled('server') && enabled('client')) {
    throw new NomadError('invalid_argument', 'server and client are both enabled: run them as two agents (only `agent -dev` runs both in one process)', { position: { file: filename }, field: 'client.enabled' });
  }
  return enabled('client') ? 'client' : 'server';
}
