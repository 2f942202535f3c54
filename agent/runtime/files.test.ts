import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFileSync } from './files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nomadts-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('replaceFileSync', () => {
  it('replaces the whole file, with the mode asked, leaving no temporary file', () => {
    const p = join(dir, 'peers.json');
    writeFileSync(p, 'old content that is longer than the new');
    replaceFileSync(p, 'new', { mode: 0o600, durable: true });
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['peers.json']);
  });

  it('sets the mode even over a temporary file a crash left with another mode', () => {
    const p = join(dir, 'keyring.json');
    const stale = `${p}.${process.pid}.tmp`;
    writeFileSync(stale, 'half');
    chmodSync(stale, 0o666);
    replaceFileSync(p, Buffer.from('keys'), { mode: 0o600 });
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readFileSync(p, 'utf8')).toBe('keys');
  });

  it('names the file when it cannot be written, and leaves no temporary file when the rename fails', () => {
    expect(() => replaceFileSync(join(dir, 'missing-dir', 'x.json'), 'data')).toThrow(/missing-dir/);
    // A non-empty directory where the file should go: the rename fails, nothing else changes.
    const sub = join(dir, 'sub');
    replaceFileSync(join(dir, 'kept.json'), 'kept');
    mkdirSync(sub);
    writeFileSync(join(sub, 'inside'), 'x');
    expect(() => replaceFileSync(sub, 'data')).toThrow(/sub/);
    expect(readdirSync(dir).sort()).toEqual(['kept.json', 'sub']);
    expect(readFileSync(join(sub, 'inside'), 'utf8')).toBe('x');
  });
});
