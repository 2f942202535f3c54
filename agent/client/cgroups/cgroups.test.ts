import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NomadError } from '../../core/lib/index.js';
import { CgroupsV1, CgroupsV2, detectCgroups, parseTaskCgroup, sharesToWeight } from './index.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nomadts-cgroups-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const MB = 1024 * 1024;

/** A directory standing in for a cgroup2 mount: the files the kernel would provide. */
function fakeV2(dir: string, parent = 'nomadts.slice'): void {
  writeFileSync(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  writeFileSync(join(dir, 'cgroup.subtree_control'), '');
  mkdirSync(join(dir, parent));
  writeFileSync(join(dir, parent, 'cgroup.controllers'), 'cpu memory\n');
  writeFileSync(join(dir, parent, 'cgroup.subtree_control'), '');
}

describe('cgroup v2 (against a fake cgroupfs root)', () => {
  it('enables memory and cpu down to the parent and writes the limits of a task cgroup', () => {
    fakeV2(root);
    const cg = new CgroupsV2({ root });
    const t = cg.create('alloc1.web.1', { memoryBytes: 256 * MB, memorySoftBytes: 128 * MB, cpuShares: 500 });
    expect(t).toEqual({ version: 2, dirs: { unified: join(root, 'nomadts.slice', 'alloc1.web.1') } });
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu');
    expect(readFileSync(join(root, 'nomadts.slice', 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu');
    const dir = t.dirs['unified']!;
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(256 * MB));
    expect(readFileSync(join(dir, 'memory.low'), 'utf8')).toBe(String(128 * MB));
    expect(readFileSync(join(dir, 'cpu.weight'), 'utf8')).toBe(String(sharesToWeight(500)));
    cg.addProcess(t, 4242);
    expect(readFileSync(join(dir, 'cgroup.procs'), 'utf8')).toBe('4242');
  });

  it('writes no memory limit when there is none, and does not re-enable enabled controllers', () => {
    fakeV2(root);
    writeFileSync(join(root, 'cgroup.subtree_control'), 'memory cpu\n');
    const cg = new CgroupsV2({ root });
    const t = cg.create('t', { memoryBytes: 0, memorySoftBytes: 0, cpuShares: 100 });
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('memory cpu\n');
    expect(existsSync(join(t.dirs['unified']!, 'memory.max'))).toBe(false);
  });

  it('refuses when a controller is missing, saying which', () => {
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu io\n');
    writeFileSync(join(root, 'cgroup.subtree_control'), '');
    expect(() => new CgroupsV2({ root }).create('t', { memoryBytes: MB, memorySoftBytes: 0, cpuShares: 100 })).toThrow(/memory controller is not available/);
  });

  it('says which controllers it could not enable, and where', () => {
    fakeV2(root);
    rmSync(join(root, 'cgroup.subtree_control'));
    mkdirSync(join(root, 'cgroup.subtree_control'));
    expect(() => new CgroupsV2({ root }).prepare()).toThrow(/cannot enable memory, cpu for the children of/);
  });

  it('reads usage, OOM kills and processes from the task cgroup, and destroy removes it', async () => {
    fakeV2(root);
    const cg = new CgroupsV2({ root });
    const t = cg.create('t', { memoryBytes: 64 * MB, memorySoftBytes: 0, cpuShares: 100 });
    const dir = t.dirs['unified']!;
    writeFileSync(join(dir, 'memory.current'), '5000000\n');
    writeFileSync(join(dir, 'memory.stat'), 'anon 4000000\nfile 1000000\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 250000\nuser_usec 200000\nsystem_usec 50000\n');
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'cgroup.procs'), '');
    expect(cg.usage(t)).toEqual({ rssBytes: 4000000, memoryBytes: 5000000, cpuUserMs: 200, cpuSystemMs: 50, cpuTotalMs: 250 });
    expect(cg.oomKills(t)).toBe(1);
    expect(cg.procs(t)).toEqual([]);
    await cg.destroy(t);
    expect(existsSync(dir)).toBe(false);
    await cg.destroy(t); // idempotent
  });

  it('a task cgroup name must be one path segment', () => {
    fakeV2(root);
    const cg = new CgroupsV2({ root });
    for (const bad of ['', '..', 'a/b']) expect(() => cg.create(bad, { memoryBytes: 0, memorySoftBytes: 0, cpuShares: 2 })).toThrow(NomadError);
  });
});

describe('sharesToWeight', () => {
  it('maps the v1 share range onto the v2 weight range as runc does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(0)).toBe(1);
  });

  it('is monotonic and always a valid weight', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 300000 }), fc.integer({ min: 0, max: 300000 }), (a, b) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      const wl = sharesToWeight(lo);
      const wh = sharesToWeight(hi);
      return wl <= wh && wl >= 1 && wh <= 10000 && Number.isInteger(wl);
    }));
  });
});

