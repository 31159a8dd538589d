// C++ (and Rust legacy) symbol names made readable: `_ZN4node5StartEiPPc` -> `node::Start(int, char**)`.
// All mangled names of a file go through one run of binutils' c++filt when the file is read, so a
// flame graph shows what the source says. Without c++filt, names stay mangled (pprof demangles
// them itself; flame graphs show them as they are).
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
