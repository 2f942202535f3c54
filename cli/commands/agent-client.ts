/**
 * `nomadts agent -config client.hcl`: a client-only agent (agent/dev startClientOnlyAgent) that
 * registers with `client.servers` and runs the allocations they place on it. Prints
 * `==> nomadts client ready: node <name> id <id> server <addr>` once registered, one log line
 * per notable event; SIGINT/SIGTERM stop it (tasks included).
 */
import { readFileSync } from 'node:fs';
import type { RunningClientAgent } from '../../agent/dev/index.js';
import { parseClientConfig, startClientOnlyAgent } from '../../agent/dev/index.js';
import { Exit, errorText } from './api-io.js';
import type { Out } from './jobspec-io.js';
import { formatEvent } from './agent.js';

export async function runClientAgent(file: string, text: string | undefined, out: Out, until: () => Promise<string>): Promise<number> {
  let agent: RunningClientAgent;
  try {
    const cfg = await parseClientConfig(text ?? readFileSync(file, 'utf8'), file);
    out.stdout(`==> Loaded configuration from ${file}\n==> Starting nomadts client ${cfg.name} (region ${cfg.region}, datacenter ${cfg.datacenter}, servers ${cfg.servers.join(', ')}, data dir ${cfg.dataDir})\n`);
    agent = await startClientOnlyAgent(cfg, { onEvent: (e) => out.stdout(`    ${new Date().toISOString()} ${formatEvent(e)}\n`) });
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  void agent.client.registered().then(() => out.stdout(`==> nomadts client ready: node ${agent.name} id ${agent.client.node?.id ?? ''} server ${agent.client.serverAddress}\n`));
  // The client's timers do not hold the event loop (SystemClock unrefs them), and between two
  // connections nothing else may: the agent lives until a signal.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const why = await until();
  clearInterval(keepAlive);
  out.stdout(`==> Caught ${why}, shutting down (stopping every task)...\n`);
  try {
    await agent.stop();
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  out.stdout('==> nomadts client stopped\n');
  return Exit.ok;
}
