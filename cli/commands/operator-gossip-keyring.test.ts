import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorGossipKeygen, operatorGossipKeyring } from './operator-gossip-keyring.js';

let dir = '';
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nomadts-keyring-cli-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

async function run(fn: typeof operatorGossipKeyring, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await fn(args, { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; } });
  return { code, stdout, stderr };
}

const keyFile = (): string[] => JSON.parse(readFileSync(join(dir, 'server', 'gossip.keyring'), 'utf8')) as string[];

describe('nomadts operator gossip keyring (file mode)', () => {
  it('keygen prints a 32-byte base64 key', async () => {
    const r = await run(operatorGossipKeygen, []);
    expect(r.code).toBe(0);
    expect(Buffer.from(r.stdout.trim(), 'base64')).toHaveLength(32);
    expect((await run(operatorGossipKeygen, ['x'])).code).toBe(1);
  });

  it('rotates: install (creating the file), install, use, remove, list', async () => {
    const k1 = (await run(operatorGossipKeygen, [])).stdout.trim();
    const k2 = (await run(operatorGossipKeygen, [])).stdout.trim();
    expect((await run(operatorGossipKeyring, ['-install', k1, '-data-dir', dir])).stdout).toMatch(/^Created .*gossip.keyring/);
    expect((await run(operatorGossipKeyring, ['-install', k2, '-data-dir', dir])).code).toBe(0);
    expect(keyFile()).toEqual([k1, k2]);
    expect((await run(operatorGossipKeyring, ['-use', k2, '-data-dir', dir])).code).toBe(0);
    expect((await run(operatorGossipKeyring, ['-remove', k1, '-data-dir', dir])).code).toBe(0);
    expect(keyFile()).toEqual([k2]);
    const list = await run(operatorGossipKeyring, ['-list', '-data-dir', dir]);
    expect(list.stdout).toBe(`${'Key'.padEnd(46)}Primary\n${k2.padEnd(46)}*\n`);
    expect(JSON.parse((await run(operatorGossipKeyring, ['-list', '-json', `-data-dir=${dir}`])).stdout)).toEqual({ primary: k2, keys: [k2] });
  });

  it('refuses bad requests with a clear error and leaves the file unchanged', async () => {
    const k1 = (await run(operatorGossipKeygen, [])).stdout.trim();
    await run(operatorGossipKeyring, ['-install', k1, '-data-dir', dir]);
    const cases: [string[], RegExp][] = [
      [['-list'], /-data-dir is required/],
      [['-data-dir', dir], /give one of -install/],
      [['-install', k1, '-use', k1, '-data-dir', dir], /only one of/],
      [['-install', 'short', '-data-dir', dir], /key is not base64|32 bytes/],
      [['-use', Buffer.alloc(32, 1).toString('base64'), '-data-dir', dir], /not installed/],
      [['-remove', k1, '-data-dir', dir], /primary key cannot be removed/],
      [['-install', '-data-dir', dir], /-install needs a key/],
      [['-bogus', '-data-dir', dir], /unknown flag -bogus/],
      [['-list', '-data-dir', join(dir, 'none')], /cannot read the keyring/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(operatorGossipKeyring, args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      expect(keyFile()).toEqual([k1]);
    }
  });
});
