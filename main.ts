// The bpfcol command: the engine's CLI with the components of this build.
import { factories } from './components.ts';
import { runCli } from './src/cli/run.ts';

process.exitCode = await runCli(process.argv.slice(2), factories);
