/**
 * start() → running for the exec driver against raw_exec, median of N (default 50) each,
 * interleaved so both see the same machine load. Needs root and bubblewrap for exec.
 * Usage: npx tsx scripts/exec-start-latency.ts [N]. Last line is JSON.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecDriver, RawExecDriver } from '../agent/client/drivers/index.js';
import type { TaskConfig, TaskDriver } from '../agent/client/drivers/index.js';

const n = Number(process.argv[2] ?? 50);
const root = mkdtempSync(join(tmpdir(), 'nomadts-exec-latency-'));
const taskDir = join(root, 'alloc', 'web');
for (const d of ['local', 'secrets', 'tmp']) mkdirSync(join(taskDir, d), { recursive: true });
mkdirSync(join(root, 'alloc', 'alloc', 'logs'), { recursive: true });

let seq = 0;
function cfg(): TaskConfig {
  const i = seq++;
  return {
    id: `latency/web/${i}`, name: 'web', allocId: 'latency', config: { command: '/bin/sleep', args: ['600'] }, env: {}, dir: taskDir,
    stdoutPath: join(root, 'alloc', 'alloc', 'logs', `web.stdout.${i}`), stderrPath: join(root, 'alloc', 'alloc', 'logs', `web.stderr.${i}`),
    user: '', resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
  };
}

async function once(d: TaskDriver): Promise<number> {
  const c = cfg();
  const t0 = performance.now();
  await d.start(c);
  const ms = performance.now() - t0;
  await d.destroy(c.id);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round((s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2) * 10) / 10;
}

const raw = new RawExecDriver({ enabled: true });
const exec = new ExecDriver({ stateDir: join(root, 'state') });
const fp = await exec.fingerprint();
if (!fp.healthy) {
  process.stdout.write(`${JSON.stringify({ error: `exec not usable: ${fp.healthDescription}` })}\n`);
  process.exit(1);
}
await once(raw);
await once(exec);
const r: number[] = [];
const e: number[] = [];
for (let i = 0; i < n; i++) {
  r.push(await once(raw));
  e.push(await once(exec));
}
rmSync(root, { recursive: true, force: true });
process.stdout.write(`raw_exec start→running median ${median(r)} ms; exec median ${median(e)} ms (n=${n})\n`);
process.stdout.write(`${JSON.stringify({ samples: n, rawExecMedianMs: median(r), execMedianMs: median(e), execTargetMs: 100 })}\n`);
