/**
 * The command table: every `nomadts` command's name, description, usage and help text, and a
 * loader for its implementation. Only this table (and commander) is loaded at start-up; a
 * command's module, which may pull in grpc-js, the jobspec parser or the whole agent, is
 * imported when that command runs. So `nomadts version` and `--help` stay fast.
 */
import { AGENT_HELP, ALLOC_RESTART_HELP, ALLOC_SIGNAL_HELP, JOB_INIT_HELP, JOB_PLAN_HELP, JOB_RUN_HELP, TLS_CA_CREATE_HELP, TLS_CERT_CREATE_HELP, VAR_HELP } from './help.js';
import type { Out } from './out.js';

/** A command's implementation: raw Nomad-style arguments in, exit code out. */
export type CommandRun = (args: readonly string[], out: Out) => Promise<number>;

export interface CommandSpec {
  /** Words after `nomadts`: ['job', 'run']. Every word but the last names a group. */
  path: readonly string[];
  description: string;
  /** Shown as the description of the `[args...]` argument in `--help`. */
  usage?: string;
  /** Printed after the usage in `--help`. */
  help?: string;
  /** The argument's name in `--help` (default `args`). */
  argName?: string;
  /** Imports the implementation; called only when the command runs. */
  load: () => Promise<CommandRun>;
  /** Exit the process with the code once the command returns (the agent: grpc timers hold the loop). */
  exitWhenDone?: boolean;
}

/** Descriptions of the command groups, by path joined with a space. */
export const groupDescriptions: Readonly<Record<string, string>> = {
  job: 'Work with jobs: init, run, status, stop, plan, inspect, validate',
  node: 'Work with client nodes: status, eligibility, drain',
  eval: 'Work with evaluations: status, list',
  alloc: 'Work with allocations: status, logs, signal, restart, stop',
  'operator gossip': 'Manage gossip encryption: keyring, keygen',
  tls: 'Create a certificate authority and agent certificates for mutual TLS',
  'tls ca': 'Work with the certificate authority',
  'tls cert': 'Work with agent certificates',
  event: 'Read the cluster\'s event stream',
  operator: 'Operate the cluster: raft peers and leadership, state snapshots, gossip encryption',
  'operator raft': 'Work with the Raft configuration: list-peers, transfer-leadership, remove-peer',
  'operator snapshot': 'Save, restore and inspect the cluster state: save, restore, inspect',
  server: 'Work with the cluster\'s servers: members, join, force-leave',
  dev: 'A local cluster on loopback for trying nomadts: up, down',
};

