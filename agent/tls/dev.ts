/**
 * Certificates for `nomadts agent -dev`: a CA and one certificate per role under
 * `<dataDir>/tls/`, created on first use and reused while they remain good.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NomadError } from '../core/lib/index.js';
import type { CertificateBundle } from './generate.js';
import { createCA, createCert, loadCA } from './generate.js';
import { readPemFile, writePemFiles } from './files.js';
import type { PemFile } from './files.js';
import type { Role } from './names.js';
import { DEFAULT_DOMAIN, ROLES, caFileNames, certFileNames, checkRegion } from './names.js';
import { verifyPeer } from './verify.js';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';

export interface CertificatePaths {
  certFile: string;
  keyFile: string;
}

export interface DevCertificates {
  dir: string;
  caFile: string;
  caKeyFile: string;
  server: CertificatePaths;
  client: CertificatePaths;
  cli: CertificatePaths;
  /** True when this call wrote new certificates, false when it reused the ones on disk. */
  created: boolean;
}

/** Reuse only certificates that stay good for at least this long. */
const MIN_REMAINING_MS = 7 * 86_400_000;

function paths(dir: string, region: string): Omit<DevCertificates, 'created'> {
  const ca = caFileNames(DEFAULT_DOMAIN);
  const forRole = (role: Role): CertificatePaths => {
    const f = certFileNames(role, region, DEFAULT_DOMAIN);
    return { certFile: join(dir, f.cert), keyFile: join(dir, f.key) };
  };
  return { dir, caFile: join(dir, ca.cert), caKeyFile: join(dir, ca.key), server: forRole('server'), client: forRole('client'), cli: forRole('cli') };
}

function keyMatches(certPem: string, keyPem: string): boolean {
  const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return fromCert.equals(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }));
}

async function stillGood(p: Omit<DevCertificates, 'created'>, region: string, now: number): Promise<boolean> {
  const all = [p.caFile, p.caKeyFile, ...ROLES.flatMap((r) => [p[r].certFile, p[r].keyFile])];
  if (!all.every((f) => existsSync(f))) return false;
  try {
    const caPem = readPemFile(p.caFile, 'CA certificate');
    await loadCA({ certPem: caPem, keyPem: readPemFile(p.caKeyFile, 'CA key') });
    for (const role of ROLES) {
      const certPem = readPemFile(p[role].certFile, `${role} certificate`);
      if (!keyMatches(certPem, readPemFile(p[role].keyFile, `${role} key`))) return false;
      for (const at of [now, now + MIN_REMAINING_MS]) {
        if (!verifyPeer({ caPem, certPem, now: at, allowedRoles: [role], region }).ok) return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the paths of a dev CA and server/client/cli certificates for `region` under
 * `<dataDir>/tls/`. Reuses what is there when every file parses, each key matches its
 * certificate, each certificate verifies against the CA for its role and region and stays
 * valid for another week; otherwise writes a fresh set (keys 0600, the folder 0700).
 */
export async function ensureDevCertificates(dataDir: string, region: string, opts: { now?: Date | number } = {}): Promise<DevCertificates> {
  const bad = checkRegion(region);
  if (bad !== null) throw new NomadError('invalid_argument', bad, { field: 'region' });
  const now = opts.now === undefined ? Date.now() : typeof opts.now === 'number' ? opts.now : opts.now.getTime();
  const p = paths(join(dataDir, 'tls'), region);
  if (await stillGood(p, region, now)) return { ...p, created: false };

  const ca: CertificateBundle = await createCA({ commonName: 'nomadts Dev Agent CA', now });
  const files: PemFile[] = [
    { path: p.caFile, content: ca.certPem, secret: false },
    { path: p.caKeyFile, content: ca.keyPem, secret: true },
  ];
  for (const role of ROLES) {
    const c = await createCert({ ca, role, region, now });
    files.push({ path: p[role].certFile, content: c.certPem, secret: false }, { path: p[role].keyFile, content: c.keyPem, secret: true });
  }
  writePemFiles(p.dir, files);
  return { ...p, created: true };
}
