/**
 * The console's external store (subscribe / getSnapshot, for useSyncExternalStore): actions
 * are reduced at once, listeners are told at most `maxFps` times a second. Under a burst of
 * events the reducer keeps up and the screen redraws 20 times a second, not once per event.
 */
import type { Action } from './model/reducer.js';
import { reduce } from './model/reducer.js';
import type { TopState } from './model/state.js';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class TopStore {
  private state: TopState;
  private readonly listeners = new Set<() => void>();
  private pending: unknown = undefined;
  private readonly frameMs: number;
  /** Notifications sent (frames the UI was asked to draw). */
  frames = 0;
  /** Actions reduced. */
  dispatched = 0;

  constructor(initial: TopState, opts: { maxFps?: number; scheduler?: Scheduler } = {}) {
    this.state = initial;
    this.frameMs = Math.ceil(1000 / (opts.maxFps ?? 20));
    this.scheduler = opts.scheduler ?? realScheduler;
  }

  private readonly scheduler: Scheduler;

  getSnapshot = (): TopState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch = (...actions: Action[]): void => {
    let next = this.state;
    for (const a of actions) next = reduce(next, a);
    this.dispatched += actions.length;
    if (next === this.state) return;
    this.state = next;
    if (this.pending !== undefined) return;
    this.pending = this.scheduler.setTimeout(() => this.flush(), this.frameMs);
  };

  /** Tell listeners now (used on quit and in tests). */
  flush(): void {
    if (this.pending !== undefined) this.scheduler.clearTimeout(this.pending);
    this.pending = undefined;
    this.frames++;
    for (const l of this.listeners) l();
  }

  close(): void {
    if (this.pending !== undefined) this.scheduler.clearTimeout(this.pending);
    this.pending = undefined;
    this.listeners.clear();
  }
}
