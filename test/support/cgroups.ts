// Test cgroups: a tree `/bpfcol-test-<random>/...` created under the root of every cgroup hierarchy
// this machine mounts (the v2 one and each v1 controller's, as container runtimes do), real
// processes moved in, limits set, and everything removed afterwards (also at process exit, in case
// a test dies first). Needs root: a test that uses it fails loudly without.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CgroupHierarchies, cgroupDir, cgroupMode, findCgroupHierarchies } from '../../src/host/cgroups.ts';

const live = new Set<TestCgroupTree>();
process.once('exit', () => {
  for (const t of live) t.removeSync();
});

export function requireRootForCgroups(): CgroupHierarchies {
  if (process.getuid?.() !== 0) throw new Error('this test creates cgroups and moves processes into them: run it as root');
  const h = findCgroupHierarchies();
  if (cgroupMode(h) === 'none') throw new Error('this machine mounts no cgroup file system');
  return h;
}

/** Controllers the test cgroups need, by name on v2. */
const V2_CONTROLLERS = ['cpu', 'memory', 'io', 'pids'];
const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'blkio', 'pids'];

/** One cgroup of a test tree: its path and its directory in each hierarchy. */
export class TestCgroup {
  readonly path: string;
  readonly unified: string | undefined;
  readonly v1: Map<string, string>;
  readonly #h: CgroupHierarchies;

  constructor(h: CgroupHierarchies, path: string) {
    this.#h = h;
    this.path = path;
    this.unified = h.unified ? cgroupDir(h.unified, path) : undefined;
    this.v1 = new Map(V1_CONTROLLERS.filter((c) => h.v1.has(c)).map((c) => [c, cgroupDir(h.v1.get(c)!, path)]));
  }

  /** True when the v2 hierarchy holds this controller here (else the v1 one does). */
  v2Has(controller: string): boolean {
    return !!this.unified && existsSync(join(this.unified, controller === 'cpu' ? 'cpu.max' : controller === 'memory' ? 'memory.current' : controller === 'io' ? 'io.stat' : 'pids.current'));
  }

  /** A v1 controller's directory (throws when that controller is not mounted on v1). */
  dir(controller: string): string {
    const d = this.v1.get(controller);
    if (!d) throw new Error(`no v1 ${controller} hierarchy`);
    return d;
  }

  /** Moves a process into this cgroup in every hierarchy. */
  add(pid: number): void {
    if (this.unified) writeFileSync(join(this.unified, 'cgroup.procs'), String(pid));
    for (const d of this.v1.values()) writeFileSync(join(d, 'cgroup.procs'), String(pid));
  }

  /** The files a shell writes its own pid to, to join this cgroup before it execs the real command. */
  procsFiles(): string[] {
    return [...(this.unified ? [join(this.unified, 'cgroup.procs')] : []), ...[...this.v1.values()].map((d) => join(d, 'cgroup.procs'))];
  }

  /** Limits CPU to quota/period (cpu.max on v2, cfs_quota_us/cfs_period_us on v1). */
  limitCpu(quotaUs: number, periodUs: number): void {
    if (this.v2Has('cpu')) writeFileSync(join(this.unified!, 'cpu.max'), `${quotaUs} ${periodUs}`);
    else {
      writeFileSync(join(this.dir('cpu'), 'cpu.cfs_period_us'), String(periodUs));
      writeFileSync(join(this.dir('cpu'), 'cpu.cfs_quota_us'), String(quotaUs));
    }
  }

  /** The highest CPU weight, so the cgroup gets its quota even on a machine busy with other work. */
  favourCpu(): void {
    if (this.v2Has('cpu')) writeFileSync(join(this.unified!, 'cpu.weight'), '10000');
    else writeFileSync(join(this.dir('cpu'), 'cpu.shares'), '262144');
  }

  limitMemory(bytes: number): void {
    if (this.v2Has('memory')) writeFileSync(join(this.unified!, 'memory.max'), String(bytes));
    else writeFileSync(join(this.dir('memory'), 'memory.limit_in_bytes'), String(bytes));
  }

  /** Reads a file of this cgroup, from the v2 directory or a v1 controller's. */
  read(file: string, controller?: string): string {
    return readFileSync(join(controller ? this.dir(controller) : this.unified!, file), 'utf8');
  }

  /**
   * Spawns a command inside this cgroup from its first instruction (a shell joins, then execs it).
   * In a network namespace (`ip netns exec` hides the host's /sys), the process is moved in right
   * after it starts instead.
   */
  spawn(command: string, args: string[], options: { netns?: string } = {}): ChildProcess {
    if (options.netns) {
      const child = spawn('ip', ['netns', 'exec', options.netns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.add(child.pid!);
      return child;
    }
    const joinCgroup = this.procsFiles().map((f) => `echo $$ > '${f}'`).join(' && ');
    const exec = `exec ${[command, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')}`;
    return spawn('sh', ['-c', `${joinCgroup} && ${exec}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** pids in this cgroup (the v2 directory, else the first v1 one). */
  pids(): number[] {
    const dir = this.unified ?? [...this.v1.values()][0]!;
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  }
}

/** A test tree: `/bpfcol-test-<random>` and the children made with child(). */
export class TestCgroupTree {
  readonly hierarchies: CgroupHierarchies;
  readonly root: TestCgroup;
  readonly #children: TestCgroup[] = [];
  readonly #processes = new Set<ChildProcess>();

  constructor(hierarchies: CgroupHierarchies = requireRootForCgroups()) {
    this.hierarchies = hierarchies;
    this.root = new TestCgroup(hierarchies, `/bpfcol-test-${randomBytes(4).toString('hex')}`);
    this.#mkdir(this.root);
    // On v2 a cgroup's children get only the controllers it enables for them.
    if (this.root.unified) {
      const available = readFileSync(join(this.root.unified, 'cgroup.controllers'), 'utf8').split(/\s+/);
      const wanted = V2_CONTROLLERS.filter((c) => available.includes(c));
      if (wanted.length) writeFileSync(join(this.root.unified, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    }
    live.add(this);
  }

  /** The glob that includes every cgroup of this tree (the receiver's cgroups.include). */
  get include(): string {
    return `${this.root.path}/**`;
  }

  #mkdir(cg: TestCgroup): void {
    if (cg.unified) mkdirSync(cg.unified);
    for (const d of cg.v1.values()) mkdirSync(d);
  }

  child(name: string): TestCgroup {
    const cg = new TestCgroup(this.hierarchies, `${this.root.path}/${name}`);
    this.#mkdir(cg);
    this.#children.push(cg);
    return cg;
  }

  /** Keeps a process to kill at remove(). */
  track(child: ChildProcess): ChildProcess {
    this.#processes.add(child);
    return child;
  }

  /** Kills what was started and removes every cgroup, waiting for them to empty. */
  async remove(): Promise<void> {
    for (const p of this.#processes) p.kill('SIGKILL');
    for (let i = 0; i < 100 && !this.#tryRemove(); i++) await sleep(50);
    live.delete(this);
    if (!this.#tryRemove()) throw new Error(`could not remove test cgroup ${this.root.path}`);
  }

  removeSync(): void {
    for (const p of this.#processes) p.kill('SIGKILL');
    this.#tryRemove();
  }

  #tryRemove(): boolean {
    let ok = true;
    for (const cg of [...this.#children, this.root]) {
      for (const dir of [cg.unified, ...cg.v1.values()]) {
        if (!dir || !existsSync(dir)) continue;
        try {
          rmdirSync(dir);
        } catch {
          ok = false;
        }
      }
    }
    return ok;
  }
}
