// Jaeger batches in Thrift's binary encoding (TBinaryProtocol), as Jaeger's collector reads them
// on /api/traces. The protocol is Apache Thrift's own Node.js library; the struct writers below
// are what the Thrift compiler generates for jaeger-idl's jaeger.thrift (field ids and types from
// that file), written out so no generated CommonJS has to be kept in the tree.
import thrift from 'thrift';
import type { TProtocol } from 'thrift';
import type { JaegerBatch, JaegerLog, JaegerSpan, JaegerSpanRef, JaegerTag } from './model.ts';

const T = thrift.Thrift.Type;
type Int64 = Parameters<TProtocol['writeI64']>[0];

/** An i64 as TBinaryProtocol writes an Int64: its 8 big-endian bytes. */
function i64(value: bigint): Int64 {
  const buffer = Buffer.allocUnsafe(8);
  buffer.writeBigInt64BE(BigInt.asIntN(64, value));
  return { buffer } as unknown as Int64;
}

function field(p: TProtocol, name: string, type: thrift.Thrift.Type, id: number, write: () => void): void {
  p.writeFieldBegin(name, type, id);
  write();
  p.writeFieldEnd();
}

function struct(p: TProtocol, name: string, fields: () => void): void {
  p.writeStructBegin(name);
  fields();
  p.writeFieldStop();
  p.writeStructEnd();
}

function list<E>(p: TProtocol, items: readonly E[], write: (item: E) => void): void {
  p.writeListBegin(T.STRUCT, items.length);
  for (const item of items) write(item);
  p.writeListEnd();
}

function writeTag(p: TProtocol, tag: JaegerTag): void {
  struct(p, 'Tag', () => {
    field(p, 'key', T.STRING, 1, () => p.writeString(tag.key));
    field(p, 'vType', T.I32, 2, () => p.writeI32(tag.vType));
    switch (tag.vType) {
      case 0:
        return field(p, 'vStr', T.STRING, 3, () => p.writeString(tag.vStr));
      case 1:
        return field(p, 'vDouble', T.DOUBLE, 4, () => p.writeDouble(tag.vDouble));
      case 2:
        return field(p, 'vBool', T.BOOL, 5, () => p.writeBool(tag.vBool));
      case 3:
        return field(p, 'vLong', T.I64, 6, () => p.writeI64(i64(tag.vLong)));
      case 4:
        return field(p, 'vBinary', T.STRING, 7, () => p.writeBinary(Buffer.from(tag.vBinary)));
    }
  });
}

function writeLog(p: TProtocol, log: JaegerLog): void {
  struct(p, 'Log', () => {
    field(p, 'timestamp', T.I64, 1, () => p.writeI64(i64(log.timestamp)));
    field(p, 'fields', T.LIST, 2, () => list(p, log.fields, (t) => writeTag(p, t)));
  });
}

function writeRef(p: TProtocol, ref: JaegerSpanRef): void {
  struct(p, 'SpanRef', () => {
    field(p, 'refType', T.I32, 1, () => p.writeI32(ref.refType));
    field(p, 'traceIdLow', T.I64, 2, () => p.writeI64(i64(ref.traceIdLow)));
    field(p, 'traceIdHigh', T.I64, 3, () => p.writeI64(i64(ref.traceIdHigh)));
    field(p, 'spanId', T.I64, 4, () => p.writeI64(i64(ref.spanId)));
  });
}

function writeSpan(p: TProtocol, span: JaegerSpan): void {
  struct(p, 'Span', () => {
    field(p, 'traceIdLow', T.I64, 1, () => p.writeI64(i64(span.traceIdLow)));
    field(p, 'traceIdHigh', T.I64, 2, () => p.writeI64(i64(span.traceIdHigh)));
    field(p, 'spanId', T.I64, 3, () => p.writeI64(i64(span.spanId)));
    field(p, 'parentSpanId', T.I64, 4, () => p.writeI64(i64(span.parentSpanId)));
    field(p, 'operationName', T.STRING, 5, () => p.writeString(span.operationName));
    if (span.references.length > 0) field(p, 'references', T.LIST, 6, () => list(p, span.references, (r) => writeRef(p, r)));
    field(p, 'flags', T.I32, 7, () => p.writeI32(span.flags));
    field(p, 'startTime', T.I64, 8, () => p.writeI64(i64(span.startTime)));
    field(p, 'duration', T.I64, 9, () => p.writeI64(i64(span.duration)));
    if (span.tags.length > 0) field(p, 'tags', T.LIST, 10, () => list(p, span.tags, (t) => writeTag(p, t)));
    if (span.logs.length > 0) field(p, 'logs', T.LIST, 11, () => list(p, span.logs, (l) => writeLog(p, l)));
  });
}

/** One Batch in TBinaryProtocol bytes. */
export function encodeBatch(batch: JaegerBatch): Buffer {
  let bytes: Buffer = Buffer.alloc(0);
  const transport = new thrift.TBufferedTransport(undefined, (out?: Buffer) => {
    if (out) bytes = out;
  });
  const p = new thrift.TBinaryProtocol(transport);
  struct(p, 'Batch', () => {
    field(p, 'process', T.STRUCT, 1, () =>
      struct(p, 'Process', () => {
        field(p, 'serviceName', T.STRING, 1, () => p.writeString(batch.process.serviceName));
        if (batch.process.tags.length > 0) field(p, 'tags', T.LIST, 2, () => list(p, batch.process.tags, (t) => writeTag(p, t)));
      }),
    );
    field(p, 'spans', T.LIST, 2, () => list(p, batch.spans, (s) => writeSpan(p, s)));
  });
  transport.flush();
  return bytes;
}
