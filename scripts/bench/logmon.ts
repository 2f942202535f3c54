/**
 * The log collector benchmark: one client's logmon serving N chatty tasks at once, beside one
 * `cat fifo > file` process per task (what one reader process per task can do at most: no
 * rotation, the kernel copying). Answers whether one logmon for every task of a client (one
 * event loop) keeps up with tasks that log as fast as they can, and whether a quiet task's lines
 * still land promptly while the others flood.
 *
 * Each flooding task is a `cat` of the same file of log-like lines (~100 bytes each) into its
 * stdout FIFO, as a task's output reaches logmon. The clock runs from the writers' start until
 * every byte is in the tasks' rotated files (their sizes polled every 2 ms). Meanwhile
 * a quiet task writes one line every 10 ms from this process; its latency is the time from the
 * write until the line's bytes are in its log file (polled every 2 ms), also measured with no
 * flood for reference, and with its own `cat` reader beside the `cat` floods (the same CPU
 * contention, a dedicated reader process).
 *
 * Options: --tasks=N (default 8), --mb=M per task (default 256), --file-mb=F rotation size
 * (default 64), --lines=L quiet lines (default 300; those written while the floods run count).
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { logFifoPath, logmonServing, startLogmon, stopLogmon } from '../../agent/client/taskrunner/index.js';
import type { LogmonHandle } from '../../agent/client/taskrunner/index.js';
import { intOptions, summarize } from './stats.js';

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A file of `mb` MiB of log-like lines. */
function logFile(path: string, mb: number): void {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < MiB; i++) {
    const l = `2026-11-23T01:02:03.${String(i % 1000).padStart(3, '0')}Z [INFO] worker ${i % 97}: processed request ${i} in ${(i * 7) % 1000} us status=ok\n`;
    lines.push(l);
    size += l.length;
  }
  const chunk = Buffer.from(lines.join('')).subarray(0, MiB);
  const fd = openSync(path, 'w');
  for (let i = 0; i < mb; i++) writeSync(fd, chunk);
  closeSync(fd);
}

/** Bytes in a task's stream files (`<task>.stdout.N`). */
function streamBytes(dir: string, task: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (f.startsWith(`${task}.stdout.`)) n += statSync(join(dir, f)).size;
  return n;
}

function run(cmd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('sh', ['-c', cmd], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => resolve(code ?? -1));
  });
}

/** CPU ms and RSS MB of a process, from /proc. */
function procUsage(pid: number): { cpuMs: number; rssMB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rss = Number(f[21]) * 4096;
  return { cpuMs: ticks * 10, rssMB: Math.round((rss / MiB) * 10) / 10 };
}

/**
 * A quiet task: one line every 10 ms into its FIFO; each line's latency is from its write until
 * its bytes are in the log file. Runs until `lines` are written and landed.
 */
async function quietTask(fifo: string, dir: string, task: string, lines: number): Promise<{ at: number; ms: number }[]> {
  // Read-write: never blocks and never fails for want of a reader (the peer's `cat` may not have
  // opened its end yet); nothing here reads, so every byte goes to the task's reader.
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const written: { at: number; end: number }[] = [];
  const latency: { at: number; ms: number }[] = [];
  const base = streamBytes(dir, task);
  let total = base;
  let next = 0;
  const poll = setInterval(() => {
    const have = streamBytes(dir, task);
    const now = performance.now();
    while (next < written.length && have >= written[next]!.end) {
      const w = written[next++]!;
      latency.push({ at: w.at, ms: now - w.at });
    }
  }, 2);
  try {
    for (let i = 0; i < lines; i++) {
      const line = Buffer.from(`quiet line ${i} at ${Date.now()}\n`);
      writeSync(fd, line);
      total += line.length;
      written.push({ at: performance.now(), end: total });
      await sleep(10);
    }
    for (let w = 0; next < written.length && w < 10_000; w += 10) await sleep(10);
  } finally {
    clearInterval(poll);
    closeSync(fd);
  }
  if (next < written.length) throw new Error(`quiet task: ${written.length - next} of ${lines} lines never reached its log file`);
  return latency;
}

