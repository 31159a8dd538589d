// One direction of a connection as its bytes arrived: segments (one per syscall) that hold a
// captured prefix of what the syscall moved (and sometimes its last bytes), at known stream
// positions. Parsers read the captured bytes contiguous from the current position and skip over
// what was not captured (bodies) by length; a record the kernel could not send shows as a gap
// before the next segment's position.

/** One syscall's payload. */
export interface Segment {
  /** Stream offset of the first byte. */
  position: number;
  /** Bytes the syscall moved (captured or not). */
  length: number;
  /** Captured from the start (length of it <= length). */
  head: Buffer;
  /** Captured end of the payload when the head was cut: its last tail.length bytes. */
  tail?: Buffer;
  /** Kernel times (ns since the receiver's time base, see clock.ts): syscall entry and exit. */
  enterNs: number;
  exitNs: number;
  /** The kernel measured bytes before this one itself (HTTP/1.x, bpf/socket_trace_http1.h): a gap before it is no loss, and it starts a message. */
  afterSkipped?: boolean;
  /** head and tail view memory the caller reuses: retain() copies them if they must be kept. */
  borrowed?: boolean;
}

/** How much unparsed data a stream holds before the parser is judged stuck. */
export const MAX_BUFFERED_BYTES = 1 << 20;

export class ByteStream {
  #segments: Segment[] = [];
  /** Absolute position of the next unread byte. */
  #pos = 0;
  /** End of the last segment appended. */
  #end = 0;
  #started = false;
  #consumedExitNs = 0;
  #joined: { at: number; buffer: Buffer } | undefined;

  /** Position of the next unread byte. */
  get position(): number {
    return this.#pos;
  }

  /** Exit time of the syscall that moved the last byte read (skipped) so far. */
  get consumedExitNs(): number {
    return this.#consumedExitNs;
  }

  /** Bytes moved past the current position so far (captured or not). */
  available(): number {
    return this.#end - this.#pos;
  }

  /** Whether everything appended was read. */
  get empty(): boolean {
    return this.#pos >= this.#end;
  }

  /**
   * Adds a syscall's payload. Returns 'gap' when bytes before it never arrived (a lost record):
   * the stream then restarts at this segment, and the parser must resynchronise.
   */
  append(seg: Segment): 'ok' | 'gap' | 'stale' {
    if (!this.#started) {
      this.#started = true;
      this.#pos = this.#end = seg.position;
    }
    if (seg.position + seg.length <= this.#end) return 'stale';
    let result: 'ok' | 'gap' = 'ok';
    if (seg.position > this.#end) {
      this.#segments = [];
      this.#pos = seg.position;
      result = 'gap';
    } else if (seg.position < this.#end) {
      // overlaps what came before (should not happen): keep only the new part
      const cut = this.#end - seg.position;
      seg = { ...seg, position: this.#end, length: seg.length - cut, head: seg.head.subarray(Math.min(cut, seg.head.length)) };
      if (seg.tail && seg.tail.length > seg.length) seg.tail = seg.tail.subarray(seg.tail.length - seg.length);
    }
    this.#segments.push(seg);
    this.#end = seg.position + seg.length;
    this.#joined = undefined;
    return result;
  }

  /** The segment holding the byte `offset` bytes past the current position. */
  segmentAt(offset = 0): Segment | undefined {
    const at = this.#pos + offset;
    for (const s of this.#segments) if (at >= s.position && at < s.position + s.length) return s;
    return undefined;
  }

  /** The last segment appended (its exit time: when the latest bytes moved). */
  lastSegment(): Segment | undefined {
    return this.#segments.at(-1);
  }

  /** Whether the current position is the first byte of a syscall's payload. */
  atSegmentStart(): boolean {
    return this.#segments.some((s) => s.position === this.#pos);
  }

  /**
   * The captured bytes from the current position on, contiguous (joined across segments when one
   * ends where the next begins and both were captured whole up to there), at most `max` bytes.
   * Empty when the current position falls where nothing was captured.
   */
  contiguous(max = 65536): Buffer {
    let i = this.#segments.findIndex((s) => this.#pos < s.position + s.length);
    if (i < 0) return EMPTY;
    const first = this.#segments[i]!;
    const off = this.#pos - first.position;
    if (off >= first.head.length) return EMPTY;
    // Most messages sit inside one syscall, at its start: no copy, not even a view.
    const alone = first.head.length < first.length || i === this.#segments.length - 1;
    if (alone && off === 0 && first.head.length <= max) return first.head;
    const firstPart = first.head.subarray(off);
    if (alone || firstPart.length >= max) return firstPart.subarray(0, max);
    if (this.#joined && this.#joined.at === this.#pos) return this.#joined.buffer.subarray(0, max);
    const parts = [firstPart];
    let size = firstPart.length;
    for (i++; i < this.#segments.length && size < max; i++) {
      const s = this.#segments[i]!;
      parts.push(s.head);
      size += s.head.length;
      if (s.head.length < s.length) break;
    }
    const buffer = Buffer.concat(parts, Math.min(size, max));
    this.#joined = { at: this.#pos, buffer };
    return buffer;
  }

  /** Advances up to n bytes, across uncaptured ones too; returns how many. */
  skip(n: number): number {
    const step = Math.max(0, Math.min(n, this.#end - this.#pos));
    this.#pos += step;
    this.#drop();
    return step;
  }

  /** Moves to the start of the next segment (resynchronising after garbage). False when there is none yet. */
  skipToNextSegment(): boolean {
    const next = this.#segments.find((s) => s.position > this.#pos);
    if (!next) {
      this.#pos = this.#end;
      this.#drop();
      return false;
    }
    this.#pos = next.position;
    this.#drop();
    return true;
  }

  /** Copies the bytes of borrowed segments still held (the caller is about to reuse their memory). */
  retain(): void {
    for (const s of this.#segments) {
      if (!s.borrowed) continue;
      s.head = Buffer.from(s.head);
      if (s.tail) s.tail = Buffer.from(s.tail);
      s.borrowed = false;
    }
  }

  /** Drops everything appended (the connection is no longer parsed). */
  clear(): void {
    this.#pos = this.#end;
    this.#drop();
  }

  #drop(): void {
    for (const s of this.#segments) {
      if (s.position >= this.#pos) break;
      this.#consumedExitNs = s.exitNs; // the last one holding a byte before the position
    }
    let n = 0;
    while (n < this.#segments.length) {
      const s = this.#segments[n]!;
      if (s.position + s.length > this.#pos) break;
      n++;
    }
    if (n) this.#segments.splice(0, n);
    if (this.#joined && this.#joined.at !== this.#pos) this.#joined = undefined;
  }
}

const EMPTY = Buffer.alloc(0);
