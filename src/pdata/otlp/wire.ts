// Conversions between the model's scalar forms and the wire's: hex ids <-> bytes,
// bigint <-> 64-bit bits.
import { OtlpDecodeError } from './errors.ts';
import type { Int64, LongBits } from './proto-types.ts';

const TWO_32 = 0x1_0000_0000n;

/** Lowercase hex of id bytes; '' when absent or empty. Throws when the length is not `size` bytes. */
export function bytesToHex(bytes: Uint8Array | null | undefined, size: number, what: string): string {
  if (!bytes || bytes.length === 0) return '';
  if (bytes.length !== size) throw new OtlpDecodeError(`${what}: expected ${size} bytes, got ${bytes.length}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Id bytes from hex; undefined for '' so the field is left out. */
export function hexToBytes(hex: string | undefined): Uint8Array | undefined {
  return hex ? Buffer.from(hex, 'hex') : undefined;
}

/** An unsigned 64-bit wire value (fixed64, uint64) as bigint. */
export function toUint64(value: Int64 | null | undefined): bigint {
  if (value == null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return BigInt(value.high >>> 0) * TWO_32 + BigInt(value.low >>> 0);
}

/** A signed 64-bit wire value (int64, sfixed64) as bigint. */
export function toInt64(value: Int64 | null | undefined): bigint {
  if (value == null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return BigInt.asIntN(64, toUint64(value));
}

/** A 64-bit count as a number (exact below 2^53, as the model says). */
export function toCount(value: Int64 | null | undefined): number {
  if (value == null) return 0;
  if (typeof value === 'number') return value;
  return (value.high >>> 0) * 0x1_0000_0000 + (value.low >>> 0);
}

/** A bigint as the two 32-bit halves protobufjs writes (two's complement for negatives). */
export function fromBigInt(value: bigint): LongBits {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffff_ffffn) | 0, high: Number(bits >> 32n) | 0 };
}
