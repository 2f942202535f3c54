import { describe, expect, it } from 'vitest';
import type { TaskConfig } from '../index.js';
import { buildContainerSpec, containerName } from './spec.js';
import type { ContainerSpec, DockerPolicy } from './spec.js';

const strict: DockerPolicy = { volumesEnabled: false, allowPrivileged: false, allowHostNamespaces: false };
const open: DockerPolicy = { volumesEnabled: true, allowPrivileged: true, allowHostNamespaces: true };

function cfg(config: Record<string, unknown>, more: Partial<TaskConfig> = {}): TaskConfig {
  return {
    id: 'a1/web/1', name: 'web', allocId: 'a1', config: { image: 'img:1', ...config }, env: {}, dir: '/data/alloc/a1/web',
    stdoutPath: '/data/alloc/a1/alloc/logs/web.stdout.0', stderrPath: '/data/alloc/a1/alloc/logs/web.stderr.0',
    user: '', resources: { cpu: 500, memoryMB: 128, memoryMaxMB: 0, cores: 0 }, ...more,
  };
}

function ok(r: ReturnType<typeof buildContainerSpec>): ContainerSpec {
  if (Array.isArray(r)) throw new Error(r.map((e) => e.message).join('; '));
  return r;
}

function fields(r: ReturnType<typeof buildContainerSpec>): string[] {
  if (!Array.isArray(r)) throw new Error('expected errors');
  return r.map((e) => e.field ?? '');
}

