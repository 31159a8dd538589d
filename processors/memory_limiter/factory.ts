// The memory_limiter processor: refuses data while the process uses too much memory, so
// receivers push back on their senders instead of bpfcol running out of memory.
import type { CreateSettings, ProcessorFactory } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { SharedComponents } from '../../src/component/shared.ts';
import { ITEM_NAME, type Signal } from '../../src/pdata/signal.ts';
import { MemoryChecker } from './checker.ts';
import { type MemoryLimiterConfig, memoryLimiterConfigSchema, validateMemoryLimiterConfig } from './config.ts';
import { computeLimits } from './limits.ts';
import { MemoryLimiterProcessor } from './processor.ts';

/** One checker per memory_limiter id, shared by the signals it serves. */
const checkers = new SharedComponents<MemoryChecker>();

function create<S extends Signal>(signal: S) {
  return (settings: CreateSettings, config: MemoryLimiterConfig, next: Consumer<S>) => {
    const problems = validateMemoryLimiterConfig(config);
    if (problems.length) throw new Error(`${settings.id.text}: ${problems.join('; ')}`);
    const { component, handle } = checkers.getOrCreate(
      settings.id.text,
      () => new MemoryChecker(computeLimits(config), config.check_interval, settings.logger),
    );
    const refused = settings.telemetry.counter(
      `processor_refused_${ITEM_NAME[signal]}`,
      `Number of ${ITEM_NAME[signal].replace('_', ' ')} refused because memory usage was above the soft limit`,
      '{item}',
    );
    return new MemoryLimiterProcessor(signal, component, handle, next, refused);
  };
}

export const memoryLimiterFactory: ProcessorFactory<MemoryLimiterConfig> = {
  kind: 'processor',
  type: 'memory_limiter',
  description: 'Refuses data with a retryable error while process memory is above the soft limit',
  configSchema: memoryLimiterConfigSchema,
  validate: validateMemoryLimiterConfig,
  create: {
    traces: create('traces'),
    metrics: create('metrics'),
    logs: create('logs'),
    profiles: create('profiles'),
  },
};
