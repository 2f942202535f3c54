import { describe, expect, it } from 'vitest';
import { mockAlloc, mockJob, mockNode, mockTask, mockTaskGroup } from '../../core/testing/index.js';
import { NomadError } from '../../core/lib/index.js';
import type { InterpolationVars } from './env.js';
import { buildTaskEnv, interpolate, interpolateConfig, nodeVars } from './env.js';

const paths = { allocDir: '/alloc', taskDir: '/local', secretsDir: '/secrets' };

function fixture() {
  const task = mockTask({
    name: 'api',
    meta: { 'owner-team': 'core', version: 'task' },
    resources: { cpu: 700, memoryMB: 300, memoryMaxMB: 600, cores: 0 },
    env: {
      LISTEN: '${NOMAD_IP_http}:${NOMAD_PORT_http}',
      DC: '${node.datacenter}/${node.unique.name}/${node.class}/${node.region}',
      KERNEL: '${attr.kernel.name}',
      RACK: '${meta.rack}',
      IDX: '${env["NOMAD_ALLOC_INDEX"]}',
      KEEP: '${UNKNOWN_THING} ${attr.nope} ${meta.nope} ${env["NOPE"]}',
    },
  });
  const job = mockJob({
    id: 'shop',
    name: 'Shop',
    region: 'eu',
    parentId: 'shop-parent',
    meta: { version: 'job', tier: 'gold' },
    taskGroups: [mockTaskGroup({ name: 'front', meta: { version: 'group' }, tasks: [task] })],
  });
  const alloc = mockAlloc(job, { group: 'front', index: 3 }, {
    id: '0123456789abcdef-0000',
    resources: {
      cpu: 700, memoryMB: 300, memoryMaxMB: 600, diskMB: 0,
      ports: [
        { label: 'http', value: 23456, to: 8080, hostIp: '10.0.0.5' },
        { label: 'admin-ui', value: 25000, to: 0, hostIp: 'fe80::1' },
      ],
    },
  });
  const node = mockNode({ id: 'node-uuid-1', name: 'worker-1', datacenter: 'dc2', nodeClass: 'compute', meta: { rack: 'r12' } });
  return { alloc, node };
}

