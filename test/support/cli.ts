// Drives the bpfcol command as a user would: a config file on disk, the real bin/bpfcol.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BPFCOL = join(REPO_ROOT, 'bin/bpfcol');

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'bpfcol-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(dir: string, yaml: string, name = 'config.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs bpfcol to completion (validate, components, print-config...). */
export function runBpfcol(args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync(BPFCOL, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface RunningBpfcol {
  child: ChildProcess;
  /** Everything it logged so far (stderr) and printed (stdout). */
  output(): string;
  /** Resolves with the first output line matching, or rejects after timeoutMs or on exit. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `bpfcol --config <path>` and waits until it says it is ready (or exits). */
export async function startBpfcol(configPaths: string | string[], env: NodeJS.ProcessEnv = {}, readyTimeoutMs = 60_000): Promise<RunningBpfcol> {
  const args = (Array.isArray(configPaths) ? configPaths : [configPaths]).flatMap((p) => ['--config', p]);
  const child = spawn(BPFCOL, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.once('exit', (code, signal) => r(code ?? (signal ? 128 : null))));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const l of listeners) l();
  });

  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolvePromise, reject) => {
      const check = () => {
        const line = text.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) {
          done();
          resolvePromise(line);
        } else if (hasExited) {
          done();
          reject(new Error(`bpfcol exited before printing ${pattern}; output:\n${text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`bpfcol did not print ${pattern} within ${timeoutMs} ms; output:\n${text}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const running: RunningBpfcol = {
    child,
    output: () => text,
    waitForOutput,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 30_000) {
      if (!hasExited) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    await waitForOutput(/everything is ready/, readyTimeoutMs);
  } catch (error) {
    // Not ready in time: don't leave it running (and attached to the kernel) behind the test.
    await running.stop('SIGKILL', 5_000);
    throw error;
  }
  return running;
}
