/**
 * Checking a peer's certificate: the question the gRPC layer asks of every connection.
 * Node's TLS stack has already checked the chain by the time a handshake completes; this adds
 * what TLS does not know: which agent role and region the peer is, and whether it may call
 * the endpoint. It re-checks the signature and dates itself so that it is safe on its own.
 * Time is passed in, never read here.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509 } from 'node:crypto';
import type { Role } from './names.js';
import { DEFAULT_DOMAIN, parseRoleDnsName } from './names.js';

export interface AgentIdentity {
  role: Role;
  region: string;
  domain: string;
}

export type PeerVerdict =
  | { ok: true; role: Role; region: string; domain: string }
  | { ok: false; reason: string };

export interface VerifyPeerOptions {
  /** The cluster CA certificate, PEM. */
  caPem: string;
  /** The peer certificate: PEM, or DER bytes (as in `tls.PeerCertificate.raw`). */
  certPem: string | Uint8Array;
  now: Date | number;
  allowedRoles: readonly Role[];
  /** The region this agent serves; omitted, any region is accepted. */
  region?: string;
  /** Default `nomadts`. */
  domain?: string;
}

interface Parsed {
  node: NodeX509;
  cert: x509.X509Certificate;
}

function parse(pem: string | Uint8Array): Parsed {
  if (typeof pem === 'string' && !pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM "CERTIFICATE" block found');
  const bytes = typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength);
  return { node: new NodeX509(bytes), cert: new x509.X509Certificate(typeof bytes === 'string' ? bytes : new Uint8Array(bytes)) };
}

/** The CA is the same few strings for the life of an agent; parse each once. */
const caCache = new Map<string, Parsed>();
const CA_CACHE_MAX = 8;

function parseCA(caPem: string): Parsed {
  let p = caCache.get(caPem);
  if (p === undefined) {
    p = parse(caPem);
    if (caCache.size >= CA_CACHE_MAX) caCache.delete(caCache.keys().next().value!);
    caCache.set(caPem, p);
  }
  return p;
}

function agentNames(cert: x509.X509Certificate): { names: AgentIdentity[]; dnsNames: string[] } {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const dnsNames = san === null ? [] : san.names.items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase());
  const names: AgentIdentity[] = [];
  for (const d of dnsNames) {
    const id = parseRoleDnsName(d);
    if (id !== null) names.push(id);
  }
  return { names, dnsNames };
}

/**
 * The role, region and domain a certificate names in its first `<role>.<region>.<domain>` DNS
 * name, or null when it names none. It does not check the signature: use verifyPeer for that.
 */
export function roleOf(certPem: string | Uint8Array): AgentIdentity | null {
  let cert: x509.X509Certificate;
  try {
    cert = parse(certPem).cert;
  } catch {
    return null;
  }
  return agentNames(cert).names[0] ?? null;
}

function iso(d: Date): string {
  return d.toISOString();
}

export function verifyPeer(o: VerifyPeerOptions): PeerVerdict {
  const now = typeof o.now === 'number' ? o.now : o.now.getTime();
  const fail = (reason: string): PeerVerdict => ({ ok: false, reason });
  let ca: Parsed;
  try {
    ca = parseCA(o.caPem);
  } catch (err) {
    return fail(`the CA certificate could not be parsed: ${(err as Error).message}`);
  }
  let peer: Parsed;
  try {
    peer = parse(o.certPem);
  } catch (err) {
    return fail(`the certificate could not be parsed: ${(err as Error).message}`);
  }

  // Issued by, and signed with the key of, this cluster's CA (one level: no intermediates).
  if (!peer.node.checkIssued(ca.node) || !peer.node.verify(ca.node.publicKey)) {
    return fail(`certificate was signed by another CA (issuer "${peer.cert.issuer}"), not this cluster's CA "${ca.cert.subject}"`);
  }
  if (peer.cert.getExtension(x509.BasicConstraintsExtension)?.ca === true) {
    return fail('certificate is a CA certificate, not an agent certificate');
  }
  if (now < ca.cert.notBefore.getTime()) return fail(`the cluster CA is not valid until ${iso(ca.cert.notBefore)}`);
  if (now > ca.cert.notAfter.getTime()) return fail(`the cluster CA expired on ${iso(ca.cert.notAfter)}`);
  if (now < peer.cert.notBefore.getTime()) return fail(`certificate is not valid until ${iso(peer.cert.notBefore)}`);
  if (now > peer.cert.notAfter.getTime()) return fail(`certificate expired on ${iso(peer.cert.notAfter)}`);

  const domain = o.domain ?? DEFAULT_DOMAIN;
  const { names, dnsNames } = agentNames(peer.cert);
  const ours = names.filter((n) => n.domain === domain);
  const id = ours[0];
  if (id === undefined) {
    const seen = dnsNames.length === 0 ? 'it has no DNS names' : `it has ${dnsNames.join(', ')}`;
    return fail(`certificate names no agent role: expected a DNS name like server.<region>.${domain}, ${seen}`);
  }
  if (ours.some((n) => n.role !== id.role || n.region !== id.region)) {
    return fail(`certificate names more than one agent identity (${ours.map((n) => `${n.role}.${n.region}.${n.domain}`).join(', ')})`);
  }
  if (!o.allowedRoles.includes(id.role)) {
    return fail(`certificate role ${id.role} may not call this endpoint; allowed: ${o.allowedRoles.join(', ') || 'none'}`);
  }
  if (o.region !== undefined && id.region !== o.region) {
    return fail(`certificate is for region ${id.region}, this agent serves region ${o.region}`);
  }
  return { ok: true, role: id.role, region: id.region, domain: id.domain };
}
