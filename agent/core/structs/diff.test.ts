import { describe, expect, it } from 'vitest';
import { mockJob, mockTask, mockTaskGroup } from '../testing/index.js';
import { formatDiff, jobDiff } from './index.js';

describe('jobDiff', () => {
  it('shows changed, added and removed fields under the group and task they belong to', () => {
    const before = mockJob({ id: 'web', priority: 50, taskGroups: [mockTaskGroup({ name: 'web', count: 2, tasks: [mockTask({ name: 'api', env: { A: '1' } })] })] });
    const after = mockJob({
      id: 'web',
      priority: 70,
      taskGroups: [
        mockTaskGroup({ name: 'web', count: 3, tasks: [mockTask({ name: 'api', env: { B: '2' } })] }),
        mockTaskGroup({ name: 'cache', count: 1 }),
      ],
    });
    const lines = jobDiff(before, after).map(formatDiff);
    expect(lines).toContain('~ priority: 50 => 70');
    expect(lines).toContain('~ group "web": count: 2 => 3');
    expect(lines).toContain('- group "web" task "api": env.A: "1"');
    expect(lines).toContain('+ group "web" task "api": env.B: "2"');
    expect(lines.some((l) => l.startsWith('+ group "cache": {'))).toBe(true);
    expect(lines).toHaveLength(5);
  });

  it('is empty for the same specification, whatever the server kept about it or the order of groups', () => {
    const g1 = mockTaskGroup({ name: 'a' });
    const g2 = mockTaskGroup({ name: 'b' });
    const before = mockJob({ id: 'x', taskGroups: [g1, g2], version: 3, jobModifyIndex: 40, status: 'running' });
    const after = mockJob({ id: 'x', taskGroups: [g2, g1], version: 0, jobModifyIndex: 0, status: 'pending' });
    expect(jobDiff(before, after)).toEqual([]);
  });

  it('a new job is one added line', () => {
    expect(jobDiff(undefined, mockJob({ id: 'new' })).map((d) => d.kind + ' ' + d.path)).toEqual(['added job "new"']);
  });
});
