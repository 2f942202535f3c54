/**
 * A client restart without duplicates, end to end with the built binary (dist/, `npm run build`
 * first): `nomadts agent -dev -data-dir D` runs a job of raw_exec tasks that each append their
 * pid to a file when they start; the agent is killed with SIGKILL while they run, one task
 * exits (code 3) while no agent is up, and a new agent on the same data dir must reattach to
 * the tasks still running (no second start line, same pids), read the exit of the one that
 * ended and apply its restart policy (a second start line for that one only). Every wait polls
 * for a state in a bounded loop; nothing asserts a duration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { killAll, numberLines, pollUntil, processAlive as alive, processesWith, isolatedEnv } from './e2e.js';

const root = resolve(import.meta.dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');

let dir: string;
let env: NodeJS.ProcessEnv;
let output = '';
const children: ChildProcess[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [main, ...args], { cwd: root, env, timeout: 30_000 }, (err, stdout, stderr) => {
      res({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, tries = 160, everyMs = 250): Promise<T> {
  return pollUntil(what, probe, { tries, everyMs, context: () => `--- agent output ---\n${output}` });
}

interface AgentProcess {
  child: ChildProcess;
  exit: Promise<number | null>;
  output: () => string;
}

async function startAgentProcess(dataDir: string): Promise<AgentProcess> {
  const child = spawn(process.execPath, [main, 'agent', '-dev', '-data-dir', dataDir, '-rpc-port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const exit = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; output += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; output += c; });
  const ready = await until('the agent to be ready', () => (/==> nomadts agent ready/.test(out) ? true : child.exitCode !== null ? false : undefined), 120);
  if (!ready) throw new Error(`the agent exited early:\n${out}`);
  return { child, exit, output: () => out };
}

function startLines(task: string): number[] {
  return numberLines(join(dir, `starts-${task}`));
}

interface TaskStateJson {
  state: string;
  failed: boolean;
  restarts: number;
  events: { type: string; message: string }[];
}

interface AllocJson {
  id: string;
  clientStatus: string;
  taskStates: Record<string, TaskStateJson>;
}

async function theAlloc(job: string): Promise<AllocJson | undefined> {
  const r = await cli(['job', 'status', job, '-json']);
  if (r.code !== 0) return undefined;
  const a = (JSON.parse(r.stdout) as { allocations: { id: string }[] }).allocations[0];
  if (a === undefined) return undefined;
  const st = await cli(['alloc', 'status', '-json', a.id]);
  return st.code === 0 ? (JSON.parse(st.stdout) as AllocJson) : undefined;
}

beforeAll(() => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  ({ dir, env } = isolatedEnv('restart-e2e'));
});

/** Allocations whose docker containers this file started: removed at the end even after a failure (SIGKILLed agents leave them). */
const dockerAllocs: string[] = [];

