// C++ (and Rust) symbol names made readable: `_ZN4node5StartEiPPc` -> `node::Start(int, char**)`.
// The mangled names that appear in a round's frames go to binutils' c++filt, kept running with
// line-buffered output (stdbuf -oL): one write and one read per round, no process per round (a
// whole file's names would cost a second for a large binary). Without c++filt, names stay mangled.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';

let available: boolean | undefined;

/** True for names c++filt can demangle (Itanium C++ ABI, Rust legacy and v0). */
export function isMangled(name: string): boolean {
  return name.startsWith('_Z') || name.startsWith('_R');
}

/** Demangles names in place (only the mangled ones); returns how many changed. */
export function demangleAll(names: string[]): number {
  if (available === false) return 0;
  const at: number[] = [];
  for (let i = 0; i < names.length; i++) if (isMangled(names[i]!)) at.push(i);
  if (at.length === 0) return 0;
  let out: string;
  try {
    out = execFileSync('c++filt', [], { input: at.map((i) => names[i]).join('\n'), maxBuffer: 1 << 28, encoding: 'utf8' });
    available = true;
  } catch {
    available = false;
    return 0;
  }
  const lines = out.split('\n');
  if (lines.length < at.length) return 0;
  let changed = 0;
  at.forEach((i, k) => {
    const d = lines[k]!;
    if (d && d !== names[i]) {
      names[i] = d;
      changed++;
    }
  });
  return changed;
}

const REPLY_TIMEOUT_MS = 10_000;

/** Pipes of a child process are sockets: they can stop keeping the event loop alive. */
interface Refable {
  ref?: () => void;
  unref?: () => void;
}

/** A running c++filt: names in, demangled names out, one per line, requests one after another. */
class CxxFilt {
  #child: ChildProcessWithoutNullStreams | undefined;
  #failed = false;
  #queue: Promise<unknown> = Promise.resolve();

  #start(): ChildProcessWithoutNullStreams | undefined {
    if (this.#child || this.#failed) return this.#child;
    try {
      const child = spawn('stdbuf', ['-oL', 'c++filt'], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.on('error', () => {
        this.#failed = true;
        this.#child = undefined;
      });
      child.on('exit', () => {
        if (this.#child === child) this.#child = undefined;
      });
      child.stdin.on('error', () => undefined);
      this.#idle(child);
      this.#child = child;
    } catch {
      this.#failed = true;
    }
    return this.#child;
  }

  /** Lets the process end while only c++filt is left (and keeps it alive while a reply is due). */
  #idle(child: ChildProcessWithoutNullStreams): void {
    child.unref();
    for (const s of [child.stdout, child.stdin, child.stderr] as unknown as Refable[]) s.unref?.();
  }

  #busy(child: ChildProcessWithoutNullStreams): void {
    child.ref();
    (child.stdout as unknown as Refable).ref?.();
  }

  /** The demangled names (the names themselves where c++filt cannot run). */
  demangle(names: readonly string[]): Promise<string[]> {
    const run = this.#queue.then(() => this.#request(names));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #request(names: readonly string[]): Promise<string[]> {
    const child = this.#start();
    if (!child || names.length === 0) return Promise.resolve([...names]);
    this.#busy(child);
    return new Promise((resolve) => {
      const lines: string[] = [];
      let partial = '';
      const finish = (out: string[]) => {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        this.#idle(child);
        resolve(out);
      };
      const onData = (d: Buffer) => {
        const text = partial + d.toString('utf8');
        const parts = text.split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
        if (lines.length >= names.length) finish(lines.slice(0, names.length));
      };
      const onExit = () => finish([...names]);
      const timer = setTimeout(() => {
        // No answer: this c++filt is of no use; the names stay as they are.
        child.kill('SIGKILL');
        this.#failed = true;
        finish([...names]);
      }, REPLY_TIMEOUT_MS);
      child.stdout.on('data', onData);
      child.once('exit', onExit);
      child.stdin.write(`${names.join('\n')}\n`);
    });
  }

  close(): void {
    this.#child?.kill();
    this.#child = undefined;
  }
}

/** Demangled names remembered across rounds; frames with names still to demangle wait for flush(). */
export class Demangler {
  readonly #known = new Map<string, string>();
  #pending: { function: string }[] = [];
  readonly #max: number;
  readonly #filter = new CxxFilt();

  constructor(maxNames = 200_000) {
    this.#max = maxNames;
  }

  /** Gives the frame its demangled name now if known, else at the next flush(). */
  add(frame: { function: string }): void {
    if (!isMangled(frame.function)) return;
    const known = this.#known.get(frame.function);
    if (known !== undefined) frame.function = known;
    else this.#pending.push(frame);
  }

  /** Demangles every pending name (one request to c++filt) and renames their frames. */
  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const frames = this.#pending;
    this.#pending = [];
    const names = [...new Set(frames.map((f) => f.function))];
    const demangled = await this.#filter.demangle(names);
    if (this.#known.size + names.length > this.#max) this.#known.clear();
    names.forEach((n, i) => this.#known.set(n, demangled[i] || n));
    for (const f of frames) f.function = this.#known.get(f.function) ?? f.function;
  }

  close(): void {
    this.#filter.close();
  }
}
