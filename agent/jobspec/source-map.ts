/**
 * A light scan of HCL native syntax that finds where blocks and attributes start, and
 * measures nesting depth. hcl2json's output carries no positions, so error messages
 * locate their field here (best effort: a block header or attribute name). The same
 * scan rejects absurd nesting before the WASM parser sees the text.
 */
import { NomadError } from '../core/lib/index.js';
import type { FieldPath } from './path.js';

export interface SourcePos {
  line: number;
  column: number;
}

interface BlockNode {
  pos: SourcePos;
  blocks: { name: string; labels: string[]; node: BlockNode }[];
  attrs: Map<string, SourcePos>;
}

type TokKind = 'ident' | 'string' | 'heredoc' | 'punct' | 'nl' | 'other';
interface Tok {
  kind: TokKind;
  value: string;
  line: number;
  column: number;
}

export class SourceMap {
  private constructor(private readonly root: BlockNode) {}

  /**
   * Scans `text`; throws a `too_deep` NomadError when brackets, blocks or template
   * interpolations nest deeper than `maxDepth`.
   */
  static scan(text: string, file: string, maxDepth: number): SourceMap {
    const toks = tokenize(text, file, maxDepth);
    const root: BlockNode = { pos: { line: 1, column: 1 }, blocks: [], attrs: new Map() };
    const p = { i: 0 };
    parseBody(toks, p, root, true);
    return new SourceMap(root);
  }

  /** Source order of the labelled blocks `name` directly inside the block at `path`. */
  labelOrder(path: FieldPath, name: string): string[] {
    const node = this.walk(path).node;
    return node.blocks.filter((b) => b.name === name).map((b) => b.labels[0] ?? '');
  }

  locate(path: FieldPath): SourcePos | undefined {
    const { node, complete, attrPos } = this.walk(path);
    if (attrPos !== undefined) return attrPos;
    if (node === this.root && !complete) return undefined;
    return node.pos;
  }

  private walk(path: FieldPath): { node: BlockNode; complete: boolean; attrPos?: SourcePos } {
    let node = this.root;
    for (const seg of path) {
      if (seg.kind === 'attr') {
        const a = node.attrs.get(seg.name) ?? node.blocks.find((b) => b.name === seg.name)?.node.pos;
        return a === undefined ? { node, complete: false } : { node, complete: true, attrPos: a };
      }
      const candidates = node.blocks.filter((b) => b.name === seg.name && (seg.label === undefined || b.labels[0] === seg.label));
      const hit = candidates[seg.index ?? 0] ?? (seg.label === undefined ? undefined : candidates[0]);
      if (hit === undefined) {
        // An attribute form (meta = {...}) of a block-ish field still has a position.
        const a = node.attrs.get(seg.name);
        return a === undefined ? { node, complete: false } : { node, complete: false, attrPos: a };
      }
      node = hit.node;
    }
    return { node, complete: true };
  }
}

function parseBody(toks: Tok[], p: { i: number }, node: BlockNode, top: boolean): void {
  while (p.i < toks.length) {
    const t = toks[p.i]!;
    if (t.kind === 'nl') { p.i++; continue; }
    if (t.kind === 'punct' && t.value === '}') { p.i++; if (!top) return; continue; }
    if (t.kind !== 'ident') { p.i++; continue; }
    const next = toks[p.i + 1];
    if (next !== undefined && next.kind === 'punct' && (next.value === '=' || next.value === ':')) {
      if (!node.attrs.has(t.value)) node.attrs.set(t.value, { line: t.line, column: t.column });
      p.i += 2;
      skipExpression(toks, p);
      continue;
    }
    const labels: string[] = [];
    let j = p.i + 1;
    while (j < toks.length && (toks[j]!.kind === 'string' || toks[j]!.kind === 'ident')) { labels.push(toks[j]!.value); j++; }
    const open = toks[j];
    if (open !== undefined && open.kind === 'punct' && open.value === '{') {
      const child: BlockNode = { pos: { line: t.line, column: t.column }, blocks: [], attrs: new Map() };
      node.blocks.push({ name: t.value, labels, node: child });
      p.i = j + 1;
      parseBody(toks, p, child, false);
      continue;
    }
    p.i = j;
  }
}

function skipExpression(toks: Tok[], p: { i: number }): void {
  let depth = 0;
  while (p.i < toks.length) {
    const t = toks[p.i]!;
    if (depth === 0 && (t.kind === 'nl' || (t.kind === 'punct' && t.value === '}'))) return;
    if (t.kind === 'punct') {
      if (t.value === '{' || t.value === '[' || t.value === '(') depth++;
      else if (t.value === '}' || t.value === ']' || t.value === ')') depth--;
    }
    p.i++;
  }
}

