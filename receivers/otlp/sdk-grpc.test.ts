// Real instrumented clients: the OpenTelemetry JS SDK with its OTLP/gRPC exporters sends to the
// receiver; the capturing consumers must get every field, nanosecond timestamps exact.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { type RunningOtlp, startOtlp } from './harness.ts';
import { assertLogs, assertMetrics, assertSpans, sendLogs, sendMetrics, sendSpans } from './sdk-fixture.ts';

describe('otlp receiver with the JS SDK over OTLP/gRPC', () => {
  let otlp: RunningOtlp;
  before(async () => {
    otlp = await startOtlp();
  });
  after(() => otlp.stop());

  it('receives spans from exporter-trace-otlp-grpc', async () => {
    await sendSpans(new OTLPTraceExporter({ url: otlp.grpcUrl }));
    assertSpans(otlp.traces.received);
  });

  it('receives metrics from exporter-metrics-otlp-grpc, gzip-compressed', async () => {
    await sendMetrics(new OTLPMetricExporter({ url: otlp.grpcUrl, compression: CompressionAlgorithm.GZIP }));
    assertMetrics(otlp.metrics.received);
  });

  it('receives logs from exporter-logs-otlp-grpc', async () => {
    await sendLogs(new OTLPLogExporter({ url: otlp.grpcUrl }));
    assertLogs(otlp.logs.received);
  });

  it('counted no malformed request', () => {
    assert.equal(otlp.telemetry.counters.get('receiver_malformed_requests') ?? 0, 0);
  });
});
