/**
 * `nomadts dev down [-dir D]`: stops the cluster `nomadts dev up` started in D — SIGTERM to the
 * clients (they stop their tasks), then the servers; SIGKILL to any still alive after 10 s —
 * removes the discovery file when it names this cluster, and the cluster's state (the logs are
 * kept). Nothing running: says so and exits 0.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseDiscovery } from '../../agent/api/index.js';
import { NomadError } from '../../agent/core/lib/index.js';
import type { Env } from './api-io.js';
import { Exit, errorText, parseFlags } from './api-io.js';
import type { DevMember } from './dev-up.js';
import { defaultDevDir, memberAlive, readDevState } from './dev-up.js';
import type { Out } from './jobspec-io.js';
import { resolve } from 'node:path';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once every member is gone. */
export async function stopMembers(members: readonly DevMember[], graceMs = 10_000): Promise<{ killed: string[] }> {
  const live = members.filter(memberAlive);
  for (const m of live) {
    try {
      process.kill(m.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
  }
  const t0 = Date.now();
  while (live.some(memberAlive) && Date.now() - t0 < graceMs) await sleep(100);
  const killed: string[] = [];
  for (const m of live.filter(memberAlive)) {
    killed.push(m.name);
    try {
      process.kill(m.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  while (live.some(memberAlive)) await sleep(50);
  return { killed };
}

export async function devDown(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  try {
    const f = parseFlags(args, { value: ['dir'] });
    if (f.positional.length > 0) throw new NomadError('invalid_argument', `unexpected argument ${f.positional.join(' ')}`);
    const dir = resolve(f.value.get('dir') ?? defaultDevDir(env));
    const state = readDevState(dir);
    if (state === undefined) {
      out.stdout(`==> No dev cluster in ${dir}: nothing to stop.\n`);
      return Exit.ok;
    }
    const live = state.members.filter(memberAlive);
    // Clients first, so their tasks stop while the servers still hear the reports.
    const clients = await stopMembers(live.filter((m) => m.role === 'client'));
    const servers = await stopMembers(live.filter((m) => m.role === 'server'));
    const killed = [...clients.killed, ...servers.killed];
    try {
      const d = parseDiscovery(readFileSync(state.discoveryFile, 'utf8'));
      if (d !== undefined && state.members.some((m) => m.pid === d.pid)) rmSync(state.discoveryFile, { force: true });
    } catch {
      // no discovery file
    }
    for (const e of readdirSync(dir)) if (!e.endsWith('.log')) rmSync(join(dir, e), { recursive: true, force: true });
    out.stdout(live.length === 0
      ? `==> The dev cluster in ${dir} was not running (its state is removed).\n`
      : `==> Dev cluster stopped: ${live.map((m) => m.name).join(', ')}${killed.length > 0 ? ` (SIGKILL after 10 s: ${killed.join(', ')})` : ''}. Logs kept in ${dir}.\n`);
    return Exit.ok;
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
}
