/**
 * Facts about the host the client runs on, read from Linux /proc, /sys, /etc and
 * node:os (after nomad client/fingerprint: cpu, memory, storage, host, network, cgroup).
 * Each probe degrades to a fallback rather than failing the whole fingerprint.
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, hostname, machine, networkInterfaces, release, totalmem, type } from 'node:os';
import { NomadError } from '../../core/lib/index.js';

export interface HostFacts {
  cpu: { cores: number; mhz: number; totalMHz: number; modelName: string };
  memoryBytes: number;
  disk: { path: string; totalBytes: number; freeBytes: number };
  kernel: { name: string; version: string; arch: string };
  os: { name: string; version: string };
  /** Go-style architecture name (amd64, arm64, ...), as Nomad's `cpu.arch`. */
  arch: string;
  hostname: string;
  ip: string;
  /** "1" or "2"; '' when no cgroup file system is mounted. */
  cgroupVersion: '' | '1' | '2';
}

export interface HostProbeOptions {
  dataDir: string;
  devMode: boolean;
  networkInterface: string;
}

export function probeHost(opts: HostProbeOptions): HostFacts {
  return {
    cpu: probeCpu(),
    memoryBytes: totalmem(),
    disk: probeDisk(opts.dataDir),
    kernel: { name: type().toLowerCase(), version: release(), arch: machine() },
    os: probeOs(),
    arch: goArch(arch()),
    hostname: hostname(),
    ip: probeIp(opts.devMode, opts.networkInterface),
    cgroupVersion: probeCgroupVersion(),
  };
}

function probeCpu(): HostFacts['cpu'] {
  let cores = 0;
  let mhz = 0;
  let modelName = '';
  try {
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const key = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (key === 'processor') cores++;
      else if (key === 'model name' && modelName === '') modelName = value;
      else if (key === 'cpu MHz') mhz = Math.max(mhz, Number(value) || 0);
    }
  } catch {
    // not Linux, or /proc not mounted: node:os below
  }
  const list = cpus();
  if (cores === 0) cores = list.length;
  if (mhz === 0) mhz = Math.max(0, ...list.map((c) => c.speed));
  if (modelName === '') modelName = list[0]?.model ?? '';
  cores = Math.max(1, cores);
  mhz = Math.round(mhz);
  return { cores, mhz, totalMHz: cores * mhz, modelName };
}

function probeDisk(path: string): HostFacts['disk'] {
  const s = statfsSync(path);
  return { path, totalBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize };
}

function probeOs(): HostFacts['os'] {
  for (const file of ['/etc/os-release', '/usr/lib/os-release']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const kv = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m !== null) kv.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'));
    }
    return { name: kv.get('ID') ?? '', version: kv.get('VERSION_ID') ?? '' };
  }
  return { name: type().toLowerCase(), version: release() };
}

function probeIp(devMode: boolean, iface: string): string {
  if (devMode) return '127.0.0.1';
  const all = networkInterfaces();
  if (iface !== '') {
    const addr = (all[iface] ?? []).find((a) => a.family === 'IPv4');
    if (addr === undefined) {
      throw new NomadError('invalid_argument', `client.network_interface: interface ${JSON.stringify(iface)} has no IPv4 address (have: ${Object.keys(all).sort().join(', ')})`, { field: 'client.network_interface' });
    }
    return addr.address;
  }
  for (const name of Object.keys(all).sort()) {
    const addr = (all[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (addr !== undefined) return addr.address;
  }
  return '127.0.0.1';
}

function probeCgroupVersion(): HostFacts['cgroupVersion'] {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '2';
  if (existsSync('/sys/fs/cgroup')) return '1';
  return '';
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function goArch(nodeArch: string): string {
  return GO_ARCH[nodeArch] ?? nodeArch;
}