function tokenize(text: string, file: string, maxDepth: number): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let depth = 0;
  const n = text.length;
  const col = (at: number): number => at - lineStart + 1;
  const deeper = (at: number): void => {
    depth++;
    if (depth > maxDepth) {
      throw new NomadError('too_deep', `nesting deeper than ${maxDepth} levels`, { position: { file, line, column: col(at) } });
    }
  };
  const newline = (at: number): void => { line++; lineStart = at + 1; };

  // Skips a quoted template starting after the opening quote; returns its rough literal value.
  const skipString = (): string => {
    let out = '';
    while (i < n) {
      const c = text[i]!;
      if (c === '"') { i++; return out; }
      if (c === '\\') { out += text[i + 1] ?? ''; i += 2; continue; }
      if (c === '\n') { newline(i); i++; return out; } // unterminated: let the real parser report it
      if ((c === '$' || c === '%') && text[i + 1] === '{') {
        if (text[i - 1] === c && text[i - 2] !== c) { out += '{'; i += 2; continue; } // $${ escape
        i += 2;
        skipInterpolation(i - 2);
        continue;
      }
      out += c;
      i++;
    }
    return out;
  };
  const skipInterpolation = (at: number): void => {
    deeper(at);
    let braces = 0;
    while (i < n) {
      const c = text[i]!;
      if (c === '"') { i++; skipString(); continue; }
      if (c === '\n') { newline(i); i++; continue; }
      if (c === '{') { braces++; deeper(i); i++; continue; }
      if (c === '}') {
        i++;
        if (braces === 0) { depth--; return; }
        braces--; depth--;
        continue;
      }
      i++;
    }
  };

  while (i < n) {
    const c = text[i]!;
    const start = i;
    if (c === '\n') { toks.push({ kind: 'nl', value: '\n', line, column: col(i) }); newline(i); i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) { while (i < n && text[i] !== '\n') i++; continue; }
    if (c === '/' && text[i + 1] === '*') {
      i += 2;
      while (i < n && !(text[i] === '*' && text[i + 1] === '/')) { if (text[i] === '\n') newline(i); i++; }
      i += 2;
      continue;
    }
    if (c === '"') {
      const l = line; const cl = col(i);
      i++;
      toks.push({ kind: 'string', value: skipString(), line: l, column: cl });
      continue;
    }
    if (c === '<' && text[i + 1] === '<') {
      const m = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(text.slice(i, i + 200));
      if (m !== null) {
        const l = line; const cl = col(i);
        const marker = m[1]!;
        i += m[0].length;
        newline(i - 1);
        while (i < n) {
          const end = text.indexOf('\n', i);
          const ln = text.slice(i, end === -1 ? n : end);
          if (ln.trim() === marker) { i = end === -1 ? n : end; break; }
          if (end === -1) { i = n; break; }
          newline(end);
          i = end + 1;
        }
        toks.push({ kind: 'heredoc', value: '', line: l, column: cl });
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_-]/.test(text[i]!)) i++;
      toks.push({ kind: 'ident', value: text.slice(start, i), line, column: col(start) });
      continue;
    }
    if ('{[('.includes(c)) { deeper(i); toks.push({ kind: 'punct', value: c, line, column: col(i) }); i++; continue; }
    if ('}])'.includes(c)) { depth = Math.max(0, depth - 1); toks.push({ kind: 'punct', value: c, line, column: col(i) }); i++; continue; }
    if (c === '=' || c === ':') {
      // `==` and `=>` are operators, not attribute assignment.
      const nx = text[i + 1];
      if (c === '=' && (nx === '=' || nx === '>')) { i += 2; toks.push({ kind: 'other', value: '==', line, column: col(start) }); continue; }
      toks.push({ kind: 'punct', value: c, line, column: col(i) }); i++; continue;
    }
    i++;
    toks.push({ kind: 'other', value: c, line, column: col(start) });
  }
  return toks;
}

/** Maximum bracket depth of JSON text (strings skipped); throws too_deep past `maxDepth`. */
export function checkJsonDepth(text: string, file: string, maxDepth: number): void {
  let depth = 0;
  let line = 1;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{' || c === '[') {
      depth++;
      if (depth > maxDepth) throw new NomadError('too_deep', `nesting deeper than ${maxDepth} levels`, { position: { file, line } });
    } else if (c === '}' || c === ']') depth--;
  }
}
