/**
 * `nomadts agent -config server.hcl`: one server of a multi-server cluster (agent/server
 * startClusterServer): Raft over mutual TLS, the public API on the same listener, leader duties
 * on the leader only. Prints `==> nomadts server ready: rpc <addr> id <name>` once it listens and
 * has joined; SIGINT/SIGTERM stop it.
 */
import { readFileSync } from 'node:fs';
import { parseServerConfig, startClusterServer } from '../../agent/server/index.js';
import { Exit, errorText } from './api-io.js';
import type { Out } from './jobspec-io.js';

export async function runClusterServer(file: string, out: Out, until: () => Promise<string>): Promise<number> {
  let server;
  try {
    const cfg = await parseServerConfig(readFileSync(file, 'utf8'), file);
    out.stdout(`==> Loaded configuration from ${file}\n==> Starting nomadts server ${cfg.name} (region ${cfg.region}, bootstrap_expect ${cfg.server.bootstrapExpect}, data dir ${cfg.dataDir})\n`);
    server = await startClusterServer(cfg, { log: (line) => out.stdout(`    ${new Date().toISOString()} [INFO]  ${line}\n`) });
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  out.stdout(`==> nomadts server ready: rpc ${server.rpcAddr} id ${server.id}\n`);
  const why = await until();
  out.stdout(`==> Caught ${why}, shutting down...\n`);
  try {
    await server.stop();
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
  out.stdout('==> nomadts server stopped\n');
  return Exit.ok;
}
