import type { Factories, Factory } from '../component/component.ts';
import { supportedSignals } from '../config/resolve.ts';

export function listComponents(factories: Factories, out: (line: string) => void): void {
  const section = (title: string, list: Factory[]) => {
    out(`${title}:`);
    for (const f of [...list].sort((a, b) => a.type.localeCompare(b.type))) {
      const signals = supportedSignals(f);
      out(`  ${f.type.padEnd(22)} ${signals.length ? `[${signals.join(', ')}]` : ''}${signals.length ? ' ' : ''}${f.description}`);
    }
  };
  section('receivers', factories.receivers);
  section('processors', factories.processors);
  section('exporters', factories.exporters);
  section('extensions', factories.extensions);
}
