import { describe, expect, it } from 'vitest';
import { MultiError } from '../core/lib/index.js';
import { configAgentKind, parseClientConfig } from './client-config.js';

const good = `name       = "c1"
datacenter = "dc2"
data_dir   = "/var/lib/nomadts/c1"
client {
  enabled    = true
  servers    = ["127.0.0.1:4647", "127.0.0.1:4648"]
  node_class = "batch"
  meta {
    rack = "r1"
  }
  options = {
    "driver.raw_exec.enable" = "1"
  }
}
tls {
  ca_file   = "ca.pem"
  cert_file = "client.pem"
  key_file  = "client-key.pem"
}
`;

describe('client agent configuration', () => {
  it('reads every client setting', async () => {
    expect(await parseClientConfig(good, 'client.hcl')).toEqual({
      name: 'c1', region: 'global', datacenter: 'dc2', dataDir: '/var/lib/nomadts/c1', nodeClass: 'batch', meta: { rack: 'r1' },
      options: { 'driver.raw_exec.enable': '1' }, servers: ['127.0.0.1:4647', '127.0.0.1:4648'],
      tls: { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client-key.pem' },
    });
  });

  it('names the file, line and field of a bad server address', async () => {
    await expect(parseClientConfig(good.replace('"127.0.0.1:4648"', '"nowhere"'), 'client.hcl')).rejects.toThrow(/^client\.hcl:6:\d+: client\.servers: must be a list of host:port, got string "nowhere"/);
  });

  it('lists every problem in file order: unknown attribute, missing servers and tls', async () => {
    const bad = good.replace(/ {2}servers .*\n/, '').replace('node_class = "batch"', 'node_class = "batch"\n  bogus = 1').replace(/tls \{[^}]*\}\n/, '');
    const err = await parseClientConfig(bad, 'client.hcl').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MultiError);
    const msgs = (err as MultiError).errors.map((e) => e.message);
    expect(msgs).toHaveLength(3);
    expect(msgs[0]).toMatch(/^client\.hcl:4:1: client\.servers: at least one server host:port is required/);
    expect(msgs[1]).toMatch(/^client\.hcl:7:3: client\.bogus: unknown attribute/);
    expect(msgs[2]).toMatch(/tls: is required for a client/);
  });

  it('reports a syntax error with its line', async () => {
    await expect(parseClientConfig('client {\n  enabled = \n}\n', 'client.hcl')).rejects.toThrow(/^client\.hcl:\d+:\d+: /);
  });

  it('tells a client file from a server file, and refuses both in one', async () => {
    expect(await configAgentKind(good, 'client.hcl')).toBe('client');
    expect(await configAgentKind('server {\n  enabled = true\n}\n', 's.hcl')).toBe('server');
    await expect(configAgentKind('server {\n  enabled = true\n}\nclient {\n  enabled = true\n}\n', 'both.hcl')).rejects.toThrow(/server and client are both enabled/);
  });
});
