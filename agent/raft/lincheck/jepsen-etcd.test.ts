/**
 * The checker against the 102 Jepsen etcd histories with known verdicts (shared/fixtures/jepsen-etcd,
 * from Porcupine's test data): it must agree with every one, and decide each within the step
 * budget (an `unknown` here fails the test as surely as a wrong verdict).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkHistory, parseJepsenLog, registerModel } from './index.js';

function fixtureDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // The worktree lives at <workspace>/wt/<name> or <workspace>/main; the fixtures at <workspace>/shared.
  for (const up of ['../../../../shared', '../../../../../shared', '../../../shared']) {
    const d = resolve(here, up, 'fixtures/jepsen-etcd');
    if (existsSync(join(d, 'verdicts.txt'))) return d;
  }
  return process.env.JEPSEN_ETCD_FIXTURES ?? '/work/shared/fixtures/jepsen-etcd';
}

const dir = fixtureDir();
const verdicts = readFileSync(join(dir, 'verdicts.txt'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.trim().split(/\s+/) as [string, string]);

describe('jepsen etcd fixtures', () => {
  it('has all 102 known verdicts (79 not linearizable, 23 linearizable)', () => {
    expect(verdicts).toHaveLength(102);
    expect(verdicts.filter(([, v]) => v === 'linearizable')).toHaveLength(23);
  });

  it.each(verdicts)('%s is %s', (file, verdict) => {
    const events = parseJepsenLog(readFileSync(join(dir, file), 'utf8'), file);
    const r = checkHistory(events, registerModel, { maxSteps: 20_000_000 });
    expect(r.verdict).toBe(verdict);
    if (r.verdict === 'not-linearizable') {
      const k = r.keys[0]!;
      expect(k.stuckOn!.length).toBeGreaterThan(0);
      expect(k.longestPrefix!.length).toBeLessThan(k.operations);
    }
  });
});
