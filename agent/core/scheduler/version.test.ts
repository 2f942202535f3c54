import { describe, expect, it } from 'vitest';
import { compareVersions, parseSemver, parseVersion, parseVersionConstraint, versionMatches } from './version.js';

describe('parseVersion (lenient, go-version style)', () => {
  it('accepts short, prefixed, four-part and glued pre-release forms', () => {
    expect(parseVersion('1.2')).toEqual({ segments: [1, 2, 0], specified: 2, pre: '' });
    expect(parseVersion('v1.2.3')).toEqual({ segments: [1, 2, 3], specified: 3, pre: '' });
    expect(parseVersion('1.2.3.4')?.segments).toEqual([1, 2, 3, 4]);
    expect(parseVersion('1.2.3beta1')?.pre).toBe('beta1');
    expect(parseVersion('1.2.3-rc.1+build.5')?.pre).toBe('rc.1');
  });

  it('rejects garbage', () => {
    for (const bad of ['', 'abc', '1..2', '1.2.', '.1', 'v', '1.2.3+']) expect(parseVersion(bad)).toBeNull();
  });

  it('semver requires a dash before the pre-release', () => {
    expect(parseSemver('1.2.3-beta1')?.pre).toBe('beta1');
    expect(parseSemver('1.2.3beta1')).toBeNull();
  });
});

describe('compareVersions', () => {
  const cmp = (a: string, b: string) => compareVersions(parseVersion(a)!, parseVersion(b)!);
  it('compares numerically with missing segments as zero', () => {
    expect(cmp('1.10.0', '1.9.0')).toBe(1);
    expect(cmp('1.2', '1.2.0')).toBe(0);
    expect(cmp('1.2.0.1', '1.2')).toBe(1);
  });
  it('orders pre-releases below the release and by Semver 2.0 precedence', () => {
    const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
    for (let i = 0; i + 1 < ordered.length; i++) {
      expect(cmp(ordered[i]!, ordered[i + 1]!), `${ordered[i]} < ${ordered[i + 1]}`).toBe(-1);
      expect(cmp(ordered[i + 1]!, ordered[i]!)).toBe(1);
    }
  });
  it('ignores build metadata', () => {
    expect(cmp('1.0.0+a', '1.0.0+b')).toBe(0);
  });
});

describe('version constraints', () => {
  const v = (value: string, c: string) => versionMatches(value, c, 'version');
  it('ranges', () => {
    expect(v('1.5.0', '>= 1.2, < 2.0')).toBe(true);
    expect(v('1.2.0', '>= 1.2, < 2.0')).toBe(true);
    expect(v('2.0.0', '>= 1.2, < 2.0')).toBe(false);
    expect(v('1.1.9', '>= 1.2, < 2.0')).toBe(false);
    expect(v('1.2.3', '= 1.2.3')).toBe(true);
    expect(v('1.2.3', '1.2.3')).toBe(true);
    expect(v('1.2.3', '!= 1.2.3')).toBe(false);
    expect(v('1.2.4', '!=1.2.3')).toBe(true);
  });
  it('pessimistic operator', () => {
    expect(v('1.2.9', '~> 1.2.3')).toBe(true);
    expect(v('1.3.0', '~> 1.2.3')).toBe(false);
    expect(v('1.2.2', '~> 1.2.3')).toBe(false);
    expect(v('1.9', '~> 1.2')).toBe(true);
    expect(v('2.0', '~> 1.2')).toBe(false);
  });
  it('a pre-release only satisfies ordering constraints on pre-releases of the same version', () => {
    expect(v('1.3.0-beta1', '>= 1.2.0')).toBe(false);
    expect(v('1.3.0-beta2', '>= 1.3.0-beta1')).toBe(true);
    expect(v('1.4.0-beta2', '>= 1.3.0-beta1')).toBe(false);
    expect(v('1.3.0', '>= 1.3.0-beta1')).toBe(true);
    expect(v('1.3.0-beta1', '= 1.3.0-beta1')).toBe(true);
  });
  it('malformed constraints or values match nothing', () => {
    expect(v('1.2.3', '>>= 1.0')).toBe(false);
    expect(v('1.2.3', '>= one')).toBe(false);
    expect(v('1.2.3', '>= 1.0,')).toBe(false);
    expect(v('not-a-version', '>= 1.0')).toBe(false);
    expect(parseVersionConstraint('', 'version')).toBeNull();
  });
});

describe('semver constraints', () => {
  const s = (value: string, c: string) => versionMatches(value, c, 'semver');
  it('orders pre-releases by plain semver precedence', () => {
    expect(s('1.3.0-beta1', '>= 1.2.0')).toBe(true);
    expect(s('1.2.0-beta1', '>= 1.2.0')).toBe(false);
    expect(s('1.2.0-rc.2', '> 1.2.0-rc.1, < 1.2.0')).toBe(true);
  });
  it('is strict about the constraint: no ~>, no glued pre-release', () => {
    expect(s('1.2.5', '~> 1.2.3')).toBe(false);
    expect(s('1.2.5', '>= 1.2.3beta')).toBe(false);
    expect(s('1.2.5', '>= 1.2.3-beta')).toBe(true);
  });
});
