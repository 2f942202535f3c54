import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS, DEFAULT_DOMAIN, DEFAULT_REGION } from '../../agent/tls/index.js';
import { TLS_HELP_DEFAULTS } from './help.js';
import { commandTable, groupDescriptions, registerCommands } from './index.js';

/** `nomadts <words> --help`, captured. */
async function help(words: readonly string[]): Promise<string> {
  let text = '';
  const program = new Command().name('nomadts').exitOverride().configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  registerCommands(program);
  const apply = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
    c.commands.forEach(apply);
  };
  apply(program);
  await expect(program.parseAsync([...words, '--help'], { from: 'user' })).rejects.toMatchObject({ code: 'commander.helpDisplayed' });
  return text;
}

describe('the command table', () => {
  it('quotes the defaults of agent/tls in the TLS help', () => {
    expect(TLS_HELP_DEFAULTS).toEqual({ domain: DEFAULT_DOMAIN, region: DEFAULT_REGION, caDays: DEFAULT_CA_DAYS, certDays: DEFAULT_CERT_DAYS });
  });

  it('has no duplicate command and describes every group', () => {
    const paths = commandTable.map((c) => c.path.join(' '));
    expect(new Set(paths).size).toBe(paths.length);
    for (const c of commandTable) {
      for (let i = 1; i < c.path.length; i++) expect(groupDescriptions[c.path.slice(0, i).join(' ')], c.path.join(' ')).toBeTruthy();
    }
  });

  it.each(commandTable.map((c) => [c.path.join(' '), c] as const))('%s --help shows its description, usage and help text', async (_, spec) => {
    const text = await help(spec.path);
    expect(text).toContain(`Usage: nomadts ${spec.path.join(' ')}`);
    expect(text.replace(/\s+/g, ' ')).toContain(spec.description);
    if (spec.usage !== undefined) expect(text.replace(/\s+/g, ' ')).toContain(spec.usage);
    if (spec.help !== undefined) expect(text).toContain(spec.help.trim());
  });

  it('lists every group in the top-level help', async () => {
    const text = await help([]);
    for (const g of ['agent', 'job', 'node', 'eval', 'alloc', 'status', 'simulate', 'tls', 'version']) expect(text).toMatch(new RegExp(`^  ${g}\\b`, 'm'));
  });

  it.each(commandTable.map((c) => [c.path.join(' '), c] as const))('%s loads a runnable implementation', async (_, spec) => {
    expect(typeof (await spec.load())).toBe('function');
  });

  it('runs a command through its loader and sets the exit code', async () => {
    const program = new Command().exitOverride();
    registerCommands(program);
    const before = process.exitCode;
    const write = process.stderr.write.bind(process.stderr);
    let err = '';
    process.stderr.write = ((s: string) => { err += s; return true; });
    try {
      await program.parseAsync(['version', 'extra'], { from: 'user' });
      expect(process.exitCode).toBe(1);
      expect(err).toContain('version takes no arguments, got extra');
    } finally {
      process.stderr.write = write;
      process.exitCode = before;
    }
  });
});
