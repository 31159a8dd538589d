// The Dockerfile, checked without a Docker engine: hadolint finds nothing; its stages, base images,
// packages, user, HEALTHCHECK and ENTRYPOINT are what the header promises; every COPY source is in
// the repository and in the build context; and the image's file tree, made by carrying out the
// Dockerfile's COPY/WORKDIR/ENV/RUN steps here (npm ci --omit=dev, make runtime, the symlink),
// runs bpfcol: validate, components, and the default config until /health answers 200 to the
// HEALTHCHECK's own command. Needs root (the default config's eBPF receivers).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT, tempDir, writeConfig } from '../support/cli.ts';
import { freePort } from '../support/ports.ts';
import { aptPackages, copyArgs, dockerignore, envPairs, type ParsedDockerfile, parseDockerfile, runStage, type Stage, type StageRun, type Step } from './dockerfile.ts';

const DOCKERFILE = join(REPO_ROOT, 'Dockerfile');
const NODE_DIR = dirname(dirname(process.execPath));

function stage(d: ParsedDockerfile, name: string): Stage {
  const s = d.stages.find((x) => x.name === name);
  assert.ok(s, `no stage named ${name}: ${d.stages.map((x) => x.name).join(', ')}`);
  return s;
}

const steps = (s: Stage, keyword: string): Step[] => s.steps.filter((x) => x.keyword === keyword);

function installed(pkg: string): boolean {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

describe('Dockerfile', () => {
  const d = parseDockerfile(DOCKERFILE);

  it('hadolint finds nothing', () => {
    const hadolint = execFileSync('bash', [join(REPO_ROOT, 'test/peers/hadolint.sh')], { encoding: 'utf8', timeout: 300_000 }).trim().split('\n').pop()!;
    const r = spawnSync(hadolint, ['--no-color', '--failure-threshold', 'info', DOCKERFILE], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), '');
  });

  it('builds on Debian 12 with Node 24 and the build packages, runs on node:24-bookworm-slim with libbpf1 and libelf1 only', () => {
    assert.deepEqual(d.stages.map((s) => s.name), ['build', 'runtime']);
    const nodeMajor = /NODE_MAJOR=(\d+)/.exec(readFileSync(join(REPO_ROOT, 'scripts/lib.sh'), 'utf8'))![1];
    assert.equal(stage(d, 'build').image, `node:${nodeMajor}-bookworm`);
    assert.equal(stage(d, 'runtime').image, `node:${nodeMajor}-bookworm-slim`);

    const build = steps(stage(d, 'build'), 'RUN').flatMap(aptPackages);
    // Every package bpf/Makefile asks for by name, and nothing scripts/apt-packages.txt lacks.
    const makefile = readFileSync(join(REPO_ROOT, 'bpf/Makefile'), 'utf8');
    const named = new Set([...makefile.matchAll(/need_cmd,[^,]+,([\w.+-]+)\)/g), ...makefile.matchAll(/Debian package '([\w.+-]+)'/g)].map((m) => m[1]!));
    for (const pkg of named) assert.ok(build.includes(pkg), `the build stage does not install ${pkg}, which bpf/Makefile needs`);
    const listed = readFileSync(join(REPO_ROOT, 'scripts/apt-packages.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    for (const pkg of build) assert.ok(listed.includes(pkg), `${pkg} is not in scripts/apt-packages.txt`);
    assert.deepEqual(steps(stage(d, 'runtime'), 'RUN').flatMap(aptPackages).sort(), ['libbpf1', 'libelf1']);
  });

  it('runs as uid 0 with the capabilities the DaemonSet grants, as its header documents', () => {
    const users = steps(stage(d, 'runtime'), 'USER').map((s) => s.text);
    assert.equal(users.at(-1), '0:0');
    const header = readFileSync(DOCKERFILE, 'utf8');
    const documented = [...header.matchAll(/^#\s+CAP_(\w+)\s+(.*)$/gm)].filter((m) => !/^not used/.test(m[2]!)).map((m) => m[1]!).sort();
    const daemonset = parseYaml(readFileSync(join(REPO_ROOT, 'config/kubernetes/daemonset.yaml'), 'utf8')) as any;
    const container = daemonset.spec.template.spec.containers.find((c: any) => c.name === 'bpfcol');
    assert.deepEqual([...container.securityContext.capabilities.add].sort(), documented);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    // The docker run line of the header grants the same.
    const runLine = [...header.matchAll(/--cap-add=(\w+)/g)].map((m) => m[1]!).sort();
    assert.deepEqual(runLine, documented);
  });

  it('HEALTHCHECK asks /health on the default config\'s telemetry address; ENTRYPOINT runs bpfcol with /etc/bpfcol/config.yaml', () => {
    const runtime = stage(d, 'runtime');
    const [health] = steps(runtime, 'HEALTHCHECK');
    assert.ok(health?.json, 'HEALTHCHECK CMD in exec form');
    const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'config/default.yaml'), 'utf8')) as any;
    assert.ok(health.json.join(' ').includes(`http://${defaults.service.telemetry.metrics.address}/health`), health.text);
    assert.deepEqual(steps(runtime, 'ENTRYPOINT').at(-1)?.json, ['bpfcol', '--config', '/etc/bpfcol/config.yaml']);
    const config = steps(runtime, 'COPY').find((s) => copyArgs(s).dest === '/etc/bpfcol/config.yaml');
    assert.deepEqual(config && copyArgs(config).sources, ['config/default.yaml']);
    assert.equal(envPairs(steps(runtime, 'ENV').find((s) => s.text.includes('BPFCOL_DATA_DIR'))!).BPFCOL_DATA_DIR, '/var/lib/bpfcol');
  });

  it('every COPY source from the build context is in git and not excluded by .dockerignore', () => {
    const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n'));
    const ignored = dockerignore(REPO_ROOT);
    const sources = d.stages.flatMap((s) => steps(s, 'COPY').filter((c) => !c.from).flatMap((c) => copyArgs(c).sources));
    assert.ok(sources.length > 5);
    for (const source of sources) {
      const path = source.replace(/\/$/, '');
      const isTracked = tracked.has(path) || [...tracked].some((t) => t.startsWith(path + '/') && !ignored(t));
      assert.ok(isTracked, `COPY ${source}: not in git (a clean clone lacks it)`);
      assert.ok(!ignored(path), `COPY ${source}: excluded by .dockerignore`);
    }
  });
});

