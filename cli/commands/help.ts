/**
 * The help texts printed after a command's usage. They live here, apart from the command
 * implementations, so `nomadts <command> --help` loads nothing heavy (see table.ts). The
 * defaults quoted in TLS_* are checked against agent/tls by help.test.ts.
 */

export const VAR_HELP = `
Flags (Nomad style, one or two dashes):
  -var 'name=value'   set an input variable (repeatable)
  -var-file <file>    read variables from an HCL (name = value) or JSON file (repeatable)
Variables can also come from NOMAD_VAR_<name> environment variables.
`;

export const AGENT_HELP = `
  -dev             server + client in one process, dev certificates, in-memory state (required for now)
  -data-dir D      where certificates, alloc dirs and client state live (default: a temporary dir, removed on exit)
  -bind ADDR       address of the RPC listener (default 127.0.0.1)
  -rpc-port N      port of the RPC listener (default 4647; 0 picks a free one)
  -region R        region of the agent and its certificates (default global)
Then, in another terminal: nomadts job run jobs/batch-retry.nomad.hcl; nomadts job status
`;

export const JOB_RUN_HELP = `${VAR_HELP}  -detach            print the evaluation id and return without monitoring
  -check-index N     register only if the job's modify index is N (0: only if it is new)
  -output            print the canonical JSON and do not submit
  -address host:port the server (default NOMADTS_ADDR, then 127.0.0.1:4647)
Exit codes: 0 placed, 1 error, 2 some allocations could not be placed.
`;

export const JOB_PLAN_HELP = `${VAR_HELP}  -json              print the plan as JSON\nExit codes: 0 no changes, 1 changes, 255 error.\n`;

/** The defaults of agent/tls, quoted in the TLS help texts. */
export const TLS_HELP_DEFAULTS = { domain: 'nomadts', region: 'global', caDays: 1825, certDays: 365 } as const;

export const TLS_CA_CREATE_HELP = `
Flags (Nomad style, one or two dashes):
  -domain <domain>      domain of the agent names the CA signs (default "${TLS_HELP_DEFAULTS.domain}")
  -days <n>             days the CA is valid (default ${TLS_HELP_DEFAULTS.caDays})
  -common-name <name>   the CA's common name (default "<domain> Agent CA <serial>")
Writes <domain>-agent-ca.pem and <domain>-agent-ca-key.pem (mode 0600) in the current
directory; refuses to overwrite either.
`;

export const TLS_CERT_CREATE_HELP = `
Flags (Nomad style, one or two dashes):
  -server | -client | -cli        which certificate (exactly one)
  -region <region>                the agent's region (default "${TLS_HELP_DEFAULTS.region}")
  -domain <domain>                the CA's domain (default "${TLS_HELP_DEFAULTS.domain}")
  -days <n>                       days the certificate is valid (default ${TLS_HELP_DEFAULTS.certDays})
  -ca <file>                      CA certificate (default <domain>-agent-ca.pem)
  -key <file>                     CA key (default <domain>-agent-ca-key.pem)
  -additional-dnsname <name>      another DNS name for the certificate (repeatable)
  -additional-ipaddress <ip>      another IP address for the certificate (repeatable)
Names: server.<region>.<domain> and client.<region>.<domain> (both also localhost and
127.0.0.1), cli.<region>.<domain>. Writes <region>-<role>-<domain>.pem and
<region>-<role>-<domain>-key.pem (mode 0600) in the current directory; refuses to overwrite.
`;

export const ALLOC_SIGNAL_HELP = `
  -s SIG             the signal, e.g. SIGUSR1 or USR1 (default SIGKILL, as Nomad)
Without <task> every running task of the allocation gets the signal. Served by the agent whose
client runs the allocation; a task that is not running is refused.
`;

export const ALLOC_RESTART_HELP = `
Stops the task with its kill_signal and kill_timeout and starts it again at once. The restart is
counted in the task's restarts but not against its restart policy. Without <task> every running
task of the allocation restarts.
`;

export const JOB_INIT_HELP = `
  -short             leave out the explanatory comments
Refuses to overwrite an existing file. The example runs a raw_exec task on nomadts agent -dev.
`;
