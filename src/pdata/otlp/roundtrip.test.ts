// model -> protobuf -> model and model -> JSON -> model give back exactly what went in, for
// every field of every signal and every metric type.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleLogs, sampleMetrics, sampleTraces } from '../../../test/fixtures/pdata-samples.ts';
import type { MetricsData } from '../metrics.ts';
import { decodeRequest, encodeRequest, fromJson, toJson } from './index.ts';

const samples = { traces: sampleTraces, metrics: sampleMetrics, logs: sampleLogs } as const;

describe('OTLP codec round trips', () => {
  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    it(`${signal}: model -> protobuf -> model`, () => {
      const data = samples[signal]();
      assert.deepStrictEqual(decodeRequest(signal, encodeRequest(signal, data)), data);
    });
    it(`${signal}: model -> JSON -> model`, () => {
      const data = samples[signal]();
      const line = toJson(signal, data);
      assert.ok(!line.includes('\n'), 'one line');
      assert.deepStrictEqual(fromJson(signal, line), data);
    });
  }

  it('covers all five metric data types, each surviving both encodings alone', () => {
    const data = sampleMetrics();
    const metrics = data.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
    assert.deepStrictEqual(new Set(metrics.map((m) => m.data.type)), new Set(['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']));
    for (const metric of metrics) {
      const single: MetricsData = { resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ metrics: [metric] }] }] };
      assert.deepStrictEqual(decodeRequest('metrics', encodeRequest('metrics', single)), single, `${metric.data.type} via protobuf`);
      assert.deepStrictEqual(fromJson('metrics', toJson('metrics', single)), single, `${metric.data.type} via JSON`);
    }
  });

  it('keeps non-finite doubles through JSON as the protobuf JSON mapping writes them', () => {
    const data: MetricsData = {
      resourceMetrics: [
        {
          resource: { attributes: [] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'odd',
                  data: {
                    type: 'gauge',
                    dataPoints: [
                      { attributes: [], timeUnixNano: 1n, asDouble: NaN },
                      { attributes: [], timeUnixNano: 2n, asDouble: Infinity },
                      { attributes: [], timeUnixNano: 3n, asDouble: -Infinity },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const line = toJson('metrics', data);
    assert.match(line, /"asDouble":"NaN"/);
    assert.match(line, /"asDouble":"Infinity"/);
    assert.match(line, /"asDouble":"-Infinity"/);
    assert.deepStrictEqual(fromJson('metrics', line), data);
    assert.deepStrictEqual(decodeRequest('metrics', encodeRequest('metrics', data)), data);
  });

  it('encodes empty data as an empty request', () => {
    assert.equal(encodeRequest('traces', { resourceSpans: [] }).length, 0);
    assert.deepStrictEqual(decodeRequest('logs', new Uint8Array()), { resourceLogs: [] });
    assert.equal(toJson('metrics', { resourceMetrics: [] }), '{}');
    assert.deepStrictEqual(fromJson('metrics', '{}'), { resourceMetrics: [] });
  });
});
