// Real cgroups named as kubelet names them, for tests that prove pid -> cgroup -> container ->
// pod on a live kernel: a sandbox directory in the cgroup v2 hierarchy (or a v1 one) holding
// kubepods trees for each container runtime's layout, and real processes moved into them. Needs
// root; cleanup kills the processes and removes the directories, deepest first.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCgroupHierarchies } from '../../src/host/cgroups.ts';

export type Layout = 'containerd' | 'cri-o' | 'docker' | 'cgroupfs';
export type Qos = 'guaranteed' | 'burstable' | 'besteffort';

export interface TestCgroup {
  /** The path as /proc/PID/cgroup shows it (absolute inside the hierarchy). */
  path: string;
  /** The directory on disk. */
  dir: string;
  /** Its id: the directory's inode (what bpf_get_current_cgroup_id returns, for v2). */
  id: bigint;
}

/** The path kubelet gives a container of pod `uid` under `layout` (systemd driver for CRI runtimes, cgroupfs driver otherwise). */
export function kubeletPath(layout: Layout, uid: string, containerId: string, qos: Qos = 'burstable'): string {
  if (layout === 'cgroupfs') return qos === 'guaranteed' ? `/kubepods/pod${uid}/${containerId}` : `/kubepods/${qos}/pod${uid}/${containerId}`;
  const podSlice = qos === 'guaranteed' ? `kubepods-pod${uid.replaceAll('-', '_')}.slice` : `kubepods-${qos}-pod${uid.replaceAll('-', '_')}.slice`;
  const scope = { containerd: 'cri-containerd', 'cri-o': 'crio', docker: 'docker' }[layout];
  return ['', 'kubepods.slice', ...(qos === 'guaranteed' ? [] : [`kubepods-${qos}.slice`]), podSlice, `${scope}-${containerId}.scope`].join('/');
}

export class CgroupSandbox {
  /** The hierarchy's mount point. */
  readonly mount: string;
  /** The sandbox's path inside the hierarchy (/bpfcol-test-...). */
  readonly base: string;
  readonly #dirs: string[] = [];
  readonly #children: ChildProcess[] = [];

  private constructor(mount: string, base: string) {
    this.mount = mount;
    this.base = base;
  }

  /** A sandbox in the v2 hierarchy, or in the v1 hierarchy of `controller` (cpu, memory, pids...). */
  static create(controller?: string): CgroupSandbox {
    if (process.getuid?.() !== 0) throw new Error('cgroup tests need root: they create cgroups and move processes into them');
    const h = findCgroupHierarchies();
    const mount = controller ? h.v1.get(controller) : h.unified;
    if (!mount) throw new Error(`no ${controller ? `cgroup v1 ${controller}` : 'cgroup v2'} hierarchy is mounted`);
    const base = `/bpfcol-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
    const s = new CgroupSandbox(mount, base);
    s.#mkdir(join(mount, base));
    return s;
  }

  /** Creates the cgroup `path` (kubelet style, see kubeletPath) inside the sandbox. */
  cgroup(path: string): TestCgroup {
    let dir = join(this.mount, this.base);
    for (const part of path.split('/').filter(Boolean)) {
      dir = join(dir, part);
      this.#mkdir(dir);
    }
    return { path: this.base + path, dir, id: statSync(dir, { bigint: true }).ino };
  }

  /** Starts a long sleep and moves it into `cg`; resolves with its pid. */
  async spawnIn(cg: TestCgroup): Promise<number> {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    this.#children.push(child);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    writeFileSync(join(cg.dir, 'cgroup.procs'), String(pid));
    return pid;
  }

  async cleanup(): Promise<void> {
    await Promise.all(
      this.#children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    for (const dir of [...this.#dirs].reverse()) {
      // A cgroup is removable once its last process has been reaped, which can lag the exit a little.
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') break;
          if (attempt >= 50) throw error;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  }

  #mkdir(dir: string): void {
    try {
      mkdirSync(dir);
      this.#dirs.push(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
