/**
 * The exec driver across an agent killed with SIGKILL: a separate Node process (the built
 * driver from dist/, `npm run build` first) starts a task and prints its handle, then is
 * killed. The task must keep running (bwrap is detached from the agent), run exactly once,
 * and a new driver instance must recover it from the persisted handle and read its real
 * exit status from bwrap's status file, although it is not the parent of the process.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AllocDir } from '../../taskrunner/index.js';
import { ExecDriver } from './index.js';
// eslint-disable-next-line no-restricted-imports
import type { TaskConfig, TaskHandle } from '../driver.js';
// eslint-disable-next-line no-restricted-imports
import { processAlive } from '../proc.js';

const repo = resolve(import.meta.dirname, '..', '..', '..', '..');
const built = join(repo, 'dist', 'agent', 'client', 'drivers', 'index.js');
const canRun = process.getuid?.() === 0 && ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap'].some((p) => existsSync(p));
if (!canRun) console.warn('exec agent-kill test skipped: it needs root and bubblewrap (CI runs as root with the Debian package bubblewrap)');

let root: string;
let recovered: ExecDriver | undefined;
let taskId = '';

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nomadts-exec-kill-'));
});

afterEach(async () => {
  if (recovered !== undefined) await recovered.destroy(taskId).catch(() => undefined);
  recovered = undefined;
  rmSync(root, { recursive: true, force: true });
});

async function eventually(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 250; i++) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

it.skipIf(!canRun)('a task survives its agent being killed with SIGKILL, runs once, and is recovered with its exit status', async () => {
  expect(existsSync(built), `${built} is missing: run "npm run build" first`).toBe(true);
  const allocDir = new AllocDir(join(root, 'data'), 'alloc-kill');
  await allocDir.build(['web']);
  const d = allocDir.taskDir('web');
  taskId = 'alloc-kill/web/1';
  const cfg: TaskConfig = {
    id: taskId, name: 'web', allocId: 'alloc-kill',
    config: { command: '/bin/sh', args: ['-c', 'echo $$ >> /local/starts; while [ ! -e /local/finish ]; do sleep 0.05; done; exit 4'] },
    env: {}, dir: d.dir, stdoutPath: join(allocDir.logDir, 'web.stdout.0'), stderrPath: join(allocDir.logDir, 'web.stderr.0'),
    user: '', resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
  };
  const stateDir = join(root, 'state');
  const agentScript = [
    `import { ExecDriver } from ${JSON.stringify(built)};`,
    `const d = new ExecDriver({ stateDir: ${JSON.stringify(stateDir)} });`,
    `const h = await d.start(${JSON.stringify(cfg)});`,
    `process.stdout.write(JSON.stringify(h) + '\\n');`,
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const agent = spawn(process.execPath, ['--input-type=module', '-e', agentScript], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  agent.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  agent.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  const exited = new Promise<void>((r) => agent.once('exit', () => r()));
  expect(await eventually(() => out.includes('\n') || agent.exitCode !== null), err).toBe(true);
  const handle = JSON.parse(out.trim()) as TaskHandle;
  const starts = join(d.local, 'starts');
  expect(await eventually(() => existsSync(starts))).toBe(true);

  agent.kill('SIGKILL');
  await exited;
  // The task outlives its agent.
  expect(processAlive(Number(handle.state['bwrapPid']))).toBe(true);

  recovered = new ExecDriver({ stateDir, pollIntervalMs: 20 });
  await recovered.recover(handle);
  expect(recovered.inspect(taskId).state).toBe('running');
  writeFileSync(join(d.local, 'finish'), '');
  expect(await recovered.wait(taskId)).toEqual({ exitCode: 4, signal: null, oomKilled: false, err: null });
  // Exactly one start: recovery did not run the task again.
  expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(1);
});
