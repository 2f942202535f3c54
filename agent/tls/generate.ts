/**
 * Creating the cluster's certificate authority and the agents' certificates (EC P-256, SHA-256),
 * in the manner of `nomad tls ca create` / `nomad tls cert create`.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { NomadError } from '../core/lib/index.js';
import type { Role } from './names.js';
import { DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS, DEFAULT_DOMAIN, DEFAULT_REGION, checkDomain, checkRegion, isRole, parseRoleDnsName, roleDnsName } from './names.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC: EcKeyImportParams & EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
/** Certificates start a minute in the past, so a peer whose clock is a little behind accepts them. */
const BACKDATE_MS = 60_000;
const MAX_DAYS = 36_500;

/** A certificate and its private key, both PEM (the key PKCS#8, `BEGIN PRIVATE KEY`). */
export interface CertificateBundle {
  certPem: string;
  keyPem: string;
}

export interface CreateCAOptions {
  /** Default `<domain> Agent CA <serial>`, as Nomad names its CA `Nomad Agent CA <serial>`. */
  commonName?: string;
  /** Default 1825 (five years). */
  days?: number;
  /** Default `nomadts`; the suffix of every agent name this CA signs. */
  domain?: string;
  /** Start of validity; default the wall clock. */
  now?: Date | number;
}

export interface CreateCertOptions {
  ca: CertificateBundle;
  role: Role;
  /** Default `global`. */
  region?: string;
  /** Default `nomadts`. */
  domain?: string;
  /** Default 365. */
  days?: number;
  additionalDnsNames?: readonly string[];
  additionalIps?: readonly string[];
  /** Start of validity; default the wall clock. */
  now?: Date | number;
}

/** The extended key usages each role's certificate carries (Nomad: server and client both ways, cli client only). */
export const ROLE_EXTENDED_KEY_USAGES: Readonly<Record<Role, readonly string[]>> = {
  server: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  client: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  cli: [x509.ExtendedKeyUsage.clientAuth],
};

function invalid(message: string, field?: string): NomadError {
  return new NomadError('invalid_argument', message, field === undefined ? {} : { field });
}

function checkDays(days: number, field: string): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) throw invalid(`${field} must be a whole number of days from 1 to ${MAX_DAYS}, got ${days}`, field);
}

function toMs(now: Date | number | undefined): number {
  return now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime();
}

