/**
 * A client node's wiring, shared by `agent -dev` (agent.ts) and the client-only agent
 * (`agent -config client.hcl`, client-agent.ts): the task drivers (raw_exec, exec, docker,
 * mock), a ClientAgent talking to the servers over mutual-TLS gRPC, and one AllocRunner per
 * allocation the servers give it, whose status goes back in the client's reports. On stop
 * every alloc runner is destroyed (tasks stopped), as Nomad's dev agent does.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AllocRunner, listPersistedAllocs } from '../client/allocrunner/index.js';
import type { AllocRunnerOptions, ClientStatus } from '../client/allocrunner/index.js';
import { ClientAgent } from '../client/agent/index.js';
import type { ClientAgentRpc } from '../client/agent/index.js';
import type { TaskDriver } from '../client/drivers/index.js';
import { DockerDriver, dockerOptionsFromClient, ExecDriver, execOptionsFromClient, MockDriver, RawExecDriver } from '../client/drivers/index.js';
import type { ClientConfig } from '../client/fingerprint/index.js';
import { rawExecEnabled } from '../client/fingerprint/index.js';
import { AllocDir, TaskLogs } from '../client/taskrunner/index.js';
import type { Clock, Rng } from '../core/lib/index.js';
import { NomadError } from '../core/lib/index.js';
import type { Allocation, TaskState } from '../core/structs/index.js';
import type { AllocLogSource, AllocTaskControl } from '../rpc-server/index.js';
import type { AgentEvent } from './agent.js';

/** `alloc logs` for a local client: its alloc dirs' log files. */
export function localLogSource(dataDir: string, clock: Clock, localNodeId: () => string | undefined): AllocLogSource {
  return {
    servesNode: (nodeId) => nodeId !== '' && nodeId === localNodeId(),
    read: (allocId, task, stream, o) => {
      const dir = new AllocDir(dataDir, allocId).logDir;
      if (!existsSync(dir)) {
        throw new NomadError('not_found', `allocation ${allocId} has no log directory on this node (not started yet, or garbage-collected)`, { field: 'alloc_id' });
      }
      return new TaskLogs(dir, clock).readLogs(task, stream, o);
    },
  };
}

/** `alloc signal` / `alloc restart` for a local client: its alloc runners. */
export function localTaskControl(localRunner: (allocId: string) => AllocRunner | undefined, localNodeId: () => string | undefined): AllocTaskControl {
  const runnerOf = (allocId: string): AllocRunner => {
    const ar = localRunner(allocId);
    if (ar === undefined) throw new NomadError('conflict', `allocation ${allocId} is not running on this agent's client (not started yet, or already stopped)`, { field: 'alloc_id' });
    return ar;
  };
  return {
    servesNode: (nodeId) => nodeId !== '' && nodeId === localNodeId(),
    signal: (allocId, task, sig) => runnerOf(allocId).signalTasks(task, sig),
    restart: (allocId, task) => runnerOf(allocId).restartTasks(task),
  };
}

export interface ClientNodeOptions {
  config: ClientConfig;
  dataDir: string;
  rpc: ClientAgentRpc;
  clock: Clock;
  rng: Rng;
  emit: (e: AgentEvent) => void;
}

export interface ClientNode {
  readonly client: ClientAgent;
  runner(allocId: string): AllocRunner | undefined;
  allocRunnerIds(): string[];
  /** Destroy every alloc runner (tasks killed), then stop the client. Safe to call more than once. */
  stop(): Promise<void>;
}

