/**
 * How agent certificates are named, after Nomad's `nomad tls` and its `server.<region>.nomad`
 * convention: a certificate's role and region live in its first DNS name,
 * `<role>.<region>.<domain>`, and its files are `<region>-<role>-<domain>.pem`.
 */

export const ROLES = ['server', 'client', 'cli'] as const;
export type Role = (typeof ROLES)[number];

export const DEFAULT_DOMAIN = 'nomadts';
export const DEFAULT_REGION = 'global';
/** Nomad's defaults: a CA for five years, an agent certificate for one. */
export const DEFAULT_CA_DAYS = 1825;
export const DEFAULT_CERT_DAYS = 365;

/** One DNS label (RFC 1123): what a region or a domain part may be. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** null when valid, else a sentence naming what is wrong. */
export function checkRegion(region: string): string | null {
  return LABEL.test(region) ? null : `region ${JSON.stringify(region)} must be one DNS label: lower-case letters, digits and '-'`;
}

/** null when valid, else a sentence naming what is wrong. */
export function checkDomain(domain: string): string | null {
  return domain.split('.').every((l) => LABEL.test(l)) ? null : `domain ${JSON.stringify(domain)} must be a DNS name: lower-case labels of letters, digits and '-' joined by '.'`;
}

/** The DNS name that carries a certificate's role and region: `server.global.nomadts`. */
export function roleDnsName(role: Role, region: string, domain: string = DEFAULT_DOMAIN): string {
  return `${role}.${region}.${domain}`;
}

/** The inverse of roleDnsName, or null when `name` is not an agent name. */
export function parseRoleDnsName(name: string): { role: Role; region: string; domain: string } | null {
  const parts = name.toLowerCase().split('.');
  if (parts.length < 3) return null;
  const [role, region, ...rest] = parts as [string, string, ...string[]];
  if (!isRole(role) || !LABEL.test(region)) return null;
  const domain = rest.join('.');
  return checkDomain(domain) === null ? { role, region, domain } : null;
}

/** `nomadts-agent-ca.pem` and `nomadts-agent-ca-key.pem` (Nomad: `nomad-agent-ca.pem`). */
export function caFileNames(domain: string = DEFAULT_DOMAIN): { cert: string; key: string } {
  return { cert: `${domain}-agent-ca.pem`, key: `${domain}-agent-ca-key.pem` };
}

/** `global-server-nomadts.pem` and `global-server-nomadts-key.pem` (Nomad: `global-server-nomad.pem`). */
export function certFileNames(role: Role, region: string = DEFAULT_REGION, domain: string = DEFAULT_DOMAIN): { cert: string; key: string } {
  const base = `${region}-${role}-${domain}`;
  return { cert: `${base}.pem`, key: `${base}-key.pem` };
}
