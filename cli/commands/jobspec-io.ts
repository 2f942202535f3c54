/**
 * Shared by the offline job commands: Nomad-style single-dash flags (-var k=v, -var-file f,
 * -output) parsed from the raw arguments, the job file read through agent/jobspec's
 * parseJobFile, and errors printed one per line.
 */
import { MultiError, NomadError } from '../../agent/core/lib/index.js';
import type { Job } from '../../agent/core/structs/index.js';
import { parseJobFile } from '../../agent/jobspec/index.js';

export type { Out } from './out.js';
export { processOut } from './out.js';
export { VAR_HELP } from './help.js';

export interface JobArgs {
  file: string;
  vars: string[];
  varFiles: string[];
  flags: Set<string>;
}

/** Parses `[-var k=v]... [-var-file f]... [-flag]... <file>` (one or two dashes, `=` or a space). */
export function parseJobArgs(args: readonly string[], booleanFlags: readonly string[]): JobArgs {
  const vars: string[] = [];
  const varFiles: string[] = [];
  const flags = new Set<string>();
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') { files.push(...args.slice(i + 1)); break; }
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (m === null) { files.push(a); continue; }
    const name = m[1]!;
    if (name === 'var' || name === 'var-file') {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new NomadError('invalid_argument', `-${name} needs a value`);
      (name === 'var' ? vars : varFiles).push(v);
    } else if (booleanFlags.includes(name) && m[2] === undefined) {
      flags.add(name);
    } else {
      throw new NomadError('invalid_argument', `unknown flag ${a}`);
    }
  }
  if (files.length !== 1) throw new NomadError('invalid_argument', files.length === 0 ? 'expected the path of a job file' : `expected one job file, got ${files.length}: ${files.join(' ')}`);
  return { file: files[0]!, vars, varFiles, flags };
}

export function readJob(a: JobArgs, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Job> {
  return parseJobFile(a.file, { vars: a.vars, varFiles: a.varFiles, env });
}

/** Every error on its own line. */
export function formatErrors(err: unknown): string {
  if (err instanceof MultiError) return err.errors.map((e) => `  * ${e.message}`).join('\n');
  if (err instanceof Error) return `  * ${err.message}`;
  return `  * ${String(err)}`;
}

