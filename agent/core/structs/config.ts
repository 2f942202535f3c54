/** Cluster-wide scheduler configuration (operator scheduler set-config). */
export interface SchedulerConfiguration {
  /** `binpack` packs nodes tight; `spread` spreads allocations over nodes. */
  schedulerAlgorithm: 'binpack' | 'spread';
  preemptionConfig: {
    systemSchedulerEnabled: boolean;
    sysBatchSchedulerEnabled: boolean;
    batchSchedulerEnabled: boolean;
    serviceSchedulerEnabled: boolean;
  };
  memoryOversubscriptionEnabled: boolean;
  pauseEvalBroker: boolean;
  createIndex: number;
  modifyIndex: number;
}

export function defaultSchedulerConfiguration(): SchedulerConfiguration {
  return {
    schedulerAlgorithm: 'binpack',
    preemptionConfig: {
      systemSchedulerEnabled: true,
      sysBatchSchedulerEnabled: false,
      batchSchedulerEnabled: false,
      serviceSchedulerEnabled: false,
    },
    memoryOversubscriptionEnabled: false,
    pauseEvalBroker: false,
    createIndex: 0,
    modifyIndex: 0,
  };
}

/** The last time a periodic job launched a child. */
export interface PeriodicLaunch {
  namespace: string;
  jobId: string;
  launch: number;
  createIndex: number;
  modifyIndex: number;
}
