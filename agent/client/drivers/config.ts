/**
 * Small checks for task `config` blocks. Each problem is a NomadError whose field is
 * `config.<key>` and whose message says what was expected, so the operator can fix it.
 */
import { NomadError } from '../../core/lib/index.js';
import { parseDuration } from '../../jobspec/index.js';

export class ConfigChecker {
  readonly errors: NomadError[] = [];

  constructor(
    private readonly driver: string,
    private readonly config: Record<string, unknown>,
    allowed: readonly string[],
  ) {
    const known = new Set(allowed);
    for (const key of Object.keys(config).sort()) {
      if (!known.has(key)) this.fail(key, `unknown option for the ${driver} driver (known: ${allowed.join(', ')})`);
    }
  }

  /** A string; `required` refuses absence and the empty string. */
  string(key: string, required: boolean): string | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) {
      if (required) this.fail(key, 'is required (a non-empty string)');
      return undefined;
    }
    if (typeof v !== 'string') return this.fail(key, `must be a string, got ${describe(v)}`);
    if (required && v === '') return this.fail(key, 'must not be empty');
    return v;
  }

  stringArray(key: string): string[] | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.fail(key, `must be a list of strings, got ${describe(v)}`);
    const out: string[] = [];
    v.forEach((item: unknown, i) => {
      if (typeof item === 'string') out.push(item);
      else this.fail(`${key}[${i}]`, `must be a string, got ${describe(item)}`);
    });
    return out;
  }

  integer(key: string): number | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) return this.fail(key, `must be an integer, got ${describe(v)}`);
    return n;
  }

  /** A Go-style duration string ("30s", "250ms") or a number of milliseconds; must be ≥ 0. */
  duration(key: string): number | undefined {
    const v = this.config[key];
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined || !Number.isFinite(ms)) return this.fail(key, `must be a duration such as "10s" or "250ms", got ${describe(v)}`);
    if (ms < 0) return this.fail(key, `must not be negative, got ${describe(v)}`);
    return ms;
  }

  private fail(key: string, message: string): undefined {
    const field = `config.${key}`;
    this.errors.push(new NomadError('validation', `${this.driver}: ${field} ${message}`, { field }));
    return undefined;
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
