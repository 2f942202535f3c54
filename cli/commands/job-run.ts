/**
 * `nomadts job run [-detach] [-check-index N] [-output] [-var k=v]... [-var-file f]... <file>`:
 * submit a job and follow its evaluation until the scheduler is done (Nomad's monitor), or
 * with -output print the canonical JSON without contacting anyone.
 * Exit codes: 0 placed, 1 an error, 2 some allocations could not be placed.
 */
import { NomadError } from '../../agent/core/lib/index.js';
import type { Job } from '../../agent/core/structs/index.js';
import { jobToJSON } from '../../agent/jobspec/index.js';
import type { Env, ParsedFlags } from './api-io.js';
import { Exit, connect, errorText, parseFlags } from './api-io.js';
import { monitorEval } from './eval-monitor.js';
import type { Out } from './jobspec-io.js';
import { formatErrors, readJob } from './jobspec-io.js';

const Flags = { bool: ['detach', 'output'], value: ['check-index'], multi: ['var', 'var-file'] } as const;

/** Reads the job file named by the arguments; a parse error is printed with its file:line. */
export async function readJobArgs(args: readonly string[], out: Out, spec: { bool: readonly string[]; value: readonly string[]; multi: readonly string[] }, env: Env): Promise<{ job: Job; flags: ParsedFlags } | undefined> {
  let flags: ParsedFlags;
  try {
    flags = parseFlags(args, spec);
    if (flags.positional.length !== 1) {
      throw new NomadError('invalid_argument', flags.positional.length === 0 ? 'expected the path of a job file' : `expected one job file, got ${flags.positional.length}: ${flags.positional.join(' ')}`);
    }
  } catch (err) {
    out.stderr(errorText(err));
    return undefined;
  }
  try {
    const job: Job = await readJob({ file: flags.positional[0]!, vars: flags.multi.get('var') ?? [], varFiles: flags.multi.get('var-file') ?? [], flags: flags.bool }, env);
    return { job, flags };
  } catch (err) {
    out.stderr(`Error parsing job:\n${formatErrors(err)}\n`);
    return undefined;
  }
}

export async function jobRun(args: readonly string[], out: Out, env: Env = process.env): Promise<number> {
  const read = await readJobArgs(args, out, Flags, env);
  if (read === undefined) return Exit.error;
  const { job, flags } = read;
  if (flags.bool.has('output')) {
    out.stdout(jobToJSON(job));
    return Exit.ok;
  }
  let client;
  try {
    client = connect(env, flags);
    const checkIndex = flags.value.get('check-index');
    let opts = {};
    if (checkIndex !== undefined) {
      const n = Number(checkIndex);
      if (!Number.isInteger(n) || n < 0) throw new NomadError('invalid_argument', `-check-index must be a whole number, got ${JSON.stringify(checkIndex)}`);
      opts = { enforceIndex: true, jobModifyIndex: n };
    }
    const reply = await client.registerJob(job, opts);
    for (const w of reply.warnings) out.stderr(`Warning: ${w}\n`);
    if (reply.evalId === '') {
      out.stdout(`Job registration successful (job "${job.id}" needs no evaluation)\n`);
      return Exit.ok;
    }
    if (flags.bool.has('detach')) {
      out.stdout(`Job registration successful\nEvaluation ID: ${reply.evalId}\n`);
      return Exit.ok;
    }
    return await monitorEval(client, reply.evalId, job.namespace, out);
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  } finally {
    client?.close();
  }
}

