/**
 * The client-only agent, `nomadts agent -config client.hcl` (Nomad's client agent): no Server
 * here; a ClientAgent registers with the servers of `client.servers` over mutual TLS (on a
 * failed register or heartbeat — unreachable, or not the leader, which alone takes them — it
 * moves on to the next address) and runs the allocations they
 * place on it with raw_exec, exec, docker and mock (client-node.ts). On stop every task is
 * killed, as the dev agent does, so a scripted cluster leaves no process behind.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ClientAgent } from '../client/agent/index.js';
import { defaultClientConfig } from '../client/fingerprint/index.js';
import type { Clock } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import { SystemClock, systemRng } from '../runtime/index.js';
import { loadAgentTls } from '../tls/index.js';
import type { AgentEvent } from './agent.js';
import type { ClientAgentConfig } from './client-config.js';
import { startClientNode } from './client-node.js';

export interface ClientOnlyAgentOptions {
  clock?: Clock;
  seed?: number;
  onEvent?(event: AgentEvent): void;
}

export interface RunningClientAgent {
  readonly name: string;
  readonly dataDir: string;
  readonly servers: readonly string[];
  readonly seed: number;
  readonly client: ClientAgent;
  allocRunnerIds(): string[];
  /** Stop every task, then the client. Safe to call more than once. */
  stop(): Promise<void>;
}

export async function startClientOnlyAgent(cfg: ClientAgentConfig, opts: ClientOnlyAgentOptions = {}): Promise<RunningClientAgent> {
  if (cfg.servers.length === 0) throw new NomadError('invalid_argument', 'client.servers needs at least one server host:port', { field: 'client.servers' });
  const clock = opts.clock ?? new SystemClock();
  const { rng, seed } = systemRng(opts.seed);
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const tls = loadAgentTls(cfg.tls, { role: 'client', region: cfg.region, now: clock.now() });
  const config = defaultClientConfig({
    name: cfg.name, datacenter: cfg.datacenter, region: cfg.region, dataDir, nodeClass: cfg.nodeClass, meta: { ...cfg.meta }, options: { ...cfg.options }, servers: [...cfg.servers],
  });
  const [first, ...rest] = cfg.servers;
  const node = await startClientNode({
    config,
    dataDir,
    rpc: { address: first!, fallbackAddresses: rest, caPem: tls.caPem, certPem: tls.certPem, keyPem: tls.keyPem },
    clock,
    rng: rng.fork(),
    emit: (e) => opts.onEvent?.(e),
  });
  return {
    name: cfg.name,
    dataDir,
    servers: [...cfg.servers],
    seed,
    client: node.client,
    allocRunnerIds: () => node.allocRunnerIds(),
    stop: () => node.stop(),
  };
}