/** In `--help` order. */
export const commandTable: readonly CommandSpec[] = [
  {
    path: ['agent'],
    description: 'Run a nomadts agent; -dev runs a server and a client in this process, -config a cluster server or a client',
    usage: '-dev [-data-dir D] [-bind ADDR] [-rpc-port N] [-region R] | -config server.hcl | -config client.hcl',
    help: AGENT_HELP,
    load: async () => (await import('./agent.js')).agentMain,
    exitWhenDone: true,
  },
  {
    path: ['dev', 'up'],
    description: 'Start a local cluster on loopback (servers and clients as background processes, mutual TLS); -jobs registers the example jobs',
    usage: '[-dir D] [-servers 3] [-clients 2] [-jobs]',
    load: async () => (await import('./dev-up.js')).devUp,
    exitWhenDone: true,
  },
  {
    path: ['dev', 'down'],
    description: 'Stop the local cluster `dev up` started (SIGTERM, then SIGKILL) and remove its discovery file',
    usage: '[-dir D]',
    load: async () => (await import('./dev-down.js')).devDown,
    exitWhenDone: true,
  },
  {
    path: ['job', 'run'],
    description: 'Submit a job and monitor its evaluation; with -output, print its canonical JSON instead',
    usage: 'flags and the job file',
    help: JOB_RUN_HELP,
    load: async () => (await import('./job-run.js')).jobRun,
  },
  {
    path: ['job', 'status'],
    description: 'List jobs, or show one job: group summary, evaluations, allocations',
    usage: '[-json] [-stale] [-address host:port] [<job id or prefix>]',
    load: async () => (await import('./job-status.js')).jobStatus,
  },
  {
    path: ['job', 'init'],
    description: 'Write an example job file (default example.nomad.hcl) to start from',
    usage: '[-short] [<file>]',
    help: JOB_INIT_HELP,
    load: async () => (await import('./job-init.js')).jobInit,
  },
  {
    path: ['job', 'stop'],
    description: 'Stop a job (-purge: also remove it)',
    usage: '[-purge] [-detach] [-address host:port] <job id or prefix>',
    load: async () => (await import('./job-stop.js')).jobStop,
  },
  {
    path: ['job', 'plan'],
    description: 'Dry-run the scheduler for a job file: what would be placed, stopped or updated',
    usage: 'flags and the job file',
    help: JOB_PLAN_HELP,
    load: async () => (await import('./job-plan.js')).jobPlan,
  },
  {
    path: ['job', 'inspect'],
    description: 'Print a registered job as JSON',
    usage: '[-json] [-stale] [-address host:port] <job id or prefix>',
    load: async () => (await import('./job-inspect.js')).jobInspect,
  },
  {
    path: ['job', 'validate'],
    description: 'Check a job file (HCL or JSON) for errors without submitting it',
    usage: 'flags and the job file',
    help: VAR_HELP,
    load: async () => (await import('./job-validate.js')).jobValidate,
  },
  {
    path: ['operator', 'raft', 'list-peers'],
    description: 'List the Raft peers: state, voter, match index and lag (from the leader)',
    usage: '[-json] [-address host:port]',
    load: async () => (await import('./operator-raft-list-peers.js')).operatorRaftListPeers,
  },
  {
    path: ['operator', 'raft', 'transfer-leadership'],
    description: 'Hand Raft leadership to a voter (default: the most up-to-date one)',
    usage: '[-peer-id ID | -peer-address host:port] [-address host:port]',
    load: async () => (await import('./operator-raft-transfer-leadership.js')).operatorRaftTransferLeadership,
  },
  {
    path: ['operator', 'raft', 'remove-peer'],
    description: 'Remove a server from the Raft configuration',
    usage: '-peer-id ID [-address host:port]',
    load: async () => (await import('./operator-raft-remove-peer.js')).operatorRaftRemovePeer,
  },
  {
    path: ['operator', 'snapshot', 'save'],
    description: 'Save the cluster state (at a linearizable read point) to a file',
    usage: '[-address host:port] <file>',
    load: async () => (await import('./operator-snapshot-save.js')).operatorSnapshotSave,
  },
  {
    path: ['operator', 'snapshot', 'restore'],
    description: 'Replace the cluster state with a saved state file (checked completely first)',
    usage: '[-address host:port] <file>',
    load: async () => (await import('./operator-snapshot-restore.js')).operatorSnapshotRestore,
  },
  {
    path: ['operator', 'snapshot', 'inspect'],
    description: 'Show what a saved state file holds: index, size, rows per table',
    usage: '[-json] <file>',
    load: async () => (await import('./operator-snapshot-inspect.js')).operatorSnapshotInspect,
  },
  {
    path: ['server', 'members'],
    description: 'List the cluster\'s servers: gossip status, leader, voter, region, datacenter, build, Raft address',
    usage: '[-json] [-address host:port]',
    load: async () => (await import('./server-members.js')).serverMembers,
  },
  // issue 6: gossip membership.
  {
    path: ['server', 'join'],
    description: 'Make the server join the gossip of the servers at these gossip addresses',
    usage: '[-address host:port] <serf host:port>...',
    load: async () => (await import('./server-join.js')).serverJoin,
  },
  {
    path: ['server', 'force-leave'],
    description: 'Mark a failed server as left everywhere; the leader then removes it from Raft',
    usage: '[-address host:port] <server name>',
    load: async () => (await import('./server-force-leave.js')).serverForceLeave,
  },
  {
    path: ['node', 'status'],
    description: 'List client nodes, or show one node and its allocations',
    usage: '[-json] [-stale] [-address host:port] [<node id or prefix>]',
    load: async () => (await import('./node-status.js')).nodeStatus,
  },
  {
    path: ['node', 'eligibility'],
    description: 'Mark a node eligible or ineligible for new placements',
    usage: '-enable|-disable [-address host:port] <node id or prefix>',
    load: async () => (await import('./node-eligibility.js')).nodeEligibility,
  },
  {
    path: ['node', 'drain'],
    description: 'Drain a node: migrate its allocations elsewhere within each group\'s migrate.max_parallel, then monitor until done',
    usage: '-enable|-disable|-monitor [-deadline D] [-no-deadline] [-force] [-ignore-system] [-keep-ineligible] [-detach] [-address host:port] <node id or prefix>',
    load: async () => (await import('./node-drain.js')).nodeDrain,
  },
  {
    path: ['eval', 'status'],
    description: 'Show an evaluation and why its placements failed',
    usage: '[-json] [-stale] [-address host:port] <eval id or prefix>',
    load: async () => (await import('./eval-status.js')).evalStatus,
  },
  {
    path: ['eval', 'list'],
    description: 'List evaluations',
    usage: '[-json] [-stale] [-job <job id>] [-status <status>] [-address host:port]',
    load: async () => (await import('./eval-list.js')).evalList,
  },
  {
    path: ['alloc', 'status'],
    description: 'Show an allocation and why it was placed where it is',
    usage: '[-json] [-stale] [-address host:port] <alloc id or prefix>',
    load: async () => (await import('./alloc-status.js')).allocStatus,
  },
  {
    path: ['top'],
    description: 'The live operator console: servers, nodes, jobs, evaluation timelines, events; drain, eligibility, leadership, stop, logs by key',
    usage: '[-read-only] [-address host:port]',
    load: async () => (await import('./top.js')).top,
    exitWhenDone: true,
  },
  {
    path: ['event', 'stream'],
    description: 'Print the event stream (state and operational topics) as NDJSON, until interrupted',
    usage: '[-topic T[:key]]... [-index N] [-namespace NS] [-limit N] [-heartbeats] [-address host:port]',
    load: async () => (await import('./event-stream.js')).eventStream,
  },
  {
    path: ['alloc', 'logs'],
    description: "Print a task's stdout (or -stderr) log; -f follows it, -tail -n N shows the last N lines",
    usage: '[-stderr] [-f] [-tail] [-n lines] [-address host:port] <alloc id or prefix> [<task>]',
    load: async () => (await import('./alloc-logs.js')).allocLogs,
  },
  {
    path: ['alloc', 'signal'],
    description: 'Send a signal (-s, default SIGKILL) to a task of an allocation, or to all its running tasks',
    usage: '[-s signal] [-address host:port] <alloc id or prefix> [<task>]',
    help: ALLOC_SIGNAL_HELP,
    load: async () => (await import('./alloc-control.js')).allocSignal,
  },
  {
    path: ['alloc', 'restart'],
    description: 'Restart a task of an allocation (or all its running tasks) in place, outside the restart policy',
    usage: '[-address host:port] <alloc id or prefix> [<task>]',
    help: ALLOC_RESTART_HELP,
    load: async () => (await import('./alloc-control.js')).allocRestart,
  },
  {
    path: ['alloc', 'stop'],
    description: 'Stop an allocation (the scheduler places a replacement); monitors the evaluation unless -detach',
    usage: '[-detach] [-address host:port] <alloc id or prefix>',
    load: async () => (await import('./alloc-control.js')).allocStop,
  },
  {
    path: ['status'],
    description: 'List the jobs of the cluster',
    usage: '[-json] [-stale] [-address host:port]',
    load: async () => (await import('./status.js')).status,
  },
  {
    path: ['simulate'],
    description: 'Run the real scheduler on a simulated cluster and explain each placement',
    usage: '-nodes N (100), -seed S, -workers W (2), then job files (default: jobs/*.nomad.hcl)',
    load: async () => (await import('./simulate.js')).simulate,
  },
  {
    path: ['operator', 'gossip', 'keyring'],
    description: "Install, use, remove or list gossip encryption keys in a local agent's keyring file",
    usage: '-install <key> | -use <key> | -remove <key> | -list [-json], and -data-dir <agent data dir>',
    argName: 'flags',
    load: async () => (await import('./operator-gossip-keyring.js')).operatorGossipKeyring,
  },
  {
    path: ['operator', 'gossip', 'keygen'],
    description: 'Print a new random gossip encryption key (32 bytes, base64)',
    load: async () => (await import('./operator-gossip-keyring.js')).operatorGossipKeygen,
  },
  {
    path: ['tls', 'ca', 'create'],
    description: 'Create a certificate authority for the agents',
    usage: 'Nomad-style flags',
    argName: 'flags',
    help: TLS_CA_CREATE_HELP,
    load: async () => (await import('./tls-ca-create.js')).tlsCaCreate,
  },
  {
    path: ['tls', 'cert', 'create'],
    description: 'Create a server, client or cli certificate signed by the CA',
    usage: 'Nomad-style flags',
    argName: 'flags',
    help: TLS_CERT_CREATE_HELP,
    load: async () => (await import('./tls-cert-create.js')).tlsCertCreate,
  },
  {
    path: ['version'],
    description: 'Print the version of nomadts',
    load: async () => (await import('./version.js')).version,
  },
];
