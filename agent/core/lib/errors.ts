/**
 * Errors are values with a code and a message a person can act on.
 * `where` names the file/line/column and `field` the path inside the spec
 * (e.g. `group "web" task "api": resources.memory`).
 */
export type ErrorCode =
  | 'parse'
  | 'validation'
  | 'too_large'
  | 'too_deep'
  | 'not_found'
  | 'conflict'
  | 'invalid_argument'
  /** A wait (e.g. for a state index) ran out of time on the injected clock. */
  | 'timeout'
  /** The caller's identity (its TLS certificate's role or region) may not do this. */
  | 'permission_denied'
  /** The server could not be reached (connection refused, TLS handshake failed). */
  | 'unavailable'
  /** A bounded queue is full (e.g. Raft's uncommitted-proposal queue): retry later. */
  | 'resource_exhausted'
  | 'internal';

export interface Position {
  file: string;
  line?: number;
  column?: number;
}

export class NomadError extends Error {
  readonly code: ErrorCode;
  readonly position: Position | undefined;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { position?: Position; field?: string } = {}) {
    super(formatMessage(message, opts.position));
    this.name = 'NomadError';
    this.code = code;
    this.position = opts.position;
    this.field = opts.field;
  }
}

function formatMessage(message: string, pos: Position | undefined): string {
  if (pos === undefined) return message;
  const where = pos.line === undefined ? pos.file : pos.column === undefined ? `${pos.file}:${pos.line}` : `${pos.file}:${pos.line}:${pos.column}`;
  return `${where}: ${message}`;
}

/** Several problems found at once (validation reports them all, not just the first). */
export class MultiError extends NomadError {
  readonly errors: readonly NomadError[];
  constructor(errors: readonly NomadError[]) {
    super(errors[0]?.code ?? 'validation', errors.map((e) => e.message).join('\n'));
    this.errors = errors;
  }
}