describe('detectCgroups', () => {
  const v1Mounts = [
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n');

  it('prefers v1 with memory, nesting under the agent\'s own cgroup per controller', () => {
    const cg = detectCgroups({ mountinfo: v1Mounts, selfCgroup: '4:memory:/agent/x\n2:cpuacct:/\n1:cpu:/\n0::/\n' });
    expect(cg).toBeInstanceOf(CgroupsV1);
    expect(cg.version).toBe(1);
    expect(cg.parent).toBe('/agent/x/nomadts');
  });

  it('uses a configured parent', () => {
    const cg = detectCgroups({ mountinfo: v1Mounts, selfCgroup: '4:memory:/agent/x\n', parent: '/custom' });
    expect(cg.parent).toBe('/custom');
  });

  it('finds v2 when no v1 memory hierarchy exists', () => {
    fakeV2(root);
    const cg = detectCgroups({ mountinfo: `30 23 0:26 / ${root} rw - cgroup2 cgroup2 rw`, selfCgroup: '0::/\n' });
    expect(cg).toBeInstanceOf(CgroupsV2);
    expect(cg.parent).toBe('/nomadts.slice');
  });

  it('says clearly when there is no usable hierarchy', () => {
    expect(() => detectCgroups({ mountinfo: '31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw', selfCgroup: '' })).toThrow(/no cgroup hierarchy with the memory and cpu controllers/);
    expect(() => detectCgroups({ mountinfo: '35 31 0:32 / /m rw - cgroup cgroup rw,memory', selfCgroup: '' })).toThrow(/cpu is not/);
  });
});

describe('parseTaskCgroup', () => {
  it('round-trips a task cgroup and refuses anything else', () => {
    const t = { version: 1 as const, dirs: { memory: '/sys/fs/cgroup/memory/x', cpu: '/sys/fs/cgroup/cpu/x' } };
    expect(parseTaskCgroup(JSON.stringify(t))).toEqual(t);
    for (const bad of ['nope', '{}', '{"version":3,"dirs":{}}', '{"version":1,"dirs":{"memory":"relative"}}', 'null']) {
      expect(() => parseTaskCgroup(bad)).toThrow(NomadError);
    }
  });
});

const v1Available = process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes');

describe('cgroup v1 (real, on this host)', () => {
  it.skipIf(!v1Available)('writes limits, holds a process, counts usage, and destroy kills and removes', async () => {
    const cg = detectCgroups();
    expect(cg.version).toBe(1);
    const name = `test-${process.pid}-${Date.now()}`;
    const t = cg.create(name, { memoryBytes: 64 * MB, memorySoftBytes: 32 * MB, cpuShares: 700 });
    try {
      expect(readFileSync(join(t.dirs['memory']!, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * MB));
      expect(readFileSync(join(t.dirs['memory']!, 'memory.soft_limit_in_bytes'), 'utf8').trim()).toBe(String(32 * MB));
      expect(readFileSync(join(t.dirs['cpu']!, 'cpu.shares'), 'utf8').trim()).toBe('700');
      // Waits for a line, then works inside the cgroup (charges follow new allocations, not old ones).
      const child = spawn('sh', ['-c', 'read go; x=$(head -c 8000000 /dev/zero | tr "\\0" a); echo worked; sleep 30'], { stdio: ['pipe', 'pipe', 'ignore'] });
      await new Promise((r) => child.once('spawn', r));
      cg.addProcess(t, child.pid!);
      expect(cg.procs(t)).toEqual([child.pid]);
      const worked = new Promise((r) => child.stdout.once('data', r));
      child.stdin.write('go\n');
      await worked;
      const u = cg.usage(t);
      expect(u.memoryBytes).toBeGreaterThan(0);
      expect(u.cpuTotalMs).toBeGreaterThan(0);
      expect(cg.oomKills(t)).toBe(0);
      const gone = new Promise((r) => child.once('exit', r));
      await cg.destroy(t);
      await gone;
      for (const d of Object.values(t.dirs)) expect(existsSync(d)).toBe(false);
    } finally {
      await cg.destroy(t);
    }
  });
});
