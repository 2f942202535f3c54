/**
 * Readers of Linux /proc for the raw_exec driver: a process's start time (to tell a
 * live pid from a reused one), its CPU times and RSS, and the members of its process
 * group. Every reader returns undefined for a process that is gone.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z, T, ... */
  state: string;
  ppid: number;
  pgid: number;
  /** Clock ticks of user and system time. */
  utime: number;
  stime: number;
  /** Clock ticks after boot at which the process started. */
  startTime: number;
}

/** Linux's USER_HZ is 100 on every mainstream architecture. */
export const CLOCK_TICKS_PER_SECOND = 100;

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces or parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state) of proc(5).
  const num = (field: number): number => Number(f[field - 3]);
  const stat: ProcStat = { pid, state: f[0] ?? '?', ppid: num(4), pgid: num(5), utime: num(14), stime: num(15), startTime: num(22) };
  return Number.isFinite(stat.startTime) ? stat : undefined;
}

/** Alive = has a /proc entry and is not a zombie waiting to be reaped. */
export function processAlive(pid: number): boolean {
  const s = readProcStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** VmRSS of a process in bytes (0 for kernel threads and zombies). */
export function readRssBytes(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Live processes whose process group is `pgid`. Scans /proc: call it for sampling, not per event. */
export function processGroupMembers(pgid: number): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const s = readProcStat(Number(e));
    if (s !== undefined && s.pgid === pgid && s.state !== 'Z' && s.state !== 'X') out.push(s);
  }
  return out;
}
