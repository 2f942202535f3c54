/**
 * `nomadts tls cert create -server|-client|-cli [-region R] [-domain D] [-days N] [-ca F] [-key F]
 * [-additional-dnsname N]... [-additional-ipaddress IP]...`: an agent certificate signed by the
 * CA (Nomad: `nomad tls cert create`), written as `<region>-<role>-<domain>.pem` and `-key.pem`.
 */
import { resolve } from 'node:path';
import { NomadError } from '../../agent/core/lib/index.js';
import type { Role } from '../../agent/tls/index.js';
import { DEFAULT_DOMAIN, DEFAULT_REGION, ROLES, caFileNames, certFileNames, checkDomain, checkRegion, createCert, readPemFile, writeNewPemFiles } from '../../agent/tls/index.js';
import type { Out } from './jobspec-io.js';
import { daysFlag, errorText, parseTlsFlags } from './tls-ca-create.js';

const ROLE_TITLE: Record<Role, string> = { server: 'Server', client: 'Client', cli: 'Cli' };

/** Returns the exit code: 0 when the certificate was written, 1 otherwise (nothing written). */
export async function tlsCertCreate(args: readonly string[], out: Out, opts: { cwd?: string } = {}): Promise<number> {
  try {
    const f = parseTlsFlags(args, {
      values: ['region', 'domain', 'days', 'ca', 'key'],
      repeated: ['additional-dnsname', 'additional-ipaddress'],
      booleans: [...ROLES],
    });
    const roles = ROLES.filter((r) => f.booleans.has(r));
    if (roles.length !== 1) {
      throw new NomadError('invalid_argument', roles.length === 0 ? 'say which certificate to create: one of -server, -client or -cli' : `give exactly one of -server, -client or -cli, got ${roles.map((r) => `-${r}`).join(' ')}`);
    }
    const role = roles[0]!;
    const region = f.values.get('region') ?? DEFAULT_REGION;
    const domain = f.values.get('domain') ?? DEFAULT_DOMAIN;
    for (const bad of [checkRegion(region), checkDomain(domain)]) if (bad !== null) throw new NomadError('invalid_argument', bad);
    const days = daysFlag(f);
    const cwd = opts.cwd ?? process.cwd();
    const caNames = caFileNames(domain);
    const caFile = f.values.get('ca') ?? caNames.cert;
    const keyFile = f.values.get('key') ?? caNames.key;
    const ca = {
      certPem: readPemFile(resolve(cwd, caFile), 'CA certificate'),
      keyPem: readPemFile(resolve(cwd, keyFile), 'CA key'),
    };
    const names = certFileNames(role, region, domain);
    const cert = await createCert({
      ca, role, region, domain,
      ...(days === undefined ? {} : { days }),
      additionalDnsNames: f.repeated.get('additional-dnsname') ?? [],
      additionalIps: f.repeated.get('additional-ipaddress') ?? [],
    }, { cert: `CA certificate ${caFile}`, key: `CA key ${keyFile}` });
    writeNewPemFiles([
      { path: resolve(cwd, names.cert), content: cert.certPem, secret: false },
      { path: resolve(cwd, names.key), content: cert.keyPem, secret: true },
    ]);
    const t = ROLE_TITLE[role];
    out.stdout(`==> Using CA file ${caFile} and CA key ${keyFile}\n==> ${t} Certificate saved to ${names.cert}\n==> ${t} Certificate key saved to ${names.key}\n`);
    return 0;
  } catch (err) {
    out.stderr(errorText(err));
    return 1;
  }
}

