// The bpfcol command: the engine's CLI with the components of this build.
import { factories } from './components.ts';
import { runCli } from './src/cli/run.ts';

process.exitCode = await runCli(process.argv.slice(2), factories);
// Everything is stopped by now; a handle some library leaked must not keep bpfcol alive.
setTimeout(() => process.exit(), 3000).unref();
