/** Five memberlists on real loopback sockets (UDP + TCP), encrypted with a keyring file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gossip } from '../index.js';
import { generateKey, Keyring, keyringPath, listenNet, saveKeyring, splitHostPort, startGossip } from '../index.js';

const FAST = { probeIntervalMs: 200, probeTimeoutMs: 100, gossipIntervalMs: 50, suspicionMult: 2, pushPullIntervalMs: 2000, reconnectIntervalMs: 1000 };

/** Poll until `cond` holds; fail (with `what`) if it has not by the deadline. Not a timing assertion. */
async function waitFor(what: () => string, cond: () => boolean, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`still waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gossip over real sockets', () => {
  const started: Gossip[] = [];
  let dir = '';
  afterEach(() => {
    for (const g of started) g.memberlist.shutdown();
    started.length = 0;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('five members form a cluster from one join address; a killed one is failed for all; restarted, it is alive again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gossip-net-'));
    const file = keyringPath(dir);
    saveKeyring(file, new Keyring([generateKey()]));
    const first = await startGossip({ name: 's0', config: FAST, keyringFile: file, tags: { role: 'server' } });
    started.push(first);
    const seed = first.transport.addr;
    for (let i = 1; i < 5; i++) started.push(await startGossip({ name: `s${i}`, config: FAST, keyringFile: file, join: [seed] }));
    const view = (): string => started.map((g) => `${g.memberlist.localMember().name}: ${g.memberlist.members().map((m) => `${m.name}=${m.status}`).join(' ')}`).join('; ');
    const everyoneSees = (others: Gossip[], name: string, status: string): boolean => others.every((g) => g.memberlist.member(name)?.status === status);

    await waitFor(view, () => started.every((g) => g.memberlist.members().filter((m) => m.status === 'alive').length === 5));
    expect(started[3]!.memberlist.member('s0')?.tags).toEqual({ role: 'server' });

    const victim = started[2]!;
    const port = splitHostPort(victim.transport.addr).port;
    victim.memberlist.shutdown();
    const rest = started.filter((g) => g !== victim);
    await waitFor(view, () => everyoneSees(rest, 's2', 'failed'));

    const back = await startGossip({ name: 's2', port, config: FAST, keyringFile: file, join: [seed] });
    started[2] = back;
    await waitFor(view, () => everyoneSees(rest, 's2', 'alive') && back.memberlist.numLive() === 5);
    expect(back.memberlist.localMember().incarnation).toBeGreaterThan(0);
    for (const g of started) expect(g.memberlist.stats().dropped['decrypt-failed']).toBe(0);
  });

  it('refuses a join it cannot complete, and a bad address, clearly', async () => {
    const closed = await listenNet();
    const addr = closed.addr;
    closed.close();
    await expect(startGossip({ name: 'x', config: FAST, join: [addr] })).rejects.toMatchObject({ code: 'unavailable' });
    expect(() => splitHostPort('nohost')).toThrow(expect.objectContaining({ field: 'addr' }));
    expect(() => splitHostPort('h:70000')).toThrow(/host:port/);
  });
});
