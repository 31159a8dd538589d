// Real instrumented clients over OTLP/HTTP: the JS SDK's JSON (exporter-trace-otlp-http) and
// protobuf (exporter-trace-otlp-proto) trace exporters.
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OTLPTraceExporter as OTLPTraceExporterJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPTraceExporterProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { type RunningOtlp, startOtlp } from './harness.ts';
import { assertSpans, sendSpans } from './sdk-fixture.ts';

describe('otlp receiver with the JS SDK over OTLP/HTTP', () => {
  let otlp: RunningOtlp;
  beforeEach(async () => {
    otlp = await startOtlp({ grpc: null });
  });
  afterEach(() => otlp.stop());

  it('receives spans as JSON from exporter-trace-otlp-http', async () => {
    await sendSpans(new OTLPTraceExporterJson({ url: `${otlp.httpUrl}/v1/traces` }));
    assertSpans(otlp.traces.received);
  });

  it('receives spans as protobuf from exporter-trace-otlp-proto', async () => {
    await sendSpans(new OTLPTraceExporterProto({ url: `${otlp.httpUrl}/v1/traces` }));
    assertSpans(otlp.traces.received);
  });

  it('receives gzip-compressed protobuf and JSON', async () => {
    await sendSpans(new OTLPTraceExporterProto({ url: `${otlp.httpUrl}/v1/traces`, compression: CompressionAlgorithm.GZIP }));
    assertSpans(otlp.traces.received);
    otlp.traces.received.length = 0;
    await sendSpans(new OTLPTraceExporterJson({ url: `${otlp.httpUrl}/v1/traces`, compression: CompressionAlgorithm.GZIP }));
    assertSpans(otlp.traces.received);
  });
});
