// `bpfcol [command] [--config FILE]...`: the command line, as the Collector's.
import { parseArgs } from 'node:util';
import type { Factories } from '../component/component.ts';
import { ConfigError } from '../config/errors.ts';
import { VERSION } from '../version.ts';
import { listComponents } from './components.ts';
import { printConfig } from './print-config.ts';
import { probe } from './probe.ts';
import { serve } from './serve.ts';
import { status } from './status.ts';
import { validate } from './validate.ts';

const USAGE = `Usage: bpfcol [command] --config FILE [--config FILE]...

Commands:
  (none)         run the pipelines of the config (several --config files merge, later ones win)
  validate       check the config and exit: 0 when valid, 1 with every problem listed
  components     list every receiver, processor, exporter and extension with its signals
  print-config   print the config as bpfcol reads it (env expanded, secrets masked)
  status         ask a running bpfcol (at the config's telemetry address, or 127.0.0.1:8888)
                 how it is: pipelines and, per component, items in, out, refused, lost
  probe          report what this kernel offers and whether each eBPF receiver can run
                 (exit 1 when one cannot)

Options:
  --config FILE  a YAML config file (repeatable)
  --version      print the version
  --help         print this help`;

export type ExtraCommand = (args: { configPaths: string[]; factories: Factories; out: (line: string) => void }) => Promise<number>;

/** Commands provided outside the core (the kernel probe), keyed by name. */
const extraCommands = new Map<string, ExtraCommand>();
export function registerCommand(name: string, command: ExtraCommand): void {
  extraCommands.set(name, command);
}

export async function runCli(argv: string[], factories: Factories): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', multiple: true, short: 'c' },
        version: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`bpfcol: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const out = (line: string) => process.stdout.write(line + '\n');
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (values.version) {
    out(`bpfcol ${VERSION}`);
    return 0;
  }
  const command = positionals[0] ?? 'run';
  if (positionals.length > 1) {
    process.stderr.write(`bpfcol: unexpected arguments: ${positionals.slice(1).join(' ')}\n\n${USAGE}\n`);
    return 2;
  }
  const configPaths = values.config ?? [];
  try {
    switch (command) {
      case 'run':
        return await serve(configPaths, factories);
      case 'validate':
        return await validate(configPaths, factories, out);
      case 'components':
        listComponents(factories, out);
        return 0;
      case 'print-config':
        return await printConfig(configPaths, factories, out);
      case 'probe':
        return await probe(configPaths, factories, out);
      case 'status':
        return await status(configPaths, factories, out);
      default: {
        const extra = extraCommands.get(command);
        if (extra) return await extra({ configPaths, factories, out });
        process.stderr.write(`bpfcol: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
      }
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`bpfcol: invalid configuration:\n${error.issues.map((i) => `  ${i.path ? i.path + ': ' : ''}${i.message}`).join('\n')}\n`);
      return 1;
    }
    throw error;
  }
}
