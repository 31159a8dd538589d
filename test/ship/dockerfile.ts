// The Dockerfile read with a Dockerfile parser (dockerfile-ast, the one behind the Docker language
// server) into stages, and a small interpreter that carries out a stage's COPY, WORKDIR, ENV and
// RUN instructions in a directory standing for the image's root, so a test can build the image's
// file tree without a Docker engine and run what is in it.
import { spawnSync } from 'node:child_process';
import { cpSync, globSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
import { createRequire } from 'node:module';
import type { Ignore } from '@balena/dockerignore';
import { DockerfileParser, type Instruction, JSONInstruction } from 'dockerfile-ast';

export interface Step {
  keyword: string;
  /** Arguments as written, variables not expanded, line continuations joined. */
  text: string;
  /** The JSON form's strings (ENTRYPOINT, CMD, HEALTHCHECK CMD ...), when written so. */
  json?: string[];
  /** COPY --from. */
  from?: string;
  line: number;
}

export interface Stage {
  name: string;
  /** The base image with global ARG defaults substituted (node:24-bookworm). */
  image: string;
  steps: Step[];
}

export interface ParsedDockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? whole);
}

/** The JSON (exec) form's strings: ENTRYPOINT/CMD ["a", "b"], HEALTHCHECK ... CMD ["a", "b"]. */
function jsonStrings(instruction: Instruction): string[] | undefined {
  if (instruction instanceof JSONInstruction) {
    const strings = instruction.getJSONStrings();
    return strings.length ? strings.map((s) => JSON.parse(s.getValue()) as string) : undefined;
  }
  const content = instruction.getArgumentsContent() ?? '';
  const at = content.indexOf('[');
  if (instruction.getKeyword() !== 'HEALTHCHECK' || at < 0) return undefined;
  return JSON.parse(content.slice(at)) as string[];
}

export function parseDockerfile(path: string): ParsedDockerfile {
  const dockerfile = DockerfileParser.parse(readFileSync(path, 'utf8'));
  const globalArgs: Record<string, string> = {};
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) globalArgs[property.getName()] = property.getValue() ?? '';
  }
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const text = (instruction.getArgumentsContent() ?? '').trim();
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const as = args.findIndex((a) => a.toLowerCase() === 'as');
      stages.push({ name: as >= 0 ? args[as + 1]! : String(stages.length), image: substitute(args[0]!, globalArgs), steps: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // global ARGs
    const step: Step = { keyword, text, line };
    const json = jsonStrings(instruction);
    if (json) step.json = json;
    if (keyword === 'COPY') {
      const from = (instruction as unknown as { getFromFlag(): { getValue(): string | null } | null }).getFromFlag();
      if (from?.getValue()) step.from = from.getValue()!;
    }
    stage.steps.push(step);
  }
  return { globalArgs, stages };
}

