/**
 * `nomadts tls ca create [-domain D] [-days N] [-common-name NAME]`: create the cluster's
 * certificate authority in the current directory (Nomad: `nomad tls ca create`).
 */
import { resolve } from 'node:path';
import { NomadError } from '../../agent/core/lib/index.js';
import { DEFAULT_DOMAIN, caFileNames, createCA, writeNewPemFiles } from '../../agent/tls/index.js';
import type { Out } from './jobspec-io.js';

export interface TlsFlags {
  values: Map<string, string>;
  repeated: Map<string, string[]>;
  booleans: Set<string>;
}

/**
 * Parses Nomad-style flags (one or two dashes, `-f v` or `-f=v`): `values` take one value,
 * `repeated` take one value each time, `booleans` none. The tls commands take no positional arguments.
 */
export function parseTlsFlags(args: readonly string[], spec: { values?: readonly string[]; repeated?: readonly string[]; booleans?: readonly string[] }): TlsFlags {
  const out: TlsFlags = { values: new Map(), repeated: new Map(), booleans: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--?([a-z][a-z-]*)(?:=(.*))?$/s.exec(a);
    if (m === null) throw new NomadError('invalid_argument', `unexpected argument ${JSON.stringify(a)}: this command takes only flags`);
    const name = m[1]!;
    if (spec.values?.includes(name) || spec.repeated?.includes(name)) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new NomadError('invalid_argument', `-${name} needs a value`);
      if (spec.repeated?.includes(name)) {
        out.repeated.set(name, [...(out.repeated.get(name) ?? []), v]);
      } else {
        if (out.values.has(name)) throw new NomadError('invalid_argument', `-${name} given more than once`);
        out.values.set(name, v);
      }
    } else if (spec.booleans?.includes(name)) {
      if (m[2] !== undefined) throw new NomadError('invalid_argument', `-${name} takes no value`);
      out.booleans.add(name);
    } else {
      throw new NomadError('invalid_argument', `unknown flag ${a}`);
    }
  }
  return out;
}

/** A whole number of days from `-days`, or undefined when the flag is absent. */
export function daysFlag(f: TlsFlags): number | undefined {
  const v = f.values.get('days');
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new NomadError('invalid_argument', `-days must be a whole number of days, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function errorText(err: unknown): string {
  return `Error: ${err instanceof Error ? err.message : String(err)}\n`;
}

/** Returns the exit code: 0 when the CA was written, 1 otherwise (nothing written). */
export async function tlsCaCreate(args: readonly string[], out: Out, opts: { cwd?: string } = {}): Promise<number> {
  try {
    const f = parseTlsFlags(args, { values: ['domain', 'days', 'common-name'] });
    const domain = f.values.get('domain') ?? DEFAULT_DOMAIN;
    const names = caFileNames(domain);
    const cwd = opts.cwd ?? process.cwd();
    const commonName = f.values.get('common-name');
    const days = daysFlag(f);
    const ca = await createCA({ domain, ...(days === undefined ? {} : { days }), ...(commonName === undefined ? {} : { commonName }) });
    writeNewPemFiles([
      { path: resolve(cwd, names.cert), content: ca.certPem, secret: false },
      { path: resolve(cwd, names.key), content: ca.keyPem, secret: true },
    ]);
    out.stdout(`==> CA certificate saved to: ${names.cert}\n==> CA certificate key saved to: ${names.key}\n`);
    return 0;
  } catch (err) {
    out.stderr(errorText(err));
    return 1;
  }
}

