/**
 * JSON forms of a job: the canonical Job as `nomadts job run -output` prints it (read back
 * strictly: unknown keys and wrong types refused), and hcl2json's shape ({"job": {...}}),
 * which goes through the same decoder as HCL.
 */
import type { Job } from '../core/structs/index.js';
import type { FieldPath, Issues } from './path.js';
import { attr, block } from './path.js';
import { canonicalizeJob } from './canonicalize.js';
import type { JobDraft } from './draft.js';

export function jobToJSON(job: Job): string {
  return `${JSON.stringify(job, null, 2)}\n`;
}

/** Keys whose values are free-form maps (driver config, env, meta, artifact options). */
const FREE_MAPS = new Set(['config', 'env', 'meta', 'options']);

let template: Job | undefined;
function shapeTemplate(): Job {
  template ??= canonicalizeJob({
    type: 'batch',
    constraints: [{}], affinities: [{}], spreads: [{ targets: [{}] }], update: {}, periodic: {}, parameterized: {},
    taskGroups: [{
      constraints: [{}], affinities: [{}], spreads: [{ targets: [{}] }], update: {}, migrate: {}, reschedule: {},
      networks: [{ reservedPorts: [{}], dynamicPorts: [{}] }], services: [{ checks: [{}] }],
      tasks: [{
        lifecycle: {}, templates: [{}], artifacts: [{}], services: [{ checks: [{}] }], constraints: [{}], affinities: [{}],
      }],
    }],
  });
  return template;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Checks `value` against the shape of `shape` (a fully canonical sample), reporting at `path`. */
function checkShape(value: unknown, shape: unknown, path: FieldPath, issues: Issues, nullable: boolean): void {
  if (value === null && nullable) return;
  const want = kind(shape);
  const got = kind(value);
  if (want !== got) {
    issues.add(path, `must be ${want === 'object' ? 'an object' : `a ${want}`}${nullable ? ' or null' : ''}, got ${got}`);
    return;
  }
  if (Array.isArray(shape) && Array.isArray(value)) {
    const elem: unknown = shape[0];
    const last = path[path.length - 1];
    const name = last?.name ?? '';
    value.forEach((e, i) => {
      const p = [...path.slice(0, -1), block(name, undefined, i)];
      if (elem === undefined) {
        if (typeof e !== 'string') issues.add(p, `must be a string, got ${kind(e)}`);
      } else checkShape(e, elem, p, issues, false);
    });
    return;
  }
  if (got === 'object') {
    const s = shape as Record<string, unknown>;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = [...path, attr(k)];
      if (!(k in s)) { issues.add(p, 'is not a known field'); continue; }
      if (FREE_MAPS.has(k)) {
        if (kind(v) !== 'object') issues.add(p, `must be an object, got ${kind(v)}`);
        else if (k !== 'config') for (const [mk, mv] of Object.entries(v as object)) if (typeof mv !== 'string') issues.add(p, `value for key ${JSON.stringify(mk)} must be a string`);
        continue;
      }
      // Optional blocks in the domain type are `X | null`; the sample holds the object form.
      const isNullable = ['update', 'periodic', 'parameterized', 'migrate', 'reschedule', 'lifecycle'].includes(k);
      checkShape(v, s[k], p, issues, isNullable);
    }
  }
}

/** Decodes the canonical JSON form into a draft (missing fields take defaults). */
export function decodeJobObject(value: unknown, issues: Issues): JobDraft | undefined {
  const before = issues.list.length;
  checkShape(value, shapeTemplate(), [], issues, false);
  if (issues.list.length > before) return undefined;
  return value as JobDraft;
}
