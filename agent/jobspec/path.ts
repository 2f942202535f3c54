/**
 * Field paths inside a job specification, and the collector that turns problems at
 * those paths into NomadErrors with file:line:column (located best-effort in the source).
 */
import { NomadError, MultiError } from '../core/lib/index.js';
import type { ErrorCode } from '../core/lib/index.js';
import type { SourceMap } from './source-map.js';

export type PathSegment =
  | { kind: 'block'; name: string; label?: string; index?: number }
  | { kind: 'attr'; name: string };

export type FieldPath = readonly PathSegment[];

export const block = (name: string, label?: string, index?: number): PathSegment =>
  label === undefined ? (index === undefined ? { kind: 'block', name } : { kind: 'block', name, index }) : index === undefined ? { kind: 'block', name, label } : { kind: 'block', name, label, index };
export const attr = (name: string): PathSegment => ({ kind: 'attr', name });

/**
 * `group "web" task "api": resources.memory`. The job block itself is left out
 * (there is one per file); labelled group/task blocks lead, the rest is dotted.
 */
export function formatPath(path: FieldPath): string {
  const head: string[] = [];
  const tail: string[] = [];
  for (const seg of path) {
    if (seg.kind === 'block' && seg.name === 'job') continue;
    if (seg.kind === 'block' && seg.label !== undefined && tail.length === 0 && (seg.name === 'group' || seg.name === 'task' || seg.name === 'variable')) {
      head.push(`${seg.name} ${JSON.stringify(seg.label)}`);
      continue;
    }
    let s = seg.name;
    if (seg.kind === 'block') {
      if (seg.label !== undefined) s += `[${JSON.stringify(seg.label)}]`;
      else if (seg.index !== undefined) s += `[${seg.index}]`;
    }
    tail.push(s);
  }
  const t = tail.join('.');
  if (head.length === 0) return t;
  return t === '' ? head.join(' ') : `${head.join(' ')}: ${t}`;
}

export interface Issue {
  path: FieldPath;
  message: string;
  code: ErrorCode;
}

/** Collects every problem (validation reports them all, not just the first). */
export class Issues {
  readonly list: Issue[] = [];
  add(path: FieldPath, message: string, code: ErrorCode = 'validation'): void {
    this.list.push({ path: [...path], message, code });
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

function issueToError(issue: Issue, file: string, map: SourceMap | undefined): NomadError {
  const field = formatPath(issue.path);
  const text = field === '' ? issue.message : `${field} ${issue.message}`;
  const pos = map?.locate(issue.path);
  const position = pos === undefined ? { file } : { file, line: pos.line, column: pos.column };
  return new NomadError(issue.code, text, { position, field });
}

/** Throws a MultiError naming every issue, or returns when there is none. */
export function throwIssues(issues: readonly Issue[], file: string, map: SourceMap | undefined): void {
  if (issues.length === 0) return;
  throw new MultiError(issues.map((i) => issueToError(i, file, map)));
}
