/**
 * Leadership: the duties only the Raft leader performs (the eval broker, the plan applier, the
 * scheduler workers and, as the Server grows them, heartbeat timers and the other leader loops)
 * start when this server becomes leader and stop when it loses leadership. As Nomad's
 * establishLeadership does, a new leader first waits until its state has caught up with
 * everything committed before its term (a ReadIndex barrier: its own no-op entry applied), and
 * then rebuilds the duties from that state (Server.start re-enqueues every pending evaluation).
 * Transitions run one at a time, in order.
 */
import type { SoftState } from '../raft/core/index.js';
import type { Server } from './server.js';

export interface LeadershipOptions {
  server: Server;
  /** Resolves once this server has applied everything committed before now (ReadIndex). */
  barrier: () => Promise<unknown>;
  /** Whether this server is still the leader (checked after the barrier). */
  isLeader: () => boolean;
  log?: (line: string) => void;
  onChange?: (leader: boolean) => void;
}

export class Leadership {
  private chain: Promise<void> = Promise.resolve();
  private leading = false;

  constructor(private readonly o: LeadershipOptions) {}

  /** Feed every Raft soft state change (leader id, role). */
  onSoftState(s: SoftState): void {
    const wantLeader = s.role === 'leader';
    this.chain = this.chain.then(() => (wantLeader ? this.establish() : this.revoke())).catch((err: unknown) => {
      this.o.log?.(`leadership transition failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** True while the leader duties run here. */
  isLeading(): boolean {
    return this.leading;
  }

  /** Resolves when every queued transition has run. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async establish(): Promise<void> {
    if (this.leading) return;
    for (let attempt = 0; ; attempt++) {
      if (!this.o.isLeader()) return;
      try {
        await this.o.barrier();
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (!this.o.isLeader()) return;
    // Every node's last heartbeat may have gone to the old leader: the long failover TTL.
    this.o.server.start({ resetHeartbeats: true, failover: true });
    this.leading = true;
    this.o.log?.('cluster leadership acquired: broker, plan applier and workers started from state');
    this.o.onChange?.(true);
  }

  private async revoke(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    await this.o.server.stop();
    this.o.log?.('cluster leadership lost: leader duties stopped');
    this.o.onChange?.(false);
  }

  async stop(): Promise<void> {
    await this.chain;
    await this.revoke();
  }
}
