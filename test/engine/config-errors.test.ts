// Every config mistake names its path and what was expected, `validate` lists them all, and a
// wrong config starts nothing.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { freePort } from '../support/ports.ts';
import { runBpfcol, tempDir, writeConfig } from '../support/cli.ts';

const dir = tempDir();
after(() => dir.cleanup());

const VALID_SERVICE = `
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
`;

let counter = 0;
/** Validates `yaml` and returns the error lines (without the header). */
function errorsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  const path = writeConfig(dir.path, yaml, `c${counter++}.yaml`);
  const r = runBpfcol(['validate', '--config', path], env);
  assert.equal(r.code, 1, `validate should fail; stdout: ${r.stdout} stderr: ${r.stderr}`);
  assert.match(r.stderr, /^bpfcol: invalid configuration:/);
  return r.stderr.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
}

function assertHasError(lines: string[], expected: string | RegExp) {
  const found = lines.some((l) => (typeof expected === 'string' ? l === expected : expected.test(l)));
  assert.ok(found, `expected an error ${expected}\ngot:\n${lines.join('\n')}`);
}

describe('config errors name the path and what was expected', () => {
  it('unknown receiver type lists the valid ones', () => {
    const lines = errorsOf(`receivers: { nope: {}, otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, /^receivers\.nope: unknown receiver type "nope"; valid types: .*\botlp\b/);
  });
  it('unknown exporter type', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {}, kafkaa: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, /^exporters\.kafkaa: unknown exporter type "kafkaa"; valid types: .*\bdebug\b.*\botlp\b/);
  });
  it('unknown processor type', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nprocessors: { batchy: {} }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, /^processors\.batchy: unknown processor type "batchy"; valid types: .*\bbatch\b/);
  });
  it('a component id with an empty name', () => {
    const lines = errorsOf(`receivers: { "otlp/": {}, otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, /^receivers\.otlp\/: "otlp\/" is not a component id: the name after "\/" must be non-empty/);
  });
  it('a pipeline referencing a receiver that is not configured', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { traces: { receivers: [otlp/2], exporters: [debug] } } }`);
    assertHasError(lines, 'service.pipelines.traces.receivers[0]: references receiver "otlp/2", which is not configured in receivers (configured: otlp)');
  });
  it('a pipeline referencing an exporter that is not configured', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { traces: { receivers: [otlp], exporters: [debug, otlp/jaeger] } } }`);
    assertHasError(lines, 'service.pipelines.traces.exporters[1]: references exporter "otlp/jaeger", which is not configured in exporters (configured: debug)');
  });
  it('a pipeline referencing a processor that is not configured', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [debug] } } }`);
    assertHasError(lines, 'service.pipelines.traces.processors[0]: references processor "batch", which is not configured in processors (configured: (none))');
  });
  it('a pipeline named after no signal', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { spans: { receivers: [otlp], exporters: [debug] } } }`);
    assertHasError(lines, /^service\.pipelines\.spans: unknown signal "spans"; a pipeline is named traces, metrics, logs or profiles/);
  });
  it('a pipeline without receivers', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { traces: { exporters: [debug] } } }`);
    assertHasError(lines, 'service.pipelines.traces.receivers: a pipeline needs at least one receiver');
  });
  it('a pipeline without exporters', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { traces: { receivers: [otlp] } } }`);
    assertHasError(lines, 'service.pipelines.traces.exporters: a pipeline needs at least one exporter');
  });
  it('an exporter in a pipeline of a signal it does not support', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { prometheus: {} }\nservice: { pipelines: { traces: { receivers: [otlp], exporters: [prometheus] } } }`);
    assertHasError(lines, 'service.pipelines.traces.exporters[0]: exporter "prometheus" does not support traces; it supports metrics');
  });
  it('an endpoint that is not host:port', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {}, otlp/jaeger: { endpoint: "jaeger" } }\n${VALID_SERVICE}`);
    assertHasError(lines, 'exporters.otlp/jaeger.endpoint: expected host:port, got "jaeger"');
  });
  it('a misspelt key', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: { endpont: "127.0.0.1:4317" } } } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, 'receivers.otlp.protocols.grpc.endpont: unknown key');
  });
  it('a duration that is not one', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nprocessors: { batch: { timeout: fast } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, 'processors.batch.timeout: expected a duration like 10s, got "fast"');
  });
  it('a value outside an enumeration', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: { verbosity: loud } }\n${VALID_SERVICE}`);
    assertHasError(lines, 'exporters.debug.verbosity: expected one of "basic", "normal", "detailed", got "loud"');
  });
  it('a number given as text', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nprocessors: { batch: { send_batch_size: many } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, /^processors\.batch\.send_batch_size: expected (a whole number|number), got "many"$/);
  });
  it('a component given a scalar instead of settings', () => {
    const lines = errorsOf(`receivers: { otlp: 5 }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, 'receivers.otlp: expected a mapping of settings (or nothing, for the defaults)');
  });
  it('no service section', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\n`);
    assertHasError(lines, /^service: is required/);
  });
  it('no pipelines', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: {} }`);
    assertHasError(lines, 'service.pipelines: at least one pipeline is required');
  });
  it('a misspelt top-level section', () => {
    const lines = errorsOf(`recievers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, 'recievers: unknown key');
  });
  it('a receiver listed twice in one pipeline', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { pipelines: { traces: { receivers: [otlp, otlp], exporters: [debug] } } }`);
    assertHasError(lines, 'service.pipelines.traces.receivers[1]: receiver "otlp" is listed twice');
  });
  it('a service extension that is not configured', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { extensions: [health_check], pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }`);
    assertHasError(lines, /^service\.extensions\[0\]: references extension "health_check", which is not configured in extensions/);
  });
  it('an invalid log level in service.telemetry', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\nservice: { telemetry: { logs: { level: chatty } }, pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }`);
    assertHasError(lines, 'service.telemetry.logs.level: expected one of "debug", "info", "warn", "error", got "chatty"');
  });
  it('batch max size below batch size', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nprocessors: { batch: { send_batch_size: 100, send_batch_max_size: 10 } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, "processors.batch.send_batch_max_size: expected 0 (no limit) or a number at least send_batch_size (100), got 10");
  });
  it('an env reference that is not one', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: { endpoint: "\${env:}" } } } }\nexporters: { debug: {} }\n${VALID_SERVICE}`);
    assertHasError(lines, /^receivers\.otlp\.protocols\.grpc\.endpoint: \$\{env:\} is not a valid reference/);
  });
  it('an env reference with an unsupported scheme', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {}, otlp: { endpoint: "\${file:/etc/x}" } }\n${VALID_SERVICE}`);
    assertHasError(lines, /^exporters\.otlp\.endpoint: \$\{file:\/etc\/x\} uses the scheme "file"; bpfcol expands only env/);
  });
  it('invalid YAML names the file', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: {} } }\nexporters: [`);
    assertHasError(lines, /c\d+\.yaml: invalid YAML/);
  });
  it('a config file that does not exist', () => {
    const r = runBpfcol(['validate', '--config', `${dir.path}/missing.yaml`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read config file .*missing\.yaml: no such file/);
  });
  it('no config at all', () => {
    const r = runBpfcol(['validate']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no config given: use --config FILE/);
  });
  it('lists every problem at once', () => {
    const lines = errorsOf(`receivers: { otlp: { protocols: { grpc: { endpoint: nowhere } } } }\nprocessors: { batch: { timeout: soon } }\nexporters: { debug: { verbosity: loud } }\nservice: { pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [debug, file] } } }`);
    assertHasError(lines, 'receivers.otlp.protocols.grpc.endpoint: expected host:port, got "nowhere"');
    assertHasError(lines, 'processors.batch.timeout: expected a duration like 10s, got "soon"');
    assertHasError(lines, 'exporters.debug.verbosity: expected one of "basic", "normal", "detailed", got "loud"');
    assertHasError(lines, /^service\.pipelines\.traces\.exporters\[1\]: references exporter "file"/);
    assert.ok(lines.length >= 4);
  });
});

describe('a wrong config starts nothing', () => {
  it('exits non-zero before binding the receiver port', async () => {
    const port = await freePort();
    const path = writeConfig(dir.path, `receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:${port}" } } } }\nexporters: { debug: { verbosity: loud } }\n${VALID_SERVICE}`, 'bad-run.yaml');
    const r = runBpfcol(['--config', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exporters\.debug\.verbosity/);
    // The port is still free: nothing was started.
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
    });
  });
});

describe('validate accepts a good config', () => {
  it('exits 0 and names the pipelines', () => {
    const path = writeConfig(dir.path, `receivers: { otlp: { protocols: { grpc: {} } } }\nexporters: { debug: {} }\n${VALID_SERVICE}`, 'good.yaml');
    const r = runBpfcol(['validate', '--config', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /config is valid: 1 pipeline\(s\): traces/);
  });
});
