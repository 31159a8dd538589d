// Remote write 1.0's WriteRequest (prometheus/prompb: remote.proto, types.proto): time series of
// labels and samples, written with protobufjs's Writer. A sample's value is written as its raw
// 64 bits, so Prometheus's staleness marker (a signalling NaN the FPU would quiet) stays exact.
import protobuf from 'protobufjs';

export interface Label {
  name: string;
  value: string;
}
export interface Sample {
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  /** Prometheus's staleness marker (value bits 0x7ff0000000000002) instead of `value`. */
  stale?: boolean;
}
export interface TimeSeries {
  labels: Label[];
  samples: Sample[];
}

const LEN = 2;
const I64 = 1;
const VARINT = 0;
const tag = (field: number, wire: number) => (field << 3) | wire;
/** value.StaleNaN's bits, low and high 32-bit halves. */
const STALE_BITS = { low: 0x00000002, high: 0x7ff00000, unsigned: true };

export function encodeWriteRequest(timeseries: TimeSeries[]): Uint8Array {
  const w = protobuf.Writer.create();
  for (const series of timeseries) {
    w.uint32(tag(1, LEN)).fork();
    for (const l of series.labels) {
      w.uint32(tag(1, LEN)).fork();
      w.uint32(tag(1, LEN)).string(l.name);
      w.uint32(tag(2, LEN)).string(l.value);
      w.ldelim();
    }
    for (const s of series.samples) {
      w.uint32(tag(2, LEN)).fork();
      w.uint32(tag(1, I64));
      if (s.stale) w.fixed64(STALE_BITS as unknown as number);
      else w.double(s.value);
      w.uint32(tag(2, VARINT)).int64(s.timestamp);
      w.ldelim();
    }
    w.ldelim();
  }
  return w.finish();
}

/** For tests: what a WriteRequest holds (a staleness marker comes back as `stale: true`). */
export function decodeWriteRequest(bytes: Uint8Array): TimeSeries[] {
  const r = protobuf.Reader.create(bytes);
  const out: TimeSeries[] = [];
  const message = (end: number, field: (id: number, wire: number) => void) => {
    while (r.pos < end) {
      const t = r.uint32();
      field(t >>> 3, t & 7);
    }
  };
  message(r.len, (id, wire) => {
    if (id !== 1) return void r.skipType(wire);
    const series: TimeSeries = { labels: [], samples: [] };
    message(r.uint32() + r.pos, (sid, swire) => {
      if (sid === 1) {
        const label = { name: '', value: '' };
        message(r.uint32() + r.pos, (lid, lwire) => {
          if (lid === 1) label.name = r.string();
          else if (lid === 2) label.value = r.string();
          else r.skipType(lwire);
        });
        series.labels.push(label);
      } else if (sid === 2) {
        const sample: Sample = { value: 0, timestamp: 0 };
        message(r.uint32() + r.pos, (vid, vwire) => {
          if (vid === 1) {
            const bits = Buffer.from(r.buf.subarray(r.pos, r.pos + 8));
            if (bits.readUInt32LE(0) === STALE_BITS.low && bits.readUInt32LE(4) === STALE_BITS.high) sample.stale = true;
            sample.value = r.double();
          } else if (vid === 2) sample.timestamp = Number(r.int64());
          else r.skipType(vwire);
        });
        series.samples.push(sample);
      } else r.skipType(swire);
    });
    out.push(series);
  });
  return out;
}

/** Roughly what one series takes on the wire, to split requests under max_batch_size_bytes. */
export function seriesSize(series: TimeSeries): number {
  let n = 4;
  for (const l of series.labels) n += 6 + Buffer.byteLength(l.name) + Buffer.byteLength(l.value);
  return n + series.samples.length * 22;
}
