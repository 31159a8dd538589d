// Byte searches for short heads: a plain loop beats Buffer.indexOf's fixed cost on the few hundred
// bytes a request head has.

/** Index of "\r\n" in buf[from, end), or -1. */
export function indexOfCrlf(buf: Uint8Array, from: number, end = buf.length): number {
  for (let i = from; i < end - 1; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return -1;
}

/** Index of "\r\n\r\n" in buf[from, end), or -1. */
export function indexOfBlankLine(buf: Uint8Array, from: number, end = buf.length): number {
  for (let i = from; i < end - 3; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** Index of byte `b` in buf[from, end), or -1. */
export function indexOfByte(buf: Uint8Array, b: number, from: number, end = buf.length): number {
  for (let i = from; i < end; i++) if (buf[i] === b) return i;
  return -1;
}
