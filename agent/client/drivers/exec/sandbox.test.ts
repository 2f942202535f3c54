import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DefaultChrootEnv, bwrapArgs, hostPathOf, parseChrootEnv, planSandbox, resolveInSandbox, sandboxHostname, setprivArgv } from './sandbox.js';

const hostHas = new Set(['/bin', '/etc', '/lib', '/lib64', '/sbin', '/usr']);
const plan = planSandbox('/data/alloc/a1/web', '/data/alloc/a1/alloc', DefaultChrootEnv, (p) => hostHas.has(p));

describe('planSandbox', () => {
  it('binds the chroot_env entries the host has, read-only, and the shared alloc dir read-write', () => {
    expect(plan.root).toBe('/data/alloc/a1/web');
    expect(plan.mounts).toEqual([
      { src: '/bin', dest: '/bin', readOnly: true },
      { src: '/etc', dest: '/etc', readOnly: true },
      { src: '/lib', dest: '/lib', readOnly: true },
      { src: '/lib64', dest: '/lib64', readOnly: true },
      { src: '/sbin', dest: '/sbin', readOnly: true },
      { src: '/usr', dest: '/usr', readOnly: true },
      { src: '/data/alloc/a1/alloc', dest: '/alloc', readOnly: false },
    ]);
  });
});

describe('hostPathOf', () => {
  it('maps through the deepest mount, else into the task directory', () => {
    expect(hostPathOf(plan, '/usr/bin/env')).toBe('/usr/bin/env');
    expect(hostPathOf(plan, '/alloc/data/x')).toBe('/data/alloc/a1/alloc/data/x');
    expect(hostPathOf(plan, '/local/run.sh')).toBe('/data/alloc/a1/web/local/run.sh');
    expect(hostPathOf(plan, '/usrx/y')).toBe('/data/alloc/a1/web/usrx/y');
  });

  it('never leaves the chroot, whatever ".." the path holds', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('..', '.', 'usr', 'local', 'alloc', 'etc', 'x'), { maxLength: 8 }), (segs) => {
      const p = hostPathOf(plan, '/' + segs.join('/'));
      return p.startsWith('/data/alloc/a1/') || ['/bin', '/etc', '/lib', '/lib64', '/sbin', '/usr'].some((m) => p === m || p.startsWith(m + '/'));
    }));
  });
});

describe('resolveInSandbox', () => {
  const executables = new Set(['/usr/bin/python3', '/bin/sh', '/data/alloc/a1/web/local/run.sh']);
  const isExec = (p: string): boolean => executables.has(p);

  it('finds a bare name on PATH, a relative path from /, and an absolute path', () => {
    expect(resolveInSandbox(plan, 'python3', '/usr/local/bin:/usr/bin:/bin', isExec)).toBe('/usr/bin/python3');
    expect(resolveInSandbox(plan, 'local/run.sh', '/usr/bin', isExec)).toBe('/local/run.sh');
    expect(resolveInSandbox(plan, '/bin/sh', '', isExec)).toBe('/bin/sh');
  });

  it('refuses what is not in the chroot', () => {
    expect(resolveInSandbox(plan, 'python3', '/opt/bin', isExec)).toBeUndefined();
    expect(resolveInSandbox(plan, '/root/tool', '/usr/bin', isExec)).toBeUndefined();
    expect(resolveInSandbox(plan, 'sh', 'relative/dir', isExec)).toBeUndefined();
  });
});

describe('bwrapArgs and setprivArgv', () => {
  it('binds the root first, then the mounts, then proc and dev; a clean environment; the command last', () => {
    const a = bwrapArgs({ plan, hostname: 'web', env: { B: '2', A: '1' }, argv: ['/usr/bin/setpriv', '--', '/bin/sh'], infoFd: 3, blockFd: 4, statusFd: 5 });
    expect(a.slice(0, 6)).toEqual(['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', 'web', '--new-session']);
    expect(a.indexOf('/data/alloc/a1/web')).toBeLessThan(a.indexOf('/usr'));
    expect(a.indexOf('--clearenv')).toBeLessThan(a.indexOf('--setenv'));
    expect(a.join(' ')).toContain('--setenv A 1 --setenv B 2');
    expect(a.join(' ')).toContain('--ro-bind /usr /usr');
    expect(a.join(' ')).toContain('--bind /data/alloc/a1/alloc /alloc');
    expect(a.slice(-4)).toEqual(['--', '/usr/bin/setpriv', '--', '/bin/sh']);
    expect(a).not.toContain('--die-with-parent');
  });

  it('drops to the user and clears every capability set', () => {
    expect(setprivArgv('/usr/bin/setpriv', 65534, 65534)).toEqual(['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']);
    expect(setprivArgv('/usr/bin/setpriv', 0, 0)).not.toContain('--reuid=0');
  });
});

describe('parseChrootEnv and sandboxHostname', () => {
  it('parses host[:in-task] entries and refuses relative paths or paths the driver mounts itself', () => {
    expect(parseChrootEnv('/bin,/opt/x:/x')).toEqual({ '/bin': '/bin', '/opt/x': '/x' });
    expect(() => parseChrootEnv('')).toThrow(/at least one/);
    expect(() => parseChrootEnv('bin')).toThrow(/absolute/);
    for (const bad of ['/x:/', '/x:/alloc', '/x:/secrets/a', '/x:/proc', '/x:/dev']) expect(() => parseChrootEnv(bad)).toThrow(/would hide/);
  });

  it('makes a valid hostname from any task name', () => {
    expect(sandboxHostname('Web_Server.1')).toBe('web-server-1');
    expect(sandboxHostname('___')).toBe('task');
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(sandboxHostname(s))));
    expect(sandboxHostname(`${'a'.repeat(62)}_b`)).toBe('a'.repeat(62));
  });
});
