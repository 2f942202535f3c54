import type { Command } from 'commander';

/** Each command file exports one `register(program)`; the order here is the order in `--help`. */
const registrars: ((program: Command) => void)[] = [];

export function registerCommands(program: Command): void {
  for (const register of registrars) register(program);
}
