// C++ (and Rust) symbol names made readable: `_ZN4node5StartEiPPc` -> `node::Start(int, char**)`.
// The mangled names that appear in a round's frames go through one run of binutils' c++filt (a
// whole file's names would cost a second for a large binary), so a flame graph shows what the
// source says. Without c++filt, names stay mangled.
import { execFileSync } from 'node:child_process';

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

/** Demangled names remembered across rounds; frames with names still to demangle wait for flush(). */
export class Demangler {
  readonly #known = new Map<string, string>();
  #pending: { function: string }[] = [];
  readonly #max: number;

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

  /** Demangles every pending name in one c++filt run and renames their frames. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const frames = this.#pending;
    this.#pending = [];
    const names = [...new Set(frames.map((f) => f.function))];
    const demangled = [...names];
    demangleAll(demangled);
    if (this.#known.size + names.length > this.#max) this.#known.clear();
    names.forEach((n, i) => this.#known.set(n, demangled[i]!));
    for (const f of frames) f.function = this.#known.get(f.function) ?? f.function;
  }
}
