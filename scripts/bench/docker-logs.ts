/**
 * The docker log copy benchmark: a container writes `--mb` MB of 71-byte lines, 1 MB at a time
 * with `--pause-ms` between (default 100: ~7 MB/s while it runs), and exits; the docker driver
 * copies the engine's log stream as the client does. Two targets, alternated: `logmon` (the
 * task's FIFOs, read and rotated by the client's logmon: what the agent does) and `file` (the
 * driver writing the log file itself, as a runner without logmon does). For each run: how many
 * bytes reached the task's log files of those written, and the time from start until the driver
 * reported the exit (it waits for the log stream first).
 *
 * The engine's follow stream ends when the container has exited; whatever the copy had not read
 * by then is not in the files, so a copy slower than the container loses output (see
 * docs/benchmarks.md). Options: --mb=M --pause-ms=P --runs=N. Needs the engine and the offline
 * test image (scripts/docker-image.sh); otherwise says it was skipped.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DockerDriver } from '../../agent/client/drivers/index.js';
import type { TaskConfig } from '../../agent/client/drivers/index.js';
import { logFifoPath, startLogmon, stopLogmon } from '../../agent/client/taskrunner/index.js';
import { intOptions } from './stats.js';

const Image = process.env['NOMADTS_TEST_IMAGE'] ?? 'nomadts/busybox:latest';
const Line = '0123456789012345678901234567890123456789012345678901234567890123456789';

function stdoutBytes(logDir: string): number {
  return readdirSync(logDir).filter((n) => /^web\.stdout\.\d+$/.test(n)).reduce((a, n) => a + statSync(join(logDir, n)).size, 0);
}

async function once(d: DockerDriver, base: string, mode: 'logmon' | 'file', mb: number, pauseMs: number): Promise<{ mode: string; bytes: number; exitMs: number }> {
  const allocId = randomUUID();
  const allocDir = join(base, allocId);
  const logDir = join(allocDir, 'alloc', 'logs');
  const dir = join(allocDir, 'web');
  for (const x of [logDir, join(allocDir, 'alloc', 'data'), join(dir, 'local'), join(dir, 'secrets'), join(dir, 'tmp')]) mkdirSync(x, { recursive: true, mode: 0o777 });
  const ctl = join(base, 'logmon');
  const rotation = { maxFiles: 1_000, maxFileSizeBytes: 10 * 1024 * 1024 };
  let paths = { stdout: join(logDir, 'web.stdout.0'), stderr: join(logDir, 'web.stderr.0') };
  if (mode === 'logmon') {
    await startLogmon(logDir, 'web', rotation, ctl);
    paths = { stdout: logFifoPath(logDir, 'web', 'stdout'), stderr: logFifoPath(logDir, 'web', 'stderr') };
  }
  const script = `i=0; while [ $i -lt ${mb} ]; do yes ${Line} | head -c 1000000; sleep ${pauseMs / 1000}; i=$((i+1)); done`;
  const cfg: TaskConfig = {
    id: `${allocId}/web/1`, name: 'web', allocId, config: { image: Image, command: 'sh', args: ['-c', script] }, env: {}, dir,
    stdoutPath: paths.stdout, stderrPath: paths.stderr, user: '', resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
  };
  const t0 = performance.now();
  await d.start(cfg);
  await d.wait(cfg.id);
  const exitMs = performance.now() - t0;
  if (mode === 'logmon') {
    // What reached the FIFO is written by logmon shortly after: wait for it to stop growing.
    for (let last = -1; stdoutBytes(logDir) !== last; await new Promise((r) => setTimeout(r, 200))) last = stdoutBytes(logDir);
  }
  const bytes = stdoutBytes(logDir);
  await d.destroy(cfg.id);
  if (mode === 'logmon') {
    const h = await startLogmon(logDir, 'web', rotation, ctl);
    stopLogmon(logDir, 'web', h, ctl);
  }
  return { mode, bytes, exitMs: Math.round(exitMs) };
}

export async function dockerLogsBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { mb: 40, pauseMs: 100, runs: 2 });
  const d = new DockerDriver();
  const fp = await d.fingerprint();
  if (!fp.healthy) {
    process.stdout.write(`docker-logs skipped: ${fp.healthDescription}\n`);
    return { skipped: fp.healthDescription };
  }
  const base = mkdtempSync(join(tmpdir(), 'nomadts-bench-docker-logs-'));
  try {
    const runs: { mode: string; bytes: number; exitMs: number }[] = [];
    for (let i = 0; i < o.runs; i++) {
      for (const mode of ['logmon', 'file'] as const) {
        const r = await once(d, base, mode, o.mb, o.pauseMs);
        runs.push(r);
        process.stdout.write(`${mode.padEnd(6)}  ${(r.bytes / 1e6).toFixed(2)} of ${o.mb} MB in the log files, exit reported after ${r.exitMs} ms\n`);
      }
    }
    return { mb: o.mb, pauseMs: o.pauseMs, writtenBytes: o.mb * 1_000_000, runs };
  } finally {
    d.shutdown();
    rmSync(base, { recursive: true, force: true });
  }
}
