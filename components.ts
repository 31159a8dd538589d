// The registry: every component bpfcol is built with, one line each. Adding a component is
// adding its folder and its line here; the engine in src/ knows no component by name.
import type { Factories } from './src/component/component.ts';
import { attributesFactory } from './processors/attributes/factory.ts';
import { batchFactory } from './processors/batch/factory.ts';
import { memoryLimiterFactory } from './processors/memory_limiter/factory.ts';
import { filterFactory } from './processors/filter/factory.ts';
import { resourceFactory } from './processors/resource/factory.ts';
import { metricsAggregationFactory } from './processors/metrics_aggregation/factory.ts';
import { k8sMetadataFactory } from './processors/k8s_metadata/factory.ts';
import { spanmetricsFactory } from './connectors/spanmetrics/factory.ts';
import { servicegraphFactory } from './connectors/servicegraph/factory.ts';
import { prometheusFactory } from './exporters/prometheus/factory.ts';
import { debugFactory } from './exporters/debug/factory.ts';
import { otlpFactory as otlpReceiverFactory } from './receivers/otlp/factory.ts';
import { tcpDropFactory } from './receivers/tcp_drop/factory.ts';
import { resourcesFactory } from './receivers/resources/factory.ts';
import { jvmUsdtFactory } from './receivers/jvm_usdt/factory.ts';
import { perfSamplingFactory } from './receivers/perf_sampling/factory.ts';
import { socketTraceFactory } from './receivers/socket_trace/factory.ts';
import { fileFactory } from './exporters/file/factory.ts';
import { otlpFactory as otlpExporterFactory } from './exporters/otlp/factory.ts';
import { otlpHttpFactory } from './exporters/otlp_http/factory.ts';
import { fileStorageFactory } from './extensions/file_storage/factory.ts';
import { jaegerFactory } from './exporters/jaeger/factory.ts';
import { prometheusRemoteWriteFactory } from './exporters/prometheusremotewrite/factory.ts';
import { pprofFactory } from './exporters/pprof/factory.ts';
import { flamegraphFactory } from './exporters/flamegraph/factory.ts';

export const factories: Factories = {
  receivers: [
    otlpReceiverFactory,
    tcpDropFactory,
    resourcesFactory,
    jvmUsdtFactory,
    perfSamplingFactory,
    socketTraceFactory,
  ],
  processors: [
    attributesFactory,
    batchFactory,
    memoryLimiterFactory,
    filterFactory,
    resourceFactory,
    metricsAggregationFactory,
    k8sMetadataFactory,
  ],
  exporters: [
    prometheusFactory,
    debugFactory,
    otlpExporterFactory,
    otlpHttpFactory,
    fileFactory,
    jaegerFactory,
    prometheusRemoteWriteFactory,
    pprofFactory,
    flamegraphFactory,
  ],
  connectors: [
    spanmetricsFactory,
    servicegraphFactory,
  ],
  extensions: [
    fileStorageFactory,
  ],
};
