/**
 * agent/tls: the cluster's certificate authority and the agents' certificates (mutual TLS).
 * Every agent connection presents a certificate whose DNS name `<role>.<region>.nomadts` says
 * what it is; verifyPeer turns a peer certificate into that identity, or a sentence saying why not.
 */
export { ROLES, DEFAULT_DOMAIN, DEFAULT_REGION, DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS, isRole, checkRegion, checkDomain, roleDnsName, parseRoleDnsName, caFileNames, certFileNames } from './names.js';
export type { Role } from './names.js';
export { createCA, createCert, ROLE_EXTENDED_KEY_USAGES } from './generate.js';
export type { CertificateBundle, CreateCAOptions, CreateCertOptions } from './generate.js';
export { verifyPeer, roleOf } from './verify.js';
export type { AgentIdentity, PeerVerdict, VerifyPeerOptions } from './verify.js';
export { writeNewPemFiles, readPemFile } from './files.js';
export type { PemFile } from './files.js';
export { ensureDevCertificates } from './dev.js';
export type { DevCertificates, CertificatePaths } from './dev.js';
export { loadAgentTls } from './load.js';
export type { AgentTls, AgentTlsFiles } from './load.js';
