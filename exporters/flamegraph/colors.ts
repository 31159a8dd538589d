// The seed's flame graph colours: Kubernetes and process frames dark blue, user code light blue,
// kernel green; frames nobody could name grey. Each name gets a stable shade of its family (a
// hash of the name picks the lightness), so neighbours stay apart and a function keeps its colour
// from one graph to the next.
import type { FrameKind } from '../../src/pdata/profiles.ts';

interface Family {
  hue: number;
  saturation: number;
  /** Lightness range, percent. */
  light: [number, number];
  text: string;
}

export const FAMILIES: Record<FrameKind, Family> = {
  metadata: { hue: 222, saturation: 62, light: [24, 34], text: '#ffffff' },
  native: { hue: 204, saturation: 78, light: [70, 82], text: '#000000' },
  jit: { hue: 192, saturation: 72, light: [68, 80], text: '#000000' },
  interpreted: { hue: 214, saturation: 70, light: [74, 86], text: '#000000' },
  kernel: { hue: 118, saturation: 48, light: [48, 62], text: '#000000' },
  unknown: { hue: 0, saturation: 0, light: [72, 80], text: '#000000' },
};

/** What the legend calls each family. */
export const LEGEND: { label: string; kind: FrameKind }[] = [
  { label: 'Kubernetes / process', kind: 'metadata' },
  { label: 'user code', kind: 'native' },
  { label: 'kernel', kind: 'kernel' },
];

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) / 4294967295;
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const sat = s / 100;
  const lig = l / 100;
  const k = (n: number) => (n + h / 30) % 12;
  const a = sat * Math.min(lig, 1 - lig);
  const f = (n: number) => lig - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

export function frameColor(kind: FrameKind, name: string): string {
  const fam = FAMILIES[kind];
  const [lo, hi] = fam.light;
  const [r, g, b] = hslToRgb(fam.hue, fam.saturation, lo + (hi - lo) * hash(name));
  return `rgb(${r},${g},${b})`;
}

export function legendColor(kind: FrameKind): string {
  const fam = FAMILIES[kind];
  const [r, g, b] = hslToRgb(fam.hue, fam.saturation, (fam.light[0] + fam.light[1]) / 2);
  return `rgb(${r},${g},${b})`;
}