describe('buildTaskEnv', () => {
  it('sets the NOMAD_* variables for an alloc with two ports and meta at three levels', () => {
    const { alloc, node } = fixture();
    const { env } = buildTaskEnv({ alloc, task: 'api', node, paths });
    expect(env).toMatchObject({
      NOMAD_ALLOC_DIR: '/alloc',
      NOMAD_TASK_DIR: '/local',
      NOMAD_SECRETS_DIR: '/secrets',
      NOMAD_ALLOC_ID: '0123456789abcdef-0000',
      NOMAD_SHORT_ALLOC_ID: '01234567',
      NOMAD_ALLOC_NAME: 'shop.front[3]',
      NOMAD_ALLOC_INDEX: '3',
      NOMAD_JOB_ID: 'shop',
      NOMAD_JOB_NAME: 'Shop',
      NOMAD_JOB_PARENT_ID: 'shop-parent',
      NOMAD_GROUP_NAME: 'front',
      NOMAD_TASK_NAME: 'api',
      NOMAD_NAMESPACE: 'default',
      NOMAD_REGION: 'eu',
      NOMAD_DC: 'dc2',
      NOMAD_CPU_LIMIT: '700',
      NOMAD_MEMORY_LIMIT: '300',
      NOMAD_MEMORY_MAX_LIMIT: '600',
      NOMAD_IP_http: '10.0.0.5',
      NOMAD_PORT_http: '8080',
      NOMAD_HOST_PORT_http: '23456',
      NOMAD_ADDR_http: '10.0.0.5:23456',
      NOMAD_HOST_ADDR_http: '10.0.0.5:23456',
      NOMAD_IP_admin_ui: 'fe80::1',
      NOMAD_PORT_admin_ui: '25000',
      NOMAD_HOST_PORT_admin_ui: '25000',
      NOMAD_ADDR_admin_ui: '[fe80::1]:25000',
      NOMAD_META_tier: 'gold',
      NOMAD_META_TIER: 'gold',
      NOMAD_META_version: 'task',
      NOMAD_META_VERSION: 'task',
      NOMAD_META_owner_team: 'core',
      NOMAD_META_OWNER_TEAM: 'core',
    });
  });

  it('interpolates the env block against NOMAD_*, node values and env["X"], keeping unknown references', () => {
    const { alloc, node } = fixture();
    const { env } = buildTaskEnv({ alloc, task: 'api', node, paths });
    expect(env.LISTEN).toBe('10.0.0.5:8080');
    expect(env.DC).toBe('dc2/worker-1/compute/eu');
    expect(env.KERNEL).toBe('linux');
    expect(env.RACK).toBe('r12');
    expect(env.IDX).toBe('3');
    expect(env.KEEP).toBe('${UNKNOWN_THING} ${attr.nope} ${meta.nope} ${env["NOPE"]}');
  });

  it('leaves out what is absent: no parent, no max memory, no node', () => {
    const { alloc } = fixture();
    const job = { ...alloc.job, parentId: '' };
    const a = { ...alloc, job, taskResources: { api: { cpu: 700, memoryMB: 300, memoryMaxMB: 0 } } };
    const { env } = buildTaskEnv({ alloc: a, task: 'api', paths });
    expect(env.NOMAD_JOB_PARENT_ID).toBeUndefined();
    expect(env.NOMAD_MEMORY_MAX_LIMIT).toBeUndefined();
    expect(env.NOMAD_DC).toBeUndefined();
    expect(env.DC).toBe('${node.datacenter}/${node.unique.name}/${node.class}/${node.region}');
  });

  it('lets template env override the env block', () => {
    const { alloc, node } = fixture();
    const { env } = buildTaskEnv({ alloc, task: 'api', node, paths, templateEnv: { KERNEL: 'from-template' } });
    expect(env.KERNEL).toBe('from-template');
  });

  it('refuses a task that is not in the group', () => {
    const { alloc } = fixture();
    expect(() => buildTaskEnv({ alloc, task: 'nope', paths })).toThrow(NomadError);
    expect(() => buildTaskEnv({ alloc, task: 'nope', paths })).toThrow(/no task "nope"/);
  });
});

describe('interpolate', () => {
  const vars: InterpolationVars = {
    env: { NOMAD_ALLOC_ID: 'abc', HOME: '/home/x', EMPTY: '' },
    node: nodeVars(mockNode({ id: 'n1', name: 'host1', datacenter: 'dc9', meta: { zone: 'z1' } }), 'global'),
  };

  it('replaces known references and keeps unknown ones as written', () => {
    expect(interpolate('id=${NOMAD_ALLOC_ID} dc=${node.datacenter} id2=${node.unique.id}', vars)).toBe('id=abc dc=dc9 id2=n1');
    expect(interpolate('${attr.cpu.arch}-${meta.zone}-${env["HOME"]}-${env.HOME}', vars)).toBe('amd64-z1-/home/x-/home/x');
    expect(interpolate('x${EMPTY}y', vars)).toBe('xy');
    expect(interpolate('${NOPE} ${attr.nope} ${node.nope} ${} ${constructor} $HOME', vars)).toBe('${NOPE} ${attr.nope} ${node.nope} ${} ${constructor} $HOME');
    expect(interpolate('unterminated ${NOMAD_ALLOC_ID', vars)).toBe('unterminated ${NOMAD_ALLOC_ID');
    expect(interpolate('plain text', vars)).toBe('plain text');
  });

  it('walks driver config objects and arrays', () => {
    expect(interpolateConfig({ command: '/bin/${NOMAD_ALLOC_ID}', args: ['${node.datacenter}', 3], nested: { a: '${meta.zone}', b: null } }, vars))
      .toEqual({ command: '/bin/abc', args: ['dc9', 3], nested: { a: 'z1', b: null } });
  });
});
