/**
 * ClusterService's scheduler-worker calls (issue 5 §4) over real gRPC and mutual TLS: EvalDequeue
 * (a long poll the caller can cancel), EvalAck, EvalNack, PlanSubmit and EvalUpdate — domain values in and out,
 * server certificates only, bad input refused by field before any handler runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { NomadError } from '../../core/lib/index.js';
import type { Plan, PlanResult } from '../../core/structs/index.js';
import { mockEval } from '../../core/testing/index.js';
import type { CertificateBundle } from '../../tls/index.js';
import { createCA, createCert } from '../../tls/index.js';
import type { ClusterHandlers, RemoteEvalDelivery } from './index.js';
import { ClusterClient, addClusterService } from './index.js';

let ca: CertificateBundle;
const certs: Record<string, CertificateBundle> = {};
const servers: grpc.Server[] = [];
let withBroker = '';
let withoutBroker = '';
const calls: string[] = [];
/** The next dequeue's behaviour. */
let nextDequeue: (signal: AbortSignal) => Promise<RemoteEvalDelivery | null> = async () => null;

const base: ClusterHandlers = {
  apply: async () => 1,
  raftStatus: async () => ({ id: 's1', role: 'leader', term: 1, leader: 's1', commit: 1, applied: 1, lastIndex: 1, peers: [], storageSyncs: 0, storageEntries: 0 }),
  transferLeadership: async (p) => p,
  removePeer: async () => 0,
  addPeer: async () => 0,
  snapshotSave: async () => ({ index: 0, data: new Uint8Array() }),
};

const result: PlanResult = { nodeUpdate: {}, nodeAllocation: {}, nodePreemptions: {}, deployment: null, deploymentUpdates: [], rejectedNodes: ['n2'], refreshIndex: 41, allocIndex: 40 };

const handlers: ClusterHandlers = {
  ...base,
  evalDequeue: (req, signal) => {
    calls.push(`dequeue ${req.schedulerTypes.join(',')} ${req.timeoutMs} ${req.workerId}`);
    return nextDequeue(signal);
  },
  evalAck: async (evalId, token) => {
    if (token === 'stale') throw new NomadError('conflict', `cannot ack evaluation ${evalId}: token "stale" does not match`, { field: 'token' });
    calls.push(`ack ${evalId} ${token}`);
  },
  evalNack: async (evalId, token) => void calls.push(`nack ${evalId} ${token}`),
  planSubmit: async (plan) => {
    calls.push(`plan ${plan.evalId} ${plan.evalToken} ${Object.keys(plan.nodeAllocation).join(',')}`);
    return result;
  },
  evalUpdate: async (evals, d) => {
    if (d.token === 'stale') throw new NomadError('conflict', `cannot reset the nack timer of evaluation ${d.evalId}: token "stale" does not match`, { field: 'token' });
    calls.push(`evals ${evals.map((e) => `${e.id}:${e.status}`).join(',')} under ${d.evalId} ${d.token}`);
    return 77;
  },
};

async function listen(h: ClusterHandlers): Promise<string> {
  const srv = new grpc.Server();
  servers.push(srv);
  addClusterService(srv, { caPem: ca.certPem, region: 'global', handlers: h });
  const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(certs.server!.keyPem), cert_chain: Buffer.from(certs.server!.certPem) }], true);
  const port = await new Promise<number>((res, rej) => srv.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? rej(err) : res(p))));
  return `127.0.0.1:${port}`;
}

beforeAll(async () => {
  ca = await createCA();
  for (const role of ['server', 'cli'] as const) certs[role] = await createCert({ ca, role });
  withBroker = await listen(handlers);
  withoutBroker = await listen(base);
});
afterAll(() => {
  for (const s of servers) s.forceShutdown();
});

const as = (role: string, address = withBroker): ClusterClient => new ClusterClient(address, { caPem: ca.certPem, certPem: certs[role]!.certPem, keyPem: certs[role]!.keyPem });
const plan = (evalId: string): Plan => ({ evalId, evalToken: 'tok', priority: 50, allAtOnce: false, job: null, nodeUpdate: {}, nodeAllocation: { n1: [] }, nodePreemptions: {}, deployment: null, deploymentUpdates: [], snapshotIndex: 3 });

