// Follows the README as a newcomer would: a clean clone, the run command, then every command of
// the five-minute tour, read from the README itself, each with its output checked. (The test
// command is what runs this suite; .ci/run calls it.)
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from '../support/cli.ts';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

function fenced(afterHeading: string): string[] {
  const from = readme.indexOf(afterHeading);
  assert.ok(from >= 0, `README has "${afterHeading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(block, `a sh block after "${afterHeading}"`);
  return block[1]!.split('\n').map((l) => l.replace(/\s+#\s.*$/, '').trim()).filter(Boolean);
}

/** What each tour command must print; every command in the README's tour needs an entry here. */
const EXPECT: [RegExp, (out: string) => void][] = [
  [/^bin\/bpfcol status$/, (o) => assert.match(o, /^bpfcol is running \(healthy\)/m)],
  [/^curl -s http:\/\/127\.0\.0\.1:9464\/metrics \| grep/, (o) => assert.match(o, /^(tcp|system|container|process)_\w+/m)],
  [/^curl -s http:\/\/127\.0\.0\.1:8888\/health$/, (o) => assert.equal((JSON.parse(o) as { healthy: boolean }).healthy, true)],
  [/^curl -s -o \/dev\/null http:\/\/127\.0\.0\.1:9464\/metrics$/, (o) => assert.equal(o, '')],
  [/^tail -n 1 bpfcol-data\/traces\.jsonl$/, (o) => assert.match(o, /"resourceSpans"/)],
  [/^ls bpfcol-data\/flamegraphs\/$/, (o) => assert.match(o, /\.svg$/m)],
  [/^bin\/bpfcol probe$/, (o) => assert.match(o, /^can run\s+receiver tcp_drop/m)],
];

describe('the README, followed from a clean clone', () => {
  const dir = tempDir('bpfcol-readme-');
  const clone = join(dir.path, 'bpfcol');
  let run: ChildProcess | undefined;
  let output = '';

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the README says: as root');
    execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);
    const commands = fenced('## Two commands');
    assert.equal(commands.length, 2, 'exactly two set-up commands');
    assert.equal(commands[0], 'bash scripts/run.sh');
    assert.equal(commands[1], 'bash scripts/test.sh');
    run = spawn('bash', ['-c', commands[0]!], { cwd: clone, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    run.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    run.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 15 * 60_000;
    while (!/everything is ready/.test(output)) {
      if (run.exitCode !== null) throw new Error(`the run command exited ${run.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the run command was not ready after 15 minutes:\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });

  after(async () => {
    if (run?.pid && run.exitCode === null) {
      process.kill(-run.pid, 'SIGTERM');
      await new Promise((r) => run!.once('exit', r));
    }
    dir.cleanup();
  });

  it('every command of the five-minute tour works as the README says', async () => {
    const tour = fenced('## A five-minute tour');
    assert.ok(tour.length >= 5);
    // The first flame graph window (30 s) and a collection interval (10 s) must have passed.
    await new Promise((r) => setTimeout(r, 35_000));
    for (const command of tour) {
      const expect = EXPECT.find(([pattern]) => pattern.test(command));
      assert.ok(expect, `the test knows what "${command}" should print`);
      let out = '';
      for (let attempt = 0; ; attempt++) {
        const r = spawnSync('bash', ['-c', command], { cwd: clone, encoding: 'utf8', timeout: 60_000 });
        out = r.stdout;
        try {
          assert.equal(r.status, 0, `"${command}" exited ${r.status}: ${r.stderr}`);
          expect[1](out.trim());
          break;
        } catch (error) {
          // Spans flush on a batch timeout after the request before them: give it a few seconds.
          if (attempt >= 10) throw new Error(`"${command}": ${(error as Error).message}\noutput:\n${out}\nbpfcol:\n${output.slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    }
  });
});
