// Running totals of bpfcol's own counters, kept beside the OpenTelemetry SDK's so the health
// endpoint and `bpfcol status` can show per component what went in, out, was refused or lost.
import type { Attributes } from '@opentelemetry/api';

/** The attribute naming the component a series belongs to, in the order looked for. */
const COMPONENT_KEYS = ['receiver', 'processor', 'exporter', 'connector', 'extension'] as const;

export interface ComponentTotals {
  /** `receiver otlp`, `exporter file/traces`, or `bpfcol` for process-wide series. */
  component: string;
  /** Counter name (without the bpfcol_ prefix) with its other attributes, → total. */
  counters: Record<string, number>;
}

export class Tally {
  private readonly totals = new Map<string, Map<string, number>>();

  add(name: string, value: number, attributes: Attributes): void {
    const kind = COMPONENT_KEYS.find((k) => attributes[k] !== undefined);
    const component = kind ? `${kind} ${String(attributes[kind])}` : 'bpfcol';
    const rest = Object.entries(attributes)
      .filter(([k]) => k !== kind)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}="${String(v)}"`);
    const key = rest.length ? `${name}{${rest.join(',')}}` : name;
    let counters = this.totals.get(component);
    if (!counters) this.totals.set(component, (counters = new Map()));
    counters.set(key, (counters.get(key) ?? 0) + value);
  }

  snapshot(): ComponentTotals[] {
    return [...this.totals.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([component, counters]) => ({ component, counters: Object.fromEntries([...counters.entries()].sort(([a], [b]) => a.localeCompare(b))) }));
  }
}