/** COPY's sources and destination (flags removed). */
export function copyArgs(step: Step): { sources: string[]; dest: string } {
  const words = step.text.split(/\s+/).filter((w) => !w.startsWith('--'));
  return { sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** ENV's key=value pairs. */
export function envPairs(step: Step): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of step.text.matchAll(/(\w+)=("[^"]*"|\S+)/g)) out[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return out;
}

/** The packages an `apt-get install` in a RUN step names. */
export function aptPackages(step: Step): string[] {
  const m = /apt-get install ([^&;]*)/.exec(step.text.replace(/\\\s*\n/g, ' '));
  return m ? m[1]!.split(/\s+/).filter((w) => w && !w.startsWith('-')) : [];
}

export interface StageRun {
  /** The directory standing for this stage's root. */
  root: string;
  /** Container path -> host path. */
  map: (path: string) => string;
  workdir: string;
  env: Record<string, string>;
}

export interface RunOptions {
  context: string;
  /** A .dockerignore matcher for context sources. */
  ignored: (relativePath: string) => boolean;
  /** Stages already run, by name (for COPY --from). */
  stages: Map<string, StageRun>;
  /** Container path prefixes that stand elsewhere on this host (e.g. /usr/local -> Node's dir). */
  mounts: Record<string, string>;
  /** RUN steps not to carry out (apt-get: the host has the packages); return a reason to skip. */
  skipRun: (step: Step) => boolean;
  /** Called with each RUN's output, for failure messages. */
  log: (line: string) => void;
  /** Directories the base image has (e.g. /usr/local/bin), made before the steps run. */
  baseDirs?: string[];
  /** Environment of RUN steps besides the stage's ARGs and ENVs (PATH to this machine's Node). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const HOST_PATHS = ['/sys/', '/proc/', '/dev/', '/tmp/'];

export function makeMap(root: string, mounts: Record<string, string>): (path: string) => string {
  return (path: string) => {
    if (HOST_PATHS.some((p) => path.startsWith(p))) return path;
    for (const [prefix, host] of Object.entries(mounts)) {
      if (path === prefix || path.startsWith(prefix + '/')) return host + path.slice(prefix.length);
    }
    return join(root, path);
  };
}

function copyFiltered(src: string, dest: string, relFromContext: string, ignored: (p: string) => boolean): void {
  const st = statSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const entry of readdirSync(src)) {
      const rel = posix.join(relFromContext, entry);
      if (ignored(rel)) continue;
      copyFiltered(join(src, entry), join(dest, entry), rel, ignored);
    }
  } else {
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(src, dest, { dereference: false });
  }
}

/** Carries out one stage's steps in `root`. */
export function runStage(stage: Stage, root: string, options: RunOptions): StageRun {
  const map = makeMap(root, options.mounts);
  const run: StageRun = { root, map, workdir: '/', env: {} };
  const args: Record<string, string> = {};
  const resolve = (p: string) => (p.startsWith('/') ? p : posix.join(run.workdir, p));
  for (const base of options.baseDirs ?? []) mkdirSync(map(base), { recursive: true });
  for (const step of stage.steps) {
    switch (step.keyword) {
      case 'WORKDIR':
        run.workdir = resolve(step.text);
        mkdirSync(map(run.workdir), { recursive: true });
        break;
      case 'ARG': {
        const m = /^(\w+)(?:=(.*))?$/.exec(step.text);
        if (m) args[m[1]!] = (m[2] ?? '').replace(/^"|"$/g, '');
        break;
      }
      case 'ENV':
        Object.assign(run.env, envPairs(step));
        break;
      case 'COPY': {
        const { sources, dest } = copyArgs(step);
        const destPath = resolve(dest);
        const intoDir = dest.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          const matches: { host: string; rel?: string }[] = [];
          if (step.from) {
            const from = options.stages.get(step.from);
            if (!from) throw new Error(`line ${step.line}: COPY --from=${step.from}: no such stage before it`);
            const hostPattern = from.map(source.startsWith('/') ? source : posix.join(from.workdir, source));
            const found = source.includes('*') ? globSync(hostPattern) : [hostPattern];
            for (const h of found) matches.push({ host: h });
          } else {
            const rel = posix.normalize(source).replace(/\/$/, '');
            const found = source.includes('*') ? globSync(rel, { cwd: options.context }) : [rel];
            for (const r of found) matches.push({ host: join(options.context, r), rel: r });
          }
          if (matches.length === 0) throw new Error(`line ${step.line}: COPY ${source}: nothing matches`);
          for (const m of matches) {
            const isDir = statSync(m.host).isDirectory();
            const target = isDir ? map(destPath) : intoDir ? join(map(destPath), basename(m.host)) : map(destPath);
            if (m.rel !== undefined) {
              if (options.ignored(m.rel)) throw new Error(`line ${step.line}: COPY ${source}: excluded by .dockerignore`);
              copyFiltered(m.host, target, m.rel, options.ignored);
            } else {
              cpSync(m.host, target, { recursive: true, dereference: false });
            }
          }
        }
        break;
      }
      case 'RUN': {
        if (options.skipRun(step)) break;
        const command = step.text.replace(/(^|[\s="'])(\/[^\s"';&|]+)/g, (_, lead: string, path: string) => lead + map(path));
        const r = spawnSync('bash', ['-euo', 'pipefail', '-c', command], {
          cwd: map(run.workdir),
          env: { ...process.env, ...options.env, ...args, ...run.env },
          encoding: 'utf8',
          timeout: options.timeoutMs ?? 600_000,
        });
        options.log(`$ ${command}\n${r.stdout}${r.stderr}`);
        if (r.status !== 0) throw new Error(`line ${step.line}: RUN failed (${r.status ?? r.signal}): ${command}\n${r.stdout}${r.stderr}`);
        break;
      }
      default:
        break; // USER, EXPOSE, VOLUME, HEALTHCHECK, ENTRYPOINT, CMD: metadata, read by the test
    }
  }
  return run;
}

/** A matcher of the context's .dockerignore (Docker's rules, @balena/dockerignore). */
// A CommonJS module whose types say `export default`: loaded with require so both agree.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

export function dockerignore(context: string): (relativePath: string) => boolean {
  const ig = ignore().add(readFileSync(join(context, '.dockerignore'), 'utf8'));
  return (p: string) => ig.ignores(relative('.', p) || p);
}
