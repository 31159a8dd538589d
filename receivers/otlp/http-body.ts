// Reading an OTLP/HTTP request body with a bound: the wire body and, when compressed, the
// decompressed body are both held to max_request_body_size (as the Collector's confighttp),
// so a large upload or a zip bomb costs at most that much memory.
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

export type ContentEncoding = 'identity' | 'gzip' | 'deflate' | 'zstd';

/** The body is larger than the limit (on the wire or once decompressed): HTTP 413. */
export class BodyTooLargeError extends Error {
  constructor(limit: number, what: string) {
    super(`${what} is larger than max_request_body_size (${limit} bytes)`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body cannot be read as sent (unknown encoding, corrupt compression): HTTP 400. */
export class BadBodyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadBodyError';
  }
}

/** The encodings accepted in Content-Encoding, or an error naming the one that is not. */
export function parseContentEncoding(header: string | undefined): ContentEncoding | BadBodyError {
  const value = (header ?? '').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  if (value === 'deflate' || value === 'zlib') return 'deflate';
  if (value === 'zstd') return 'zstd';
  return new BadBodyError(`unsupported Content-Encoding "${header}"; supported: gzip, deflate, zstd`);
}

/**
 * Collects the request body, rejecting with BodyTooLargeError as soon as it passes `limit`
 * bytes: the rest is discarded as it arrives, never held.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit, 'the request body'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        req.resume();
        reject(new BodyTooLargeError(limit, 'the request body'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new BadBodyError(`reading the request body failed: ${error.message}`, { cause: error }));
    };
    const onAborted = () => onError(new Error('the client went away'));
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const zstdDecompress = promisify(zlib.zstdDecompress);

/** Decompresses `body`, never producing more than `limit` bytes. */
export async function decompress(body: Buffer, encoding: ContentEncoding, limit: number): Promise<Buffer> {
  if (encoding === 'identity') return body;
  const options = { maxOutputLength: limit };
  try {
    switch (encoding) {
      case 'gzip':
        return await gunzip(body, options);
      case 'zstd':
        return await zstdDecompress(body, options);
      case 'deflate':
        // HTTP's "deflate" is zlib-wrapped, but some clients send raw deflate; accept both.
        try {
          return await inflate(body, options);
        } catch (error) {
          if ((error as { code?: string }).code !== 'Z_DATA_ERROR') throw error;
          return await inflateRaw(body, options);
        }
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BodyTooLargeError(limit, 'the decompressed request body');
    }
    throw new BadBodyError(`the ${encoding} body cannot be decompressed: ${(error as Error).message}`, { cause: error });
  }
}
