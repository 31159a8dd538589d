// No secret leaves bpfcol: HTTP requests with Authorization, cookies, API keys, query tokens and
// bodies, SQL with string literals (and an error quoting one), Redis AUTH and values. Every
// exporter's output (file traces and metrics, the Prometheus endpoint, the debug exporter at
// detailed verbosity) and bpfcol's own logs at debug level are searched for each secret; the
// spans themselves must be there, so the search is not over nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { type RunningBpfcol, startBpfcol, tempDir, writeConfig } from '../../test/support/cli.ts';
import { type NginxServer, startNginx } from '../../test/support/nginx.ts';
import { freePort } from '../../test/support/ports.ts';
import { type PostgresServer, startPostgres } from '../../test/support/postgres.ts';
import { type RedisServer, startRedis } from '../../test/support/redis.ts';
import { readSpans } from '../../test/support/otlp-files.ts';
import { attr, run, waitForSpans } from './testing.ts';

if (process.getuid?.() !== 0) throw new Error('socket_trace tests load eBPF programs: run them as root');

const SECRETS = ['AUTHSECRET', 'COOKIESECRET', 'SETCOOKIESECRET', 'APIKEYSECRET', 'QUERYSECRET', 'BODYSECRET', 'RESPBODYSECRET', 'SQLSECRET', 'SQLERRSECRET', 'REDISPASS', 'REDISVALUE'];

describe('socket_trace: no secret leaves', { timeout: 300_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let nginx: NginxServer;
  let pg: PostgresServer;
  let redis: RedisServer;
  let bpfcol: RunningBpfcol;
  let promPort: number;
  let tracesPath: string;
  let metricsPath: string;

  before(async () => {
    dir = tempDir('bpfcol-st-privacy-');
    tracesPath = join(dir.path, 'traces.jsonl');
    metricsPath = join(dir.path, 'metrics.jsonl');
    nginx = await startNginx(join(dir.path, 'nginx'), await freePort(), '    location / { add_header Set-Cookie "session=SETCOOKIESECRET"; return 200 "RESPBODYSECRET\\n"; }');
    pg = startPostgres(await freePort());
    redis = await startRedis(dir.path, await freePort());
    promPort = await freePort();
    const telemetryPort = await freePort();
    const config = writeConfig(
      dir.path,
      `
receivers:
  socket_trace:
    filters: { ports: [${nginx.port}, ${pg.port}, ${redis.port}] }
    metrics: { collection_interval: 1s }
    privacy: { http_request_headers: [x-request-id] }
exporters:
  file/traces: { path: "${tracesPath}" }
  file/metrics: { path: "${metricsPath}" }
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
  debug: { verbosity: detailed }
service:
  telemetry:
    logs: { level: debug }
    metrics: { address: "127.0.0.1:${telemetryPort}" }
  pipelines:
    traces: { receivers: [socket_trace], exporters: [file/traces, debug] }
    metrics: { receivers: [socket_trace], exporters: [file/metrics, prometheus, debug] }
`,
    );
    bpfcol = await startBpfcol(config, {}, 120_000);
  });

  after(async () => {
    await bpfcol?.stop();
    await nginx?.stop();
    pg?.stop();
    await redis?.stop();
    dir?.cleanup();
  });

  it('credentials, cookies, query values, bodies and literals appear in no output', async () => {
    assert.match(bpfcol.output(), /privacy widened: request header values are recorded \(x-request-id\)/, 'a widened config says so');
    const url = `http://127.0.0.1:${nginx.port}/login?user=bob&token=QUERYSECRET`;
    await run('curl', ['-s', '-o', '/dev/null', '-H', 'Authorization: Bearer AUTHSECRET', '-H', 'Cookie: sid=COOKIESECRET', '-H', 'X-Api-Key: APIKEYSECRET', '-H', 'X-Request-Id: req-42', '--data', 'password=BODYSECRET', url]);
    const psql = ['-X', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'postgres'];
    await run('psql', [...psql, '-c', 'CREATE TABLE accounts (name text)', '-c', "INSERT INTO accounts VALUES ('SQLSECRET')"]);
    await run('psql', [...psql, '-c', "SELECT 'SQLERRSECRET'::int"]).catch(() => undefined);
    await run('redis-cli', ['-p', String(redis.port), '--no-auth-warning', '-a', 'REDISPASS', 'PING']).catch(() => undefined);
    await run('redis-cli', ['-p', String(redis.port), 'SET', 'k', 'REDISVALUE']);

    const traced = { spans: () => readSpans(tracesPath), bpfcol } as never;
    const spans = await waitForSpans(traced, () => true, 8);
    const login = spans.find((s) => s.span.kind === 2 && attr(s.span, 'url.path') === '/login');
    assert.ok(login, 'the login request was traced');
    assert.equal(attr(login.span, 'http.request.method'), 'POST');
    assert.deepEqual(attr(login.span, 'http.request.header.x-request-id'), ['req-42'], 'the allowed header is recorded');
    assert.ok(spans.some((s) => attr(s.span, 'db.query.text') === 'INSERT INTO accounts VALUES (?)'), 'the INSERT was traced');
    assert.ok(spans.some((s) => attr(s.span, 'db.query.text') === 'SELECT ?::int' && s.span.status.code === 2), 'the failing SELECT was traced');
    assert.ok(spans.some((s) => attr(s.span, 'db.query.text') === 'AUTH ?'), 'the AUTH command was traced');
    assert.ok(spans.some((s) => attr(s.span, 'db.query.text') === 'SET ? ?'), 'the SET was traced');

    await new Promise((r) => setTimeout(r, 2500)); // a metrics interval, and the debug exporter's output
    const outputs: Record<string, string> = {
      'file/traces': readFileSync(tracesPath, 'utf8'),
      'file/metrics': readFileSync(metricsPath, 'utf8'),
      prometheus: await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text(),
      'debug exporter and logs': bpfcol.output(),
    };
    assert.match(outputs.prometheus!, /http_server_request_duration_seconds_bucket/);
    assert.match(outputs['debug exporter and logs']!, /\/login/, 'the debug exporter printed the spans');
    for (const [where, text] of Object.entries(outputs)) {
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked into ${where}`);
    }
  });
});
