/**
 * `npm start`: `nomadts dev up -jobs` (a local 3-server, 2-client cluster with the example jobs),
 * then `nomadts top` on it in this terminal; when the console quits, `nomadts dev down` —
 * unless `--keep` (`npm start -- --keep`), which leaves the cluster running for the CLI.
 * Other arguments go to `dev up` (e.g. `npm start -- -clients 3`).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const main = resolve(import.meta.dirname, '..', 'cli', 'main.js');
const args = process.argv.slice(2);
const keep = args.includes('--keep') || args.includes('-keep');
const upArgs = args.filter((a) => a !== '--keep' && a !== '-keep');
const dirAt = upArgs.indexOf('-dir');
const dirArgs = dirAt >= 0 && upArgs[dirAt + 1] !== undefined ? ['-dir', upArgs[dirAt + 1]!] : [];

const run = (cmd: string[]): number => spawnSync(process.execPath, [main, ...cmd], { stdio: 'inherit' }).status ?? 1;

const up = run(['dev', 'up', '-jobs', ...upArgs]);
if (up !== 0) process.exit(up);
if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
  console.log('==> No terminal here for `nomadts top`; the cluster stays up (`nomadts dev down` stops it).');
  process.exit(0);
}
const top = run(['top']);
if (keep) {
  console.log('==> --keep: the cluster stays up; `nomadts dev down` stops it.');
  process.exit(top);
}
const down = run(['dev', 'down', ...dirArgs]);
process.exit(top !== 0 ? top : down);
