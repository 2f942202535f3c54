/**
 * An in-process cluster for `nomadts simulate`, the scheduler benchmark and
 * end-to-end tests of the control plane: one Server (FSM, broker, workers, plan
 * applier) with simulated nodes registered, jobs submitted, and a way to wait
 * until the schedulers have nothing left to do.
 */
import type { Clock, Rng } from '../core/lib/index.js';
import type { Job, Node } from '../core/structs/index.js';
import type { ServerOptions } from '../server/index.js';
import { Server } from '../server/index.js';
import type { SimulatedNodesOptions } from './nodes.js';
import { simulatedNodes } from './nodes.js';

export interface SimClusterOptions extends Omit<ServerOptions, 'clock' | 'rng'> {
  clock: Clock;
  rng: Rng;
  nodes: Omit<SimulatedNodesOptions, 'rng'> | Node[];
}

export class SimCluster {
  readonly server: Server;
  readonly nodes: Node[];

  private constructor(server: Server, nodes: Node[]) {
    this.server = server;
    this.nodes = nodes;
  }

  static async start(opts: SimClusterOptions): Promise<SimCluster> {
    const { nodes: nodeOpts, clock, rng, ...serverOpts } = opts;
    const server = new Server({ ...serverOpts, clock, rng: rng.fork() });
    const nodes = Array.isArray(nodeOpts) ? nodeOpts : simulatedNodes({ ...nodeOpts, rng: rng.fork() });
    server.start();
    for (const n of nodes) await server.registerNode(n);
    const cluster = new SimCluster(server, nodes);
    await cluster.settle();
    return cluster;
  }

  async submit(job: Job): Promise<string> {
    const r = await this.server.registerJob(job);
    return r.evalId;
  }

  /**
   * Wait until the broker and plan applier are idle: yields to the event loop
   * (macrotask turns) so workers run. Throws if work is still going after
   * `maxTurns` turns, so a stuck scheduler fails loudly instead of hanging.
   */
  async settle(maxTurns = 1_000_000): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < maxTurns; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.server.idle()) {
        // Idle twice in a row: an ack can enqueue a job's next pending eval in between.
        if (++quiet >= 2) return;
      } else {
        quiet = 0;
      }
    }
    throw new Error(`cluster still busy after ${maxTurns} turns: ${JSON.stringify(this.server.stats().broker.total)}`);
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }
}
