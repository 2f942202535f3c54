/**
 * The docker driver against a real engine and the offline test image (scripts/docker-image.sh
 * builds both; .ci/run runs it). Without a reachable engine or the image, the suite is skipped
 * with a message saying so.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MultiError, NomadError } from '../../../core/lib/index.js';
import type { TaskConfig, TaskHandle } from '../index.js';
import { DockerDriver, dockerOptionsFromClient, LabelAllocId } from './index.js';
import type { DockerDriverOptions } from './index.js';

const Image = process.env['NOMADTS_TEST_IMAGE'] ?? 'nomadts/busybox:latest';
const docker = new Docker();

async function engineProblem(): Promise<string | null> {
  const fp = await new DockerDriver().fingerprint();
  if (!fp.healthy) return fp.healthDescription;
  try {
    await docker.getImage(Image).inspect();
  } catch {
    return `image ${Image} is missing`;
  }
  return null;
}

const problem = await engineProblem();
if (problem !== null) {
  console.warn(`docker driver tests skipped: ${problem} (run scripts/docker-image.sh as root to start an engine and build the image)`);
}

let root: string;
let drivers: DockerDriver[] = [];
let started: { d: DockerDriver; id: string }[] = [];
const allocIds: string[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nomadts-docker-'));
});

afterEach(async () => {
  for (const { d, id } of started) {
    try { await d.destroy(id); } catch { /* destroyed by the test */ }
  }
  for (const d of drivers) d.shutdown();
  started = [];
  drivers = [];
  rmSync(root, { recursive: true, force: true });
});

afterAll(async () => {
  if (problem !== null) return;
  // Anything a failed test left behind.
  for (const allocId of allocIds) {
    for (const c of await containersOf(allocId)) await docker.getContainer(c).remove({ force: true }).catch(() => undefined);
  }
});

function driver(opts: DockerDriverOptions = {}): DockerDriver {
  const d = new DockerDriver(opts);
  drivers.push(d);
  return d;
}

/** A task of a fresh allocation, laid out as the client's AllocDir lays it out. */
function task(config: Record<string, unknown>, more: Partial<TaskConfig> = {}): TaskConfig {
  const allocId = more.allocId ?? randomUUID();
  allocIds.push(allocId);
  const allocDir = join(root, 'alloc', allocId);
  const name = more.name ?? 'web';
  const dir = join(allocDir, name);
  for (const d of [join(allocDir, 'alloc', 'logs'), join(allocDir, 'alloc', 'data'), join(dir, 'local'), join(dir, 'secrets')]) mkdirSync(d, { recursive: true, mode: 0o777 });
  return {
    id: `${allocId}/${name}/1`, name, allocId, config: { image: Image, ...config }, env: {}, dir,
    stdoutPath: join(allocDir, 'alloc', 'logs', `${name}.stdout.0`), stderrPath: join(allocDir, 'alloc', 'logs', `${name}.stderr.0`),
    user: '', resources: { cpu: 100, memoryMB: 64, memoryMaxMB: 0, cores: 0 },
    ...more,
  };
}

async function start(d: DockerDriver, cfg: TaskConfig): Promise<TaskHandle> {
  const h = await d.start(cfg);
  started.push({ d, id: cfg.id });
  return h;
}

