/**
 * Snapshot encoding: the whole state as canonical JSON (sorted keys, rows sorted by
 * key), so the same state always gives the same bytes. Allocations carry a copy of
 * their job; the snapshot stores each distinct job once (`allocJobs`) and allocations
 * point at it by position, which also makes restored allocations share job objects.
 */
import type { PMap } from './pmap.js';
import { NomadError } from '../lib/index.js';
import { TableNames } from '../structs/index.js';
import type { Job, TableName } from '../structs/index.js';
import { canonicalJson } from './canonical.js';
import { emptyTables, WriteTxn } from './tables.js';
import type { Tables } from './tables.js';
import { checkAlloc, checkDeployment, checkEval, checkJob, checkNode, checkSchedulerConfig, isObject, reqId, reqNumber } from './validate.js';

export const SnapshotFormat = 'nomadts-state';
export const SnapshotVersion = 1;

function sortedValues<T>(m: PMap<T>): T[] {
  const keys = [...m.keys()].sort();
  return keys.map((k) => m.get(k)!);
}

function rows(values: readonly unknown[]): string {
  return '[' + values.map((v) => canonicalJson(v)).join(',') + ']';
}

export function encodeSnapshot(t: Tables): Uint8Array {
  const parts: string[] = [];
  const field = (name: string, json: string): void => {
    parts.push(`${JSON.stringify(name)}:${json}`);
  };
  field('format', JSON.stringify(SnapshotFormat));
  field('version', String(SnapshotVersion));
  field('index', String(t.index));
  field('tableIndex', canonicalJson(t.tableIndex));
  field('schedulerConfig', canonicalJson(t.schedulerConfig));
  field('jobs', rows(sortedValues(t.jobs)));
  field('jobVersions', rows(sortedValues(t.jobVersions)));
  field('nodes', rows(sortedValues(t.nodes)));
  // Allocations: jobs pooled by content (identity first, to skip re-encoding shared jobs).
  const byIdentity = new Map<Job, number>();
  const byContent = new Map<string, number>();
  const pool: string[] = [];
  const allocRows: string[] = [];
  for (const a of sortedValues(t.allocs)) {
    let ref = byIdentity.get(a.job);
    if (ref === undefined) {
      const json = canonicalJson(a.job);
      ref = byContent.get(json);
      if (ref === undefined) {
        ref = pool.length;
        pool.push(json);
        byContent.set(json, ref);
      }
      byIdentity.set(a.job, ref);
    }
    allocRows.push(canonicalJson({ ...a, job: ref }));
  }
  field('allocJobs', '[' + pool.join(',') + ']');
  field('allocs', '[' + allocRows.join(',') + ']');
  field('evals', rows(sortedValues(t.evals)));
  field('deployments', rows(sortedValues(t.deployments)));
  field('periodicLaunch', rows(sortedValues(t.periodicLaunch)));
  return new TextEncoder().encode('{' + parts.join(',') + '}');
}

function corrupt(message: string): never {
  throw new NomadError('invalid_argument', `snapshot refused: ${message}`, { field: 'snapshot' });
}

function list(doc: Record<string, unknown>, name: string): unknown[] {
  const v = doc[name];
  if (!Array.isArray(v)) corrupt(`"${name}" must be an array`);
  return v;
}

/** Decode and check a snapshot; throws (and builds nothing visible) when it is not one we wrote. */
export function decodeSnapshot(bytes: Uint8Array, freeze = true): Tables {
  if (!(bytes instanceof Uint8Array)) corrupt('expected bytes');
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    corrupt(`not valid JSON (${e instanceof Error ? e.message : 'decode error'})`);
  }
  if (!isObject(doc)) corrupt('not an object');
  if (doc.format !== SnapshotFormat) corrupt(`unknown format ${JSON.stringify(doc.format) ?? 'none'} (want "${SnapshotFormat}")`);
  if (doc.version !== SnapshotVersion) corrupt(`unsupported version ${JSON.stringify(doc.version) ?? 'none'} (this build reads version ${SnapshotVersion})`);
  try {
    return build(doc, freeze);
  } catch (e) {
    if (e instanceof NomadError && e.message.startsWith('snapshot refused')) throw e;
    corrupt(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Check an image completely (format, version, every row) without touching any state; returns
 * the index it was saved at. Throws the same NomadError as decodeSnapshot.
 */
export function checkSnapshot(bytes: Uint8Array): number {
  return decodeSnapshot(bytes, false).index;
}

function build(doc: Record<string, unknown>, freeze: boolean): Tables {
  const index = reqNumber(doc.index, 'index');
  if (!Number.isSafeInteger(index) || index < 0) corrupt(`index ${index} is not a log index`);
  const ti = doc.tableIndex;
  if (!isObject(ti)) corrupt('"tableIndex" must be an object');
  const tableIndex = {} as Record<TableName, number>;
  for (const t of TableNames) {
    const v = reqNumber(ti[t], `tableIndex.${t}`);
    if (v > index) corrupt(`table ${t} index ${v} is above the snapshot index ${index}`);
    tableIndex[t] = v;
  }
  const txn = new WriteTxn(emptyTables(), index, freeze);
  list(doc, 'jobs').forEach((j, i) => txn.putJob(checkJob(j, `jobs[${i}]`)));
  list(doc, 'jobVersions').forEach((vs, i) => {
    if (!Array.isArray(vs) || vs.length === 0) corrupt(`jobVersions[${i}] must be a non-empty array`);
    const jobs = vs.map((j, n) => checkJob(j, `jobVersions[${i}][${n}]`));
    txn.putJobVersions(jobs[0]!.namespace, jobs[0]!.id, jobs);
  });
  list(doc, 'nodes').forEach((n, i) => txn.putNode(checkNode(n, `nodes[${i}]`)));
  const pool = list(doc, 'allocJobs').map((j, i) => checkJob(j, `allocJobs[${i}]`));
  list(doc, 'allocs').forEach((raw, i) => {
    if (!isObject(raw)) corrupt(`allocs[${i}] must be an object`);
    const ref = raw.job;
    const job = typeof ref === 'number' ? pool[ref] : undefined;
    if (job === undefined) corrupt(`allocs[${i}].job must point into allocJobs`);
    txn.putAlloc(checkAlloc({ ...raw, job }, `allocs[${i}]`, false));
  });
  list(doc, 'evals').forEach((e, i) => txn.putEval(checkEval(e, `evals[${i}]`)));
  list(doc, 'deployments').forEach((d, i) => txn.putDeployment(checkDeployment(d, `deployments[${i}]`)));
  list(doc, 'periodicLaunch').forEach((raw, i) => {
    if (!isObject(raw)) corrupt(`periodicLaunch[${i}] must be an object`);
    reqId(raw.namespace, `periodicLaunch[${i}].namespace`);
    reqId(raw.jobId, `periodicLaunch[${i}].jobId`);
    reqNumber(raw.launch, `periodicLaunch[${i}].launch`);
    txn.putPeriodicLaunch(raw as never);
  });
  txn.putSchedulerConfig({ ...checkSchedulerConfig(doc.schedulerConfig, 'schedulerConfig') });
  return { ...txn.commit(), tableIndex: Object.freeze(tableIndex), index };
}

