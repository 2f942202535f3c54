/**
 * ServerStateFile: the dev agent's server state written after changes and read back by a new
 * server (a restart), a corrupt file refused with its path and nothing changed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRng, VirtualClock } from '../core/lib/index.js';
import { mockJob, mockNode } from '../core/testing/index.js';
import { Server } from '../server/index.js';
import { ServerStateFile } from './server-state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nomadts-server-state-'));
  dirs.push(d);
  return d;
}

function newServer(clock: VirtualClock): Server {
  return new Server({ clock, rng: new SeededRng(5), workers: 0 });
}

describe('ServerStateFile', () => {
  it('writes the state after a change; a new server restores it and its log goes on after the restored index', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const s1 = newServer(clock);
    const f1 = new ServerStateFile(dir, s1, clock, 100);
    expect(f1.load()).toBe(0);
    f1.start();
    await s1.registerNode(mockNode({ id: '00000000-0000-4000-8000-000000000001' }));
    await s1.registerJob(mockJob({ id: 'web' }));
    clock.advance(100);
    await f1.flush();
    const index = s1.fsm.lastApplied();
    expect(JSON.parse(readFileSync(f1.path, 'utf8'))).toMatchObject({ format: 'nomadts-state', index });
    await f1.stop();

    const s2 = newServer(clock);
    const f2 = new ServerStateFile(dir, s2, clock);
    expect(f2.load()).toBe(index);
    expect(s2.state().jobByID('default', 'web')?.id).toBe('web');
    expect(s2.state().nodeByID('00000000-0000-4000-8000-000000000001')).toBeDefined();
    // The next write goes on from the restored index.
    const next = await s2.registerJob(mockJob({ id: 'api' }));
    expect(next.index).toBe(index + 1);
  });

  it('refuses a corrupt file, naming it, and leaves the server empty', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'server'));
    writeFileSync(join(dir, 'server', 'state.snap'), '{"format":"something else"}');
    const s = newServer(new VirtualClock());
    const f = new ServerStateFile(dir, s, new VirtualClock());
    expect(() => f.load()).toThrow(/server[/\\]state\.snap: cannot restore the server state: .*move the file away/);
    expect(s.fsm.lastApplied()).toBe(0);
    expect(s.state().jobs()).toEqual([]);
  });
});
