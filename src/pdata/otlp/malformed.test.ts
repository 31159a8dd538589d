// Malformed input throws OtlpDecodeError and nothing else: truncated and garbage protobuf,
// ids of the wrong size, invalid or mistyped JSON.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleLogs, sampleMetrics, sampleTraces } from '../../../test/fixtures/pdata-samples.ts';
import { decodeRequest, decodeResponse, encodeRequest, fromJson, OtlpDecodeError, toJson } from './index.ts';

const samples = { traces: sampleTraces, metrics: sampleMetrics, logs: sampleLogs } as const;

/** A small deterministic generator, so a failing case can be reproduced. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 0x1_0000_0000;
  };
}

/** Runs `f`; it may succeed, and when it throws the error must be an OtlpDecodeError. */
function decodesOrRefuses(f: () => unknown, what: string): boolean {
  try {
    f();
    return true;
  } catch (error) {
    assert.ok(error instanceof OtlpDecodeError, `${what}: threw ${String(error)}`);
    return false;
  }
}

describe('malformed OTLP protobuf', () => {
  for (const signal of ['traces', 'metrics', 'logs'] as const) {
    it(`${signal}: a request cut one byte short is refused`, () => {
      const bytes = encodeRequest(signal, samples[signal]());
      assert.throws(() => decodeRequest(signal, bytes.subarray(0, bytes.length - 1)), OtlpDecodeError);
    });

    it(`${signal}: every truncation decodes or throws OtlpDecodeError, never another error`, () => {
      const bytes = encodeRequest(signal, samples[signal]());
      let refused = 0;
      for (let n = 0; n < bytes.length; n++) if (!decodesOrRefuses(() => decodeRequest(signal, bytes.subarray(0, n)), `length ${n}`)) refused++;
      assert.ok(refused > bytes.length / 2, `most truncations are refused (${refused} of ${bytes.length})`);
    });

    it(`${signal}: random bytes and flipped bytes decode or throw OtlpDecodeError`, () => {
      const next = random(signal.length);
      const valid = encodeRequest(signal, samples[signal]());
      let refused = 0;
      for (let i = 0; i < 500; i++) {
        const garbage = new Uint8Array(1 + Math.floor(next() * 200)).map(() => Math.floor(next() * 256));
        if (!decodesOrRefuses(() => decodeRequest(signal, garbage), `garbage #${i}`)) refused++;
        const flipped = new Uint8Array(valid);
        flipped[Math.floor(next() * flipped.length)] = Math.floor(next() * 256);
        decodesOrRefuses(() => decodeRequest(signal, flipped), `flipped #${i}`);
      }
      assert.ok(refused > 250, `most random inputs are refused (${refused} of 500)`);
    });
  }

  it('refuses a wire type that does not exist', () => {
    // Field 5 with wire type 7.
    assert.throws(() => decodeRequest('traces', new Uint8Array([0x2f, 0x01])), (e: unknown) => e instanceof OtlpDecodeError && /wire type/.test(e.message));
  });

  it('refuses a length running past the end', () => {
    assert.throws(() => decodeRequest('metrics', new Uint8Array([0x0a, 0xff, 0xff, 0x03, 0x00])), OtlpDecodeError);
  });

  it('refuses trace and span ids of the wrong size', () => {
    // Encoded with a 15-byte trace id by hand: ScopeSpans{spans:[Span{trace_id}]}.
    const span = Buffer.concat([Buffer.from([0x0a, 15]), Buffer.alloc(15, 1)]);
    const scopeSpans = Buffer.concat([Buffer.from([0x12, span.length]), span]);
    const resourceSpans = Buffer.concat([Buffer.from([0x12, scopeSpans.length]), scopeSpans]);
    const request = Buffer.concat([Buffer.from([0x0a, resourceSpans.length]), resourceSpans]);
    assert.throws(() => decodeRequest('traces', request), /trace id: expected 16 bytes, got 15/);
  });

  it('refuses a malformed response', () => {
    assert.throws(() => decodeResponse('logs', new Uint8Array([0x0a, 0x05, 0x08])), OtlpDecodeError);
  });
});

describe('malformed OTLP/JSON', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', 'resourceSpans: []', /invalid JSON/],
    ['truncated JSON', toJson('traces', sampleTraces()).slice(0, -3), /invalid JSON/],
    ['an array at the top', '[]', /expected an object, got an array/],
    ['resourceSpans not a list', '{"resourceSpans":5}', /resourceSpans: expected an array, got 5/],
    ['a span that is a string', '{"resourceSpans":[{"scopeSpans":[{"spans":["x"]}]}]}', /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: expected an object/],
    ['a trace id that is not hex', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}', /spans\[0\]\.traceId: expected 32 hex digits, got "zz"/],
    ['a base64 trace id', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA=="}]}]}]}', /traceId: expected 32 hex digits/],
    ['a timestamp that is not a number', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}', /startTimeUnixNano: expected an unsigned 64-bit integer/],
    ['a negative timestamp', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"-1"}]}]}]}', /timeUnixNano: expected an unsigned 64-bit integer/],
    ['an int above int64', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"intValue":"9223372036854775808"}}]}]}]}', /body\.intValue: expected a 64-bit integer/],
    ['a fractional int', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"k","value":{"intValue":1.5}}]}]}]}]}', /value\.intValue: expected a 64-bit integer/],
    ['an unknown enum name', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SIDEWAYS"}]}]}]}', /kind: expected an integer or one of SPAN_KIND_UNSPECIFIED/],
    ['a bool as a string', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"isMonotonic":"yes"}}]}]}]}', /sum\.isMonotonic: expected true or false/],
    ['a double as a word', '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"asDouble":"lots"}]}}]}]}]}', /dataPoints\[0\]\.asDouble: expected a number/],
    ['bytes that are not base64', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"bytesValue":"%%%"}}]}]}]}', /body\.bytesValue: expected base64/],
    ['a negative dropped count', '{"resourceSpans":[{"resource":{"droppedAttributesCount":-1}}]}', /resource\.droppedAttributesCount: expected an unsigned 32-bit integer/],
  ];
  for (const [what, text, message] of cases) {
    it(`refuses ${what}`, () => {
      const signal = text.includes('resourceLogs') ? 'logs' : text.includes('resourceMetrics') ? 'metrics' : 'traces';
      assert.throws(() => fromJson(signal, text), (e: unknown) => e instanceof OtlpDecodeError && message.test(e.message));
    });
  }

  it('every truncation of a valid line throws OtlpDecodeError', () => {
    const line = toJson('metrics', sampleMetrics());
    for (let n = 0; n < line.length; n += 7) assert.throws(() => fromJson('metrics', line.slice(0, n)), OtlpDecodeError);
  });
});
