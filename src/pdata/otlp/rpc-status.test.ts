import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRpcStatus, encodeRpcStatus, OtlpDecodeError } from './index.ts';

describe('google.rpc.Status', () => {
  it('round-trips code, message and the RetryInfo delay', () => {
    assert.deepStrictEqual(decodeRpcStatus(encodeRpcStatus({ code: 8, message: 'slow down', retryDelayMs: 2500 })), {
      code: 8,
      message: 'slow down',
      retryDelayMs: 2500,
    });
    assert.deepStrictEqual(decodeRpcStatus(encodeRpcStatus({ code: 3, message: 'bad' })), { code: 3, message: 'bad' });
    assert.deepStrictEqual(decodeRpcStatus(new Uint8Array()), { code: 0, message: '' });
  });

  it('refuses bytes that are not a Status', () => {
    assert.throws(() => decodeRpcStatus(new Uint8Array([0x12, 0x40, 0x61])), OtlpDecodeError);
  });
});
