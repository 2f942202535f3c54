/** `nomadts version`: the version of this build, from package.json. Contacts nothing. */
import { readFileSync } from 'node:fs';
import type { Out } from './out.js';

/** The version in the package.json two levels above this file (cli/commands → root; dist/cli/commands → dist/..). */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'nomadts' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: try the next level up
    }
  }
  return 'unknown';
}

export async function version(args: readonly string[], out: Out): Promise<number> {
  if (args.length > 0) {
    out.stderr(`Error: version takes no arguments, got ${args.join(' ')}\n`);
    return 1;
  }
  out.stdout(`nomadts v${packageVersion()}\n`);
  return 0;
}

