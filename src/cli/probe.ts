// `bpfcol probe`: what this kernel offers, and whether each eBPF component can run here (with the
// config given, or with its defaults).
import type { Factories, Factory } from '../component/component.ts';
import { loadResolvedConfig } from '../collector.ts';
import { formatProbeReport, probeKernel } from '../bpf/probe.ts';

export async function probe(configPaths: string[], factories: Factories, out: (line: string) => void): Promise<number> {
  const subjects: { label: string; factory: Factory; config: unknown }[] = [];
  if (configPaths.length > 0) {
    const { config } = await loadResolvedConfig({ configPaths, factories });
    for (const [section, map] of [['receivers', config.receivers], ['processors', config.processors], ['exporters', config.exporters], ['connectors', config.connectors]] as const) {
      for (const [id, c] of map) if (c.factory.missingKernelFeatures) subjects.push({ label: `${section}.${id}`, factory: c.factory, config: c.config });
    }
  } else {
    const all: Factory[] = [...factories.receivers, ...factories.processors, ...factories.exporters, ...(factories.connectors ?? [])];
    for (const f of all) if (f.missingKernelFeatures) subjects.push({ label: `${f.kind} ${f.type} (defaults)`, factory: f, config: f.configSchema.parse({}) });
  }
  const tracepoints = [...new Set(subjects.flatMap((s) => s.factory.kernelTracepoints?.(s.config) ?? []))];
  out(formatProbeReport(probeKernel({ tracepoints })));
  out('');
  let blocked = 0;
  for (const s of subjects) {
    const missing = s.factory.missingKernelFeatures!(s.config);
    if (missing.length === 0) out(`can run  ${s.label}`);
    else {
      blocked++;
      out(`CANNOT   ${s.label}:`);
      for (const m of missing) out(`           ${m}`);
    }
  }
  return blocked === 0 ? 0 : 1;
}