/** A random, positive 128-bit serial number (RFC 5280 allows up to 20 octets). */
function serialNumber(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/** Quotes a value for a distinguished name string (RFC 4514). */
function dnValue(s: string): string {
  return /^[A-Za-z0-9 ._-]*$/.test(s) && !s.startsWith(' ') && !s.endsWith(' ') ? s : JSON.stringify(s);
}

export async function createCA(opts: CreateCAOptions = {}): Promise<CertificateBundle> {
  const domain = opts.domain ?? DEFAULT_DOMAIN;
  const badDomain = checkDomain(domain);
  if (badDomain !== null) throw invalid(badDomain, 'domain');
  const days = opts.days ?? DEFAULT_CA_DAYS;
  checkDays(days, 'days');
  const serial = serialNumber();
  const commonName = opts.commonName ?? `${domain} Agent CA ${serial.slice(0, 16)}`;
  if (commonName.trim() === '' || commonName.length > 64) throw invalid('common-name must be 1 to 64 characters', 'common-name');
  const start = toMs(opts.now);
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${dnValue(commonName)}, O=${dnValue(domain)}`,
    notBefore: new Date(start - BACKDATE_MS),
    notAfter: new Date(start + days * DAY_MS),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

interface LoadedCA {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

/**
 * Parses a CA bundle and checks it is fit to sign: a CA certificate whose public key belongs to
 * the given EC P-256 private key. `names` say how to call the two parts in errors (file names).
 */
export async function loadCA(ca: CertificateBundle, names: { cert: string; key: string } = { cert: 'CA certificate', key: 'CA key' }): Promise<LoadedCA> {
  let cert: x509.X509Certificate;
  try {
    if (!ca.certPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM "CERTIFICATE" block found');
    cert = new x509.X509Certificate(ca.certPem);
  } catch (err) {
    throw invalid(`${names.cert} is not a valid PEM certificate: ${(err as Error).message}`, 'ca');
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca !== true) throw invalid(`${names.cert} is not a CA certificate (basic constraints CA:TRUE missing)`, 'ca');
  let pkcs8: Buffer;
  let spki: Buffer;
  try {
    const keyObject = createPrivateKey({ key: ca.keyPem, format: 'pem' });
    if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`it is a ${keyObject.asymmetricKeyType ?? 'unknown'} key, nomadts signs with EC P-256 keys`);
    }
    pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
    spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  } catch (err) {
    throw invalid(`${names.key} is not a usable private key: ${(err as Error).message}`, 'ca-key');
  }
  if (!spki.equals(Buffer.from(cert.publicKey.rawData))) throw invalid(`${names.key} does not belong to ${names.cert} (the public keys differ)`, 'ca-key');
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC, false, ['sign']);
  return { cert, key };
}

function checkDnsName(name: string): string | null {
  return /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name) && name.length <= 253
    ? null
    : `additional DNS name ${JSON.stringify(name)} is not a valid DNS name`;
}

export async function createCert(opts: CreateCertOptions, caNames?: { cert: string; key: string }): Promise<CertificateBundle> {
  if (!isRole(opts.role)) throw invalid(`role must be one of server, client, cli, got ${JSON.stringify(opts.role)}`, 'role');
  const region = opts.region ?? DEFAULT_REGION;
  const badRegion = checkRegion(region);
  if (badRegion !== null) throw invalid(badRegion, 'region');
  const domain = opts.domain ?? DEFAULT_DOMAIN;
  const badDomain = checkDomain(domain);
  if (badDomain !== null) throw invalid(badDomain, 'domain');
  const days = opts.days ?? DEFAULT_CERT_DAYS;
  checkDays(days, 'days');

  const name = roleDnsName(opts.role, region, domain);
  const dnsNames = [name, ...(opts.role === 'cli' ? [] : ['localhost'])];
  for (const extra of opts.additionalDnsNames ?? []) {
    const bad = checkDnsName(extra);
    if (bad !== null) throw invalid(bad, 'additional-dnsname');
    const other = parseRoleDnsName(extra);
    if (other !== null && extra.toLowerCase() !== name) throw invalid(`additional DNS name ${extra} names another agent role; a certificate carries exactly one`, 'additional-dnsname');
    if (!dnsNames.includes(extra.toLowerCase())) dnsNames.push(extra.toLowerCase());
  }
  const ips = opts.role === 'cli' ? [] : ['127.0.0.1'];
  for (const ip of opts.additionalIps ?? []) {
    if (isIP(ip) === 0) throw invalid(`additional IP address ${JSON.stringify(ip)} is not an IPv4 or IPv6 address`, 'additional-ipaddress');
    if (!ips.includes(ip)) ips.push(ip);
  }

  const ca = await loadCA(opts.ca, caNames);
  const start = toMs(opts.now);
  const notAfter = new Date(start + days * DAY_MS);
  if (notAfter > ca.cert.notAfter) {
    throw invalid(`a certificate valid for ${days} days would outlive its CA, which expires ${ca.cert.notAfter.toISOString()}; ask for fewer days or create a new CA`, 'days');
  }
  if (start < ca.cert.notBefore.getTime()) throw invalid(`the CA is not valid until ${ca.cert.notBefore.toISOString()}`, 'ca');

  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${name}`,
    issuer: ca.cert.subjectName,
    notBefore: new Date(Math.max(start - BACKDATE_MS, ca.cert.notBefore.getTime())),
    notAfter,
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([...ROLE_EXTENDED_KEY_USAGES[opts.role]]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}
