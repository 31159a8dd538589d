// An interactive flame graph as one self-contained SVG, in the manner of Brendan Gregg's
// flamegraph.pl: the root at the bottom, each frame as wide as its share of the samples, children
// in name order. Opened in a browser it offers tooltips and a details line (hover), zoom (click a
// frame; "Reset Zoom" or a click on the root undoes it), and search (the Search button, Ctrl+F or
// "/", or ?s=regex in the URL) that paints matches magenta and says what share they hold.
import type { FrameKind } from '../../src/pdata/profiles.ts';
import { FAMILIES, LEGEND, frameColor, legendColor } from './colors.ts';
import type { TreeNode } from './folded.ts';

export interface SvgOptions {
  title: string;
  subtitle?: string;
  width: number;
  /** Height of one frame, px. */
  frameHeight: number;
  fontSize: number;
  /** Frames narrower than this (px) are left out (their samples still widen their parents). */
  minWidth: number;
  /** Unit of the values in tooltips ("samples"). */
  unit: string;
}

export const DEFAULT_SVG: SvgOptions = { title: 'CPU flame graph', width: 1200, frameHeight: 16, fontSize: 12, minWidth: 0.5, unit: 'samples' };

const XPAD = 10;
/** Longer names (C++ templates run to thousands of characters) are cut in the SVG; the .folded file keeps them whole. */
export const MAX_NAME = 300;
const CHAR_WIDTH = 0.59; // of the font size: an average glyph of Verdana

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** The label a frame of `width` px shows: the name, cut with ".." to fit, or nothing. */
export function fitLabel(name: string, width: number, fontSize: number): string {
  const chars = Math.floor((width - 6) / (fontSize * CHAR_WIDTH));
  if (chars < 3) return '';
  return name.length <= chars ? name : `${name.slice(0, chars - 2)}..`;
}

interface Placed {
  node: TreeNode;
  x: number;
  w: number;
  depth: number;
}

function place(root: TreeNode, width: number, minWidth: number): { frames: Placed[]; maxDepth: number } {
  const frames: Placed[] = [];
  let maxDepth = 0;
  const scale = root.value > 0 ? (width - 2 * XPAD) / root.value : 0;
  const visit = (node: TreeNode, x: number, depth: number) => {
    const w = node.value * scale;
    if (w < minWidth) return;
    frames.push({ node, x, w, depth });
    if (depth > maxDepth) maxDepth = depth;
    let cx = x;
    const children = [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.kind < b.kind ? -1 : 1));
    for (const c of children) {
      visit(c, cx, depth + 1);
      cx += c.value * scale;
    }
  };
  visit(root, XPAD, 0);
  return { frames, maxDepth };
}

