/**
 * Version constraints for the `version` and `semver` constraint operators, in the
 * manner of hashicorp/go-version (what Nomad uses) and Nomad's strict semver
 * variant (helper/constraints/semver).
 *
 * - `version`: lenient versions (`1.2`, `v1.2.3`, `1.2.3beta1`, `1.2.3.4`),
 *   operators `=`, `!=`, `>`, `>=`, `<`, `<=`, `~>`; a pre-release version only
 *   satisfies an ordering constraint whose version is a pre-release of the same
 *   base (`>= 1.2.0` does not match `1.3.0-beta`).
 * - `semver`: constraint versions must be semver-shaped (a `-` before the
 *   pre-release), no `~>`, and ordering is plain Semver 2.0 precedence
 *   (`>= 1.2.0` matches `1.3.0-beta`).
 *
 * Parsed constraints are cached by their string (pure, so a module-level cache
 * is deterministic).
 */

export interface Version {
  /** Numeric segments, padded with zeros to at least three. */
  readonly segments: readonly number[];
  /** How many segments were written (`1.2` → 2). */
  readonly specified: number;
  /** Pre-release without the leading `-` ('' when none). */
  readonly pre: string;
}

export type VersionFlavor = 'version' | 'semver';

const PART = '[0-9A-Za-z\\-~]+';
const PARTS = `${PART}(?:\\.${PART})*`;
// Lenient (go-version VersionRegexpRaw): the pre-release may follow without a `-` when it starts with a letter.
const LENIENT = new RegExp(
  `^v?([0-9]+(?:\\.[0-9]+)*?)(?:-([0-9]+[0-9A-Za-z\\-~]*(?:\\.${PART})*)|-?([A-Za-z\\-~]+[0-9A-Za-z\\-~]*(?:\\.${PART})*))?(?:\\+(${PARTS}))?$`,
);
// Semver-shaped (go-version SemverRegexpRaw): the pre-release always follows a `-`.
const STRICT = new RegExp(`^v?([0-9]+(?:\\.[0-9]+)*?)(?:-(${PARTS}))?(?:\\+(${PARTS}))?$`);

/** Parse a version leniently (go-version's NewVersion). Returns null when malformed. */
export function parseVersion(s: string): Version | null {
  const m = LENIENT.exec(s.trim());
  if (m === null) return null;
  return build(m[1]!, m[2] ?? m[3] ?? '');
}

/** Parse a semver-shaped version (go-version's NewSemver). Returns null when malformed. */
export function parseSemver(s: string): Version | null {
  const m = STRICT.exec(s.trim());
  if (m === null) return null;
  return build(m[1]!, m[2] ?? '');
}

function build(core: string, pre: string): Version | null {
  const parts = core.split('.');
  const segments: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isSafeInteger(n)) return null;
    segments.push(n);
  }
  const specified = segments.length;
  while (segments.length < 3) segments.push(0);
  return { segments, specified, pre };
}

/** Compare two versions: segments (missing ones are 0), then pre-release by Semver 2.0 precedence. */
export function compareVersions(a: Version, b: Version): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const x = a.segments[i] ?? 0;
    const y = b.segments[i] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return comparePrerelease(a.pre, b.pre);
}

const NUMERIC = /^[0-9]+$/;

function comparePrerelease(a: string, b: string): number {
  if (a === b) return 0;
  // A version without a pre-release ranks above any pre-release of the same core.
  if (a === '') return 1;
  if (b === '') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const xn = NUMERIC.test(x);
    const yn = NUMERIC.test(y);
    if (xn && yn) return Number(x) < Number(y) ? -1 : 1;
    if (xn) return -1; // numeric identifiers rank below alphanumeric ones
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return pa.length === pb.length ? 0 : pa.length < pb.length ? -1 : 1;
}

function sameSegments(a: Version, b: Version): boolean {
  return compareVersions({ ...a, pre: '' }, { ...b, pre: '' }) === 0;
}

/** go-version's pre-release rule for ordering operators under `version`. */
function prereleaseOk(v: Version, c: Version): boolean {
  if (v.pre !== '' && c.pre !== '') return sameSegments(v, c);
  if (v.pre !== '' && c.pre === '') return false;
  return true;
}

type Check = (v: Version) => boolean;

function single(op: string, c: Version, flavor: VersionFlavor): Check | null {
  const strict = flavor === 'semver';
  const pre = (v: Version) => strict || prereleaseOk(v, c);
  switch (op) {
    case '':
    case '=':
      return (v) => compareVersions(v, c) === 0;
    case '!=':
      return (v) => compareVersions(v, c) !== 0;
    case '>':
      return (v) => pre(v) && compareVersions(v, c) > 0;
    case '>=':
      return (v) => pre(v) && compareVersions(v, c) >= 0;
    case '<':
      return (v) => pre(v) && compareVersions(v, c) < 0;
    case '<=':
      return (v) => pre(v) && compareVersions(v, c) <= 0;
    case '~>':
      if (strict) return null;
      return (v) => pessimistic(v, c);
    default:
      return null;
  }
}

/** `~> 1.2` allows 1.2 ≤ v < 2.0; `~> 1.2.3` allows 1.2.3 ≤ v < 1.3.0. */
function pessimistic(v: Version, c: Version): boolean {
  if (!prereleaseOk(v, c) || (c.pre !== '' && v.pre === '')) return false;
  if (compareVersions(v, c) < 0) return false;
  const cs = c.segments.length;
  if (cs > v.segments.length) return false;
  for (let i = 0; i < c.specified - 1; i++) {
    if (v.segments[i] !== c.segments[i]) return false;
  }
  return c.segments[cs - 1]! <= v.segments[cs - 1]!;
}

const OPS = '(~>|>=|<=|!=|>|<|=|)';
const SINGLE = new RegExp(`^\\s*${OPS}\\s*(\\S+)\\s*$`);

/**
 * Parse a comma-separated constraint string (`>= 1.2, < 2.0`). Returns a
 * predicate, or null when any part is malformed (a malformed constraint
 * matches nothing, as in Nomad).
 */
export function parseVersionConstraint(text: string, flavor: VersionFlavor): Check | null {
  const checks: Check[] = [];
  for (const part of text.split(',')) {
    const m = SINGLE.exec(part);
    if (m === null) return null;
    const c = flavor === 'semver' ? parseSemver(m[2]!) : parseVersion(m[2]!);
    if (c === null) return null;
    const check = single(m[1]!, c, flavor);
    if (check === null) return null;
    checks.push(check);
  }
  if (checks.length === 1) return checks[0]!;
  return (v) => {
    for (const c of checks) if (!c(v)) return false;
    return true;
  };
}

const constraintCache = new Map<string, Check | null>();
const versionCache = new Map<string, Version | null>();
const CACHE_LIMIT = 4096;

function remember<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  if (map.has(key)) return map.get(key)!;
  if (map.size >= CACHE_LIMIT) map.clear();
  const v = make();
  map.set(key, v);
  return v;
}

/**
 * Does the node's value `value` satisfy the constraint `constraint`? The value
 * is parsed leniently under both flavors (as Nomad does); malformed input never matches.
 */
export function versionMatches(value: string, constraint: string, flavor: VersionFlavor): boolean {
  const check = remember(constraintCache, `${flavor}\u0000${constraint}`, () => parseVersionConstraint(constraint, flavor));
  if (check === null) return false;
  const v = remember(versionCache, value, () => parseVersion(value));
  if (v === null) return false;
  return check(v);
}
