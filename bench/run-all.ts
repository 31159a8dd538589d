// `npm run bench`: every benchmark in bench/, one after another (each measures its own baseline in
// the same run and prints its ratios). `npm run bench -- tcp_drop` runs those whose name matches.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts' && !f.endsWith('.test.ts'))
  .filter((f) => !filter || f.includes(filter))
  .sort();

let failed = 0;
for (const script of scripts) {
  process.stdout.write(`\n=== ${script}\n`);
  const r = spawnSync(process.execPath, [join(here, script)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`=== ${script} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.stdout.write(`\n${scripts.length - failed} benchmarks ran, ${failed} failed\n`);
process.exitCode = failed === 0 ? 0 : 1;
