// A TCP drop inside the kernel, through the bpfcol command, to a file exporter (OTLP JSON lines)
// and the Prometheus endpoint, with the drop records on the logs pipeline. Real programs, real
// packets between two network namespaces made for the test. Needs root: it fails without it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getAttribute } from '../../src/pdata/common.ts';
import type { NumberDataPoint } from '../../src/pdata/metrics.ts';
import { startBpfcol, tempDir, writeConfig, type RunningBpfcol } from '../support/cli.ts';
import { type NetnsPair, createNetnsPair, requireRootForNetns } from '../support/netns.ts';
import { readLogs, readMetrics } from '../support/otlp-files.ts';
import { freePort } from '../support/ports.ts';

/** The newest point of a metric in the file matching the attributes (cumulative: the running total). */
function latestPoint(path: string, name: string, want: Record<string, string | bigint>): NumberDataPoint | undefined {
  const points = readMetrics(path)
    .filter((m) => m.metric.name === name && m.metric.data.type === 'sum')
    .flatMap((m) => (m.metric.data.type === 'sum' ? m.metric.data.dataPoints : []))
    .filter((p) => Object.entries(want).every(([k, v]) => getAttribute(p.attributes, k) === v));
  return points.at(-1);
}

async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not seen after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('tcp_drop end to end through the bpfcol command', () => {
  let pair: NetnsPair;
  let bpfcol: RunningBpfcol | undefined;
  const dir = tempDir('bpfcol-tcp-drop-');

  before(() => requireRootForNetns());
  after(async () => {
    await bpfcol?.stop();
    pair?.cleanup();
    dir.cleanup();
  });

  it('drops reach the file exporter and the Prometheus endpoint with their kernel reason, one record each on the logs pipeline', async () => {
    pair = createNetnsPair();
    const { a, b } = pair;
    const promPort = await freePort();
    const telemetryPort = await freePort();
    const metricsFile = join(dir.path, 'metrics.jsonl');
    const logsFile = join(dir.path, 'logs.jsonl');
    const config = writeConfig(
      dir.path,
      `
receivers:
  tcp_drop:
    collection_interval: 1s
    filters: { cidrs: ["${pair.cidr}"] }
    logs: { enabled: true }
exporters:
  file/metrics: { path: "${metricsFile}" }
  file/logs: { path: "${logsFile}" }
  prometheus: { endpoint: "127.0.0.1:${promPort}" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${telemetryPort}" } }
  pipelines:
    metrics: { receivers: [tcp_drop], exporters: [file/metrics, prometheus] }
    logs: { receivers: [tcp_drop], exporters: [file/logs] }
`,
    );
    bpfcol = await startBpfcol(config);

    // Three SYNs to a closed port (NO_SOCKET) and SYNs into an nft DROP rule (NETFILTER_DROP).
    const refused = (await a.peerResult<{ results: { result: string }[] }>(['connect', b.address, '9', '3', '5000'])).results;
    assert.deepEqual(refused.map((x) => x.result), ['refused', 'refused', 'refused']);
    pair.dropIncoming(b, 8081);
    await a.peerResult(['connect', b.address, '8081', '1', '1500']);
    await a.waitForQuietSockets();
    const filtered = pair.droppedByRule(b);

    const server = { 'network.local.address': b.address, 'network.peer.address': a.address };
    const noSocket = { ...server, 'network.local.port': 9n, 'tcp.drop.reason': 'NO_SOCKET' };
    const netfilter = { ...server, 'network.local.port': 8081n, 'tcp.drop.reason': 'NETFILTER_DROP' };
    await until('3 NO_SOCKET drops in the file', () => (latestPoint(metricsFile, 'tcp.drops', noSocket)?.asInt === 3n ? true : undefined));
    await until(`${filtered} NETFILTER_DROP drops in the file`, () =>
      latestPoint(metricsFile, 'tcp.drops', netfilter)?.asInt === BigInt(filtered) ? true : undefined,
    );
    const point = latestPoint(metricsFile, 'tcp.drops', noSocket)!;
    assert.ok(point.startTimeUnixNano! < point.timeUnixNano, 'a cumulative point with its start time');

    const line = (reason: string, port: number) =>
      new RegExp(
        `^tcp_drops_total\\{(?=[^}]*network_local_address="${b.address.replaceAll('.', '\\.')}")(?=[^}]*network_local_port="${port}")(?=[^}]*tcp_drop_reason="${reason}")[^}]*\\} (\\d+)`,
        'm',
      );
    const scraped = await until('the drops on the Prometheus endpoint', async () => {
      const text = await (await fetch(`http://127.0.0.1:${promPort}/metrics`)).text();
      return line('NO_SOCKET', 9).exec(text)?.[1] === '3' && line('NETFILTER_DROP', 8081).exec(text)?.[1] === String(filtered) ? text : undefined;
    });
    assert.match(scraped, /^# TYPE tcp_drops_total counter$/m);
    assert.match(scraped, /^tcp_resets_sent_total\{[^}]*tcp_reset_reason="NO_SOCKET"[^}]*\} 3$/m);

    const records = await until('the drop records in the logs file', () => {
      const logs = readLogs(logsFile).filter((l) => getAttribute(l.log.attributes, 'tcp.drop.reason') !== undefined);
      return logs.length >= 3 + filtered ? logs : undefined;
    });
    const reasons = records.map((r) => getAttribute(r.log.attributes, 'tcp.drop.reason')).sort();
    assert.deepEqual(reasons, [...Array(filtered).fill('NETFILTER_DROP'), 'NO_SOCKET', 'NO_SOCKET', 'NO_SOCKET']);
    for (const r of records) assert.equal(getAttribute(r.log.attributes, 'network.local.address'), b.address);

    assert.equal(await bpfcol.stop(), 0);
    bpfcol = undefined;
  });
});
