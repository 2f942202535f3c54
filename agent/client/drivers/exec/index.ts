/**
 * The `exec` task driver: isolated processes (namespaces, chroot, cgroups, no
 * capabilities, unprivileged user) built with bubblewrap.
 */
export { ExecClientOptions, ExecDriver, execOptionsFromClient } from './exec.js';
export type { ExecOptions } from './exec.js';
export { DefaultChrootEnv, parseChrootEnv } from './sandbox.js';
