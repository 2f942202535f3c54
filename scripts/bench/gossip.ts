/**
 * The gossip benchmark: simulated clusters (agent/gossip SimCluster: the real protocol over a
 * simulated network, 1-5 ms one-way delay, no loss, on a virtual clock) of N = 100, 500 and 1,000
 * members with memberlist's LAN defaults (probe 1 s, gossip 200 ms, fan-out 3).
 *
 * - join: a new member joins through one random member; time from join() until 99.99% of the
 *   existing members (⌈0.9999·N⌉, i.e. all of them at these sizes) see it alive.
 * - failure: a random member is killed. Detection = kill → the first member declaring it failed
 *   (SWIM probing + Lifeguard suspicion timeout); dissemination = that first declaration →
 *   99.99% of the live members seeing it failed. Dissemination is what Serf's convergence model
 *   measures (a message spreading from its origin), so it is the figure compared with the anchor.
 * - messages per member per second: packets (UDP) and streams (TCP exchanges) in a quiet minute.
 * Anchor: Serf's convergence simulator, 99.99% at N=100 in 2.0 s and N=1,000 in 2.2 s
 * (N=500 interpolated on log N: 2.14 s). Target: within 1.2× of it; messages flat in N.
 */
import { SimCluster } from '../../agent/gossip/index.js';
import { intOptions, summarize } from './stats.js';

const MODEL_S: Record<number, number> = { 100: 2.0, 500: 2.0 + 0.2 * Math.log10(5), 1000: 2.2 };

function modelSeconds(n: number): number {
  return MODEL_S[n] ?? 2.0 + 0.2 * Math.max(0, Math.log10(n / 100));
}

interface SizeResult {
  n: number;
  joinToAllMs: ReturnType<typeof summarize>;
  failureDetectMs: ReturnType<typeof summarize>;
  failureDisseminateMs: ReturnType<typeof summarize>;
  failureKillToAllMs: ReturnType<typeof summarize>;
  packetsPerMemberPerSec: number;
  streamsPerMemberPerSec: number;
  modelMs: number;
  joinVsModel: number;
  failureVsModel: number;
  wallMs: number;
}

function runSize(n: number, trials: number, seed: number): SizeResult {
  const wall = Date.now();
  const c = new SimCluster({ seed: seed + n });
  const names = c.formed(n);
  c.run(30_000); // let the start-up broadcasts drain
  const want = (k: number): number => Math.ceil(0.9999 * k);

  // Quiet minute: the steady cost of membership.
  const before = { ...c.net.counters };
  c.run(60_000);
  const packets = (c.net.counters.packets - before.packets) / n / 60;
  const streams = (c.net.counters.streams - before.streams) / n / 60;

  const joins: number[] = [];
  for (let t = 0; t < trials; t++) {
    const name = `join${t}`;
    const existing = c.live();
    let seen = 0;
    let doneAt = -1;
    const unsubs = existing.map((v) => c.get(v).subscribe((e) => {
      if (e.member.name === name && e.type === 'alive' && ++seen === want(existing.length)) doneAt = c.clock.now();
    }));
    const start = c.clock.now();
    const via = existing[c.rng.int(existing.length)]!;
    c.start(name).join([c.addr(via)]).catch(() => undefined);
    c.runUntil(() => doneAt >= 0, 60_000, 10);
    for (const u of unsubs) u();
    if (doneAt >= 0) joins.push(doneAt - start);
    c.run(10_000);
  }

  const detect: number[] = [];
  const spread: number[] = [];
  const total: number[] = [];
  for (let t = 0; t < trials; t++) {
    const live = c.live();
    const victim = live[c.rng.int(live.length)]!;
    const watchers = live.filter((v) => v !== victim);
    let first = -1;
    let seen = 0;
    let doneAt = -1;
    const unsubs = watchers.map((v) => c.get(v).subscribe((e) => {
      if (e.member.name !== victim || e.type !== 'failed') return;
      if (first < 0) first = c.clock.now();
      if (++seen === want(watchers.length)) doneAt = c.clock.now();
    }));
    const killedAt = c.clock.now();
    c.kill(victim);
    c.runUntil(() => doneAt >= 0, 300_000, 10);
    for (const u of unsubs) u();
    if (doneAt >= 0) {
      detect.push(first - killedAt);
      spread.push(doneAt - first);
      total.push(doneAt - killedAt);
    }
    c.run(10_000);
  }
  void names;
  const modelMs = modelSeconds(n) * 1000;
  const j = summarize(joins);
  const s = summarize(spread);
  return {
    n,
    joinToAllMs: j,
    failureDetectMs: summarize(detect),
    failureDisseminateMs: s,
    failureKillToAllMs: summarize(total),
    packetsPerMemberPerSec: Math.round(packets * 100) / 100,
    streamsPerMemberPerSec: Math.round(streams * 1000) / 1000,
    modelMs,
    joinVsModel: Math.round((j.medianMs / modelMs) * 100) / 100,
    failureVsModel: Math.round((s.medianMs / modelMs) * 100) / 100,
    wallMs: Date.now() - wall,
  };
}

export async function gossipBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { trials: 5, seed: 1, maxN: 1000 });
  const results: SizeResult[] = [];
  for (const n of [100, 500, 1000].filter((x) => x <= o.maxN)) {
    const r = runSize(n, o.trials, o.seed);
    results.push(r);
    process.stderr.write(
      `N=${n}: join→99.99% median ${r.joinToAllMs.medianMs} ms (max ${r.joinToAllMs.maxMs}), failure detect median ${r.failureDetectMs.medianMs} ms, ` +
      `failure dissemination median ${r.failureDisseminateMs.medianMs} ms (max ${r.failureDisseminateMs.maxMs}), model ${r.modelMs.toFixed(0)} ms, ` +
      `${r.packetsPerMemberPerSec} packets + ${r.streamsPerMemberPerSec} streams /member/s (${(r.wallMs / 1000).toFixed(1)} s wall)\n`,
    );
  }
  const pk = results.map((r) => r.packetsPerMemberPerSec);
  return {
    seed: o.seed,
    trials: o.trials,
    sizes: results,
    targetVsModel: 1.2,
    joinWithinTarget: results.every((r) => r.joinVsModel <= 1.2),
    failureWithinTarget: results.every((r) => r.failureVsModel <= 1.2),
    messagesFlat: Math.max(...pk) / Math.min(...pk) <= 1.2,
  };
}
