import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAgent } from './agent.js';

function capture(): { out: { stdout: (s: string) => void; stderr: (s: string) => void }; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return { out: { stdout: (s) => { o += s; }, stderr: (s) => { e += s; } }, stdout: () => o, stderr: () => e };
}

const dir = mkdtempSync(join(tmpdir(), 'nomadts-agent-client-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const never = (): Promise<string> => new Promise(() => undefined);

describe('nomadts agent -config client.hcl', () => {
  it('refuses a bad client configuration with file:line and the field, starting nothing', async () => {
    const file = join(dir, 'client.hcl');
    writeFileSync(file, `data_dir = "${join(dir, 'data')}"\nclient {\n  enabled = true\n  servers = ["127.0.0.1:99999"]\n}\ntls {\n  ca_file   = "ca.pem"\n  cert_file = "c.pem"\n  key_file  = "k.pem"\n}\n`);
    const c = capture();
    expect(await runAgent(['-config', file], c.out, never)).toBe(1);
    expect(c.stderr()).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: client\\.servers: must be a list of host:port, got string "127\\.0\\.0\\.1:99999"`));
    expect(c.stdout()).toBe('');
  });

  it('refuses a file enabling both server and client', async () => {
    const file = join(dir, 'both.hcl');
    writeFileSync(file, 'server {\n  enabled = true\n}\nclient {\n  enabled = true\n}\n');
    const c = capture();
    expect(await runAgent(['-config', file], c.out, never)).toBe(1);
    expect(c.stderr()).toMatch(/server and client are both enabled/);
  });

  it('names unreadable certificate files once the configuration is valid', async () => {
    const file = join(dir, 'nocerts.hcl');
    writeFileSync(file, `data_dir = "${join(dir, 'data')}"\nclient {\n  enabled = true\n  servers = ["127.0.0.1:4647"]\n}\ntls {\n  ca_file   = "${join(dir, 'missing-ca.pem')}"\n  cert_file = "c.pem"\n  key_file  = "k.pem"\n}\n`);
    const c = capture();
    expect(await runAgent(['-config', file], c.out, never)).toBe(1);
    expect(c.stderr()).toMatch(/missing-ca\.pem/);
  });
});
