/**
 * `nomadts operator gossip keyring -install K | -use K | -remove K | -list -data-dir D` and
 * `nomadts operator gossip keygen` (Nomad: `nomad operator gossip keyring`, `... keygen`).
 *
 * The agent does not yet serve gossip keyring requests over its API (gossip is not wired into the
 * agent), so this command works on the keyring file of a local agent's data dir
 * (`<data_dir>/server/gossip.keyring`), named with the required `-data-dir` flag. An agent reads the
 * file when it starts its gossip; rotate as Nomad documents: install the new key on every server,
 * use it on every server, then remove the old one.
 */
import { existsSync } from 'node:fs';
import { NomadError } from '../../agent/core/lib/index.js';
import { decodeKey, generateKey, Keyring, keyringPath, loadKeyring, saveKeyring } from '../../agent/gossip/index.js';
import type { Out } from './out.js';

const ACTIONS = ['install', 'use', 'remove', 'list'] as const;
type Action = (typeof ACTIONS)[number];

interface KeyringFlags {
  action: Action;
  key: string | undefined;
  dataDir: string;
  json: boolean;
}

function parse(args: readonly string[]): KeyringFlags {
  let action: Action | undefined;
  let key: string | undefined;
  let dataDir: string | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--?([a-z][a-z-]*)(?:=(.*))?$/s.exec(a);
    if (m === null) throw new NomadError('invalid_argument', `unexpected argument ${JSON.stringify(a)}: give the key as the value of -install, -use or -remove`);
    const name = m[1]!;
    if (name === 'list' || name === 'json') {
      if (m[2] !== undefined) throw new NomadError('invalid_argument', `-${name} takes no value`);
      if (name === 'json') { json = true; continue; }
    }
    if ((ACTIONS as readonly string[]).includes(name)) {
      if (action !== undefined) throw new NomadError('invalid_argument', `only one of -install, -use, -remove, -list may be given (got -${action} and -${name})`);
      action = name as Action;
      if (name !== 'list') {
        key = m[2] ?? args[++i];
        // Base64 never starts with '-': "-install -data-dir D" lacks its key.
        if (key === undefined || key.startsWith('-')) throw new NomadError('invalid_argument', `-${name} needs a key`, { field: name });
      }
    } else if (name === 'data-dir') {
      dataDir = m[2] ?? args[++i];
      if (dataDir === undefined || dataDir === '') throw new NomadError('invalid_argument', '-data-dir needs a directory', { field: 'data-dir' });
    } else {
      throw new NomadError('invalid_argument', `unknown flag ${a}`);
    }
  }
  if (action === undefined) throw new NomadError('invalid_argument', 'give one of -install <key>, -use <key>, -remove <key>, -list');
  if (dataDir === undefined) {
    throw new NomadError('invalid_argument', '-data-dir is required: the agent does not serve keyring changes over its API yet, so this command edits the keyring file of a local agent\'s data dir', { field: 'data-dir' });
  }
  return { action, key, dataDir, json };
}

export async function operatorGossipKeyring(args: readonly string[], out: Out): Promise<number> {
  try {
    const f = parse(args);
    const path = keyringPath(f.dataDir);
    if (f.action === 'install' && !existsSync(path)) {
      decodeKey(f.key!);
      saveKeyring(path, new Keyring([f.key!]));
      out.stdout(`Created ${path} with the key as its primary (gossip will be encrypted from the agent's next start)\n`);
      return 0;
    }
    const ring = loadKeyring(path);
    switch (f.action) {
      case 'list': {
        const l = ring.list();
        if (f.json) { out.stdout(`${JSON.stringify(l, null, 2)}\n`); return 0; }
        const rows = l.keys.map((k) => `${k.padEnd(46)}${k === l.primary ? '*' : ''}`);
        out.stdout([`${'Key'.padEnd(46)}Primary`, ...rows].join('\n') + '\n');
        return 0;
      }
      case 'install': ring.install(f.key!); break;
      case 'use': ring.use(f.key!); break;
      case 'remove': ring.remove(f.key!); break;
    }
    saveKeyring(path, ring);
    const verb = { install: 'Installed', use: 'Now using', remove: 'Removed' }[f.action];
    out.stdout(`${verb} key in ${path} (${ring.list().keys.length} installed)\n`);
    return 0;
  } catch (err) {
    out.stderr(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** `nomadts operator gossip keygen`: a new random 32-byte key, base64. */
export async function operatorGossipKeygen(args: readonly string[], out: Out): Promise<number> {
  if (args.length > 0) {
    out.stderr(`Error: keygen takes no arguments, got ${args.join(' ')}\n`);
    return 1;
  }
  out.stdout(`${generateKey()}\n`);
  return 0;
}
