/**
 * The small pieces every conversion uses: enum tables (domain string ↔ proto number),
 * required-field checks and map copies. A decoding problem is a NomadError whose
 * `field` is the domain path of the bad field (`job.taskGroups[0].tasks[1].resources`).
 */
import { NomadError } from '../core/lib/index.js';

export function missingField(path: string, field: string): NomadError {
  const where = `${path}.${field}`;
  return new NomadError('invalid_argument', `${where}: required field is missing`, { field: where });
}

export function invalidField(path: string, field: string, why: string): NomadError {
  const where = `${path}.${field}`;
  return new NomadError('invalid_argument', `${where}: ${why}`, { field: where });
}

/** A message field the domain cannot do without. */
export function required<T>(value: T | undefined, path: string, field: string): T {
  if (value === undefined) throw missingField(path, field);
  return value;
}

/**
 * One domain string union ↔ one proto enum. The table is a Record over the domain
 * union, so the compiler refuses a table that forgets a domain value; 0 is the proto's
 * UNSPECIFIED and reads as "missing".
 */
export class EnumCodec<D extends string, P extends number> {
  private readonly toWire: ReadonlyMap<string, P>;
  private readonly toDomain: ReadonlyMap<number, D>;

  constructor(private readonly name: string, table: Readonly<Record<D, P>>) {
    const toWire = new Map<string, P>();
    const toDomain = new Map<number, D>();
    for (const [d, p] of Object.entries(table) as [D, P][]) {
      if (p === 0 || toDomain.has(p)) throw new Error(`EnumCodec ${name}: proto value ${p} used twice or UNSPECIFIED`);
      toWire.set(d, p);
      toDomain.set(p, d);
    }
    this.toWire = toWire;
    this.toDomain = toDomain;
  }

  encode(value: D, path: string, field: string): P {
    const p = this.toWire.get(value);
    if (p === undefined) throw invalidField(path, field, `"${String(value)}" is not a valid ${this.name}`);
    return p;
  }

  decode(value: number, path: string, field: string): D {
    const d = this.toDomain.get(value);
    if (d !== undefined) return d;
    if (value === 0) throw missingField(path, field);
    throw invalidField(path, field, `${value} is not a valid ${this.name} value`);
  }
}

/** A copy of a string map (proto maps are plain objects too; the copy keeps the two apart). */
export function copyMap<V>(m: Readonly<Record<string, V>>): Record<string, V> {
  return { ...m };
}

/** `m` with `fn` applied to each value; `fn` gets the key for error paths. */
export function mapValues<A, B>(m: Readonly<Record<string, A>>, fn: (value: A, key: string) => B): Record<string, B> {
  const out: Record<string, B> = {};
  for (const k of Object.keys(m)) out[k] = fn(m[k]!, k);
  return out;
}

/** A JSON string key for an error path: `taskStates["web"]`. */
export function keyPath(path: string, field: string, key: string): string {
  return `${path}.${field}[${JSON.stringify(key)}]`;
}
