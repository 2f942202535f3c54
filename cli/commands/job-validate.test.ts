import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jobValidate } from './job-validate.js';
import { jobRun } from './job-run.js';
import { parseJobArgs } from './jobspec-io.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const JOBS = join(ROOT, 'jobs');
const MAIN = join(ROOT, 'dist/cli/main.js');

function capture(): { out: { stdout: (s: string) => void; stderr: (s: string) => void }; stdout: () => string; stderr: () => string } {
  let o = '';
  let e = '';
  return { out: { stdout: (s) => { o += s; }, stderr: (s) => { e += s; } }, stdout: () => o, stderr: () => e };
}

let bad = '';
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'nomadts-cli-'));
  bad = join(dir, 'bad.hcl');
  writeFileSync(bad, 'job "x" {\n  group "g" {\n    count = -1\n    task "t" {\n      resources {\n        memory = 1\n      }\n    }\n  }\n}\n');
});

describe('flag parsing', () => {
  it('accepts Nomad single-dash flags, = forms and repeats', () => {
    const a = parseJobArgs(['-var', 'a=1', '--var=b=2', '-var-file', 'x.vars', '-output', 'job.hcl'], ['output']);
    expect(a).toEqual({ file: 'job.hcl', vars: ['a=1', 'b=2'], varFiles: ['x.vars'], flags: new Set(['output']) });
  });
  it('refuses unknown flags, a missing file and two files', () => {
    expect(() => parseJobArgs(['-bogus', 'f'], [])).toThrow(/unknown flag -bogus/);
    expect(() => parseJobArgs(['-var'], [])).toThrow(/-var needs a value/);
    expect(() => parseJobArgs([], [])).toThrow(/expected the path of a job file/);
    expect(() => parseJobArgs(['a', 'b'], [])).toThrow(/expected one job file, got 2/);
  });
});

describe('job validate / job run -output (command functions)', () => {
  it('prints success for a good job', async () => {
    const c = capture();
    expect(await jobValidate([join(JOBS, 'hello-web.nomad.hcl')], c.out)).toBe(0);
    expect(c.stdout()).toBe('Job validation successful\n');
  });
  it('prints every error with positions and exits 1', async () => {
    const c = capture();
    expect(await jobValidate([bad], c.out)).toBe(1);
    const lines = c.stderr().trim().split('\n');
    expect(lines[0]).toBe('Job validation errors:');
    expect(lines.slice(1)).toEqual([
      `  * ${bad}:3:5: group "g": count must be >= 0, got -1`,
      `  * ${bad}:4:5: group "g" task "t": driver is required (for example "exec", "raw_exec" or "docker")`,
      `  * ${bad}:6:9: group "g" task "t": resources.memory must be >= 10, got 1`,
    ]);
  });
  it('passes -var and -var-file through', async () => {
    const c = capture();
    expect(await jobValidate([join(JOBS, 'variables.nomad.hcl')], c.out)).toBe(1);
    expect(c.stderr()).toMatch(/variable "message" has no value/);
    const d = capture();
    expect(await jobRun(['-output', '-var', 'count=4', '-var-file', join(JOBS, 'variables.vars'), join(JOBS, 'variables.nomad.hcl')], d.out)).toBe(0);
    const job = JSON.parse(d.stdout()) as { taskGroups: { count: number }[]; meta: Record<string, string> };
    expect(job.taskGroups[0]!.count).toBe(4);
    expect(job.meta['message']).toBe('hello from variables.vars');
  });
  it('job run without -output needs the TLS files of a server to submit to', async () => {
    const c = capture();
    expect(await jobRun([join(JOBS, 'hello-web.nomad.hcl')], c.out, {})).toBe(1);
    expect(c.stderr()).toMatch(/^Error: NOMADTS_CACERT is not set/);
  });
  it('a missing file is a clear error', async () => {
    const c = capture();
    expect(await jobValidate([join(JOBS, 'nope.hcl')], c.out)).toBe(1);
    expect(c.stderr()).toMatch(/cannot read .*nope\.hcl: ENOENT/);
  });
});

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

// The built binary (run `npm run build` first); skipped only when dist/ has not been built.
describe.skipIf(!existsSync(MAIN))('the nomadts binary', () => {
  it('job validate succeeds on every example', async () => {
    for (const f of ['hello-web', 'batch-retry', 'periodic-report', 'system-agent', 'sysbatch-cleanup', 'placement', 'lifecycle', 'docker-web']) {
      const r = await run(['job', 'validate', `jobs/${f}.nomad.hcl`]);
      expect(r, f).toMatchObject({ code: 0, stdout: 'Job validation successful\n' });
    }
    const v = await run(['job', 'validate', '-var', 'message=hi', '-var-file', 'jobs/variables.vars', 'jobs/variables.nomad.hcl']);
    expect(v.code).toBe(0);
  });
  it('job validate exits 1 with every error', async () => {
    const r = await run(['job', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/^ {2}\* /gm)).toHaveLength(3);
  });
  it('job run -output prints canonical JSON; the JSON validates too', async () => {
    const r = await run(['job', 'run', '-output', 'jobs/placement.nomad.hcl']);
    expect(r.code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'nomadts-cli-'));
    const file = join(dir, 'placement.json');
    writeFileSync(file, r.stdout);
    expect(await run(['job', 'validate', file])).toMatchObject({ code: 0 });
    expect(await run(['job', 'run', 'jobs/placement.nomad.hcl'])).toMatchObject({ code: 1 });
  });
});
