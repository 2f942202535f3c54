import { describe, expect, it } from 'vitest';
import { checkSimulation, replayCommand, runSimulation } from './index.js';

const Seeds = Number(process.env.RAFT_SIM_SEEDS ?? 500);

describe('raft simulation', () => {
  it('replays a seed exactly', () => {
    const a = runSimulation({ seed: 7, faultTicks: 120 });
    const b = runSimulation({ seed: 7, faultTicks: 120 });
    expect(b.history).toEqual(a.history);
    expect(b.stats).toEqual(a.stats);
    expect(a.stats.committed).toBeGreaterThan(0);
  });

  it(`keeps safety, liveness and linearizability over ${Seeds} seeds (3 and 5 servers)`, () => {
    const failures: string[] = [];
    const totals = { ok: 0, crashes: 0, torn: 0, snaps: 0, leaders: 0, unknown: 0 };
    for (let seed = 1; seed <= Seeds; seed++) {
      const r = checkSimulation({ seed, faultTicks: 150, livenessTicks: 200 });
      if (!r.ok) {
        failures.push(`${r.error}\n  replay: ${replayCommand({ seed, faultTicks: 150 })}\n  ${(r.trace ?? []).slice(-30).join('\n  ')}`);
        if (failures.length >= 3) break;
        continue;
      }
      totals.ok++;
      if (r.verdict === 'unknown') totals.unknown++;
      totals.crashes += r.stats!.crashes;
      totals.torn += r.stats!.tornWrites;
      totals.snaps += r.stats!.snapshotsSent;
      totals.leaders += r.stats!.leaders;
    }
    expect(failures.join('\n\n')).toBe('');
    // The faults actually happened (a simulation that never crashes proves little).
    expect(totals.crashes).toBeGreaterThan(Seeds / 5);
    expect(totals.snaps).toBeGreaterThan(0);
    expect(totals.torn).toBeGreaterThan(0);
  });

  it('catches a driver that acknowledges before its writes are durable (a planted bug)', () => {
    const caught: string[] = [];
    for (let seed = 1; seed <= 100 && caught.length === 0; seed++) {
      const r = checkSimulation({ seed, faultTicks: 150, bug: 'ack-before-persist', crashRate: 0.05 });
      if (!r.ok && /leader completeness|state machine safety|log matching|election safety|linearizable/.test(r.error ?? '')) caught.push(r.error!);
    }
    expect(caught).toHaveLength(1);
  });
});
