// The OTLP protobuf messages: the protobufjs static code shipped in @opentelemetry/otlp-transformer
// 0.57.2 (aliased `otlp-proto`; later versions no longer ship it), extended with the four fields
// OTLP added after that release, so nothing the data model holds is lost on the wire.
import { createRequire } from 'node:module';
import type * as P from './proto-types.ts';

const require = createRequire(import.meta.url);
const rootPath = require.resolve('otlp-proto/build/src/generated/root.js');

export interface Writer {
  uint32(value: number): Writer;
  fixed32(value: number): Writer;
  string(value: string): Writer;
  fork(): Writer;
  ldelim(): Writer;
  finish(): Uint8Array;
}

export interface Reader {
  buf: Uint8Array;
  pos: number;
  len: number;
  uint32(): number;
  fixed32(): number;
  string(): string;
  skipType(wireType: number): Reader;
}

export interface MessageType<T> {
  encode(message: T, writer?: Writer): Writer;
  decode(reader: Reader | Uint8Array, length?: number): T;
}

interface ProtobufMinimal {
  Reader: { create(buffer: Uint8Array): Reader };
  Writer: { create(): Writer };
  util: { Long?: unknown };
}

// The static code reads 64-bit fields as Long only when protobufjs finds the `long` package;
// without it they would be lossy doubles, so refuse to run rather than corrupt timestamps.
const protobuf = createRequire(rootPath)('protobufjs/minimal') as ProtobufMinimal;
if (!protobuf.util.Long) throw new Error('protobufjs did not load the "long" package: 64-bit OTLP fields would lose precision');

interface Enum {
  [name: string]: number;
}

interface GeneratedRoot {
  opentelemetry: {
    proto: {
      common: { v1: { KeyValue: MessageType<P.KeyValue> } };
      trace: {
        v1: {
          Span: MessageType<P.Span> & { SpanKind: Enum; Link: MessageType<P.Link> };
          Status: { StatusCode: Enum };
        };
      };
      metrics: { v1: { Metric: MessageType<P.Metric>; AggregationTemporality: Enum } };
      logs: { v1: { LogRecord: MessageType<P.LogRecord>; SeverityNumber: Enum } };
      collector: {
        trace: { v1: { ExportTraceServiceRequest: MessageType<P.TracesRequest>; ExportTraceServiceResponse: MessageType<P.ExportResponse> } };
        metrics: { v1: { ExportMetricsServiceRequest: MessageType<P.MetricsRequest>; ExportMetricsServiceResponse: MessageType<P.ExportResponse> } };
        logs: { v1: { ExportLogsServiceRequest: MessageType<P.LogsRequest>; ExportLogsServiceResponse: MessageType<P.ExportResponse> } };
      };
    };
  };
}

const generated = require(rootPath) as GeneratedRoot;
export const proto = generated.opentelemetry.proto;
export const { Reader, Writer } = protobuf;

/** A field the generated code does not know, read in a second pass over the message's bytes. */
interface ExtraField<T> {
  tag: number;
  read(reader: Reader, message: T): void;
  write(writer: Writer, message: T): void;
}

function extend<T>(type: MessageType<T>, extras: ExtraField<T>[]): void {
  const decode = type.decode.bind(type);
  const encode = type.encode.bind(type);
  const byTag = new Map(extras.map((e) => [e.tag, e]));
  // Nested messages are decoded through `$root....Type.decode`, looked up at call time, so
  // replacing the function here covers them too.
  type.decode = (input, length) => {
    const reader = input instanceof Uint8Array ? protobuf.Reader.create(input) : input;
    const start = reader.pos;
    const message = decode(reader, length);
    const own = protobuf.Reader.create(reader.buf.subarray(start, reader.pos));
    while (own.pos < own.len) {
      const tag = own.uint32();
      const extra = byTag.get(tag);
      if (extra) extra.read(own, message);
      else own.skipType(tag & 7);
    }
    return message;
  };
  type.encode = (message, writer) => {
    const w = encode(message, writer);
    for (const extra of extras) extra.write(w, message);
    return w;
  };
}

const FIXED32 = 5;
const LEN = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

function fixed32Field<T extends { flags?: number | null }>(field: number): ExtraField<T> {
  return {
    tag: tag(field, FIXED32),
    read: (r, m) => {
      m.flags = r.fixed32();
    },
    write: (w, m) => {
      if (m.flags) w.uint32(tag(field, FIXED32)).fixed32(m.flags);
    },
  };
}

// Span.flags (16) and Span.Link.flags (6): OTLP 1.1. LogRecord.event_name (12): OTLP 1.5.
// Metric.metadata (12): OTLP 1.1.
extend(proto.trace.v1.Span, [fixed32Field(16)]);
extend(proto.trace.v1.Span.Link, [fixed32Field(6)]);
extend<P.LogRecord>(proto.logs.v1.LogRecord, [
  {
    tag: tag(12, LEN),
    read: (r, m) => {
      m.eventName = r.string();
    },
    write: (w, m) => {
      if (m.eventName) w.uint32(tag(12, LEN)).string(m.eventName);
    },
  },
]);
const KeyValue = proto.common.v1.KeyValue;
extend<P.Metric>(proto.metrics.v1.Metric, [
  {
    tag: tag(12, LEN),
    read: (r, m) => {
      (m.metadata ??= []).push(KeyValue.decode(r, r.uint32()));
    },
    write: (w, m) => {
      for (const kv of m.metadata ?? []) KeyValue.encode(kv, w.uint32(tag(12, LEN)).fork()).ldelim();
    },
  },
]);

/** Names of an enum by value, and values by name, from the generated code. */
export const ENUMS = {
  spanKind: proto.trace.v1.Span.SpanKind,
  statusCode: proto.trace.v1.Status.StatusCode,
  aggregationTemporality: proto.metrics.v1.AggregationTemporality,
  severityNumber: proto.logs.v1.SeverityNumber,
} as const;
