/**
 * Cron expression syntax check, following the grammar Nomad's cron library accepts:
 * 5 fields (minute hour day-of-month month day-of-week), 6 fields (… year) or 7 fields
 * (second … year), or a predefined @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly.
 * Returns an error text, or undefined when the expression is valid.
 */

interface FieldSpec { name: string; min: number; max: number; names?: readonly string[]; special?: RegExp }

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31, special: /^(\?|L|LW|\d{1,2}W)$/i };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS };
const DOW: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAYS, special: /^(\?|[0-7]L|[0-7]#[1-5])$/i };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2099 };

const PREDEFINED = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

export function checkCron(expr: string): string | undefined {
  const text = expr.trim();
  if (text === '') return 'is empty';
  if (text.startsWith('@')) return PREDEFINED.has(text.toLowerCase()) ? undefined : `unknown predefined schedule ${JSON.stringify(text)}`;
  const fields = text.split(/\s+/);
  let specs: FieldSpec[];
  if (fields.length === 5) specs = [MINUTE, HOUR, DOM, MONTH, DOW];
  else if (fields.length === 6) specs = [MINUTE, HOUR, DOM, MONTH, DOW, YEAR];
  else if (fields.length === 7) specs = [SECOND, MINUTE, HOUR, DOM, MONTH, DOW, YEAR];
  else return `has ${fields.length} fields; expected 5 (minute hour day-of-month month day-of-week), 6 (… year) or 7 (second … year)`;
  for (let k = 0; k < specs.length; k++) {
    const err = checkField(fields[k]!, specs[k]!);
    if (err !== undefined) return err;
  }
  return undefined;
}

function value(token: string, spec: FieldSpec): number | undefined {
  if (/^\d+$/.test(token)) {
    const v = Number(token);
    return v >= spec.min && v <= spec.max ? v : undefined;
  }
  const idx = spec.names?.indexOf(token.toLowerCase()) ?? -1;
  if (idx < 0) return undefined;
  return spec === MONTH ? idx + 1 : idx;
}

function checkField(field: string, spec: FieldSpec): string | undefined {
  for (const item of field.split(',')) {
    const bad = `${spec.name} field ${JSON.stringify(field)} is invalid`;
    if (item === '') return bad;
    if (spec.special?.test(item) === true) continue;
    const [range, step, ...extra] = item.split('/');
    if (extra.length > 0 || range === undefined) return bad;
    if (step !== undefined && !/^[1-9]\d*$/.test(step)) return `${bad} (step must be a positive integer)`;
    if (range === '*') continue;
    const ends = range.split('-');
    if (ends.length > 2) return bad;
    const lo = value(ends[0]!, spec);
    if (lo === undefined) return `${bad} (${JSON.stringify(ends[0])} is outside ${spec.min}-${spec.max})`;
    if (ends.length === 2) {
      const hi = value(ends[1]!, spec);
      if (hi === undefined) return `${bad} (${JSON.stringify(ends[1])} is outside ${spec.min}-${spec.max})`;
      if (hi < lo) return `${bad} (range ${range} runs backwards)`;
    }
  }
  return undefined;
}
