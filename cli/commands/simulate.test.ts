import { describe, expect, it } from 'vitest';
import { parseSimArgs, simulate } from './simulate.js';

function capture(): { out: { stdout: (s: string) => void; stderr: (s: string) => void }; text: () => string; err: () => string } {
  let o = '';
  let e = '';
  return { out: { stdout: (s) => (o += s), stderr: (s) => (e += s) }, text: () => o, err: () => e };
}

describe('nomadts simulate', () => {
  it('places the given jobs on a simulated cluster and explains them, replayably', async () => {
    const run = async () => {
      const c = capture();
      const code = await simulate(['-nodes', '30', '-seed', '11', 'jobs/placement.nomad.hcl', 'jobs/system-agent.nomad.hcl'], c.out);
      expect(code).toBe(0);
      return c.text();
    };
    const first = await run();
    expect(first).toMatch(/Simulated cluster: 30 nodes \(dc1 10, dc2 10, dc3 10\), seed 11/);
    expect(first).toMatch(/placement\s+service\s+running\s+app\s+6\s+6\s+0/);
    expect(first).toMatch(/system-agent\s+system\s+running\s+agent\s+per node\s+30\s+0/);
    expect(first).toMatch(/placement\.app\[0\] → node-\d{4} \(dc[12], /);
    // Same seed, same placements (timings aside).
    const strip = (s: string) => s.replace(/Scheduling took .*/, '');
    expect(strip(await run())).toBe(strip(first));
  });

  it('reports jobs that cannot be placed with the reasons', async () => {
    const c = capture();
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sim-'));
    const file = join(dir, 'windows.hcl');
    writeFileSync(file, 'job "win" {\n  constraint {\n    attribute = "${attr.kernel.name}"\n    value = "windows"\n  }\n  group "g" {\n    task "t" {\n      driver = "raw_exec"\n      config { command = "x" }\n    }\n  }\n}\n');
    expect(await simulate(['-nodes', '12', '-seed', '1', file], c.out)).toBe(0);
    expect(c.text()).toMatch(/✗ win\.g: 1 not placed — 12 nodes evaluated; 12 filtered: \$\{attr\.kernel\.name\} = windows \(12\)/);
  });

  it('refuses bad flags and bad job files without running anything', async () => {
    expect(() => parseSimArgs(['-nodes', 'many'])).toThrow(/-nodes needs a whole number, got many/);
    expect(() => parseSimArgs(['-nodes', '0'])).toThrow(/-nodes must be between 1 and 20000/);
    expect(() => parseSimArgs(['-frobnicate'])).toThrow(/unknown flag -frobnicate/);
    const c = capture();
    expect(await simulate(['jobs/hello-web.nomad.hcl', '/does/not/exist.hcl'], c.out)).toBe(1);
    expect(c.err()).toMatch(/\/does\/not\/exist\.hcl/);
    expect(c.text()).toBe('');
  });
});
