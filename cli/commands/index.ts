/**
 * The `nomadts` commands, registered from the light table in table.ts: each command's
 * implementation module is imported only when that command runs.
 */
import type { Command } from 'commander';
import { processOut } from './out.js';
import type { CommandSpec } from './table.js';
import { commandTable, groupDescriptions } from './table.js';

export { commandTable, groupDescriptions } from './table.js';
export type { CommandRun, CommandSpec } from './table.js';
export type { Out } from './out.js';
export { processOut } from './out.js';
export { packageVersion } from './version.js';

/** The group command at `path` under `program`, created (with its description) on first use. */
function group(program: Command, path: readonly string[]): Command {
  let parent = program;
  for (let i = 0; i < path.length; i++) {
    const name = path[i]!;
    const found = parent.commands.find((c) => c.name() === name);
    parent = found ?? parent.command(name).description(groupDescriptions[path.slice(0, i + 1).join(' ')] ?? '');
  }
  return parent;
}

function registerOne(program: Command, spec: CommandSpec): void {
  const name = spec.path[spec.path.length - 1]!;
  const cmd = group(program, spec.path.slice(0, -1))
    .command(name)
    .description(spec.description)
    .argument(`[${spec.argName ?? 'args'}...]`, spec.usage ?? '')
    .allowUnknownOption(true);
  if (spec.help !== undefined) cmd.addHelpText('after', spec.help);
  cmd.action(async (args: string[]) => {
    const run = await spec.load();
    const code = await run(args, processOut);
    process.exitCode = code;
    if (spec.exitWhenDone === true) process.exit(code);
  });
}

/** Registers every command of the table on `program`, in `--help` order. */
export function registerCommands(program: Command): void {
  for (const spec of commandTable) registerOne(program, spec);
}