describe('the image file tree, made by following the Dockerfile, runs bpfcol', { timeout: 900_000 }, () => {
  const d = parseDockerfile(DOCKERFILE);
  const dir = tempDir('bpfcol-image-');
  const log: string[] = [];
  let runtime: StageRun;
  const env = () => ({ ...process.env, ...runtime.env, BPFCOL_DATA_DIR: runtime.map(runtime.env.BPFCOL_DATA_DIR!), PATH: `${runtime.map('/usr/local/bin')}:${dirname(process.execPath)}:${process.env.PATH}` });
  const bpfcol = () => runtime.map('/usr/local/bin/bpfcol');
  const config = () => runtime.map('/etc/bpfcol/config.yaml');

  before(() => {
    const stages = new Map<string, StageRun>();
    const ignored = dockerignore(REPO_ROOT);
    for (const s of d.stages) {
      const mounts: Record<string, string> = s.name === 'build' ? { '/usr/local': NODE_DIR } : {};
      const run = runStage(s, join(dir.path, s.name), {
        context: REPO_ROOT,
        ignored,
        stages,
        mounts,
        // apt-get: this machine has the packages (scripts/apt-packages.txt); checked here instead.
        skipRun: (step) => {
          const packages = aptPackages(step);
          for (const p of packages) assert.ok(installed(p), `${p} (RUN at line ${step.line}) is not installed here`);
          return packages.length > 0;
        },
        log: (line) => log.push(line),
        baseDirs: ['/usr/local/bin', '/etc', '/var/lib'],
        env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
      });
      stages.set(s.name, run);
      runtime = run;
    }
  });

  after(() => {
    rmSync(dir.path, { recursive: true, force: true });
  });

  it('holds the eBPF objects, the addon, production dependencies only, and no tests', () => {
    const app = runtime.map('/opt/bpfcol');
    for (const name of ['tcp_drop', 'resources_blockio', 'jvm_usdt', 'perf_sampling', 'socket_trace']) assert.ok(existsSync(join(app, `bpf/build/${name}.bpf.o`)), name);
    assert.ok(existsSync(join(app, 'bpf/build/bpfcol_native.node')));
    assert.ok(!existsSync(join(app, 'bpf/build/test')), 'test programs are not built into the image');
    assert.ok(existsSync(join(app, 'node_modules/@kubernetes/client-node')));
    assert.ok(!existsSync(join(app, 'node_modules/typescript')), 'dev dependencies are not in the image');
    assert.ok(!existsSync(join(app, 'test')) && !existsSync(join(app, 'receivers/tcp_drop/tcp_drop.test.ts')));
  });

  it('bpfcol validate and bpfcol components work from it', () => {
    // The entrypoint's form: `bpfcol --config /etc/bpfcol/config.yaml <command>`.
    const v = spawnSync(bpfcol(), ['--config', config(), 'validate'], { env: env(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(v.status, 0, v.stdout + v.stderr + log.join('\n'));
    assert.match(v.stdout, /config is valid/);
    const c = spawnSync(bpfcol(), ['components'], { env: env(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(c.status, 0, c.stderr);
    const registry = readFileSync(join(REPO_ROOT, 'components.ts'), 'utf8');
    for (const m of registry.matchAll(/from '\.\/(receivers|processors|exporters|connectors|extensions)\/(\w+)\/factory\.ts'/g)) {
      assert.match(c.stdout, new RegExp(`\\b${m[2]}\\b`), `${m[1]}/${m[2]} missing from bpfcol components`);
    }
  });

  it('runs the default config until /health says healthy to the HEALTHCHECK command', async () => {
    const ports = { grpc: await freePort(), http: await freePort(), prom: await freePort(), telemetry: await freePort() };
    const override = writeConfig(
      dir.path,
      `
receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${ports.grpc}" }
      http: { endpoint: "127.0.0.1:${ports.http}" }
exporters:
  prometheus: { endpoint: "127.0.0.1:${ports.prom}" }
service:
  telemetry: { metrics: { address: "127.0.0.1:${ports.telemetry}" } }
`,
      'ports.yaml',
    );
    const { spawn } = await import('node:child_process');
    const entrypoint = steps(stage(d, 'runtime'), 'ENTRYPOINT').at(-1)!.json!;
    const args = entrypoint.slice(1).map((a) => (a.startsWith('/') ? runtime.map(a) : a));
    const child = spawn(bpfcol(), [...args, '--config', override], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c));
    child.stderr!.on('data', (c: Buffer) => (output += c));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!/everything is ready/.test(output)) {
        assert.ok(child.exitCode === null, `bpfcol exited: ${output}`);
        assert.ok(Date.now() < deadline, `bpfcol not ready: ${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const [cmd, ...cmdArgs] = steps(stage(d, 'runtime'), 'HEALTHCHECK')[0]!.json!;
      const probe = spawnSync(cmd!, cmdArgs.map((a) => a.replace('127.0.0.1:8888', `127.0.0.1:${ports.telemetry}`)), { env: env(), encoding: 'utf8', timeout: 30_000 });
      assert.equal(probe.status, 0, `HEALTHCHECK failed: ${probe.stderr}\n${output}`);
      const health = (await (await fetch(`http://127.0.0.1:${ports.telemetry}/health`)).json()) as { healthy: boolean; pipelines: string[] };
      assert.equal(health.healthy, true);
      assert.ok(existsSync(runtime.map('/var/lib/bpfcol/traces.jsonl')), 'the file exporter writes under BPFCOL_DATA_DIR');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
    }
  });
});
