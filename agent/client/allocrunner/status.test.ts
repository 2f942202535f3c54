import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../core/structs/index.js';
import { mockTaskState } from '../../core/testing/index.js';
import { getClientStatus } from './status.js';

const pending = mockTaskState({ state: 'pending' });
const running = mockTaskState({ state: 'running' });
const complete = mockTaskState({ state: 'dead' });
const failed = mockTaskState({ state: 'dead', failed: true });

describe('getClientStatus (Nomad getClientStatus)', () => {
  const table: [string, Record<string, TaskState>, string][] = [
    ['no tasks', {}, 'pending'],
    ['all pending', { a: pending, b: pending }, 'pending'],
    ['one running, one pending', { a: running, b: pending }, 'running'],
    ['one running, one complete', { a: running, b: complete }, 'running'],
    ['all complete', { a: complete, b: complete }, 'complete'],
    ['pending and complete', { a: pending, b: complete }, 'pending'],
    ['failed beats running', { a: failed, b: running }, 'failed'],
    ['failed beats pending', { a: failed, b: pending }, 'failed'],
    ['failed beats complete', { a: complete, b: failed }, 'failed'],
    ['a running task marked failed is still running', { a: mockTaskState({ state: 'running', failed: true }) }, 'running'],
  ];
  for (const [name, states, want] of table) {
    it(name, () => {
      expect(getClientStatus(states).status).toBe(want);
    });
  }

  it('describes the status', () => {
    expect(getClientStatus({ a: failed }).description).toBe('Failed tasks');
    expect(getClientStatus({ a: complete }).description).toBe('All tasks have completed');
  });
});
