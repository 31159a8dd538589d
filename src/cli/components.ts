import type { ConnectorFactory, Factories, Factory } from '../component/component.ts';
import { connectorPairs, supportedSignals } from '../config/resolve.ts';

function signalsOf(f: Factory): string {
  if (f.kind === 'connector') return `[${connectorPairs(f as ConnectorFactory).map(([from, to]) => `${from} to ${to}`).join(', ')}]`;
  const signals = supportedSignals(f);
  return signals.length ? `[${signals.join(', ')}]` : '';
}

export function listComponents(factories: Factories, out: (line: string) => void): void {
  const section = (title: string, list: Factory[]) => {
    out(`${title}:`);
    for (const f of [...list].sort((a, b) => a.type.localeCompare(b.type))) {
      const signals = signalsOf(f);
      out(`  ${f.type.padEnd(22)} ${signals}${signals ? ' ' : ''}${f.description}`);
    }
  };
  section('receivers', factories.receivers);
  section('processors', factories.processors);
  section('exporters', factories.exporters);
  section('connectors', factories.connectors ?? []);
  section('extensions', factories.extensions);
}