export async function startClientNode(opts: ClientNodeOptions): Promise<ClientNode> {
  const { config, dataDir, clock, rng, emit } = opts;
  const cleanups: (() => Promise<void> | void)[] = [];
  const docker = new DockerDriver({ ...dockerOptionsFromClient(config.options), clock });
  cleanups.push(() => docker.shutdown()); // containers keep running; a restarted agent recovers them
  const drivers: TaskDriver[] = [new RawExecDriver({ enabled: rawExecEnabled(config), clock }), new ExecDriver(execOptionsFromClient(config.options, { clock, stateDir: join(dataDir, 'client', 'exec') })), docker, new MockDriver({ clock })];
  const byName = new Map(drivers.map((d) => [d.name, d]));

  const runners = new Map<string, AllocRunner>();
  const updates = new Map<string, Promise<void>>();
  const names = new Map<string, string>();
  const lastStatus = new Map<string, string>();
  const seenEvents = new Map<string, string>();
  let stopping = false;
  // onAllocs / removals / restore run one at a time, in order.
  let queue: Promise<void> = Promise.resolve();
  const serial = (what: string, fn: () => Promise<void>): void => {
    queue = queue.then(fn).catch((err: unknown) => emit({ kind: 'error', what, message: err instanceof Error ? err.message : String(err) }));
  };

  // eslint-disable-next-line prefer-const -- assigned once the client exists; the runners' callbacks need it
  let client: ClientAgent;
  const onUpdate = (allocId: string, status: ClientStatus, taskStates: Record<string, TaskState>): void => {
    const ar = runners.get(allocId);
    for (const [task, ts] of Object.entries(taskStates)) {
      // Task states keep only the latest events: find the last one already logged, log those after it.
      const key = `${allocId}/${task}`;
      const last = seenEvents.get(key);
      let from = 0;
      if (last !== undefined) {
        const at = ts.events.findLastIndex((e) => eventKey(e) === last);
        from = at >= 0 ? at + 1 : ts.events.findIndex((e) => e.time > Number(last.split('|')[0]));
        if (from < 0) from = ts.events.length;
      }
      for (const e of ts.events.slice(from)) emit({ kind: 'task-event', allocId, task, type: e.type, message: e.message });
      const newest = ts.events[ts.events.length - 1];
      if (newest !== undefined) seenEvents.set(key, eventKey(newest));
    }
    if (lastStatus.get(allocId) !== status.status) {
      lastStatus.set(allocId, status.status);
      emit({ kind: 'alloc-status', allocId, name: names.get(allocId) ?? allocId, status: status.status, description: status.description });
    }
    // Only allocations the server gave this client are reported (not orphans being cleaned up).
    if (ar !== undefined) client.reportAllocs([{ id: allocId, clientStatus: status.status, clientDescription: status.description, taskStates, modifyTime: clock.now() }]);
  };
  const runnerOpts = (): Omit<AllocRunnerOptions, 'alloc'> => ({
    dataDir,
    driver: (name) => byName.get(name),
    clock,
    rng: rng.fork(),
    ...(client.node !== undefined ? { node: client.node } : {}),
    onUpdate,
    // Every task's output goes through the client's logmon, so logs rotate (even while the agent
    // is down); docker's output is copied from the engine into the task's FIFOs by the agent.
    logmon: true,
  });

  // A client restart on the same data dir: the allocations an earlier run persisted. The servers
  // decide which live on. The watch's first update carries every allocation they hold for this
  // node (a fresh process knows none), so an allocation found there still to run is reattached:
  // its runner is restored, its live tasks kept (not started again), a task that ended meanwhile
  // has its exit read and its restart policy applied. One found stopped is stopped. Those the
  // servers no longer have are orphans: their tasks are reattached only to be killed, then their
  // state is removed (after the first update). Until the client reaches a server, they run on.
  const persisted = new Set(await listPersistedAllocs(dataDir));
  /** False when the allocation has no usable persisted state (then it starts afresh). */
  const reattach = async (id: string, alloc: Allocation | undefined): Promise<boolean> => {
    persisted.delete(id);
    let ar: AllocRunner | undefined;
    try {
      ar = await AllocRunner.restore(runnerOpts(), id);
    } catch (err) {
      emit({ kind: 'error', what: `restore ${id}`, message: err instanceof Error ? err.message : String(err) });
      rmSync(join(dataDir, 'client', 'allocs', id), { recursive: true, force: true });
      return false;
    }
    if (ar === undefined) return false;
    names.set(id, ar.allocation.name);
    // The events up to the crash were logged by the earlier run.
    for (const [task, ts] of Object.entries(ar.taskStates())) {
      const newest = ts.events[ts.events.length - 1];
      if (newest !== undefined) seenEvents.set(`${id}/${task}`, eventKey(newest));
    }
    const kept = alloc !== undefined && alloc.desiredStatus === 'run' && !isTerminal(alloc.clientStatus);
    emit({ kind: 'restored', allocId: id, kept });
    if (kept) {
      runners.set(id, ar);
      await ar.run();
      // Changed on the servers while this client was down (e.g. an in-place update).
      if (alloc.allocModifyIndex !== ar.allocation.allocModifyIndex) await ar.update(alloc);
    } else {
      await ar.destroy().catch((err: unknown) => emit({ kind: 'error', what: `remove orphan ${id}`, message: String(err) }));
    }
    return true;
  };

  const handleAllocs = async (allocs: Allocation[]): Promise<void> => {
    for (const alloc of allocs) {
      if (stopping) return;
      if (persisted.has(alloc.id) && (await reattach(alloc.id, alloc))) continue;
      const existing = runners.get(alloc.id);
      if (existing !== undefined) {
        // Updates of one runner stay in order; a stop (which waits for the tasks to die)
        // does not hold up the other allocations.
        const prev = updates.get(alloc.id) ?? Promise.resolve();
        const next = prev
          .then(() => existing.update(alloc))
          .then(() => {
            // The servers think a finished allocation is still live (e.g. a snapshot restored
            // from before it ended): tell them again how it ended, so they replace it.
            const real = existing.clientStatus();
            if (isTerminal(real.status) && alloc.clientStatus !== real.status) {
              client.reportAllocs([{ id: alloc.id, clientStatus: real.status, clientDescription: real.description, taskStates: existing.taskStates(), modifyTime: clock.now() }]);
            }
          })
          .catch((err: unknown) => emit({ kind: 'error', what: `alloc ${alloc.id}`, message: String(err) }));
        updates.set(alloc.id, next);
        continue;
      }
      if (alloc.desiredStatus !== 'run' || isTerminal(alloc.clientStatus)) continue;
      const ar = new AllocRunner({ ...runnerOpts(), alloc });
      runners.set(alloc.id, ar);
      names.set(alloc.id, alloc.name);
      void ar.run().catch((err: unknown) => emit({ kind: 'error', what: `alloc ${alloc.id}`, message: String(err) }));
    }
  };
  const handleRemoved = async (ids: string[]): Promise<void> => {
    for (const id of ids) {
      const ar = runners.get(id);
      if (ar === undefined) continue;
      runners.delete(id);
      await (updates.get(id) ?? Promise.resolve());
      updates.delete(id);
      await ar.destroy();
    }
  };

  client = new ClientAgent({
    config,
    dataDir,
    drivers,
    rpc: opts.rpc,
    clock,
    rng: rng.fork(),
    onAllocs: (allocs) => serial('allocs', () => handleAllocs(allocs)),
    onAllocsRemoved: (ids) => serial('alloc removal', () => handleRemoved(ids)),
    usage: () => [...runners.values()].map((ar) => ar.resourceUsage()),
    onError: (what, err) => emit({ kind: 'error', what, message: err instanceof Error ? err.message : String(err) }),
  });
  cleanups.push(() => client.stop());
  const undo = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // best effort
      }
    }
  };
  try {
    await client.start();
  } catch (err) {
    await undo();
    throw err;
  }

  void client.firstAllocSync().then(() => {
    serial('restore', async () => {
      for (const id of [...persisted]) {
        if (stopping) return;
        await reattach(id, undefined);
      }
    });
  });

  void client.registered().then(() => {
    if (!stopping) emit({ kind: 'node-registered', nodeId: client.node?.id ?? '', nodeName: config.name });
  });

  let stopped: Promise<void> | undefined;
  return {
    client,
    runner: (allocId) => runners.get(allocId),
    allocRunnerIds: () => [...runners.keys()].sort(),
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        await queue.catch(() => undefined);
        await Promise.allSettled(updates.values());
        // Every task is killed on exit (Nomad's dev agent does too).
        const all = [...runners.values()];
        runners.clear();
        await Promise.allSettled(all.map((ar) => ar.destroy()));
        await undo();
      })();
      return stopped;
    },
  };
}

function eventKey(e: { time: number; type: string; message: string }): string {
  return `${e.time}|${e.type}|${e.message}`;
}

function isTerminal(status: string): boolean {
  return status === 'complete' || status === 'failed' || status === 'lost';
}
