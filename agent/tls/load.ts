/**
 * Loading an agent's own TLS material at start-up (the `tls { ca_file cert_file key_file }` of
 * an agent, or the paths from ensureDevCertificates), refusing with a sentence that names the
 * file when anything is missing, mismatched, expired or of the wrong role.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { NomadError } from '../core/lib/index.js';
import { readPemFile } from './files.js';
import type { Role } from './names.js';
import type { AgentIdentity } from './verify.js';
import { verifyPeer } from './verify.js';

export interface AgentTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** PEM text ready for `tls.createServer` / `grpc.credentials.createSsl`, and who it says we are. */
export interface AgentTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  identity: AgentIdentity;
}

export function loadAgentTls(files: AgentTlsFiles, expect: { role: Role; region?: string; domain?: string; now: Date | number }): AgentTls {
  const caPem = readPemFile(files.caFile, 'CA certificate');
  const certPem = readPemFile(files.certFile, 'certificate');
  const keyPem = readPemFile(files.keyFile, 'key');
  let matches: boolean;
  try {
    const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
    matches = fromCert.equals(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }));
  } catch (err) {
    throw new NomadError('invalid_argument', `cannot use ${files.certFile} with ${files.keyFile}: ${(err as Error).message}`);
  }
  if (!matches) throw new NomadError('invalid_argument', `key ${files.keyFile} does not belong to certificate ${files.certFile}`);
  const v = verifyPeer({
    caPem, certPem, now: expect.now, allowedRoles: [expect.role],
    ...(expect.region === undefined ? {} : { region: expect.region }),
    ...(expect.domain === undefined ? {} : { domain: expect.domain }),
  });
  if (!v.ok) throw new NomadError('invalid_argument', `${files.certFile} cannot serve as this agent's ${expect.role} certificate (CA ${files.caFile}): ${v.reason}`);
  return { caPem, certPem, keyPem, identity: { role: v.role, region: v.region, domain: v.domain } };
}
