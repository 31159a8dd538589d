// Helpers for the runtime's kernel tests: they need root and real kernel features and fail loudly
// (never skip) when something is missing; small C programs are compiled per test run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { ADDON_PATH } from '../native.ts';
import { checkRequirements, type KernelRequirements } from '../probe.ts';
import { testObjectPath } from '../object.ts';

/** Throws, listing what is missing, unless the kernel and privileges give everything in reqs. */
export function requireKernel(reqs: KernelRequirements, objects: string[] = []): void {
  if (!existsSync(ADDON_PATH)) throw new Error(`native addon not built (${ADDON_PATH}): run 'bash scripts/setup.sh'`);
  for (const o of objects) {
    if (!existsSync(testObjectPath(o))) throw new Error(`${testObjectPath(o)} not built: run 'bash scripts/setup.sh'`);
  }
  const missing = checkRequirements(reqs);
  if (missing.length) throw new Error(`this test needs kernel features that are missing:\n  ${missing.join('\n  ')}`);
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `bpfcol-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles src/bpf/testdata/<name>.c with gcc into dir; returns the executable's path. */
export function compileC(name: string, dir: string, flags: string[] = ['-O2']): string {
  const src = fileURLToPath(new URL(`./${name}.c`, import.meta.url));
  const out = join(dir, name);
  execFileSync('gcc', [...flags, '-o', out, src], { stdio: ['ignore', 'inherit', 'inherit'] });
  return out;
}

/** Polls cond every intervalMs until it holds or timeoutMs passes; returns its last value. */
export async function waitFor<T>(cond: () => T, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
