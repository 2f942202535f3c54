/**
 * Input variables: `variable "x" { type, default, description }` blocks, values from
 * -var name=value, -var-file files and NOMAD_VAR_x environment variables, and the
 * interpolation of `${var.x}` in every string of the job. Runtime references
 * (`${attr.*}`, `${meta.*}`, `${node.*}`, `${env...}`, `${NOMAD_*}`, …) stay as written
 * for the client; `$${` becomes a literal `${` and `%%{` a literal `%{`.
 */
import type { FieldPath, Issues } from './path.js';
import { attr, block } from './path.js';

export type VarType =
  | { kind: 'string' | 'number' | 'bool' | 'any' }
  | { kind: 'list' | 'map'; elem: VarType };

export interface VariableDecl {
  name: string;
  type: VarType;
  defaultValue: unknown;
  hasDefault: boolean;
}

const RUNTIME_ROOTS = /^(attr|meta|node|env|unique|device|driver|NOMAD_[A-Za-z0-9_]*|taskdir)\b/;
const VAR_REF = /^var\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\s*(?:\d+|"[^"]*")\s*\])*)$/;

export function parseVarType(text: unknown): VarType | undefined {
  if (text === undefined) return { kind: 'any' };
  if (typeof text !== 'string') return undefined;
  const t = text.replace(/^\$\{/, '').replace(/\}$/, '').replace(/\s+/g, '');
  if (t === 'string' || t === 'number' || t === 'bool' || t === 'any') return { kind: t };
  const m = /^(list|set|map)\((.*)\)$/.exec(t);
  if (m === null) return undefined;
  const elem = parseVarType(m[2]);
  if (elem === undefined) return undefined;
  return { kind: m[1] === 'map' ? 'map' : 'list', elem };
}

export function typeName(t: VarType): string {
  return t.kind === 'list' || t.kind === 'map' ? `${t.kind}(${typeName(t.elem)})` : t.kind;
}

/** Converts `v` to `t` as HCL does (numbers/bools from strings and back); undefined if impossible. */
export function convert(v: unknown, t: VarType): { ok: true; value: unknown } | { ok: false } {
  switch (t.kind) {
    case 'any':
      return { ok: true, value: v };
    case 'string':
      if (typeof v === 'string') return { ok: true, value: v };
      if (typeof v === 'number' || typeof v === 'boolean') return { ok: true, value: String(v) };
      return { ok: false };
    case 'number':
      if (typeof v === 'number') return { ok: true, value: v };
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return { ok: true, value: Number(v) };
      return { ok: false };
    case 'bool':
      if (typeof v === 'boolean') return { ok: true, value: v };
      if (v === 'true' || v === 'false') return { ok: true, value: v === 'true' };
      return { ok: false };
    case 'list': {
      if (!Array.isArray(v)) return { ok: false };
      const out: unknown[] = [];
      for (const e of v) {
        const c = convert(e, t.elem);
        if (!c.ok) return c;
        out.push(c.value);
      }
      return { ok: true, value: out };
    }
    case 'map': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false };
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) {
        const c = convert(e, t.elem);
        if (!c.ok) return c;
        out[k] = c.value;
      }
      return { ok: true, value: out };
    }
  }
}

/** A value from a var-file or -var must be a literal: no references left in it. */
export function containsExpression(v: unknown): boolean {
  if (typeof v === 'string') return /(^|[^$])\$\{/.test(v);
  if (Array.isArray(v)) return v.some(containsExpression);
  if (v !== null && typeof v === 'object') return Object.values(v).some(containsExpression);
  return false;
}

/** Unescapes a literal string that came from an HCL var-file (`$${` → `${`). */
export function unescapeLiteral(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
  if (Array.isArray(v)) return v.map(unescapeLiteral);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, unescapeLiteral(e)]));
  return v;
}

export class Interpolator {
  constructor(
    private readonly values: ReadonlyMap<string, unknown>,
    private readonly issues: Issues,
    /** Declared variables that have no value (already reported once at their declaration). */
    private readonly unset: ReadonlySet<string> = new Set(),
  ) {}

  /** Interpolates every string inside `v` (recursively), reporting problems at `path`. */
  value(v: unknown, path: FieldPath): unknown {
    if (typeof v === 'string') return this.str(v, path);
    if (Array.isArray(v)) return v.map((e) => this.value(e, path));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) out[k] = this.value(e, path);
      return out;
    }
    return v;
  }

  private str(s: string, path: FieldPath): unknown {
    if (!s.includes('{')) return s;
    const parts: (string | { value: unknown; expr: string })[] = [];
    let lit = '';
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if ((c === '$' || c === '%') && s[i + 1] === c && s[i + 2] === '{') { lit += `${c}{`; i += 3; continue; }
      if (c === '%' && s[i + 1] === '{') {
        this.issues.add(path, 'uses a template directive (%{ ... }) that nomadts does not evaluate; write %%{ for a literal');
        return s;
      }
      if (c === '$' && s[i + 1] === '{') {
        const end = matchBrace(s, i + 2);
        if (end < 0) { lit += s.slice(i); break; }
        const expr = s.slice(i + 2, end).trim();
        i = end + 1;
        const ref = VAR_REF.exec(expr);
        if (ref !== null) {
          const r = this.lookup(ref[1]!, ref[2] ?? '', path);
          if (r === undefined) return s;
          if (lit !== '') parts.push(lit);
          lit = '';
          parts.push({ value: r.value, expr });
          continue;
        }
        if (RUNTIME_ROOTS.test(expr)) { lit += `\${${expr}}`; continue; }
        this.issues.add(path, `has an expression \${${expr}} that cannot be evaluated here: only var.<name> is substituted at parse time, attr./meta./node./env/NOMAD_* are kept for runtime; write $\${...} for a literal "\${"`);
        return s;
      }
      lit += c;
      i++;
    }
    if (lit !== '') parts.push(lit);
    if (parts.length === 1 && typeof parts[0] !== 'string') return parts[0]!.value;
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') { out += p; continue; }
      if (typeof p.value === 'string' || typeof p.value === 'number' || typeof p.value === 'boolean') out += String(p.value);
      else { this.issues.add(path, `interpolates \${${p.expr}} into a string, but its value is a ${Array.isArray(p.value) ? 'list' : 'map'}`); return s; }
    }
    return out;
  }

  private lookup(name: string, accessors: string, path: FieldPath): { value: unknown } | undefined {
    if (!this.values.has(name)) {
      if (this.unset.has(name)) return undefined;
      this.issues.add(path, `refers to an undeclared variable var.${name}; declare it with a variable "${name}" block`);
      return undefined;
    }
    let v = this.values.get(name);
    const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*(\d+|"[^"]*")\s*\]/g;
    for (let m = re.exec(accessors); m !== null; m = re.exec(accessors)) {
      const key = m[1] ?? (m[2]!.startsWith('"') ? m[2]!.slice(1, -1) : Number(m[2]));
      const next = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[key] : undefined;
      if (next === undefined) {
        this.issues.add(path, `refers to var.${name}${accessors}, which does not exist`);
        return undefined;
      }
      v = next;
    }
    return { value: v };
  }
}

/** Index of the `}` closing an interpolation whose body starts at `from`, or -1. */
function matchBrace(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) if (s[i] === '\\') i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

export const variablePath = (name: string): FieldPath => [block('variable', name)];
export const variableAttrPath = (name: string, a: string): FieldPath => [block('variable', name), attr(a)];
