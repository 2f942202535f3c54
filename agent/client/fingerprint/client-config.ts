/**
 * The client agent's configuration: the top-level agent attributes a client uses
 * (`name`, `datacenter`, `region`, `data_dir`) and Nomad's `client { ... }` block.
 *
 * HCL is read with @cdktn/hcl2json directly (agent/jobspec keeps its HCL reader private;
 * it exports only SourceMap, used here to put file:line:column on errors). This file is
 * the only place in agent/client that knows the parser.
 *
 * Nomad's agent config is HCL1, where `options { "driver.raw_exec.enable" = "1" }` is a
 * block with quoted keys. HCL2 refuses quoted keys in a block body, so a line that opens
 * `meta {` or `options {` is read as the map attribute `meta = {` (same line numbers).
 */
import { parse } from '@cdktn/hcl2json';
import { MultiError, NomadError } from '../../core/lib/index.js';
import type { NodeReservedResources } from '../../core/structs/index.js';
import { SourceMap } from '../../jobspec/index.js';
import type { FieldPath } from '../../jobspec/index.js';

export interface ClientConfig {
  /** Node name; '' = the host name. */
  name: string;
  datacenter: string;
  region: string;
  /** Where the client keeps its state (node id, alloc dirs). */
  dataDir: string;
  nodeClass: string;
  nodePool: string;
  meta: Record<string, string>;
  /** Free-form client options, e.g. `driver.raw_exec.enable` = "1". */
  options: Record<string, string>;
  reserved: NodeReservedResources;
  /** Interface whose first IPv4 address is the node's address; '' = the first non-loopback one. */
  networkInterface: string;
  /** Overrides for what fingerprinting detects (0 = detect). */
  cpuTotalCompute: number;
  memoryTotalMB: number;
  networkSpeed: number;
  minDynamicPort: number;
  maxDynamicPort: number;
  /** Server addresses to register with. */
  servers: string[];
  httpPort: number;
  /** Dev mode: address 127.0.0.1 and raw_exec enabled. */
  devMode: boolean;
}

export function defaultClientConfig(overrides: Partial<ClientConfig> = {}): ClientConfig {
  return {
    name: '',
    datacenter: 'dc1',
    region: 'global',
    dataDir: '',
    nodeClass: '',
    nodePool: 'default',
    meta: {},
    options: {},
    reserved: { cpu: 0, memoryMB: 0, diskMB: 0, reservedPorts: [] },
    networkInterface: '',
    cpuTotalCompute: 0,
    memoryTotalMB: 0,
    networkSpeed: 0,
    minDynamicPort: 20000,
    maxDynamicPort: 32000,
    servers: [],
    httpPort: 4646,
    devMode: false,
    ...overrides,
  };
}

/** A boolean client option: "1", "true", "t" (any case) are true; absent → `fallback`. */
export function clientOptionBool(config: ClientConfig, key: string, fallback: boolean): boolean {
  const v = config.options[key];
  if (v === undefined || v === '') return fallback;
  return ['1', 't', 'true'].includes(v.toLowerCase());
}

/** Is raw_exec enabled: `driver.raw_exec.enable` when set, else on only in dev mode (as Nomad). */
export function rawExecEnabled(config: ClientConfig): boolean {
  return clientOptionBool(config, 'driver.raw_exec.enable', config.devMode);
}

/** Agent blocks and attributes that belong to other parts of the agent; accepted and ignored here. */
const OTHER_AGENT_KEYS = new Set([
  'server', 'ports', 'addresses', 'advertise', 'tls', 'acl', 'telemetry', 'plugin', 'consul', 'vault',
  'bind_addr', 'log_level', 'log_json', 'log_file', 'enable_debug', 'ui', 'leave_on_interrupt', 'leave_on_terminate',
]);
const CLIENT_KEYS = new Set([
  'enabled', 'state_dir', 'alloc_dir', 'servers', 'node_class', 'node_pool', 'meta', 'options', 'reserved',
  'network_interface', 'cpu_total_compute', 'memory_total_mb', 'network_speed', 'min_dynamic_port', 'max_dynamic_port',
]);
const RESERVED_KEYS = new Set(['cpu', 'memory', 'disk', 'reserved_ports']);
const MAX_DEPTH = 32;

/**
 * Parses an agent configuration file's client part on top of `base` (defaults when
 * omitted). Throws a NomadError (or MultiError listing every problem) whose message
 * starts with `file:line:column` and names the field, e.g.
 * `client.hcl:3:3: client.bogus: unknown attribute`.
 */
