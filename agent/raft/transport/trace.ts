/**
 * Latency tracing of the write path, off unless NOMADTS_RAFT_TRACE names a file: each call
 * records (event, log index, process.hrtime in ns) — the monotonic clock is shared by the
 * processes of one machine, so the servers' and the client's stamps line up. Lines are buffered
 * and appended to the file every 200 ms: `<pid> <event> <index> <ns>`.
 */
import { appendFileSync } from 'node:fs';

const file = process.env.NOMADTS_RAFT_TRACE ?? '';
let buf: string[] = [];
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  if (buf.length === 0) return;
  const lines = buf.join('');
  buf = [];
  try {
    appendFileSync(file, lines);
  } catch {
    // tracing is best effort
  }
}

/** True when tracing is on (guard costly arguments with it). */
export const raftTraceOn = file !== '';

export function raftTrace(event: string, index: number): void {
  if (!raftTraceOn) return;
  buf.push(`${process.pid} ${event} ${index} ${process.hrtime.bigint()}\n`);
  if (timer === undefined) {
    timer = setTimeout(() => {
      timer = undefined;
      flush();
    }, 200);
    timer.unref();
  }
}