/** 1234567 -> "1,234,567" (toLocaleString costs microseconds a call: a graph has thousands). */
export function thousands(n: number): string {
  const t = String(Math.round(n));
  return t.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function kindLabel(kind: FrameKind): string {
  return kind === 'metadata' ? 'Kubernetes/process' : kind;
}

export function renderSvg(root: TreeNode, options: Partial<SvgOptions> = {}): string {
  const o = { ...DEFAULT_SVG, ...options };
  const { frames, maxDepth } = place(root, o.width, o.minWidth);
  const top = o.fontSize * 5; // title, subtitle, controls
  const bottom = o.fontSize * 2 + 10; // details line
  const height = top + (maxDepth + 1) * o.frameHeight + bottom;
  const total = root.value;
  const colors = new Map<string, string>();
  const colorOf = (kind: FrameKind, name: string) => {
    const key = `${kind}\u0000${name}`;
    let c = colors.get(key);
    if (c === undefined) {
      c = frameColor(kind, name);
      colors.set(key, c);
    }
    return c;
  };
  const out: string[] = [];
  out.push('<?xml version="1.0" standalone="no"?>');
  out.push(
    `<svg version="1.1" width="${o.width}" height="${height}" onload="init(evt)" viewBox="0 0 ${o.width} ${height}" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" data-total="${total}" data-unit="${escapeXml(o.unit)}">`,
  );
  out.push(`<style type="text/css">
text { font-family: Verdana, sans-serif; font-size: ${o.fontSize}px; fill: #000; }
#title { text-anchor: middle; font-size: ${o.fontSize + 5}px; }
#subtitle { text-anchor: middle; fill: #555; }
#search, #unzoom { cursor: pointer; }
#search:hover, #unzoom:hover { text-decoration: underline; }
#matched { text-anchor: end; }
.frame { cursor: pointer; }
.frame > rect { rx: 2px; ry: 2px; }
${(Object.keys(FAMILIES) as FrameKind[]).map((k) => `.frame[data-kind="${k}"] > text { fill: ${FAMILIES[k].text}; }`).join('\n')}
.frame:hover > rect { stroke: #222; stroke-width: 0.5; }
.frame text { pointer-events: none; }
.hide { display: none; }
.parent { opacity: 0.5; }
</style>`);
  out.push(`<script type="text/ecmascript"><![CDATA[${SCRIPT.replace('__XPAD__', String(XPAD)).replace('__FONT__', String(o.fontSize)).replace('__CHAR__', String(CHAR_WIDTH))}]]></script>`);
  out.push(`<rect x="0" y="0" width="${o.width}" height="${height}" fill="#fdfdfd"/>`);
  out.push(`<text id="title" x="${o.width / 2}" y="${o.fontSize * 1.7}">${escapeXml(o.title)}</text>`);
  if (o.subtitle) out.push(`<text id="subtitle" x="${o.width / 2}" y="${o.fontSize * 3}">${escapeXml(o.subtitle)}</text>`);
  out.push(`<text id="unzoom" class="hide" x="${XPAD}" y="${o.fontSize * 4.3}">Reset Zoom</text>`);
  out.push(`<text id="search" x="${o.width - XPAD - 100}" y="${o.fontSize * 4.3}">Search</text>`);
  // Legend: the colour families, top left under the title.
  let lx = XPAD + 110;
  for (const l of LEGEND) {
    out.push(`<rect x="${lx}" y="${o.fontSize * 3.4}" width="${o.fontSize}" height="${o.fontSize}" rx="2" fill="${legendColor(l.kind)}"/>`);
    out.push(`<text class="legend" x="${lx + o.fontSize + 4}" y="${o.fontSize * 4.3}">${escapeXml(l.label)}</text>`);
    lx += o.fontSize + 12 + l.label.length * o.fontSize * CHAR_WIDTH;
  }
  out.push(`<text id="details" x="${XPAD}" y="${height - o.fontSize * 0.8}"> </text>`);
  out.push(`<text id="matched" x="${o.width - XPAD}" y="${height - o.fontSize * 0.8}"> </text>`);
  out.push('<g id="frames">');
  for (const f of frames) {
    const y = top + (maxDepth - f.depth) * o.frameHeight;
    const pct = total > 0 ? ((f.node.value / total) * 100).toFixed(2) : '0';
    const name = f.node.name.length > MAX_NAME ? `${f.node.name.slice(0, MAX_NAME - 3)}...` : f.node.name;
    const tip = `${name} (${kindLabel(f.node.kind)}, ${thousands(f.node.value)} ${o.unit}, ${pct}%)`;
    const fill = colorOf(f.node.kind, name);
    out.push(
      `<g class="frame" data-kind="${f.node.kind}" data-name="${escapeXml(name)}" data-value="${f.node.value}">` +
        `<title>${escapeXml(tip)}</title>` +
        `<rect x="${f.x.toFixed(2)}" y="${y}" width="${f.w.toFixed(2)}" height="${o.frameHeight - 1}" fill="${fill}"/>` +
        `<text x="${(f.x + 3).toFixed(1)}" y="${y + o.frameHeight - 4.5}">${escapeXml(fitLabel(name, f.w, o.fontSize))}</text>` +
        '</g>',
    );
  }
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// The viewer's script. Plain ES5-style code run by the browser inside the SVG.
const SCRIPT = `
"use strict";
var XPAD = __XPAD__, FONT = __FONT__, CHAR = __CHAR__;
var svg, details, searchbtn, unzoombtn, matchedtxt, frames, fullWidth, currentSearch = null;
function init(evt) {
  svg = document.documentElement;
  details = document.getElementById("details");
  searchbtn = document.getElementById("search");
  unzoombtn = document.getElementById("unzoom");
  matchedtxt = document.getElementById("matched");
  frames = Array.prototype.slice.call(document.querySelectorAll("#frames > g.frame"));
  // The drawn geometry and colour of every frame, to come back to after a zoom or a search.
  frames.forEach(function (g) {
    var r = g.querySelector("rect");
    g.x0 = +r.getAttribute("x");
    g.w0 = +r.getAttribute("width");
    g.y0 = +r.getAttribute("y");
    g.fill0 = r.getAttribute("fill");
  });
  fullWidth = +svg.getAttribute("width") - 2 * XPAD;
  var params = new URLSearchParams(window.location.search);
  if (params.get("s")) search(params.get("s"));
}
function frameOf(el) {
  while (el && el !== svg) {
    if (el.classList && el.classList.contains("frame")) return el;
    el = el.parentNode;
  }
  return null;
}
function geometry(g) {
  return { x: g.x0, w: g.w0, y: g.y0 };
}
function label(g, width) {
  var name = g.getAttribute("data-name");
  var chars = Math.floor((width - 6) / (FONT * CHAR));
  var t = g.querySelector("text");
  t.textContent = chars < 3 ? "" : name.length <= chars ? name : name.slice(0, chars - 2) + "..";
}
function show(g, x, w) {
  var r = g.querySelector("rect"), t = g.querySelector("text");
  r.setAttribute("x", x.toFixed(2));
  r.setAttribute("width", w.toFixed(2));
  t.setAttribute("x", (x + 3).toFixed(2));
  label(g, w);
}
function zoom(node) {
  var n = geometry(node);
  if (n.w >= fullWidth - 0.01) { unzoom(); return; }
  var ratio = fullWidth / n.w;
  unzoombtn.classList.remove("hide");
  frames.forEach(function (g) {
    var f = geometry(g);
    g.classList.remove("hide");
    g.classList.remove("parent");
    if (f.y > n.y) {
      // Below the zoomed frame: its ancestors span the whole width, the rest goes.
      if (f.x <= n.x + 0.001 && f.x + f.w >= n.x + n.w - 0.001) { g.classList.add("parent"); show(g, XPAD, fullWidth); }
      else g.classList.add("hide");
    } else if (f.x < n.x - 0.001 || f.x >= n.x + n.w - 0.001) {
      g.classList.add("hide");
    } else {
      show(g, XPAD + (f.x - n.x) * ratio, f.w * ratio);
    }
  });
  if (currentSearch) search(currentSearch);
}
function unzoom() {
  unzoombtn.classList.add("hide");
  frames.forEach(function (g) {
    var f = geometry(g);
    g.classList.remove("hide");
    g.classList.remove("parent");
    show(g, f.x, f.w);
  });
  if (currentSearch) search(currentSearch);
}
function resetSearch() {
  currentSearch = null;
  frames.forEach(function (g) { g.querySelector("rect").setAttribute("fill", g.fill0); });
  matchedtxt.textContent = " ";
  searchbtn.textContent = "Search";
}
// Paints frames whose name matches a regular expression; returns the share of samples they hold.
function search(term) {
  var re;
  try { re = new RegExp(term); } catch (e) { re = new RegExp(term.replace(/[.*+?^$()|[\\]{}\\\\]/g, "\\\\$&")); }
  resetSearch();
  currentSearch = term;
  var spans = [];
  frames.forEach(function (g) {
    if (!re.test(g.getAttribute("data-name"))) return;
    g.querySelector("rect").setAttribute("fill", "rgb(230,0,230)");
    var f = geometry(g);
    spans.push([f.x, f.x + f.w]);
  });
  // A match inside another match counts once: merge the spans.
  spans.sort(function (a, b) { return a[0] - b[0]; });
  var covered = 0, end = -1;
  spans.forEach(function (s) {
    if (s[0] >= end) { covered += s[1] - s[0]; end = s[1]; }
    else if (s[1] > end) { covered += s[1] - end; end = s[1]; }
  });
  var pct = fullWidth > 0 ? (100 * covered / fullWidth) : 0;
  matchedtxt.textContent = "Matched: " + pct.toFixed(1) + "%";
  searchbtn.textContent = "Reset Search";
  return pct;
}
function searchPrompt() {
  if (currentSearch) { resetSearch(); return; }
  var term = window.prompt("Search for (regular expression):", "");
  if (term) search(term);
}
window.addEventListener("click", function (e) {
  var g = frameOf(e.target);
  if (g) { zoom(g); return; }
  if (e.target.id === "unzoom") unzoom();
  else if (e.target.id === "search") searchPrompt();
}, false);
window.addEventListener("mouseover", function (e) {
  var g = frameOf(e.target);
  if (g) details.textContent = g.querySelector("title").textContent;
}, false);
window.addEventListener("mouseout", function (e) {
  if (frameOf(e.target)) details.textContent = " ";
}, false);
window.addEventListener("keydown", function (e) {
  if ((e.ctrlKey && e.key === "f") || e.key === "/") { e.preventDefault(); searchPrompt(); }
  else if (e.key === "Escape") { resetSearch(); unzoom(); }
}, false);
`;
