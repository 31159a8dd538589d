// The top level of a config file and its `service` section, as in the OpenTelemetry Collector.
import { z } from 'zod';
import { endpoint } from './types.ts';

const idList = z.array(z.string({ error: 'expected a component id like otlp or otlp/name' })).default([]);

export const pipelineSchema = z.strictObject({
  receivers: idList,
  processors: idList,
  exporters: idList,
});
export type PipelineConfig = z.infer<typeof pipelineSchema>;

export const telemetrySchema = z
  .strictObject({
    logs: z
      .strictObject({
        /** Lowest level logged. */
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        /** `console` for people, `json` for log shippers. */
        encoding: z.enum(['console', 'json']).default('console'),
      })
      .default({ level: 'info', encoding: 'console' }),
    metrics: z
      .strictObject({
        /** `none` turns the telemetry endpoint off. */
        level: z.enum(['none', 'basic', 'normal', 'detailed']).default('normal'),
        /** Where bpfcol serves its own metrics (/metrics) and health (/health). */
        address: endpoint('127.0.0.1:8888'),
      })
      .default({ level: 'normal', address: '127.0.0.1:8888' }),
    resource: z.record(z.string(), z.string()).default({}),
  })
  .default({
    logs: { level: 'info', encoding: 'console' },
    metrics: { level: 'normal', address: '127.0.0.1:8888' },
    resource: {},
  });
export type TelemetryConfig = z.infer<typeof telemetrySchema>;

const componentSection = z.record(z.string(), z.unknown()).nullable().default({});

export const rootSchema = z.strictObject({
  receivers: componentSection,
  processors: componentSection,
  exporters: componentSection,
  extensions: componentSection,
  connectors: componentSection,
  service: z.strictObject({
    extensions: idList,
    pipelines: z.record(z.string(), z.unknown(), { error: 'expected a mapping of pipelines' }),
    telemetry: telemetrySchema,
  }, { error: 'is required: a service section with pipelines' }),
});