export async function parseClientConfig(hclText: string, filename: string, base: ClientConfig = defaultClientConfig()): Promise<ClientConfig> {
  const text = hclText.replace(/^([ \t]*)(meta|options)([ \t]*)\{/gm, '$1$2 =$3{');
  const map = SourceMap.scan(text, filename, MAX_DEPTH);
  let body: unknown;
  try {
    body = await parse(filename, text);
  } catch (err) {
    throw parseError(filename, err);
  }
  const d = new Decoder(filename, map);
  const cfg: ClientConfig = { ...base, meta: { ...base.meta }, options: { ...base.options }, reserved: { ...base.reserved, reservedPorts: [...base.reserved.reservedPorts] }, servers: [...base.servers] };
  const top = d.object(body, [], 'the file');
  if (top !== undefined) {
    for (const [key, value] of Object.entries(top)) {
      const path: FieldPath = [{ kind: 'attr', name: key }];
      switch (key) {
        case 'name': cfg.name = d.string(value, path) ?? cfg.name; break;
        case 'datacenter': cfg.datacenter = d.string(value, path) ?? cfg.datacenter; break;
        case 'region': cfg.region = d.string(value, path) ?? cfg.region; break;
        case 'data_dir': cfg.dataDir = d.string(value, path) ?? cfg.dataDir; break;
        case 'client': decodeClient(d, value, cfg); break;
        default:
          if (!OTHER_AGENT_KEYS.has(key)) d.fail(path, 'unknown attribute or block');
      }
    }
  }
  if (cfg.minDynamicPort > cfg.maxDynamicPort) {
    d.fail([{ kind: 'block', name: 'client' }, { kind: 'attr', name: 'min_dynamic_port' }], `must not exceed max_dynamic_port (${cfg.maxDynamicPort})`);
  }
  d.throwIfAny();
  return cfg;
}

function decodeClient(d: Decoder, value: unknown, cfg: ClientConfig): void {
  const blockPath: FieldPath = [{ kind: 'block', name: 'client' }];
  const blocks = Array.isArray(value) ? value : [value];
  if (blocks.length !== 1) {
    d.fail(blockPath, 'only one client block is allowed');
    return;
  }
  const body = d.object(blocks[0], blockPath, 'a block');
  if (body === undefined) return;
  for (const [key, v] of Object.entries(body)) {
    const path: FieldPath = [...blockPath, { kind: 'attr', name: key }];
    switch (key) {
      case 'enabled': d.bool(v, path); break;
      case 'state_dir': case 'alloc_dir': d.string(v, path); break;
      case 'servers': cfg.servers = d.stringList(v, path) ?? cfg.servers; break;
      case 'node_class': cfg.nodeClass = d.string(v, path) ?? cfg.nodeClass; break;
      case 'node_pool': cfg.nodePool = d.string(v, path) ?? cfg.nodePool; break;
      case 'network_interface': cfg.networkInterface = d.string(v, path) ?? cfg.networkInterface; break;
      case 'meta': Object.assign(cfg.meta, d.stringMap(v, path)); break;
      case 'options': Object.assign(cfg.options, d.stringMap(v, path)); break;
      case 'cpu_total_compute': cfg.cpuTotalCompute = d.int(v, path, 0, 1e9) ?? cfg.cpuTotalCompute; break;
      case 'memory_total_mb': cfg.memoryTotalMB = d.int(v, path, 0, 1e12) ?? cfg.memoryTotalMB; break;
      case 'network_speed': cfg.networkSpeed = d.int(v, path, 0, 1e9) ?? cfg.networkSpeed; break;
      case 'min_dynamic_port': cfg.minDynamicPort = d.int(v, path, 1, 65535) ?? cfg.minDynamicPort; break;
      case 'max_dynamic_port': cfg.maxDynamicPort = d.int(v, path, 1, 65535) ?? cfg.maxDynamicPort; break;
      case 'reserved': decodeReserved(d, v, [...blockPath, { kind: 'block', name: 'reserved' }], cfg); break;
      default:
        d.fail(path, `unknown attribute or block (known: ${[...CLIENT_KEYS].sort().join(', ')})`);
    }
  }
}

function decodeReserved(d: Decoder, value: unknown, blockPath: FieldPath, cfg: ClientConfig): void {
  const blocks = Array.isArray(value) ? value : [value];
  for (const b of blocks) {
    const body = d.object(b, blockPath, 'a block');
    if (body === undefined) continue;
    for (const [key, v] of Object.entries(body)) {
      const path: FieldPath = [...blockPath, { kind: 'attr', name: key }];
      if (!RESERVED_KEYS.has(key)) {
        d.fail(path, 'unknown attribute (known: cpu, disk, memory, reserved_ports)');
        continue;
      }
      if (key === 'reserved_ports') {
        cfg.reserved.reservedPorts = d.ports(v, path) ?? cfg.reserved.reservedPorts;
        continue;
      }
      const n = d.int(v, path, 0, 1e12);
      if (n === undefined) continue;
      if (key === 'cpu') cfg.reserved.cpu = n;
      else if (key === 'memory') cfg.reserved.memoryMB = n;
      else cfg.reserved.diskMB = n;
    }
  }
}

/** Turns hcl2json values into typed fields, collecting every problem with its position. */
class Decoder {
  private readonly errors: NomadError[] = [];

  constructor(private readonly file: string, private readonly map: SourceMap) {}

  fail(path: FieldPath, message: string): undefined {
    const field = fieldName(path);
    const pos = this.map.locate(path);
    const position = pos === undefined ? { file: this.file } : { file: this.file, line: pos.line, column: pos.column };
    this.errors.push(new NomadError('validation', `${field}: ${message}`, { position, field }));
    return undefined;
  }

  /** Throws what was collected, in source order (hcl2json hands keys back sorted, not in file order). */
  throwIfAny(): void {
    const at = (e: NomadError): number => (e.position?.line ?? 1e9) * 1e4 + (e.position?.column ?? 0);
    this.errors.sort((a, b) => at(a) - at(b));
    if (this.errors.length === 1) throw this.errors[0]!;
    if (this.errors.length > 1) throw new MultiError(this.errors);
  }

  object(v: unknown, path: FieldPath, what: string): Record<string, unknown> | undefined {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    return path.length === 0 ? this.fail(path, `expected ${what}`) : this.fail(path, `must be ${what}`);
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
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return this.fail(path, `must be an integer, got ${describe(v)}`);
    if (n < min || n > max) return this.fail(path, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  stringList(v: unknown, path: FieldPath): string[] | undefined {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return this.fail(path, `must be a list of strings, got ${describe(v)}`);
    return v;
  }

  /** `meta = { k = "v" }` or the block form `meta { k = "v" }`; numbers and booleans become strings. */
  stringMap(v: unknown, path: FieldPath): Record<string, string> {
    const out: Record<string, string> = {};
    const parts = Array.isArray(v) ? v : [v];
    for (const part of parts) {
      const obj = this.object(part, path, 'a map of strings');
      if (obj === undefined) continue;
      for (const [k, x] of Object.entries(obj)) {
        if (typeof x === 'string') out[k] = x;
        else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
        else this.fail(path, `value of ${JSON.stringify(k)} must be a string, got ${describe(x)}`);
      }
    }
    return out;
  }

  /** "22,80,8000-8100" (Nomad's form) or a list of port numbers. */
  ports(v: unknown, path: FieldPath): number[] | undefined {
    const items: string[] = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '')
      : Array.isArray(v) ? v.map((x) => String(x)) : [];
    if (typeof v !== 'string' && !Array.isArray(v)) return this.fail(path, `must be a port list such as "22,80,8000-8100", got ${describe(v)}`);
    const out = new Set<number>();
    for (const item of items) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(item);
      const lo = m === null ? NaN : Number(m[1]);
      const hi = m === null ? NaN : m[2] === undefined ? lo : Number(m[2]);
      if (!(lo >= 1 && hi <= 65535 && lo <= hi)) return this.fail(path, `bad port or range ${JSON.stringify(item)} (ports are 1-65535, ranges low-high)`);
      for (let p = lo; p <= hi; p++) out.add(p);
    }
    return [...out].sort((a, b) => a - b);
  }
}

function fieldName(path: FieldPath): string {
  return path.map((s) => s.name).join('.');
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list or block';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** hcl2json: `parse config: [x.hcl:2,7-3,1: Invalid expression; ...]` → `x.hcl:2:7: Invalid expression; ...`. */
function parseError(filename: string, err: unknown): NomadError {
  const raw = err instanceof Error ? err.message : String(err);
  const inner = raw.replace(/^parse config:\s*/, '').replace(/^\[/, '').replace(/\]$/, '');
  const first = inner.split(/\],?\s*\[|\n/)[0] ?? inner;
  const m = /^.*?:(\d+),(\d+)(?:-(?:\d+,)?\d+)?:\s*(.*)$/s.exec(first);
  if (m === null) return new NomadError('parse', inner, { position: { file: filename } });
  return new NomadError('parse', m[3]!.trim(), { position: { file: filename, line: Number(m[1]), column: Number(m[2]) } });
}
