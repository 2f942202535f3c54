import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NomadError } from '../../core/lib/index.js';
import { AllocDir } from './allocdir.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nomadts-allocdir-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function mode(p: string): Promise<number> {
  return (await stat(p)).mode & 0o7777;
}

describe('AllocDir', () => {
  it('lays out the shared and per-task directories as Nomad does, secrets 0700', async () => {
    const ad = new AllocDir(root, 'a1b2');
    await ad.build(['web', 'sidecar']);
    expect(ad.allocDir).toBe(join(root, 'alloc', 'a1b2'));
    for (const d of ['data', 'logs', 'tmp']) expect((await stat(join(root, 'alloc/a1b2/alloc', d))).isDirectory()).toBe(true);
    for (const t of ['web', 'sidecar']) {
      for (const d of ['local', 'secrets', 'tmp']) expect((await stat(join(root, 'alloc/a1b2', t, d))).isDirectory()).toBe(true);
      expect(await mode(join(root, 'alloc/a1b2', t, 'secrets'))).toBe(0o700);
      expect(await mode(join(root, 'alloc/a1b2', t, 'local'))).toBe(0o777);
    }
    expect(await mode(ad.sharedTmpDir)).toBe(0o1777);
    expect(ad.taskDir('web')).toEqual({
      dir: join(ad.allocDir, 'web'),
      local: join(ad.allocDir, 'web/local'),
      secrets: join(ad.allocDir, 'web/secrets'),
      tmp: join(ad.allocDir, 'web/tmp'),
    });
    // Rebuilding over an existing directory is fine and keeps files.
    await writeFile(join(ad.dataDir, 'keep'), 'x');
    await ad.build(['web', 'sidecar']);
    expect((await stat(join(ad.dataDir, 'keep'))).size).toBe(1);
  });

  it('destroy removes everything', async () => {
    const ad = new AllocDir(root, 'a1');
    await ad.build(['web']);
    await writeFile(join(ad.taskDir('web').local, 'f'), 'x');
    await ad.destroy();
    await expect(stat(ad.allocDir)).rejects.toThrow();
    await expect(stat(join(root, 'alloc'))).resolves.toBeDefined();
  });

  it('refuses task names and alloc ids that are not a single directory name', () => {
    const ad = new AllocDir(root, 'a1');
    for (const bad of ['', '..', 'a/b', 'alloc']) expect(() => ad.taskDir(bad)).toThrow(NomadError);
    expect(() => new AllocDir(root, '../x')).toThrow(/allocation id/);
  });

  it('resolves paths inside the task dir and the shared dir', async () => {
    const ad = new AllocDir(root, 'a1');
    await ad.build(['web']);
    expect(await ad.taskPath('web', 'local/app.conf')).toBe(join(ad.allocDir, 'web/local/app.conf'));
    expect(await ad.taskPath('web', 'local/not/yet/there.txt')).toBe(join(ad.allocDir, 'web/local/not/yet/there.txt'));
    expect(await ad.taskPath('web', '../alloc/data/x')).toBe(join(ad.dataDir, 'x'));
    expect(await ad.taskPath('web', 'local/../secrets/t')).toBe(join(ad.allocDir, 'web/secrets/t'));
  });

  it('refuses .. escapes and absolute paths, naming the path', async () => {
    const ad = new AllocDir(root, 'a1');
    await ad.build(['web']);
    await expect(ad.taskPath('web', '../../etc/passwd')).rejects.toThrow('path "../../etc/passwd" escapes the allocation directory');
    await expect(ad.taskPath('web', 'local/../../../a2/x')).rejects.toThrow(NomadError);
    await expect(ad.taskPath('web', '/etc/passwd')).rejects.toThrow(/"\/etc\/passwd".*absolute/);
    // Scope task: the shared dir is outside.
    await expect(ad.taskPath('web', '../alloc/data/x', 'task')).rejects.toThrow(/escapes the task directory of "web"/);
  });

  it('refuses symlinks that point outside, also for paths below them that do not exist yet', async () => {
    const ad = new AllocDir(root, 'a1');
    await ad.build(['web']);
    const outside = join(root, 'outside');
    await mkdir(outside);
    await symlink(outside, join(ad.taskDir('web').local, 'out'));
    await symlink('/etc/passwd', join(ad.taskDir('web').local, 'pw'));
    await expect(ad.taskPath('web', 'local/out/new/file')).rejects.toThrow(/"local\/out\/new\/file".*symlink/);
    await expect(ad.taskPath('web', 'local/pw')).rejects.toThrow(/symlink/);
    // A symlink that stays inside is fine.
    await symlink(ad.dataDir, join(ad.taskDir('web').local, 'data'));
    expect(await ad.taskPath('web', 'local/data/x')).toBe(join(ad.taskDir('web').local, 'data/x'));
  });
});
