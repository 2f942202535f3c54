/**
 * `npm run bench -- top [--rate=1000] [--duration=60]`: can the console keep up? A child process
 * runs a dev agent whose event stream carries `rate` operational events a second plus the state
 * events of a batch job registered every 500 ms (scripts/bench/top-load.ts). This process runs
 * the console exactly as `nomadts top` does (API client → feed → store → Ink App, 20 fps at most)
 * rendering into an 120x40 off-screen terminal, for `duration` seconds, and reports the CPU it
 * used (cores = CPU seconds / wall seconds), its heap after warm-up and at the end, the frames
 * drawn and the events received. Targets (the issue): under half a core; memory bounded.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import React from 'react';
import { render } from 'ink';
import { ApiClient } from '../../agent/api/index.js';
import { App, TopStore, initialState, runFeed } from '../../tui/index.js';
import { intOptions } from './stats.js';

class OffscreenTerminal extends Writable {
  readonly isTTY = true;
  columns = 120;
  rows = 40;
  bytes = 0;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}

export async function topBench(args: string[]): Promise<Record<string, unknown>> {
  const o = intOptions(args, { rate: 1000, duration: 60 });
  const child = spawn(process.execPath, [resolve(import.meta.dirname, 'top-load.js'), `--rate=${o.rate}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((res, rej) => {
      let buf = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        buf += c;
        const nl = buf.indexOf('\n');
        if (nl >= 0) res(buf.slice(0, nl));
      });
      child.on('exit', (code) => rej(new Error(`the load process exited (${code}) before it was ready`)));
    });
    const { cliEnv } = JSON.parse(first) as { cliEnv: Record<string, string> };
    const client = ApiClient.fromEnv(cliEnv);
    const term = new OffscreenTerminal();
    const store = new TopStore(initialState({ address: client.address, readOnly: true, cols: term.columns, rows: term.rows, now: Date.now() }));
    const app = render(React.createElement(App, { store, onRun: () => undefined, onQuit: () => undefined }), {
      stdout: term as unknown as NodeJS.WriteStream,
      stdin: process.stdin,
      maxFps: 20,
      exitOnCtrlC: false,
      patchConsole: false,
    });
    const ac = new AbortController();
    const feed = runFeed(client, store, { signal: ac.signal });
    // Warm up (connect, snapshot, JIT) before measuring.
    await new Promise((r) => setTimeout(r, 5_000));
    global.gc?.();
    const heapStart = process.memoryUsage().heapUsed;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const frames0 = store.frames;
    const events0 = store.getSnapshot().counters;
    let heapMax = heapStart;
    let rssMax = process.memoryUsage().rss;
    for (let i = 0; i < o.duration; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      const m = process.memoryUsage();
      heapMax = Math.max(heapMax, m.heapUsed);
      rssMax = Math.max(rssMax, m.rss);
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    global.gc?.();
    const heapEnd = process.memoryUsage().heapUsed;
    const c = store.getSnapshot().counters;
    ac.abort();
    app.unmount();
    store.close();
    await feed.catch(() => undefined);
    client.close();
    const opsReceived = c.opsEvents - events0.opsEvents;
    const stateReceived = c.stateEvents - events0.stateEvents;
    const cores = (cpu.user + cpu.system) / 1e6 / wall;
    const mb = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;
    const result = {
      rate: o.rate,
      durationS: Math.round(wall * 10) / 10,
      opsEventsPerS: Math.round(opsReceived / wall),
      stateEventsPerS: Math.round(stateReceived / wall),
      opsLost: c.lostOps - events0.lostOps,
      cpuCores: Math.round(cores * 1000) / 1000,
      framesPerS: Math.round(((store.frames - frames0) / wall) * 10) / 10,
      heapAfterWarmupMB: mb(heapStart),
      heapEndMB: mb(heapEnd),
      heapMaxMB: mb(heapMax),
      rssMaxMB: mb(rssMax),
      logLines: store.getSnapshot().log.length,
      evalsHeld: store.getSnapshot().evals.size,
      targets: { cpuCoresBelow: 0.5, met: cores < 0.5 },
    };
    process.stdout.write(`console under ${o.rate} ops events/s for ${result.durationS} s: ${result.cpuCores} cores, heap ${result.heapAfterWarmupMB} → ${result.heapEndMB} MB (max ${result.heapMaxMB}), ${result.framesPerS} frames/s\n`);
    return result;
  } finally {
    child.kill('SIGKILL');
  }
}
