/**
 * `nomadts job init [-short] [<file>]`: write an example job file (default
 * `example.nomad.hcl`) to start from, as Nomad's `job init`. Refuses to overwrite an existing
 * file. -short leaves out the explanatory comments. The example runs on `nomadts agent -dev`
 * (raw_exec) and passes `job validate`.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { NomadError } from '../../agent/core/lib/index.js';
import { errorText, Exit, parseFlags, positionals } from './api-io.js';
import type { Out } from './jobspec-io.js';

export const DefaultInitFile = 'example.nomad.hcl';

/** The example job, without comments. */
export const ShortExampleJob = `job "example" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 1

    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo hello from \${NOMAD_ALLOC_ID}; sleep 5; done"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

/** The example job, with a comment on each block. */
export const ExampleJob = `# An example job: one group of one task that prints a line every five seconds.
# Run it with \`nomadts job run ${DefaultInitFile}\` against \`nomadts agent -dev\`, then
# read its output with \`nomadts alloc logs <alloc>\`.
job "example" {
  # The datacenters the job may run in ("*" = any).
  datacenters = ["*"]

  # "service" runs until stopped; "batch" runs to completion.
  type = "service"

  # A group's tasks are placed together on one client, \`count\` times.
  group "web" {
    count = 1

    # What the client does when a task fails: restart it up to \`attempts\` times per
    # \`interval\`, waiting \`delay\` between tries, then fail the allocation.
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    # A task is one process, run by a driver (raw_exec runs it as a plain process).
    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo hello from \${NOMAD_ALLOC_ID}; sleep 5; done"]
      }

      # What the scheduler reserves for the task: CPU in MHz, memory in MB.
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

export async function jobInit(args: readonly string[], out: Out): Promise<number> {
  try {
    const f = parseFlags(args, { bool: ['short'] });
    const [file] = positionals(f, ['file'], true);
    const path = file ?? DefaultInitFile;
    if (existsSync(path)) throw new NomadError('conflict', `${path} already exists; remove it or name another file`, { field: 'file' });
    writeFileSync(path, f.bool.has('short') ? ShortExampleJob : ExampleJob, { flag: 'wx' });
    out.stdout(`Example job file written to ${path}\n`);
    return Exit.ok;
  } catch (err) {
    out.stderr(errorText(err));
    return Exit.error;
  }
}
