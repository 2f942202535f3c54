import { describe, expect, it } from 'vitest';
import type { Job, Task, TaskGroup } from '../structs/index.js';
import { deepEqual, defaultAllocUpdate, tasksUpdated } from './reconcile-update.js';
import { mockAlloc, mockJob, mockJobVersion, mockTask } from '../testing/index.js';

const base = mockJob();
const group = (j: Job): TaskGroup => j.taskGroups[0]!;
const withTask = (patch: Partial<Task>) => (g: TaskGroup): TaskGroup => ({ ...g, tasks: g.tasks.map((t) => ({ ...t, ...patch })) });
const withGroup = (patch: Partial<TaskGroup>) => (g: TaskGroup): TaskGroup => ({ ...g, ...patch });

describe('tasksUpdated: destructive changes', () => {
  const cases: [string, Job, RegExp][] = [
    ['driver', mockJobVersion(base, withTask({ driver: 'docker' })), /driver/],
    ['config', mockJobVersion(base, withTask({ config: { command: '/bin/true' } })), /config/],
    ['env', mockJobVersion(base, withTask({ env: { FOO: 'baz' } })), /env/],
    ['user', mockJobVersion(base, withTask({ user: 'nobody' })), /user/],
    ['cpu', mockJobVersion(base, withTask({ resources: { cpu: 501, memoryMB: 256, memoryMaxMB: 0, cores: 0 } })), /resources/],
    ['memory', mockJobVersion(base, withTask({ resources: { cpu: 500, memoryMB: 512, memoryMaxMB: 0, cores: 0 } })), /resources/],
    ['task meta', mockJobVersion(base, withTask({ meta: { a: '1' } })), /meta/],
    ['job meta', { ...mockJobVersion(base), meta: { a: '1' } }, /meta/],
    ['task added', mockJobVersion(base, (g) => ({ ...g, tasks: [...g.tasks, mockTask({ name: 'side' })] })), /number of tasks/],
    ['task renamed', mockJobVersion(base, withTask({ name: 'other' })), /removed/],
    ['network', mockJobVersion(base, withGroup({ networks: [{ mode: 'host', mbits: 0, reservedPorts: [], dynamicPorts: [{ label: 'http', value: 0, to: 8080, hostNetwork: 'default' }] }] })), /network/],
    ['ephemeral disk', mockJobVersion(base, withGroup({ ephemeralDisk: { sizeMB: 300, sticky: false, migrate: false } })), /ephemeral disk/],
    ['group constraint', mockJobVersion(base, withGroup({ constraints: [{ lTarget: '${meta.rack}', rTarget: 'r1', operand: '=' }] })), /constraints/],
    ['job constraint', { ...mockJobVersion(base), constraints: [] }, /constraints/],
    ['affinity', mockJobVersion(base, withGroup({ affinities: [{ lTarget: '${meta.rack}', rTarget: 'r1', operand: '=', weight: 50 }] })), /affinities/],
    ['spread', { ...mockJobVersion(base), spreads: [{ attribute: '${node.datacenter}', weight: 50, targets: [] }] }, /spreads/],
    ['datacenters', { ...mockJobVersion(base), datacenters: ['dc2'] }, /datacenters/],
    ['templates', mockJobVersion(base, withTask({ templates: [{ data: 'x', sourcePath: '', destPath: 'local/x', changeMode: 'restart', changeSignal: '', envvars: false, perms: '0644', leftDelim: '{{', rightDelim: '}}', splay: 5000 }] })), /templates/],
  ];
  for (const [what, next, reason] of cases) {
    it(`${what} → destructive`, () => {
      expect(tasksUpdated(base, next, 'web')).toMatch(reason);
      expect(defaultAllocUpdate(mockAlloc(base), next, group(next)).kind).toBe('destructive');
    });
  }
});

describe('tasksUpdated: in-place changes', () => {
  const cases: [string, Job][] = [
    ['count', mockJobVersion(base, withGroup({ count: 3 }))],
    ['kill timeout', mockJobVersion(base, withTask({ killTimeout: 30_000 }))],
    ['services', mockJobVersion(base, withTask({ services: [{ name: 'web', portLabel: 'http', tags: ['v2'], provider: 'nomad', checks: [] }] }))],
    ['restart policy', mockJobVersion(base, withGroup({ restart: { attempts: 9, interval: 1, delay: 1, mode: 'delay', renderTemplates: false } }))],
    ['priority', { ...mockJobVersion(base), priority: 80 }],
  ];
  for (const [what, next] of cases) {
    it(`${what} → in place`, () => {
      expect(tasksUpdated(base, next, 'web')).toBeNull();
      const existing = mockAlloc(base);
      const d = defaultAllocUpdate(existing, next, group(next));
      expect(d.kind).toBe('inplace');
      if (d.kind === 'inplace') {
        expect(d.alloc.job).toBe(next);
        expect(d.alloc.id).toBe(existing.id);
        expect(existing.job).toBe(base);
      }
    });
  }

  it('same version → ignore; terminal alloc with an in-place change → ignore', () => {
    expect(defaultAllocUpdate(mockAlloc(base), base, group(base)).kind).toBe('ignore');
    const next = mockJobVersion(base, withTask({ killTimeout: 1 }));
    expect(defaultAllocUpdate(mockAlloc(base, { clientStatus: 'complete' }), next, group(next)).kind).toBe('ignore');
  });

  it('a group missing from either job is destructive', () => {
    expect(tasksUpdated(base, base, 'nope')).toMatch(/added or removed/);
  });
});

describe('deepEqual', () => {
  it('compares plain values structurally', () => {
    expect(deepEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual([], {})).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(deepEqual('1', 1)).toBe(false);
  });
});
