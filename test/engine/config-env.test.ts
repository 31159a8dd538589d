// ${env:VAR}, ${VAR}, ${env:VAR:-default} and $$ expand as in the Collector; several --config
// files merge; print-config masks secrets.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runBpfcol, tempDir, writeConfig } from '../support/cli.ts';

const dir = tempDir();
after(() => dir.cleanup());

function printConfig(paths: string[], env: NodeJS.ProcessEnv): Record<string, any> {
  const r = runBpfcol(['print-config', ...paths.flatMap((p) => ['--config', p])], env);
  assert.equal(r.code, 0, r.stderr);
  return parse(r.stdout) as Record<string, any>;
}

const SERVICE = `
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
`;

describe('environment expansion', () => {
  it('expands every form and keeps $$ as a literal $', () => {
    const path = writeConfig(dir.path, `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "\${env:GRPC_ADDR}" }
      http: { endpoint: "\${HTTP_HOST}:\${env:HTTP_PORT:-4318}" }
exporters:
  otlp:
    endpoint: "\${env:UNSET_ONE:-backend.example:4317}"
    headers:
      x-tenant: "team-$$HOME-\${env:TENANT}"
${SERVICE}`, 'env.yaml');
    const cfg = printConfig([path], { GRPC_ADDR: '127.0.0.1:14317', HTTP_HOST: '0.0.0.0', TENANT: 'blue' });
    assert.equal(cfg.receivers.otlp.protocols.grpc.endpoint, '127.0.0.1:14317');
    assert.equal(cfg.receivers.otlp.protocols.http.endpoint, '0.0.0.0:4318');
    assert.equal(cfg.exporters.otlp.endpoint, 'backend.example:4317');
  });

  it('a whole-value reference takes its YAML type, $$ stays a dollar', () => {
    const path = writeConfig(dir.path, `
receivers: { otlp: { protocols: { grpc: {} } } }
processors:
  batch: { send_batch_size: "\${env:BATCH}" }
exporters:
  otlp: { endpoint: "localhost:4317", tls: { insecure: "\${env:INSECURE}" } }
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [debug] }
    traces/2: { receivers: [otlp], exporters: [otlp] }
`, 'types.yaml');
    const r = runBpfcol(['validate', '--config', path], { BATCH: '512', INSECURE: 'true' });
    assert.equal(r.code, 0, r.stderr);
    const cfg = printConfig([path], { BATCH: '512', INSECURE: 'true' });
    assert.equal(cfg.processors.batch.send_batch_size, 512);
    assert.equal(cfg.exporters.otlp.tls.insecure, true);
  });

  it('a literal $$ is printed as one $', () => {
    const path = writeConfig(dir.path, `
receivers: { otlp: { protocols: { grpc: {} } } }
exporters:
  file: { path: "/tmp/$$dollar-\${env:SUFFIX}.json" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
`, 'dollar.yaml');
    const cfg = printConfig([path], { SUFFIX: 'x' });
    assert.equal(cfg.exporters.file.path, '/tmp/$dollar-x.json');
  });

  it('warns about an unset variable without a default', () => {
    const path = writeConfig(dir.path, `
receivers: { otlp: { protocols: { grpc: {} } } }
exporters:
  file: { path: "/tmp/out\${env:BPFCOL_TEST_SURELY_UNSET}.json" }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file] }
`, 'unset.yaml');
    const r = runBpfcol(['validate', '--config', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /environment variable BPFCOL_TEST_SURELY_UNSET is not set/);
  });
});

describe('several config files', () => {
  it('merge maps recursively, later files win, lists are replaced', () => {
    const base = writeConfig(dir.path, `
receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:5317" }, http: {} } } }
exporters: { debug: { verbosity: basic }, otlp: { endpoint: "a:1" } }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [debug, otlp] }
`, 'base.yaml');
    const over = writeConfig(dir.path, `
exporters: { debug: { verbosity: detailed } }
service:
  pipelines:
    traces: { exporters: [debug] }
`, 'over.yaml');
    const cfg = printConfig([base, over], {});
    assert.equal(cfg.exporters.debug.verbosity, 'detailed');
    assert.equal(cfg.exporters.otlp.endpoint, 'a:1');
    assert.equal(cfg.receivers.otlp.protocols.grpc.endpoint, '127.0.0.1:5317');
    assert.deepEqual(cfg.service.pipelines.traces.exporters, ['debug']);
    assert.deepEqual(cfg.service.pipelines.traces.receivers, ['otlp']);
  });
});

describe('print-config', () => {
  it('masks header values and secret-looking keys', () => {
    const path = writeConfig(dir.path, `
receivers: { otlp: { protocols: { grpc: {} } } }
exporters:
  otlp: { endpoint: "backend:4317", headers: { authorization: "Bearer s3cr3t", x-team: "blue" } }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
`, 'secret.yaml');
    const r = runBpfcol(['print-config', '--config', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /s3cr3t/);
    const cfg = parse(r.stdout) as Record<string, any>;
    assert.equal(cfg.exporters.otlp.headers.authorization, '[REDACTED]');
    assert.equal(cfg.exporters.otlp.endpoint, 'backend:4317');
  });
});

describe('components', () => {
  it('lists every kind with its signals', () => {
    const r = runBpfcol(['components']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^receivers:$/m);
    assert.match(r.stdout, /^\s+otlp\s+\[traces, metrics, logs\]/m);
    assert.match(r.stdout, /^exporters:$/m);
    assert.match(r.stdout, /^\s+prometheus\s+\[metrics\]/m);
    assert.match(r.stdout, /^processors:$/m);
    assert.match(r.stdout, /^\s+batch\s+\[traces, metrics, logs, profiles\]/m);
  });
});
