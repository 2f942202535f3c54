/**
 * `nomadts agent -dev [-data-dir D] [-bind ADDR] [-rpc-port N] [-region R]`: a server and a
 * client in this process (Nomad's dev agent), every connection on mutual TLS with certificates
 * it creates under the data dir. Prints a banner, the NOMADTS_* exports for another terminal,
 * and one log line per notable event; SIGINT/SIGTERM stop it (tasks included) and exit 0.
 * Without -dev, `-config server.hcl` runs a server of a multi-server cluster (agent-server.ts),
 * `-config client.hcl` (client { enabled = true }) a client-only agent (agent-client.ts); otherwise it refuses.
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { AgentEvent, RunningAgent } from '../../agent/dev/index.js';
import { configAgentKind, startAgent } from '../../agent/dev/index.js';
import { readFileSync } from 'node:fs';
import { Exit, errorText, parseFlags, shortId } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { packageVersion } from './version.js';

export interface AgentArgs {
  dev: boolean;
  /** A server agent's HCL configuration (agent/server config.ts): runs a cluster server. */
  config?: string;
  dataDir?: string;
  bindAddr: string;
  rpcPort: number;
  region: string;
}

export function parseAgentArgs(args: readonly string[]): AgentArgs {
  const f = parseFlags(args, { bool: ['dev'], value: ['data-dir', 'bind', 'rpc-port', 'region', 'config'] });
  if (f.value.has('address')) throw new NomadError('invalid_argument', 'unknown flag -address (the agent listens on -bind and -rpc-port)');
  if (f.positional.length > 0) throw new NomadError('invalid_argument', `unexpected argument ${f.positional.join(' ')}`);
  const rawPort = f.value.get('rpc-port') ?? '4647';
  const rpcPort = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || rpcPort > 65535) throw new NomadError('invalid_argument', `-rpc-port must be a port number (0 picks a free one), got ${JSON.stringify(rawPort)}`);
  const dataDir = f.value.get('data-dir');
  const config = f.value.get('config');
  return {
    dev: f.bool.has('dev'),
    ...(config !== undefined ? { config } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    bindAddr: f.value.get('bind') ?? '127.0.0.1',
    rpcPort,
    region: f.value.get('region') ?? 'global',
  };
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function formatEvent(e: AgentEvent): string {
  switch (e.kind) {
    case 'node-registered': return `[INFO]  client: node registered: id=${shortId(e.nodeId)} name=${e.nodeName}`;
    case 'eval-complete': return `[INFO]  server: eval ${shortId(e.evalId)} ${e.status}: job=${e.jobId} triggered_by=${e.triggeredBy} placements=${e.placements}`;
    case 'alloc-status': return `[INFO]  client: alloc ${shortId(e.allocId)} ${e.name} is ${e.status}${e.description !== '' ? `: ${e.description}` : ''}`;
    case 'task-event': return `[INFO]  client: alloc ${shortId(e.allocId)} task ${e.task}: ${e.type}${e.message !== '' ? `: ${e.message}` : ''}`;
    case 'restored': return `[INFO]  client: restored alloc ${shortId(e.allocId)}: ${e.kept ? 'kept' : 'unknown to the server, stopped and removed'}`;
    case 'server-restored': return `[INFO]  server: state restored from ${e.path} at index ${e.index}`;
    case 'error': return `[WARN]  agent: ${e.what}: ${e.message}`;
  }
}

export function banner(agent: RunningAgent, version: string): string {
  const lines = [
    '==> No configuration files loaded',
    `==> Starting nomadts agent in dev mode (server and client in one process; state is ${agent.dataDirKept ? 'kept in the data dir' : 'in memory'})...`,
    '==> nomadts agent configuration:',
    '',
    `       Version: ${version}`,
    `        Region: ${agent.region} (DC: dc1)`,
    `        Server: true (leader of a one-server cluster)`,
    `        Client: true (node ${agent.client.node?.name ?? ''}, drivers ${healthyDrivers(agent.client.node?.drivers ?? {})})`,
    `     Bind Addr: ${agent.rpcAddr}`,
    `      RPC Addr: ${agent.cliEnv.NOMADTS_ADDR ?? agent.rpcAddr} (gRPC, mutual TLS)`,
    `      Data Dir: ${agent.dataDir}`,
    `          Seed: ${agent.seed}`,
    '',
    '==> The CLI on this machine finds this agent by itself (discovery file',
    `    ${agent.discoveryFile}). From elsewhere, or to be explicit:`,
    '',
    ...Object.entries(agent.cliEnv).map(([k, v]) => `    export ${k}=${shellQuote(v)}`),
    '',
    '==> nomadts agent started! Log data will stream in below (Ctrl-C stops the agent and its tasks):',
    '',
  ];
  return lines.join('\n') + '\n';
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Runs the agent until `until` resolves (a signal), then stops it. Returns the exit code.
 * Prints `==> ... ready` once the node has registered.
 */
export async function runAgent(args: readonly string[], out: Out, until: (agent: RunningAgent) => Promise<string>): Promise<number> {
  let parsed: AgentArgs;
  try {
    parsed = parseAgentArgs(args);
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  if (!parsed.dev && parsed.config !== undefined) {
    // A client-only agent when the file enables the client block (agent-client.ts).
    let kind: 'server' | 'client';
    let text: string | undefined;
    try {
      text = readFileSync(parsed.config, 'utf8');
      kind = await configAgentKind(text, parsed.config);
    } catch (err) {
      out.stderr(errorText(err));
      return Exit.error;
    }
    if (kind === 'client') {
      const { runClientAgent } = await import('./agent-client.js');
      return runClientAgent(parsed.config, text, out, () => signalled());
    }
    const { runClusterServer } = await import('./agent-server.js');
    return runClusterServer(parsed.config, out, () => signalled());
  }
  if (!parsed.dev) {
    out.stderr('Error: only dev mode exists for now: run `nomadts agent -dev` (a server and a client in one process).\n');
    return Exit.error;
  }
  let agent: RunningAgent;
  try {
    agent = await startAgent({
      dev: true,
      ...(parsed.dataDir !== undefined ? { dataDir: parsed.dataDir } : {}),
      region: parsed.region,
      bindAddr: parsed.bindAddr,
      rpcPort: parsed.rpcPort,
      onEvent: (e) => out.stdout(`    ${timestamp()} ${formatEvent(e)}\n`),
    });
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  out.stdout(banner(agent, `nomadts v${packageVersion()}`));
  void agent.client.registered().then(() => out.stdout(`==> nomadts agent ready: rpc ${agent.cliEnv.NOMADTS_ADDR ?? agent.rpcAddr}\n`));
  const why = await until(agent);
  out.stdout(`==> Caught ${why}, shutting down (stopping every task)...\n`);
  try {
    await agent.stop();
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  out.stdout('==> nomadts agent stopped\n');
  return Exit.ok;
}

/** `nomadts agent`: runs until the first SIGINT or SIGTERM. */
export function agentMain(args: readonly string[], out: Out): Promise<number> {
  return runAgent(args, out, () => signalled());
}

/** Resolves with the name of the first SIGINT or SIGTERM. */
function signalled(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}


/** The drivers the client fingerprinted as usable (`raw_exec, exec, docker, mock`), else `none`. */
function healthyDrivers(drivers: Record<string, { detected: boolean; healthy: boolean }>): string {
  const names = Object.entries(drivers).filter(([, d]) => d.detected && d.healthy).map(([n]) => n);
  return names.length > 0 ? names.join(', ') : 'none';
}