describe('ClusterService worker calls', () => {
  it('carries a delivery, an empty wait, ack, nack and a plan with its result across', async () => {
    const c = as('server');
    calls.length = 0;
    try {
      const ev = mockEval({ id: 'e1', jobId: 'web', modifyIndex: 12 });
      nextDequeue = async () => ({ eval: ev, token: 'tok', waitIndex: 30 });
      expect(await c.evalDequeue(['service', 'batch'], 250, 's2/worker-0')).toEqual({ eval: ev, token: 'tok', waitIndex: 30 });
      nextDequeue = async () => null;
      expect(await c.evalDequeue(['service'], 250, 's2/worker-0')).toBeNull();
      await c.evalAck('e1', 'tok');
      await c.evalNack('e1', 'tok');
      expect(await c.planSubmit(plan('e1'))).toEqual(result);
      expect(await c.evalUpdate([{ ...ev, status: 'complete' }, mockEval({ id: 'f1', status: 'blocked' })], { evalId: 'e1', token: 'tok' })).toBe(77);
      await expect(c.evalUpdate([ev], { evalId: 'e1', token: 'stale' })).rejects.toMatchObject({ code: 'conflict', field: 'token' });
      expect(calls).toEqual(['dequeue service,batch 250 s2/worker-0', 'dequeue service 250 s2/worker-0', 'ack e1 tok', 'nack e1 tok', 'plan e1 tok n1', 'evals e1:complete,f1:blocked under e1 tok']);
      await expect(c.evalAck('e1', 'stale')).rejects.toMatchObject({ code: 'conflict', field: 'token' });
    } finally {
      c.close();
    }
  });

  it('refuses bad input by field before any handler runs; a cli certificate; a server without a broker', async () => {
    const c = as('server');
    const cli = as('cli');
    const bare = as('server', withoutBroker);
    calls.length = 0;
    try {
      await expect(c.evalDequeue([], 100, 'w')).rejects.toMatchObject({ code: 'invalid_argument', field: 'scheduler_types' });
      await expect(c.evalAck('', 'tok')).rejects.toMatchObject({ code: 'invalid_argument', field: 'eval_id' });
      await expect(c.evalNack('e1', '')).rejects.toMatchObject({ code: 'invalid_argument', field: 'token' });
      await expect(c.planSubmit(plan(''))).rejects.toMatchObject({ code: 'invalid_argument', field: 'plan_json.evalId' });
      await expect(c.evalUpdate([mockEval({ id: 'e1' })], { evalId: '', token: 'tok' })).rejects.toMatchObject({ code: 'invalid_argument', field: 'eval_id' });
      await expect(c.evalUpdate([{ ...mockEval({ id: 'e1' }), id: '' }], { evalId: 'e1', token: 'tok' })).rejects.toMatchObject({ code: 'invalid_argument', field: 'evals_json' });
      await expect(cli.evalUpdate([mockEval({ id: 'e1' })], { evalId: 'e1', token: 'tok' })).rejects.toMatchObject({ code: 'permission_denied' });
      await expect(cli.evalDequeue(['service'], 100, 'w')).rejects.toMatchObject({ code: 'permission_denied' });
      await expect(cli.evalAck('e1', 'tok')).rejects.toMatchObject({ code: 'permission_denied' });
      await expect(cli.planSubmit(plan('e1'))).rejects.toMatchObject({ code: 'permission_denied' });
      expect(calls).toEqual([]);
      await expect(bare.evalDequeue(['service'], 100, 'w')).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/runs no eval broker/) as unknown });
      await expect(bare.planSubmit(plan('e1'))).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/runs no plan applier/) as unknown });
      await expect(bare.evalUpdate([mockEval({ id: 'e1' })], { evalId: 'e1', token: 'tok' })).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/runs no eval broker/) as unknown });
    } finally {
      c.close();
      cli.close();
      bare.close();
    }
  });

  it('a caller that cancels its long poll gets null; an evaluation handed out as the call went away is nacked at once', async () => {
    const c = as('server');
    calls.length = 0;
    try {
      let aborted!: () => void;
      const sawAbort = new Promise<void>((r) => (aborted = r));
      // The eval arrives exactly as the worker goes away: the handler answers once its call is cancelled.
      nextDequeue = (signal) => new Promise((resolve) => signal.addEventListener('abort', () => {
        aborted();
        resolve({ eval: mockEval({ id: 'e9' }), token: 'late', waitIndex: 0 });
      }, { once: true }));
      const ctl = new AbortController();
      const got = c.evalDequeue(['service'], 10_000, 's3/worker-1', ctl.signal);
      for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      ctl.abort();
      expect(await got).toBeNull();
      await sawAbort;
      for (let i = 0; i < 100 && !calls.includes('nack e9 late'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toEqual(['dequeue service 10000 s3/worker-1', 'nack e9 late']);
    } finally {
      c.close();
    }
  });
});
