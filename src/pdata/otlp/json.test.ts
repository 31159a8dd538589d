// The OTLP/JSON form: what toJson writes (as the spec and the Collector's file exporter do) and
// the variants fromJson accepts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPAN_ID, sampleLogs, sampleTraces, T0, TRACE_ID } from '../../../test/fixtures/pdata-samples.ts';
import { decodeResponse, encodeResponse, fromJson, OtlpDecodeError, responseFromJson, responseToJson, toJsonObject } from './index.ts';

describe('OTLP/JSON output', () => {
  it('writes hex ids, int64 as decimal strings, enums as integers, bytes as base64, camelCase keys', () => {
    const json = toJsonObject('traces', sampleTraces()) as any;
    const span = json.resourceSpans[0].scopeSpans[0].spans[0];
    assert.equal(span.traceId, TRACE_ID);
    assert.equal(span.spanId, SPAN_ID);
    assert.equal(span.startTimeUnixNano, T0.toString());
    assert.equal(span.kind, 2);
    assert.deepStrictEqual(span.status, { message: 'deadlock detected', code: 2 });
    assert.equal(span.flags, 0x301);
    const attr = (key: string) => span.attributes.find((a: { key: string }) => a.key === key).value;
    assert.deepStrictEqual(attr('int.max'), { intValue: '9223372036854775807' });
    assert.deepStrictEqual(attr('bytes'), { bytesValue: 'AAH+/w==' });
    assert.deepStrictEqual(attr('empty'), {});
    assert.deepStrictEqual(attr('array'), { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '-1' }, { arrayValue: {} }] } });
    assert.equal(json.resourceSpans[0].scopeSpans[0].schemaUrl, 'https://opentelemetry.io/schemas/1.25.0');
    // Defaults are left out, except the status the Collector always writes.
    const bare = json.resourceSpans[0].scopeSpans[0].spans[1];
    assert.deepStrictEqual(bare, { traceId: TRACE_ID, spanId: 'eee19b7ec3c1b173', endTimeUnixNano: '18446744073709551615', status: {} });
  });

  it('writes log fields with their OTLP/JSON names', () => {
    const json = toJsonObject('logs', sampleLogs()) as any;
    const record = json.resourceLogs[0].scopeLogs[0].logRecords[0];
    assert.deepStrictEqual(Object.keys(record), [
      'timeUnixNano', 'observedTimeUnixNano', 'severityNumber', 'severityText', 'body', 'attributes',
      'droppedAttributesCount', 'flags', 'traceId', 'spanId', 'eventName',
    ]);
    assert.equal(record.severityNumber, 13);
    assert.equal(record.timeUnixNano, T0.toString());
  });
});

describe('OTLP/JSON input', () => {
  it('accepts int64 as numbers or strings, enums as names, ids in upper case, and ignores unknown fields', () => {
    const text = `{"resourceSpans":[{"resource":{"attributes":[{"key":"n","value":{"intValue":9007199254740993}}]},
      "futureField":{"x":1},
      "scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"${TRACE_ID.toUpperCase()}","spanId":"${SPAN_ID}",
      "name":"op","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1700000000123456789,"endTimeUnixNano":"1700000000123456790",
      "status":{"code":"STATUS_CODE_OK"},"parentSpanId":"","unknown":[1,2,3],"droppedAttributesCount":"2"}]}]}]}`;
    assert.deepStrictEqual(fromJson('traces', text), {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'n', value: { intValue: 9_007_199_254_740_993n } }] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: TRACE_ID,
                  spanId: SPAN_ID,
                  name: 'op',
                  kind: 3,
                  startTimeUnixNano: 1_700_000_000_123_456_789n,
                  endTimeUnixNano: 1_700_000_000_123_456_790n,
                  attributes: [],
                  droppedAttributesCount: 2,
                  events: [],
                  links: [],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('treats null as absent and reads severity and temporality names', () => {
    const logs = fromJson('logs', '{"resourceLogs":[{"resource":null,"scopeLogs":[{"scope":null,"logRecords":[{"severityNumber":"SEVERITY_NUMBER_ERROR","body":null,"traceId":null,"timeUnixNano":"5"}]}]}]}');
    assert.deepStrictEqual(logs, {
      resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: [{ timeUnixNano: 5n, observedTimeUnixNano: 0n, severityNumber: 17, attributes: [] }] }] }],
    });
    const metrics = fromJson(
      'metrics',
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA","isMonotonic":true,"dataPoints":[{"asInt":"-7","timeUnixNano":"1"}]}},{"name":"no data"}]}]}]}',
    );
    assert.deepStrictEqual(metrics.resourceMetrics[0]!.scopeMetrics[0]!.metrics, [
      { name: 'm', data: { type: 'sum', aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ attributes: [], timeUnixNano: 1n, asInt: -7n }] } },
    ]);
  });
});

describe('Export*ServiceResponse', () => {
  it('carries partial success in protobuf and JSON, and nothing for full success', () => {
    for (const signal of ['traces', 'metrics', 'logs'] as const) {
      const partial = { rejected: 3, message: 'too old' };
      assert.deepStrictEqual(decodeResponse(signal, encodeResponse(signal, partial)), partial);
      assert.deepStrictEqual(responseFromJson(signal, responseToJson(signal, partial)), partial);
      assert.equal(encodeResponse(signal).length, 0);
      assert.equal(decodeResponse(signal, encodeResponse(signal)), undefined);
      assert.equal(responseToJson(signal), '{}');
      assert.equal(responseFromJson(signal, '{}'), undefined);
      assert.equal(responseFromJson(signal, ''), undefined);
    }
    assert.equal(responseToJson('traces', { rejected: 2, message: '' }), '{"partialSuccess":{"rejectedSpans":"2"}}');
    assert.deepStrictEqual(responseFromJson('logs', '{"partialSuccess":{"rejectedLogRecords":1,"errorMessage":"x"}}'), { rejected: 1, message: 'x' });
    assert.throws(() => responseFromJson('metrics', '{"partialSuccess":'), OtlpDecodeError);
  });
});
