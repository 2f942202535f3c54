#!/usr/bin/env node
/**
 * The `nomadts` command. Each subcommand lives in its own file under
 * cli/commands/ and registers itself through cli/commands/index.ts.
 */
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { packageVersion } from './commands/version.js';

const program = new Command();
program
  .name('nomadts')
  .description('A workload orchestrator in the spirit of HashiCorp Nomad')
  .version(`nomadts v${packageVersion()}`)
  .showHelpAfterError()
  .configureOutput({ outputError: (str, write) => write(str) });

registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