export async function logmonBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { tasks: 8, mb: 256, fileMb: 64, lines: 300 });
  const root = mkdtempSync(join(tmpdir(), 'nomadts-bench-logmon-'));
  try {
    const data = join(root, 'lines.log');
    logFile(data, o.mb);
    const ctl = join(root, 'ctl');
    const rotation = { maxFiles: Math.ceil(o.mb / o.fileMb) + 2, maxFileSizeBytes: o.fileMb * MiB };
    const taskDir = (i: number | 'quiet'): string => {
      const d = join(root, 'allocs', String(i), 'alloc', 'logs');
      mkdirSync(d, { recursive: true });
      return d;
    };

    // The quiet task alone first (no flood): the reference latency.
    const quietDir = taskDir('quiet');
    let host: LogmonHandle = await startLogmon(quietDir, 'quiet', rotation, ctl);
    const idleLatency = summarize((await quietTask(logFifoPath(quietDir, 'quiet', 'stdout'), quietDir, 'quiet', Math.min(100, o.lines))).map((l) => l.ms));

    // logmon: N floods at once, the quiet task alongside.
    const dirs: string[] = [];
    for (let i = 0; i < o.tasks; i++) {
      dirs.push(taskDir(i));
      host = await startLogmon(dirs[i]!, `t${i}`, rotation, ctl);
    }
    const usage0 = procUsage(host.pid);
    const t0 = performance.now();
    const floods = dirs.map((d, i) => run(`cat ${data} > ${logFifoPath(d, `t${i}`, 'stdout')}`));
    const quiet = quietTask(logFifoPath(quietDir, 'quiet', 'stdout'), quietDir, 'quiet', o.lines);
    const codes = await Promise.all(floods);
    if (codes.some((c) => c !== 0)) throw new Error(`a flooding writer failed: exit codes ${codes.join(',')}`);
    // Done when every byte is in the files (polled; logmon's drain-on-stop waits for 100 ms of
    // quiet, which is not throughput).
    const landed = (): boolean => dirs.every((d, i) => streamBytes(d, `t${i}`) >= o.mb * MiB);
    for (let w = 0; !landed(); w += 2) {
      if (w > 120_000) throw new Error('logmon did not write every byte within 120 s of the writers ending');
      await sleep(2);
    }
    const logmonMs = performance.now() - t0;
    const usage1 = procUsage(host.pid);
    // Only the quiet lines written while the floods ran.
    const floodLatency = summarize((await quiet).filter((l) => l.at <= t0 + logmonMs).map((l) => l.ms));
    for (let i = 0; i < o.tasks; i++) {
      const got = streamBytes(dirs[i]!, `t${i}`);
      if (got !== o.mb * MiB) throw new Error(`task t${i}: ${got} bytes in its log files, expected ${o.mb * MiB}`);
      stopLogmon(dirs[i]!, `t${i}`, host, ctl);
    }
    stopLogmon(quietDir, 'quiet', host, ctl);
    while ([...dirs, quietDir].some((d, i) => logmonServing(d, i < dirs.length ? `t${i}` : 'quiet', host, ctl))) await sleep(10);

    // The ceiling: one `cat fifo > file` reader per task (a process each, no rotation).
    const peerDirs = dirs.map((_, i) => join(root, 'peer', String(i)));
    const fifos = peerDirs.map((d) => join(d, 'out.fifo'));
    for (const d of peerDirs) mkdirSync(d, { recursive: true });
    await Promise.all(fifos.map((f) => run(`mkfifo ${f}`)));
    // The quiet task too has its own reader here.
    const quietPeer = join(root, 'peer', 'quiet');
    mkdirSync(quietPeer, { recursive: true });
    const quietFifo = join(quietPeer, 'quiet.fifo');
    await run(`mkfifo ${quietFifo}`);
    const quietReader = run(`cat ${quietFifo} > ${join(quietPeer, 'quiet.stdout.0')}`);
    const p0 = performance.now();
    const readers = fifos.map((f, i) => run(`cat ${f} > ${join(peerDirs[i]!, 'out.log')}`));
    const writers = fifos.map((f) => run(`cat ${data} > ${f}`));
    const peerQuiet = quietTask(quietFifo, quietPeer, 'quiet', o.lines);
    await Promise.all([...writers, ...readers]);
    const peerMs = performance.now() - p0;
    const peerFloodLatency = summarize((await peerQuiet).filter((l) => l.at <= p0 + peerMs).map((l) => l.ms));
    await quietReader;
    for (const d of peerDirs) if (statSync(join(d, 'out.log')).size !== o.mb * MiB) throw new Error(`peer ${d}: short output`);

    const totalMB = o.tasks * o.mb;
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const result = {
      tasks: o.tasks,
      mbPerTask: o.mb,
      rotationMB: o.fileMb,
      logmon: { ms: Math.round(logmonMs), mbPerSec: r1(totalMB / (logmonMs / 1000)), cpuMs: usage1.cpuMs - usage0.cpuMs, rssMB: usage1.rssMB },
      perTaskCat: { ms: Math.round(peerMs), mbPerSec: r1(totalMB / (peerMs / 1000)), quietLineLatencyUnderFlood: peerFloodLatency },
      logmonVsCat: r1(peerMs / logmonMs),
      quietLineLatency: { idle: idleLatency, underFlood: floodLatency },
    };
    process.stdout.write(`logmon      ${o.tasks} tasks × ${o.mb} MiB: ${result.logmon.ms} ms, ${result.logmon.mbPerSec} MB/s, logmon CPU ${result.logmon.cpuMs} ms, RSS ${result.logmon.rssMB} MB\n`);
    process.stdout.write(`cat × ${o.tasks}     the same through one cat per task: ${result.perTaskCat.ms} ms, ${result.perTaskCat.mbPerSec} MB/s; quiet task (its own cat) under flood (${peerFloodLatency.n} lines) p50 ${peerFloodLatency.medianMs} ms p90 ${peerFloodLatency.p90Ms} ms max ${peerFloodLatency.maxMs} ms\n`);
    process.stdout.write(`quiet task  line latency idle p50 ${idleLatency.medianMs} ms p90 ${idleLatency.p90Ms} ms; under flood (${floodLatency.n} lines) p50 ${floodLatency.medianMs} ms p90 ${floodLatency.p90Ms} ms max ${floodLatency.maxMs} ms\n`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