afterAll(async () => {
  await killAll(children, dir);
  for (const id of dockerAllocs) {
    try {
      const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=com.nomadts.alloc_id=${id}`], { encoding: 'utf8', timeout: 20_000 }).split('\n').filter((l) => l !== '');
      if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // no engine, or already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A raw_exec task that appends its pid to starts-<name>, then runs `body` (the pid stays its own via exec). */
function task(name: string, body: string, lifecycle = '', extra = ''): string {
  return `
    task "${name}" {
      driver = "raw_exec"
      ${lifecycle}
      ${extra}
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $$ >> ${dir}/starts-${name}; ${body}", "${dir}"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }`;
}

describe('client restart (SIGKILL) with raw_exec', () => {
  it('reattaches to running tasks (each started once, same pids), and applies the restart policy to one that exited meanwhile', async () => {
    const dataDir = join(dir, 'data');
    const flag = join(dir, 'flag');
    const file = join(dir, 'restart.nomad.hcl');
    // About 2 MB/s of 4 KiB lines: a 1 MB log file fills in half a second.
    writeFileSync(join(dir, 'chatty.py'), 'import sys, time\nwhile True:\n    sys.stdout.write("y" * 4095 + "\\n")\n    sys.stdout.flush()\n    time.sleep(0.002)\n');
    writeFileSync(file, `job "restart-once" {
  group "g" {
    restart {
      attempts = 3
      interval = "5m"
      delay    = "1s"
      mode     = "fail"
    }
${task('side', 'exec sleep 3600', 'lifecycle {\n        hook    = "prestart"\n        sidecar = true\n      }')}
${task('web', 'exec sleep 3600')}
${task('chatty', `exec python3 ${dir}/chatty.py`, '', 'logs {\n        max_files     = 2\n        max_file_size = 1\n      }')}
${task('flaky', `if [ ! -e ${flag}.seen ]; then touch ${flag}.seen; while [ ! -e ${flag} ]; do sleep 0.1; done; exit 3; fi; exec sleep 3600`)}
  }
}
`);
    const first = await startAgentProcess(dataDir);
    const run = await cli(['job', 'run', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const names = ['side', 'web', 'chatty', 'flaky'];
    await until('every task to run, once', async () => {
      const a = await theAlloc('restart-once');
      return a !== undefined && a.clientStatus === 'running' && names.every((n) => a.taskStates[n]?.state === 'running' && startLines(n).length === 1) ? true : undefined;
    });
    const pids = Object.fromEntries(names.map((n) => [n, startLines(n)[0]!]));
    for (const n of names) expect(alive(pids[n]!)).toBe(true);
    // Before the crash: the client's task handles and the server's state (with the allocation
    // running) are on disk.
    const allocId = (await theAlloc('restart-once'))!.id;
    await until('the task handles and the server state to be persisted', () => {
      const handles = names.every((n) => {
        const f = join(dataDir, 'client', 'allocs', allocId, `${n}.json`);
        return existsSync(f) && readFileSync(f, 'utf8').includes('"pid"');
      });
      const snap = join(dataDir, 'server', 'state.snap');
      const running = existsSync(snap) && (JSON.parse(readFileSync(snap, 'utf8')) as { allocs: { id: string; clientStatus: string }[] }).allocs.some((x) => x.id === allocId && x.clientStatus === 'running');
      return handles && running ? true : undefined;
    });

    const logDir = join(dataDir, 'alloc', allocId, 'alloc', 'logs');
    // One logmon process captures every task of the client (not one per task).
    const logmons = (): number[] => processesWith('nomadts-logmon').filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir));
    expect(names.length).toBeGreaterThan(1);
    expect(logmons()).toHaveLength(1);
    const chattyFiles = (): number[] => readdirSync(logDir).filter((n) => /^chatty\.stdout\.\d+$/.test(n)).map((n) => Number(n.split('.').pop())).sort((a, b) => a - b);
    first.child.kill('SIGKILL');
    await first.exit;
    // Logs keep rotating with no agent up: logmon is a process of its own.
    const atCrash = chattyFiles().at(-1) ?? 0;
    await until('chatty\'s log to rotate while the agent is down', () => ((chattyFiles().at(-1) ?? 0) >= atCrash + 2 ? true : undefined));
    expect(chattyFiles().length).toBeLessThanOrEqual(2);
    for (const n of names) expect(alive(pids[n]!)).toBe(true);
    expect(logmons()).toHaveLength(1);
    // While no agent is up, flaky exits with code 3.
    writeFileSync(flag, '');
    await until('flaky to exit while the agent is down', () => (alive(pids['flaky']!) ? undefined : true));

    const second = await startAgentProcess(dataDir);
    expect(second.output()).toMatch(/server: state restored from .*state\.snap at index \d+/);
    const after = await until('flaky to be restarted by its policy, the others still running', async () => {
      const a = await theAlloc('restart-once');
      return a !== undefined && a.clientStatus === 'running' && a.taskStates['flaky']?.restarts === 1 && a.taskStates['flaky'].state === 'running' && startLines('flaky').length === 2 ? a : undefined;
    });
    expect(second.output()).toMatch(new RegExp(`restored alloc ${allocId.slice(0, 8)}: kept`));
    // side, web and chatty: reattached, never started again.
    for (const n of ['side', 'web', 'chatty']) {
      expect(startLines(n)).toEqual([pids[n]]);
      expect(alive(pids[n]!)).toBe(true);
      expect(after.taskStates[n]).toMatchObject({ state: 'running', restarts: 0, failed: false });
      expect(after.taskStates[n]!.events.filter((e) => e.type === 'Started')).toHaveLength(1);
    }
    // flaky: the exit the supervisor recorded while the agent was down, then one restart.
    const flaky = after.taskStates['flaky']!;
    expect(flaky.events.map((e) => e.type).slice(-4)).toEqual(['Terminated', 'Restarting', 'Task Setup', 'Started']);
    expect(flaky.events.find((e) => e.type === 'Terminated')!.message).toBe('Exit Code: 3');
    const newFlaky = startLines('flaky')[1]!;
    expect(newFlaky).not.toBe(pids['flaky']);
    expect(alive(newFlaky)).toBe(true);

    // The reattached tasks' usage reaches the server: used against allocated in the CLI's views.
    const allocText = await until('alloc status to show the tasks\' usage', async () => {
      const r = await cli(['alloc', 'status', allocId]);
      return r.code === 0 && r.stdout.includes('Task Resources (used/allocated)') && /\bweb\s+\d+\/20 MHz\s+[\d.]+\/16 MiB/.test(r.stdout) ? r.stdout : undefined;
    }, 80);
    expect(allocText).toMatch(/\bside\s+\d+\/20 MHz/);
    const nodes = JSON.parse((await cli(['node', 'status', '-json'])).stdout) as { id: string }[];
    const nodeText = await cli(['node', 'status', nodes[0]!.id]);
    expect(nodeText.stdout).toMatch(/Allocation Resource Utilization\n.*\n\d+\/80 MHz\s+[\d.]+\/64 MiB/);

    // After the restart chatty's log still rotates (at most max_files = 2 files) and reads back.
    const atRestart = chattyFiles().at(-1)!;
    await until('chatty\'s log to rotate after the restart', () => (chattyFiles().at(-1)! >= atRestart + 1 ? true : undefined));
    expect(chattyFiles().length).toBeLessThanOrEqual(2);
    const logs = await cli(['alloc', 'logs', '-tail', '-n', '2', allocId, 'chatty']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^(y{4095}\n){2}$/);

    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    await until('every task and logmon to be stopped with the agent', () => ([pids['side']!, pids['web']!, pids['chatty']!, newFlaky].some(alive) || processesWith('nomadts-logmon').some((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir)) ? undefined : true), 40);
  });
});

// The same restart with the isolated drivers, when this machine has them: exec (bubblewrap) and
// docker (an engine with the test image). Their tasks see only the allocation directory, so the
// start lines and the flag live in its shared data dir (writable by the task's user).
const dockerImage = process.env['NOMADTS_TEST_IMAGE'] ?? 'nomadts/busybox:latest';
function available(driver: 'exec' | 'docker'): boolean {
  try {
    if (driver === 'exec') execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
    else execFileSync('docker', ['image', 'inspect', dockerImage], { stdio: 'ignore', timeout: 20_000 });
    return driver === 'docker' || process.getuid?.() === 0;
  } catch {
    return false;
  }
}

describe.each(['exec', 'docker'] as const)('client restart (SIGKILL) with %s', (driver) => {
  it.skipIf(!available(driver))('reattaches to the running task (started once) and restarts the one that exited meanwhile', async () => {
    const dataDir = join(dir, `data-${driver}`);
    const job = `restart-${driver}`;
    const config = (body: string): string => (driver === 'exec'
      ? `command = "/bin/sh"\n        args    = ["-c", "${body}"]`
      : `image   = "${dockerImage}"\n        command = "sh"\n        args    = ["-c", "${body}"]`);
    const data = '$NOMAD_ALLOC_DIR/data';
    const t = (name: string, body: string, extra = ''): string => `
    task "${name}" {
      driver = "${driver}"
      config {
        ${config(`echo start >> ${data}/starts-${name}; ${body}`)}
      }
      resources {
        cpu    = 20
        memory = 32
      }
      ${extra}
    }`;
    // ~5 MB/s of 4,096-byte lines: rotated at 1 MB into at most 2 files, docker's through logmon too.
    const chatty = "y=$(printf %4095s | tr ' ' y); while true; do i=0; while [ $i -lt 64 ]; do echo $y; i=$((i+1)); done; sleep 0.05; done";
    const file = join(dir, `${job}.nomad.hcl`);
    writeFileSync(file, `job "${job}" {
  group "g" {
    restart {
      attempts = 3
      interval = "5m"
      delay    = "1s"
      mode     = "fail"
    }
${t('web', 'exec sleep 3600')}
${t('chatty', chatty, 'logs {\n        max_files     = 2\n        max_file_size = 1\n      }')}
${t('flaky', `if [ ! -e ${data}/seen ]; then touch ${data}/seen; while [ ! -e ${data}/flag ]; do sleep 0.1; done; exit 3; fi; exec sleep 3600`)}
  }
}
`);
    const first = await startAgentProcess(dataDir);
    const run = await cli(['job', 'run', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const a = await until(`both ${driver} tasks to run`, async () => {
      const x = await theAlloc(job);
      return x !== undefined && x.taskStates['web']?.state === 'running' && x.taskStates['flaky']?.state === 'running' ? x : undefined;
    });
    if (driver === 'docker') dockerAllocs.push(a.id);
    const shared = join(dataDir, 'alloc', a.id, 'alloc', 'data');
    const starts = (name: string): number => (existsSync(join(shared, `starts-${name}`)) ? readFileSync(join(shared, `starts-${name}`), 'utf8').split('\n').filter((l) => l !== '').length : 0);
    await until('one start line each, handles and server state persisted', () => {
      const handles = ['web', 'flaky'].every((n) => existsSync(join(dataDir, 'client', 'allocs', a.id, `${n}.json`)) && readFileSync(join(dataDir, 'client', 'allocs', a.id, `${n}.json`), 'utf8').includes('"handle":{'));
      const snap = join(dataDir, 'server', 'state.snap');
      const running = existsSync(snap) && (JSON.parse(readFileSync(snap, 'utf8')) as { allocs: { id: string; clientStatus: string }[] }).allocs.some((x) => x.id === a.id && x.clientStatus === 'running');
      return starts('web') === 1 && starts('flaky') === 1 && handles && running ? true : undefined;
    });

    first.child.kill('SIGKILL');
    await first.exit;
    writeFileSync(join(shared, 'flag'), '');
    const second = await startAgentProcess(dataDir);
    const after = await until(`flaky (${driver}) to be restarted by its policy`, async () => {
      const x = await theAlloc(job);
      return x !== undefined && x.taskStates['flaky']?.restarts === 1 && x.taskStates['flaky'].state === 'running' && starts('flaky') === 2 ? x : undefined;
    });
    expect(starts('web')).toBe(1);
    expect(after.taskStates['web']).toMatchObject({ state: 'running', restarts: 0 });
    expect(after.taskStates['flaky']!.events.find((e) => e.type === 'Terminated')!.message).toMatch(/^Exit Code: 3/);

    // chatty's output rotates by its logs block (at most 2 files of 1 MB) and reads back whole.
    const logDir = join(dataDir, 'alloc', a.id, 'alloc', 'logs');
    const chattyFiles = (): number[] => readdirSync(logDir).filter((n) => /^chatty\.stdout\.\d+$/.test(n)).map((n) => Number(n.split('.').pop())).sort((x, y) => x - y);
    const at = chattyFiles().at(-1) ?? 0;
    await until(`chatty's ${driver} log to rotate`, () => ((chattyFiles().at(-1) ?? 0) >= at + 2 ? true : undefined));
    expect(chattyFiles().length).toBeLessThanOrEqual(2);
    const logs = await cli(['alloc', 'logs', '-tail', '-n', '2', a.id, 'chatty']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^(y{4095}\n){2}$/);
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
  });
});
