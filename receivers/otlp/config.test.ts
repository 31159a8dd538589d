import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDefaultConfig } from '../../src/component/component.ts';
import { otlpReceiverConfigSchema, validateOtlpReceiverConfig } from './config.ts';
import { otlpFactory } from './factory.ts';

describe('otlp receiver config', () => {
  it('has no protocol by default, and says one is required', () => {
    const config = createDefaultConfig(otlpFactory);
    assert.deepEqual(config, { protocols: {} });
    assert.deepEqual(validateOtlpReceiverConfig(config), [
      'protocols: expected at least one of grpc or http (write `grpc:` or `http:` for the defaults)',
    ]);
  });

  it('turns `grpc:` (null in YAML) and `http: {}` into every documented default', () => {
    const config = otlpReceiverConfigSchema.parse({ protocols: { grpc: null, http: {} } });
    assert.deepEqual(config, {
      protocols: {
        grpc: { endpoint: '127.0.0.1:4317', max_recv_msg_size_mib: 4 },
        http: {
          endpoint: '127.0.0.1:4318',
          traces_url_path: '/v1/traces',
          metrics_url_path: '/v1/metrics',
          logs_url_path: '/v1/logs',
          max_request_body_size: 20 * 1024 * 1024,
        },
      },
    });
    assert.deepEqual(validateOtlpReceiverConfig(config), []);
  });

  it('leaves out the protocol that is not written', () => {
    const config = otlpReceiverConfigSchema.parse({ protocols: { http: null } });
    assert.equal(config.protocols.grpc, undefined);
    assert.equal(config.protocols.http?.endpoint, '127.0.0.1:4318');
  });

  it('adds a missing leading slash to URL paths and fills CORS defaults', () => {
    const config = otlpReceiverConfigSchema.parse({
      protocols: { http: { traces_url_path: 'otlp/traces', cors: { allowed_origins: ['https://*.example.com'] } } },
    });
    assert.equal(config.protocols.http?.traces_url_path, '/otlp/traces');
    assert.deepEqual(config.protocols.http?.cors, { allowed_origins: ['https://*.example.com'], allowed_headers: [], max_age: 0 });
  });

  it('rejects unknown keys, bad endpoints and bad sizes with their paths', () => {
    const result = otlpReceiverConfigSchema.safeParse({
      protocols: {
        grpc: { endpoint: 'localhost', max_recv_msg_size_mib: 0, keepalive: {} },
        http: { max_request_body_size: -1, tls: { cert_file: 'a.crt' } },
        thrift: {},
      },
    });
    assert.equal(result.success, false);
    const issues = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort();
    assert.deepEqual(issues, [
      'protocols.grpc.endpoint: expected host:port, got "localhost"',
      'protocols.grpc.max_recv_msg_size_mib: expected a number above 0',
      'protocols.grpc: Unrecognized key: "keepalive"',
      'protocols.http.max_request_body_size: expected a number above 0',
      'protocols.http.tls.key_file: Invalid input: expected string, received undefined',
      'protocols: Unrecognized key: "thrift"',
    ]);
  });
});
