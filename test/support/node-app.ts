// Runs one of the TypeScript fixtures in test/fixtures as a separate process with the project's Node.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

export function runFixture(name: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(REPO_ROOT, 'test/fixtures', name), ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${name} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
