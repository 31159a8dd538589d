// Helpers parsers share: the kernel times of a message's bytes, and following a message whose
// framing was lost in bytes the kernel did not capture.
import type { ByteStream, Segment } from '../stream.ts';
import type { Framed } from './types.ts';

export interface Start {
  firstEnterNs: number;
  firstExitNs: number;
}

/** A framed message (explicit fields: cheaper than spreading `start`). */
export function framed<T>(message: T, start: Start, lastExitNs: number): Framed<T> {
  return { message, firstEnterNs: start.firstEnterNs, firstExitNs: start.firstExitNs, lastExitNs };
}

/** The times of the syscall that moved the byte at the stream's current position. */
export function startAt(stream: ByteStream): Start {
  const s = stream.segmentAt(0);
  return { firstEnterNs: s?.enterNs ?? 0, firstExitNs: s?.exitNs ?? 0 };
}

/** Exit time of the syscall that moved the byte `offset` past the current position (or the latest). */
export function exitAt(stream: ByteStream, offset: number): number {
  return (stream.segmentAt(offset) ?? stream.lastSegment())?.exitNs ?? 0;
}

/** Exit time of the syscall that moved the last byte read so far: the end of the message just read. */
export function consumedExit(stream: ByteStream): number {
  return stream.consumedExitNs;
}

/** Whether a segment's payload ends with `suffix` (from its tail, or its head when captured whole). */
export function segmentEndsWith(s: Segment, suffix: Buffer): boolean {
  const end = s.head.length === s.length ? s.head : s.tail;
  if (!end || end.length < suffix.length) return false;
  return end.subarray(end.length - suffix.length).equals(suffix);
}

/**
 * Follows a message whose end cannot be found by parsing (its framing fell into uncaptured bytes):
 * it ends with the syscall whose payload ends with a terminator, or just before a syscall whose
 * payload starts a new message. Returns the exit time of its last syscall once known (the stream
 * then stands at the next message), or undefined when more bytes are needed.
 */
export function followLost(stream: ByteStream, state: { lastExitNs: number }, endsMessage: (s: Segment) => boolean, startsMessage: (head: Buffer) => boolean): number | undefined {
  for (;;) {
    const s = stream.segmentAt(0);
    if (!s) return undefined;
    if (stream.position === s.position && state.lastExitNs !== 0 && startsMessage(s.head)) return state.lastExitNs;
    stream.skip(s.position + s.length - stream.position);
    state.lastExitNs = s.exitNs;
    if (endsMessage(s)) return s.exitNs;
  }
}
