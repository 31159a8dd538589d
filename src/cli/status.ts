// `bpfcol status`: asks a running bpfcol (its telemetry endpoint, from the config or
// 127.0.0.1:8888) how it is and prints, per component, what went in, out, was refused or lost.
import type { Factories } from '../component/component.ts';
import { loadResolvedConfig } from '../collector.ts';
import type { ComponentTotals } from '../telemetry/tally.ts';

interface HealthBody {
  status: string;
  healthy: boolean;
  uptime_seconds?: number;
  pipelines?: string[];
  components?: ComponentTotals[];
}

export async function status(configPaths: string[], factories: Factories, out: (line: string) => void): Promise<number> {
  let address = '127.0.0.1:8888';
  if (configPaths.length > 0) {
    const { config } = await loadResolvedConfig({ configPaths, factories });
    if (config.telemetry.metrics.level === 'none') {
      out('bpfcol status: this config turns the telemetry endpoint off (service.telemetry.metrics.level: none)');
      return 1;
    }
    address = config.telemetry.metrics.address;
  }
  const host = address.startsWith(':') || address.startsWith('0.0.0.0:') ? `127.0.0.1:${address.split(':').pop()}` : address;
  let body: HealthBody;
  try {
    const response = await fetch(`http://${host}/health`, { signal: AbortSignal.timeout(5000) });
    body = (await response.json()) as HealthBody;
  } catch (error) {
    out(`bpfcol status: no bpfcol answers on http://${host}/health (${error instanceof Error ? (error.cause as Error | undefined)?.message ?? error.message : String(error)})`);
    return 1;
  }
  out(`bpfcol is ${body.status}${body.healthy ? ' (healthy)' : ' (NOT healthy)'}${body.uptime_seconds !== undefined ? `, up ${body.uptime_seconds} s` : ''}`);
  for (const p of body.pipelines ?? []) out(`  pipeline ${p}`);
  for (const c of body.components ?? []) {
    out(`${c.component}:`);
    for (const [name, total] of Object.entries(c.counters)) out(`  ${name.padEnd(60)} ${total}`);
  }
  return body.healthy ? 0 : 1;
}