async function containersOf(allocId: string): Promise<string[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LabelAllocId}=${allocId}`] } });
  return list.map((c) => c.Id);
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Waits (up to ~10 s) for a condition the system must reach; the assertion after it fails if it never does. */
async function eventually(cond: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Sends a request to 127.0.0.1:port and resolves with the whole reply ('' when refused). */
function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    sock.on('data', (b: Buffer) => { data += b.toString(); });
    sock.on('end', () => resolve(data));
    sock.on('error', () => resolve(''));
  });
}

function errorsOf(e: unknown): readonly NomadError[] {
  if (e instanceof MultiError) return e.errors;
  if (e instanceof NomadError) return [e];
  throw e;
}

async function startError(d: DockerDriver, cfg: TaskConfig): Promise<readonly NomadError[]> {
  try {
    await start(d, cfg);
  } catch (e) {
    return errorsOf(e);
  }
  throw new Error('start succeeded, expected an error');
}

describe.skipIf(problem !== null)('docker driver (real engine)', () => {
  it('fingerprints the engine as healthy, with its version', async () => {
    const fp = await driver().fingerprint();
    expect(fp).toMatchObject({ detected: true, healthy: true, healthDescription: 'healthy' });
    expect(fp.attributes['driver.docker.version']).toMatch(/\d+\.\d+/);
  });

  it('runs a container to completion: command, args, env, work_dir and the exit code; stdout and stderr in the log files', async () => {
    const d = driver();
    const cfg = task(
      { command: 'sh', args: ['-c', 'echo "$GREETING $0 from $(pwd)"; echo oops >&2; exit 3', 'world'], work_dir: '/tmp' },
      { env: { GREETING: 'hello' } },
    );
    const h = await start(d, cfg);
    expect(h.state['containerId']).toMatch(/^[0-9a-f]{64}$/);
    const exit = await d.wait(cfg.id);
    expect(exit).toEqual({ exitCode: 3, signal: null, oomKilled: false, err: null });
    expect(read(cfg.stdoutPath)).toBe('hello world from /tmp\n');
    expect(read(cfg.stderrPath)).toBe('oops\n');
    expect(d.inspect(cfg.id)).toMatchObject({ state: 'exited', exitResult: { exitCode: 3 } });
  });

  it('entrypoint replaces the image entrypoint; args alone become the command', async () => {
    const d = driver();
    const a = task({ entrypoint: ['/bin/echo', 'via-entrypoint'], args: ['x'] });
    await start(d, a);
    expect((await d.wait(a.id)).exitCode).toBe(0);
    expect(read(a.stdoutPath)).toBe('via-entrypoint x\n');
  });

  it('mounts the allocation directory at /alloc, /local and /secrets and says so in NOMAD_*_DIR', async () => {
    const d = driver();
    const cfg = task(
      { command: 'sh', args: ['-c', 'echo "$NOMAD_ALLOC_DIR $NOMAD_TASK_DIR $NOMAD_SECRETS_DIR"; cat /local/in; echo shared > /alloc/data/out; echo s > /secrets/s'] },
      { env: { NOMAD_ALLOC_DIR: '/host/path/alloc', NOMAD_TASK_DIR: '/host/path/local', NOMAD_SECRETS_DIR: '/host/path/secrets' } },
    );
    writeFileSync(join(cfg.dir, 'local', 'in'), 'from-host\n');
    await start(d, cfg);
    expect((await d.wait(cfg.id)).exitCode).toBe(0);
    expect(read(cfg.stdoutPath)).toBe('/alloc /local /secrets\nfrom-host\n');
    expect(read(join(cfg.dir, '..', 'alloc', 'data', 'out'))).toBe('shared\n');
    expect(read(join(cfg.dir, 'secrets', 's'))).toBe('s\n');
  });

  it('publishes an allocated port: the host port reaches the container port from port_map, NOMAD_PORT_* is the container port', async () => {
    const d = driver();
    const hostPort = await freePort();
    const cfg = task(
      { command: 'sh', args: ['-c', 'echo "$NOMAD_PORT_http $NOMAD_ADDR_http" > /local/index.html; exec httpd -f -p 8080 -h /local'], ports: ['http'], port_map: { http: 8080 } },
      { env: { NOMAD_IP_http: '127.0.0.1', NOMAD_PORT_http: String(hostPort), NOMAD_HOST_PORT_http: String(hostPort), NOMAD_ADDR_http: `127.0.0.1:${hostPort}` } },
    );
    await start(d, cfg);
    let reply = '';
    expect(await eventually(async () => (reply = await httpGet(hostPort, '/index.html')).includes('200 OK'))).toBe(true);
    expect(reply).toContain(`8080 127.0.0.1:${hostPort}`);
    await d.stop(cfg.id, 5000, 'SIGKILL');
  });

  it('a host port already in use fails the start with the engine\'s reason, and leaves no container behind', async () => {
    const d = driver();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const cfg = task({ command: 'sleep', args: ['30'], ports: ['http'] }, { env: { NOMAD_IP_http: '127.0.0.1', NOMAD_PORT_http: String(port), NOMAD_HOST_PORT_http: String(port) } });
      const errs = await startError(d, cfg);
      expect(errs[0]!.message).toMatch(new RegExp(`cannot start container for task "web": .*${port}`));
      expect(await containersOf(cfg.allocId)).toEqual([]);
    } finally {
      busy.close();
    }
  });

  it('signal delivers a signal to the running container without stopping it', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'trap "echo got-hup" HUP; echo ready; while true; do sleep 0.05; done'] });
    await start(d, cfg);
    expect(await eventually(() => read(cfg.stdoutPath) === 'ready\n')).toBe(true);
    await d.signal(cfg.id, 'SIGHUP');
    expect(await eventually(() => read(cfg.stdoutPath) === 'ready\ngot-hup\n')).toBe(true);
    expect(d.inspect(cfg.id).state).toBe('running');
    await expect(d.signal(cfg.id, 'SIGNOPE')).rejects.toMatchObject({ field: 'signal' });
    await d.stop(cfg.id, 100, 'SIGKILL');
    await expect(d.signal(cfg.id, 'SIGHUP')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('a port label the allocation does not have is refused, naming the field; nothing is created', async () => {
    const d = driver();
    const cfg = task({ command: 'true', ports: ['db'] });
    const errs = await startError(d, cfg);
    expect(errs.map((e) => e.field)).toEqual(['config.ports[0]']);
    expect(errs[0]!.message).toMatch(/port label "db" is not allocated/);
    expect(await containersOf(cfg.allocId)).toEqual([]);
  });

  it('sets memory (hard = memory_max, soft = memory) and CPU shares on the container', async () => {
    const d = driver();
    const cfg = task({ command: 'sleep', args: ['30'] }, { resources: { cpu: 250, memoryMB: 32, memoryMaxMB: 96, cores: 0 } });
    const h = await start(d, cfg);
    const info = await docker.getContainer(String(h.state['containerId'])).inspect();
    expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect(info.HostConfig.MemorySwap).toBe(96 * 1024 * 1024);
    expect(info.HostConfig.MemoryReservation).toBe(32 * 1024 * 1024);
    expect(info.HostConfig.CpuShares).toBe(250);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.Config.Labels).toMatchObject({ [LabelAllocId]: cfg.allocId, 'com.nomadts.task_name': 'web', 'com.nomadts.task_id': cfg.id });
    await d.stop(cfg.id, 5000, 'SIGKILL');
  });

  it('reports an out-of-memory kill', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'echo start; exec tail /dev/zero'] }, { resources: { cpu: 100, memoryMB: 16, memoryMaxMB: 0, cores: 0 } });
    await start(d, cfg);
    const exit = await d.wait(cfg.id);
    expect(exit.oomKilled).toBe(true);
    expect(exit.err).toBe('OOM Killed');
    expect(exit.exitCode).toBe(137);
    expect(read(cfg.stdoutPath)).toBe('start\n');
  });

  it('stop sends kill_signal and lets the task finish within kill_timeout', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'trap "echo got-usr1; exit 5" USR1; echo ready; while true; do sleep 0.1; done'] });
    await start(d, cfg);
    expect(await eventually(() => read(cfg.stdoutPath) === 'ready\n')).toBe(true);
    await d.stop(cfg.id, 30_000, 'SIGUSR1');
    expect(d.inspect(cfg.id).exitResult).toMatchObject({ exitCode: 5, oomKilled: false });
    expect(read(cfg.stdoutPath)).toBe('ready\ngot-usr1\n');
  });

  it('stop kills the container once kill_timeout has passed when the signal is ignored', async () => {
    const d = driver();
    // PID 1 of a container ignores signals it has no handler for: SIGTERM does nothing to sleep.
    const cfg = task({ command: 'sleep', args: ['3600'] });
    await start(d, cfg);
    await d.stop(cfg.id, 200, 'SIGTERM');
    expect(d.inspect(cfg.id).exitResult).toMatchObject({ exitCode: 137 });
  });

  it('refuses an unknown kill signal', async () => {
    const d = driver();
    const cfg = task({ command: 'sleep', args: ['30'] });
    await start(d, cfg);
    await expect(d.stop(cfg.id, 100, 'SIGBOGUS')).rejects.toMatchObject({ field: 'kill_signal' });
    expect(d.inspect(cfg.id).state).toBe('running');
    await d.stop(cfg.id, 100, 'SIGKILL');
  });

  it('destroy removes the container', async () => {
    const d = driver();
    const cfg = task({ command: 'sleep', args: ['30'] });
    await start(d, cfg);
    expect(await containersOf(cfg.allocId)).toHaveLength(1);
    await d.destroy(cfg.id);
    expect(await containersOf(cfg.allocId)).toEqual([]);
    expect(() => d.inspect(cfg.id)).toThrow(/no task/);
  });

  it('a new attempt of the same task replaces the exited container of the previous one', async () => {
    const d = driver();
    const first = task({ command: 'sh', args: ['-c', 'echo one'] });
    await start(d, first);
    await d.wait(first.id);
    const second = { ...first, id: `${first.allocId}/web/2`, config: { image: Image, command: 'sh', args: ['-c', 'echo two'] } };
    await start(d, second);
    expect((await d.wait(second.id)).exitCode).toBe(0);
    expect(read(first.stdoutPath)).toBe('one\ntwo\n');
    expect(await containersOf(first.allocId)).toHaveLength(1);
  });

  it('stats come from the docker stats API', async () => {
    const d = driver();
    const cfg = task({ command: 'sh', args: ['-c', 'while true; do :; done'] });
    await start(d, cfg);
    const first = await d.stats(cfg.id);
    expect(first.pids).toHaveLength(1);
    expect(first.rssBytes).toBeGreaterThan(0);
    expect(first.cpuPercent).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const second = await d.stats(cfg.id);
    expect(second.cpuUserMs + second.cpuSystemMs).toBeGreaterThan(first.cpuUserMs + first.cpuSystemMs);
    expect(second.cpuPercent).toBeGreaterThan(0);
    await d.stop(cfg.id, 100, 'SIGKILL');
  });

  describe('recover after an agent restart', () => {
    it('re-attaches to a running container and resumes the log copy where it stopped (each line once)', async () => {
      const a = driver();
      const cfg = task({ command: 'sh', args: ['-c', 'echo line1; echo err1 >&2; while [ ! -e /local/go ]; do sleep 0.05; done; echo line2; echo err2 >&2; exit 4'] });
      const h = await a.start(cfg);
      expect(await eventually(() => read(cfg.stdoutPath) === 'line1\n' && read(cfg.stderrPath) === 'err1\n')).toBe(true);
      a.shutdown();
      // The "restarted agent": a new driver, the persisted handle (JSON round trip).
      const b = driver();
      await b.recover(JSON.parse(JSON.stringify(h)) as TaskHandle);
      started.push({ d: b, id: cfg.id });
      expect(b.inspect(cfg.id).state).toBe('running');
      writeFileSync(join(cfg.dir, 'local', 'go'), '');
      expect(await b.wait(cfg.id)).toMatchObject({ exitCode: 4, oomKilled: false });
      expect(read(cfg.stdoutPath)).toBe('line1\nline2\n');
      expect(read(cfg.stderrPath)).toBe('err1\nerr2\n');
    });

    it('reads the exit and the rest of the output of a container that ended while no agent ran', async () => {
      const a = driver();
      const cfg = task({ command: 'sh', args: ['-c', 'echo before; while [ ! -e /local/go ]; do sleep 0.05; done; echo after; exit 2'] });
      const h = await a.start(cfg);
      expect(await eventually(() => read(cfg.stdoutPath) === 'before\n')).toBe(true);
      a.shutdown();
      writeFileSync(join(cfg.dir, 'local', 'go'), '');
      const c = docker.getContainer(String(h.state['containerId']));
      expect(await eventually(async () => !(await c.inspect()).State.Running)).toBe(true);
      expect(read(cfg.stdoutPath)).toBe('before\n');
      const b = driver();
      await b.recover(h);
      started.push({ d: b, id: cfg.id });
      expect(await b.wait(cfg.id)).toMatchObject({ exitCode: 2 });
      expect(read(cfg.stdoutPath)).toBe('before\nafter\n');
    });

    it('refuses a handle whose container is gone, and one of another driver', async () => {
      const a = driver();
      const cfg = task({ command: 'true' });
      const h = await a.start(cfg);
      await a.wait(cfg.id);
      await a.destroy(cfg.id);
      const b = driver();
      await expect(b.recover(h)).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/is gone/) as unknown });
      await expect(b.recover({ ...h, driver: 'raw_exec' })).rejects.toMatchObject({ code: 'invalid_argument' });
      expect(() => b.inspect(cfg.id)).toThrow(/no task/);
    });
  });

  it('removeOrphans removes the containers of an allocation that no task follows, and leaves followed ones', async () => {
    const a = driver();
    const allocId = randomUUID();
    const lost = task({ command: 'sleep', args: ['30'] }, { allocId, name: 'lost' });
    await a.start(lost);
    a.shutdown(); // the handle was never recorded: the container is an orphan
    const b = driver();
    const kept = task({ command: 'sleep', args: ['30'] }, { allocId, name: 'kept' });
    const h = await start(b, kept);
    expect(await containersOf(allocId)).toHaveLength(2);
    const removed = await b.removeOrphans(allocId);
    expect(removed).toHaveLength(1);
    expect(await containersOf(allocId)).toEqual([h.state['containerId']]);
    expect(b.inspect(kept.id).state).toBe('running');
    await b.stop(kept.id, 100, 'SIGKILL');
  });

  describe('bad configurations are refused with the field named, and nothing is created', () => {
    const cases: { what: string; config: Record<string, unknown>; field: string; message: RegExp; opts?: DockerDriverOptions }[] = [
      { what: 'an unknown option', config: { command: 'true', comand: 'x' }, field: 'config.comand', message: /unknown option for the docker driver/ },
      { what: 'a missing image', config: { image: 'nomadts/no-such-image:1', command: 'true' }, field: 'config.image', message: /image "nomadts\/no-such-image:1" not found in the local Docker engine; images cannot be pulled here: build it with scripts\/docker-image\.sh/ },
      { what: 'privileged mode when the client does not allow it', config: { command: 'true', privileged: true }, field: 'config.privileged', message: /docker\.privileged\.enabled/ },
      { what: 'the host network', config: { command: 'true', network_mode: 'host' }, field: 'config.network_mode', message: /host network namespace is not allowed.*docker\.host_namespaces\.enabled/ },
      { what: 'the host PID namespace', config: { command: 'true', pid_mode: 'host' }, field: 'config.pid_mode', message: /host PID namespace/ },
      { what: 'the host IPC namespace', config: { command: 'true', ipc_mode: 'host' }, field: 'config.ipc_mode', message: /host IPC namespace/ },
      { what: 'a host volume when volumes are disabled', config: { command: 'true', volumes: ['/etc:/host-etc:ro'] }, field: 'config.volumes[0]', message: /docker\.volumes\.enabled/ },
      { what: 'a malformed volume', config: { command: 'true', volumes: ['/etc'] }, field: 'config.volumes[0]', message: /host_path:container_path/, opts: { volumesEnabled: true } },
      { what: 'args that are not strings', config: { command: 'echo', args: ['a', 2] }, field: 'config.args[1]', message: /must be a string/ },
      { what: 'a reserved label', config: { command: 'true', labels: { 'com.nomadts.alloc_id': 'x' } }, field: 'config.labels.com.nomadts.alloc_id', message: /reserves/ },
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const d = driver(c.opts);
        const cfg = task(c.config);
        const errs = await startError(d, cfg);
        expect(errs.map((e) => e.field)).toEqual([c.field]);
        expect(errs[0]!.message).toMatch(c.message);
        expect(await containersOf(cfg.allocId)).toEqual([]);
      });
    }

    // (Privileged mode itself is allowed the same way, but cannot run inside this sandbox; spec.test.ts covers it.)
    it('host namespaces and host volumes are allowed when the client options say so', async () => {
      const d = driver(dockerOptionsFromClient({ 'docker.host_namespaces.enabled': 'true', 'docker.volumes.enabled': '1' }));
      const hostDir = join(root, 'shared');
      mkdirSync(hostDir);
      writeFileSync(join(hostDir, 'f'), 'host-file\n');
      const cfg = task({ command: 'sh', args: ['-c', 'cat /mnt/f; [ "$(cat /proc/1/comm)" != sh ] && echo host-pid'], pid_mode: 'host', network_mode: 'host', volumes: [`${hostDir}:/mnt:ro`] });
      const h = await start(d, cfg);
      expect((await d.wait(cfg.id)).exitCode).toBe(0);
      expect(read(cfg.stdoutPath)).toBe('host-file\nhost-pid\n');
      const info = await docker.getContainer(String(h.state['containerId'])).inspect();
      expect(info.HostConfig).toMatchObject({ PidMode: 'host', NetworkMode: 'host' });
    });
  });
});

describe('docker driver without an engine', () => {
  it('fingerprint says the engine is not reachable, and why', async () => {
    const fp = await new DockerDriver({ endpoint: `unix://${join(tmpdir(), `no-such-${randomUUID()}.sock`)}` }).fingerprint();
    expect(fp.detected).toBe(false);
    expect(fp.healthy).toBe(false);
    expect(fp.healthDescription).toMatch(/^Docker engine not reachable at .*no-such-.*\.sock: .*ENOENT/);
  });

  it('validateConfig names each bad field without an engine', () => {
    const errs = new DockerDriver().validateConfig({ command: 3, ports: 'http', port_map: { http: 'x' }, privileged: 'yes' });
    expect(errs.map((e) => e.field).sort()).toEqual(['config.command', 'config.image', 'config.port_map.http', 'config.ports', 'config.privileged']);
  });
});
