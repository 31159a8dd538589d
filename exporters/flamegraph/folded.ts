// Profiles -> folded stacks ("root;...;leaf count" lines, what flamegraph.pl, inferno and speedscope
// read) and the merged call tree a flame graph draws. Frames of one parent with the same name
// merge, whatever their addresses: a flame graph groups samples by common ancestors.
// In the .folded text, kernel frames carry the `_[k]` suffix and JIT frames `_[j]`, the
// annotations flamegraph.pl's --color=java understands.
import { type Frame, type FrameKind, type ProfilesData, framesWithResource, resourceFrames } from '../../src/pdata/profiles.ts';

export interface FoldedStack {
  /** Root first. */
  frames: { name: string; kind: FrameKind }[];
  value: number;
}

export interface TreeNode {
  name: string;
  kind: FrameKind;
  /** Samples in this frame and below it. */
  value: number;
  children: Map<string, TreeNode>;
}

/** Folded stacks of every profile in the data; `valueIndex` picks the sample value (0: sample count). */
export function foldProfiles(data: ProfilesData, valueIndex = 0): FoldedStack[] {
  const merged = new Map<string, FoldedStack>();
  for (const rp of data.resourceProfiles) {
    const rootFrames = resourceFrames(rp.resource);
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        for (const s of p.samples) {
          const value = s.values[valueIndex] ?? 0;
          if (value <= 0) continue;
          const frames = framesWithResource(s.frames, rootFrames)
            .slice()
            .reverse()
            .map((f: Frame) => ({ name: cleanName(f.function), kind: f.kind }));
          const key = frames.map((f) => `${f.kind}:${f.name}`).join('\u0000');
          const known = merged.get(key);
          if (known) known.value += value;
          else merged.set(key, { frames, value });
        }
      }
    }
  }
  return [...merged.values()];
}

/** Frame names in folded text hold no `;` (the separator) and no line breaks. */
function cleanName(name: string): string {
  return name.replace(/;/g, ':').replace(/[\r\n]+/g, ' ');
}

function annotate(f: { name: string; kind: FrameKind }): string {
  if (f.kind === 'kernel') return `${f.name}_[k]`;
  if (f.kind === 'jit') return `${f.name}_[j]`;
  return f.name;
}

/** The folded text, lines sorted (as stackcollapse scripts write them). */
export function foldedText(stacks: readonly FoldedStack[]): string {
  const lines = stacks.map((s) => `${s.frames.map(annotate).join(';')} ${s.value}`);
  lines.sort();
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Parses folded text back (annotations become kinds): for tests and for tools that feed us folded files. */
export function parseFolded(text: string): FoldedStack[] {
  const out: FoldedStack[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line);
    if (!m) continue;
    out.push({
      value: Number(m[2]),
      frames: m[1]!.split(';').map((raw) => {
        if (raw.endsWith('_[k]')) return { name: raw.slice(0, -4), kind: 'kernel' as const };
        if (raw.endsWith('_[j]')) return { name: raw.slice(0, -4), kind: 'jit' as const };
        return { name: raw, kind: 'native' as const };
      }),
    });
  }
  return out;
}

/** The merged call tree under a root named `rootName`. */
export function buildTree(stacks: readonly FoldedStack[], rootName = 'all'): TreeNode {
  const root: TreeNode = { name: rootName, kind: 'metadata', value: 0, children: new Map() };
  for (const s of stacks) {
    root.value += s.value;
    let node = root;
    for (const f of s.frames) {
      const key = `${f.kind}:${f.name}`;
      let child = node.children.get(key);
      if (!child) {
        child = { name: f.name, kind: f.kind, value: 0, children: new Map() };
        node.children.set(key, child);
      }
      child.value += s.value;
      node = child;
    }
  }
  return root;
}
