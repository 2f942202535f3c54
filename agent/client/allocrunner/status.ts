/**
 * The allocation's client status from its task states, as Nomad's
 * client/allocrunner getClientStatus derives it: any failed task fails the
 * allocation; otherwise any running task makes it running; otherwise any pending
 * task keeps it pending; otherwise (every task dead, none failed) it is complete.
 * No task states at all gives pending (Nomad returns "" and keeps the old status).
 */
import type { AllocClientStatus, TaskState } from '../../core/structs/index.js';

export interface ClientStatus {
  status: AllocClientStatus;
  description: string;
}

export function getClientStatus(taskStates: Readonly<Record<string, TaskState>>): ClientStatus {
  let pending = false;
  let running = false;
  let dead = false;
  let failed = false;
  for (const s of Object.values(taskStates)) {
    if (s.state === 'running') running = true;
    else if (s.state === 'pending') pending = true;
    else if (s.failed) failed = true;
    else dead = true;
  }
  if (failed) return { status: 'failed', description: 'Failed tasks' };
  if (running) return { status: 'running', description: 'Tasks are running' };
  if (pending) return { status: 'pending', description: 'No tasks have started' };
  if (dead) return { status: 'complete', description: 'All tasks have completed' };
  return { status: 'pending', description: 'No tasks' };
}