describe('buildContainerSpec', () => {
  it('maps image, command, args, entrypoint, work_dir, labels, user and hostname', () => {
    const s = ok(buildContainerSpec(cfg({ command: '/bin/app', args: ['-v'], entrypoint: ['/init'], work_dir: '/srv', labels: [{ team: 'a' }, { tier: 2 }], hostname: 'h1' }, { user: 'nobody' }), strict));
    expect(s.create).toMatchObject({ name: 'web-a1', Image: 'img:1', Cmd: ['/bin/app', '-v'], Entrypoint: ['/init'], WorkingDir: '/srv', User: 'nobody', Hostname: 'h1' });
    expect(s.create.Labels).toEqual({ team: 'a', tier: '2', 'com.nomadts.managed': 'true', 'com.nomadts.alloc_id': 'a1', 'com.nomadts.task_name': 'web', 'com.nomadts.task_id': 'a1/web/1' });
  });

  it('without command, args are the container command; without either the image CMD stays', () => {
    expect(ok(buildContainerSpec(cfg({ args: ['x', 'y'] }), strict)).create.Cmd).toEqual(['x', 'y']);
    expect(ok(buildContainerSpec(cfg({}), strict)).create.Cmd).toBeUndefined();
  });

  it('mounts alloc/, local/ and secrets/ and rewrites the NOMAD_*_DIR variables', () => {
    const s = ok(buildContainerSpec(cfg({}, { env: { NOMAD_TASK_DIR: '/data/alloc/a1/web/local', FOO: 'bar' } }), strict));
    expect(s.create.HostConfig?.Binds).toEqual(['/data/alloc/a1/alloc:/alloc', '/data/alloc/a1/web/local:/local', '/data/alloc/a1/web/secrets:/secrets']);
    expect(s.create.Env).toEqual(expect.arrayContaining(['FOO=bar', 'NOMAD_TASK_DIR=/local', 'NOMAD_ALLOC_DIR=/alloc', 'NOMAD_SECRETS_DIR=/secrets']));
  });

  it('publishes each listed port on its allocated host port, to port_map, else the port\'s `to`, else the host port', () => {
    const env = {
      NOMAD_HOST_PORT_http: '21000', NOMAD_PORT_http: '21000', NOMAD_IP_http: '10.0.0.5',
      NOMAD_HOST_PORT_admin: '21001', NOMAD_PORT_admin: '9000', NOMAD_IP_admin: '10.0.0.5',
      NOMAD_HOST_PORT_raw: '21002', NOMAD_PORT_raw: '21002', NOMAD_IP_raw: '0.0.0.0',
    };
    const s = ok(buildContainerSpec(cfg({ ports: ['http', 'admin', 'raw'], port_map: { http: 8080 } }, { env }), strict));
    expect(s.ports).toEqual([
      { label: 'http', hostIp: '10.0.0.5', hostPort: 21000, containerPort: 8080 },
      { label: 'admin', hostIp: '10.0.0.5', hostPort: 21001, containerPort: 9000 },
      { label: 'raw', hostIp: '0.0.0.0', hostPort: 21002, containerPort: 21002 },
    ]);
    expect(s.create.HostConfig?.PortBindings).toMatchObject({
      '8080/tcp': [{ HostIp: '10.0.0.5', HostPort: '21000' }], '8080/udp': [{ HostIp: '10.0.0.5', HostPort: '21000' }],
      '9000/tcp': [{ HostIp: '10.0.0.5', HostPort: '21001' }], '21002/tcp': [{ HostIp: '', HostPort: '21002' }],
    });
    expect(s.create.Env).toEqual(expect.arrayContaining(['NOMAD_PORT_http=8080', 'NOMAD_PORT_admin=9000']));
  });

  it('memory: hard limit = memory_max (soft = memory), else memory; memory_hard_limit overrides; CPU shares', () => {
    const plain = ok(buildContainerSpec(cfg({}), strict)).create.HostConfig!;
    expect(plain).toMatchObject({ Memory: 128 * 2 ** 20, MemorySwap: 128 * 2 ** 20, CpuShares: 500 });
    expect(plain.MemoryReservation).toBeUndefined();
    const max = ok(buildContainerSpec(cfg({}, { resources: { cpu: 1, memoryMB: 64, memoryMaxMB: 256, cores: 0 } }), strict)).create.HostConfig!;
    expect(max).toMatchObject({ Memory: 256 * 2 ** 20, MemoryReservation: 64 * 2 ** 20, CpuShares: 2 });
    expect(ok(buildContainerSpec(cfg({ memory_hard_limit: 512 }), strict)).create.HostConfig).toMatchObject({ Memory: 512 * 2 ** 20, MemoryReservation: 128 * 2 ** 20 });
  });

  it('privileged mode, host namespaces and host volumes need the client\'s permission', () => {
    const c = cfg({ privileged: true, network_mode: 'host', pid_mode: 'host', ipc_mode: 'host', volumes: ['/var/lib/x:/x:ro'] });
    expect(fields(buildContainerSpec(c, strict))).toEqual(['config.privileged', 'config.network_mode', 'config.pid_mode', 'config.ipc_mode', 'config.volumes[0]']);
    const s = ok(buildContainerSpec(c, open));
    expect(s.create.HostConfig).toMatchObject({ Privileged: true, NetworkMode: 'host', PidMode: 'host', IpcMode: 'host' });
    expect(s.create.HostConfig?.Binds).toContain('/var/lib/x:/x:ro');
    expect(fields(buildContainerSpec(cfg({ network_mode: 'container:other' }), strict))).toEqual(['config.network_mode']);
    expect(ok(buildContainerSpec(cfg({ network_mode: 'none' }), strict)).create.HostConfig?.NetworkMode).toBe('none');
  });

  it('a relative volume inside the allocation directory needs no permission; one that climbs out does', () => {
    const s = ok(buildContainerSpec(cfg({ volumes: ['local/data:/data', '../alloc/data:/shared:ro'] }), strict));
    expect(s.create.HostConfig?.Binds).toEqual(expect.arrayContaining(['/data/alloc/a1/web/local/data:/data', '/data/alloc/a1/alloc/data:/shared:ro']));
    expect(fields(buildContainerSpec(cfg({ volumes: ['../../../etc:/etc2'] }), strict))).toEqual(['config.volumes[0]']);
  });

  it('names every bad field at once', () => {
    const r = buildContainerSpec(cfg({ image: '', bogus: 1, args: 'x', labels: 'x', work_dir: 'rel', port_map: { p: 70000 }, ipc_mode: 'weird', memory_hard_limit: 'lots', ports: ['bad label'] }), strict);
    expect(fields(r).sort()).toEqual([
      'config.args', 'config.bogus', 'config.image', 'config.ipc_mode', 'config.labels', 'config.memory_hard_limit', 'config.port_map.p', 'config.ports[0]', 'config.work_dir',
    ]);
  });

  it('container names are valid for Docker', () => {
    expect(containerName({ name: 'web app/1', allocId: 'a-1' })).toBe('web_app_1-a-1');
  });
});
