/** SchedulerConfiguration and PeriodicLaunch ↔ nomadts.v1. */
import type * as d from '../core/structs/index.js';
import * as pb from '../../proto/index.js';
import { EnumCodec, required } from './codec.js';

const algorithmCodec = new EnumCodec<d.SchedulerConfiguration['schedulerAlgorithm'], pb.SchedulerAlgorithm>('scheduler algorithm', {
  binpack: pb.SchedulerAlgorithm.SCHEDULER_ALGORITHM_BINPACK,
  spread: pb.SchedulerAlgorithm.SCHEDULER_ALGORITHM_SPREAD,
});

export function schedulerConfigToProto(c: d.SchedulerConfiguration, path = 'config'): pb.SchedulerConfiguration {
  const p = c.preemptionConfig;
  return {
    schedulerAlgorithm: algorithmCodec.encode(c.schedulerAlgorithm, path, 'schedulerAlgorithm'),
    preemptionConfig: {
      systemSchedulerEnabled: p.systemSchedulerEnabled,
      sysBatchSchedulerEnabled: p.sysBatchSchedulerEnabled,
      batchSchedulerEnabled: p.batchSchedulerEnabled,
      serviceSchedulerEnabled: p.serviceSchedulerEnabled,
    },
    memoryOversubscriptionEnabled: c.memoryOversubscriptionEnabled,
    pauseEvalBroker: c.pauseEvalBroker,
    createIndex: c.createIndex,
    modifyIndex: c.modifyIndex,
  };
}

export function schedulerConfigFromProto(c: pb.SchedulerConfiguration, path = 'config'): d.SchedulerConfiguration {
  const p = required(c.preemptionConfig, path, 'preemptionConfig');
  return {
    schedulerAlgorithm: algorithmCodec.decode(c.schedulerAlgorithm, path, 'schedulerAlgorithm'),
    preemptionConfig: {
      systemSchedulerEnabled: p.systemSchedulerEnabled,
      sysBatchSchedulerEnabled: p.sysBatchSchedulerEnabled,
      batchSchedulerEnabled: p.batchSchedulerEnabled,
      serviceSchedulerEnabled: p.serviceSchedulerEnabled,
    },
    memoryOversubscriptionEnabled: c.memoryOversubscriptionEnabled,
    pauseEvalBroker: c.pauseEvalBroker,
    createIndex: c.createIndex,
    modifyIndex: c.modifyIndex,
  };
}

export function periodicLaunchToProto(l: d.PeriodicLaunch): pb.PeriodicLaunch {
  return { namespace: l.namespace, jobId: l.jobId, launchMs: l.launch, createIndex: l.createIndex, modifyIndex: l.modifyIndex };
}

export function periodicLaunchFromProto(l: pb.PeriodicLaunch): d.PeriodicLaunch {
  return { namespace: l.namespace, jobId: l.jobId, launch: l.launchMs, createIndex: l.createIndex, modifyIndex: l.modifyIndex };
}
