// The flamegraph exporter: folded stacks, the SVG's colours and labels, files and retention, and
// (with the perf_sampling receiver sampling a real C program: needs root) the SVG opened in
// headless Chromium: frame names in the DOM, hover, search and zoom working, a screenshot kept in
// test-artifacts/flamegraph-hot.png.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attributes } from '../../src/pdata/common.ts';
import type { Frame, ProfilesData } from '../../src/pdata/profiles.ts';
import { testSettings } from '../../test/support/component-harness.ts';
import { Browser, requireChromium } from '../../test/support/chromium.ts';
import { REPO_ROOT } from '../../test/support/cli.ts';
import { buildHot, exited, requireRoot, startProgram, startReceiver, tempDir } from '../../receivers/perf_sampling/testing.ts';
import { frameColor } from './colors.ts';
import { flamegraphConfigSchema } from './config.ts';
import { FlamegraphExporter } from './exporter.ts';
import { buildTree, foldProfiles, foldedText, parseFolded } from './folded.ts';
import { fitLabel, renderSvg } from './svg.ts';

const f = (name: string, kind: Frame['kind']): Frame => ({ function: name, kind });

function data(time = 1_764_000_000_000_000_000n): ProfilesData {
  const proc = f('app (pid 7)', 'metadata');
  const profile = (samples: { frames: Frame[]; n: number }[]) => ({
    sampleTypes: [{ type: 'samples', unit: 'count' }],
    period: { type: 'cpu', unit: 'nanoseconds', value: 10_101_010 },
    timeUnixNano: time,
    durationNano: 30_000_000_000n,
    samples: samples.map((s) => ({ frames: s.frames, values: [s.n], attributes: [] })),
    attributes: [],
  });
  return {
    resourceProfiles: [
      {
        resource: { attributes: attributes({ 'process.pid': 7, 'process.executable.name': 'app', 'k8s.namespace.name': 'shop', 'k8s.pod.name': 'web-1', 'k8s.container.name': 'app' }) },
        scopeProfiles: [
          {
            profiles: [
              profile([
                { frames: [f('work', 'native'), f('main', 'native'), proc], n: 30 },
                { frames: [f('vfs_write', 'kernel'), f('ksys_write', 'kernel'), f('LHot;::run', 'jit'), f('main', 'native'), proc], n: 10 },
                { frames: [f('work', 'native'), f('main', 'native'), proc], n: 5 },
              ]),
            ],
          },
        ],
      },
    ],
  };
}

describe('flamegraph: folded stacks and SVG', () => {
  it('folds stacks root first with pod and container frames, merges equal stacks, annotates kernel and JIT frames', () => {
    const text = foldedText(foldProfiles(data()));
    assert.equal(
      text,
      'pod shop/web-1;container app;app (pid 7);main;LHot:::run_[j];ksys_write_[k];vfs_write_[k] 10\n' + 'pod shop/web-1;container app;app (pid 7);main;work 35\n',
    );
    const back = parseFolded(text);
    assert.deepEqual(back.map((s) => s.value), [10, 35]);
    assert.equal(back[0]!.frames.at(-1)!.kind, 'kernel');
    assert.equal(back[0]!.frames[4]!.kind, 'jit');
  });

  it('draws every frame with its family colour, widths by share, labels cut to fit', () => {
    const tree = buildTree(foldProfiles(data()));
    assert.equal(tree.value, 45);
    const svg = renderSvg(tree, { width: 1000 });
    const frame = (name: string) => {
      const m = new RegExp(`<g class="frame" data-kind="(\\w+)" data-name="${name}" data-value="\\d+"><title>([^<]*)</title><rect x="([\\d.]+)" y="\\d+" width="([\\d.]+)" height="\\d+" fill="([^"]+)"/>`).exec(svg);
      assert.ok(m, `frame ${name} in the SVG`);
      return { kind: m[1], title: m[2], x: Number(m[3]), w: Number(m[4]), fill: m[5] };
    };
    assert.deepEqual(frame('pod shop/web-1').kind, 'metadata');
    assert.equal(frame('pod shop/web-1').fill, frameColor('metadata', 'pod shop/web-1'));
    assert.equal(frame('vfs_write').fill, frameColor('kernel', 'vfs_write'));
    assert.equal(frame('work').fill, frameColor('native', 'work'));
    assert.equal(frame('all').w, 980); // width - 2 * padding
    assert.ok(Math.abs(frame('work').w - (980 * 35) / 45) < 0.02);
    assert.equal(frame('work').title, 'work (native, 35 samples, 77.78%)');
    assert.equal(frame('main').title, 'main (native, 45 samples, 100.00%)');
    // Dark blue, light blue, green.
    const rgb = (s: string) => s.match(/\d+/g)!.map(Number);
    const [mr, mg, mb] = rgb(frameColor('metadata', 'x'));
    assert.ok(mb! > mr! + 60 && mb! > mg! && mr! + mg! + mb! < 300, `metadata ${frameColor('metadata', 'x')} is dark blue`);
    const [ur, ug, ub] = rgb(frameColor('native', 'x'));
    assert.ok(ub! > ur! && ub! > 200 && ur! + ug! + ub! > 500, `user ${frameColor('native', 'x')} is light blue`);
    const [kr, kg, kb] = rgb(frameColor('kernel', 'x'));
    assert.ok(kg! > kr! + 40 && kg! > kb! + 40, `kernel ${frameColor('kernel', 'x')} is green`);
    assert.equal(fitLabel('a_long_function_name', 60, 12), 'a_lon..'); // 7 characters fit in 60px
    assert.equal(fitLabel('main', 200, 12), 'main');
    assert.equal(fitLabel('main', 20, 12), '');
    assert.doesNotMatch(svg, /<text[^>]*>[^<]*<[^/!?]/, 'names are escaped');
  });

  it('writes an .svg and a .folded per window and keeps max_files of them', async () => {
    const dir = tempDir('bpfcol-flame-');
    try {
      const e = new FlamegraphExporter(testSettings('flamegraph', 'exporter', 'profiles'), flamegraphConfigSchema.parse({ directory: dir.path, max_files: 2 }));
      await e.start();
      for (let i = 0; i < 3; i++) await e.consume(data(1_764_000_000_000_000_000n + BigInt(i) * 30_000_000_000n));
      await e.shutdown();
      assert.deepEqual(readdirSync(dir.path).sort(), [
        '20251124T160030.000Z-all.folded',
        '20251124T160030.000Z-all.svg',
        '20251124T160100.000Z-all.folded',
        '20251124T160100.000Z-all.svg',
      ]);
      assert.match(readFileSync(join(dir.path, '20251124T160100.000Z-all.svg'), 'utf8'), /2025-11-24 16:01:00 UTC, 30\.0 s, 45 samples, 1 process/);
    } finally {
      dir.remove();
    }
  });
});

describe('flamegraph of a real program in headless Chromium', () => {
  const dir = tempDir('bpfcol-flame-e2e-');
  let browser: Browser | undefined;
  before(() => {
    requireRoot();
    requireChromium();
  });
  after(async () => {
    await browser?.close();
    dir.remove();
  });

  it('shows hot_a, hot_b, main and the process frame; hover, search and zoom work; screenshot saved', async () => {
    const hot = buildHot(dir.path);
    const child = await startProgram(hot, ['2.5']);
    const pid = child.pid!;
    // Only the program: a clean picture whatever else the machine runs.
    const r = await startReceiver({ frequency: 499, window: '30s', read_interval: '1s', filters: { pids: [pid] } });
    try {
      await exited(child);
    } finally {
      await r.stop();
    }
    const out = join(dir.path, 'graphs');
    const e = new FlamegraphExporter(testSettings('flamegraph', 'exporter', 'profiles'), flamegraphConfigSchema.parse({ directory: out, title: 'hot.c: hot_a 3x hot_b' }));
    await e.start();
    for (const batch of r.profiles.received) await e.consume(batch);
    const svgName = readdirSync(out).find((n) => n.endsWith('.svg'));
    assert.ok(svgName, 'an SVG was written');
    const folded = readFileSync(join(out, svgName.replace(/\.svg$/, '.folded')), 'utf8');
    assert.match(folded, new RegExp(`^hot \\(pid ${pid}\\);.*main;hot_a \\d+$`, 'm'));

    const svgText = readFileSync(join(out, svgName), 'utf8');
    const height = Number(/height="(\d+)"/.exec(svgText)![1]);
    browser = await Browser.launch();
    const page = await browser.open(`file://${join(out, svgName)}`, { width: 1200, height });
    const names = await page.evaluate<string[]>(`[...document.querySelectorAll('g.frame')].map((g) => g.getAttribute('data-name'))`);
    for (const want of ['all', `hot (pid ${pid})`, 'main', 'hot_a', 'hot_b']) assert.ok(names.includes(want), `${want} in the DOM frames (${names.length} frames)`);
    assert.ok(names.some((n) => /write/.test(n)), 'kernel frames of the writes');
    const kinds = await page.evaluate<Record<string, string>>(`Object.fromEntries([...document.querySelectorAll('g.frame')].map((g) => [g.getAttribute('data-name'), g.getAttribute('data-kind')]))`);
    assert.equal(kinds[`hot (pid ${pid})`], 'metadata');
    assert.equal(kinds.hot_a, 'native');
    assert.ok(Object.entries(kinds).some(([n, k]) => /write/.test(n) && k === 'kernel'));

    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'test-artifacts', 'flamegraph-hot.png'), await page.screenshot());

    // Hover: the details line names the frame.
    const box = (name: string) =>
      page.evaluate<{ x: number; y: number; w: number; h: number }>(
        `(() => { const r = [...document.querySelectorAll('g.frame')].find((g) => g.getAttribute('data-name') === ${JSON.stringify(name)}).querySelector('rect'); const b = r.getBoundingClientRect(); return { x: b.x, y: b.y, w: b.width, h: b.height }; })()`,
      );
    const b = await box('hot_b');
    await page.hover(b.x + b.w / 2, b.y + b.h / 2);
    assert.match(await page.evaluate<string>(`document.getElementById('details').textContent`), /^hot_b \(native, [\d,]+ samples, [\d.]+%\)$/);

    // Search: hot_a's frames turn magenta; the matched share is hot_a's, about 3/4 of hot_a+hot_b.
    const matched = await page.evaluate<number>(`search('^hot_a$')`);
    const shares = await page.evaluate<Record<string, number>>(
      `Object.fromEntries(['hot_a', 'hot_b', 'all'].map((n) => [n, +[...document.querySelectorAll('g.frame')].find((g) => g.getAttribute('data-name') === n).getAttribute('data-value')]))`,
    );
    assert.ok(Math.abs(matched - (100 * shares.hot_a!) / shares.all!) < 0.5, `matched ${matched}%`);
    assert.equal(await page.evaluate<string>(`[...document.querySelectorAll('g.frame')].find((g) => g.getAttribute('data-name') === 'hot_a').querySelector('rect').getAttribute('fill')`), 'rgb(230,0,230)');
    assert.match(await page.evaluate<string>(`document.getElementById('matched').textContent`), /^Matched: [\d.]+%$/);
    writeFileSync(join(REPO_ROOT, 'test-artifacts', 'flamegraph-hot-search.png'), await page.screenshot());
    await page.evaluate(`resetSearch()`);

    // Zoom: a click on hot_b makes it span the graph and hides hot_a; Reset Zoom brings hot_a back.
    await page.click(b.x + b.w / 2, b.y + b.h / 2);
    const zoomed = await box('hot_b');
    assert.ok(zoomed.w > 1150, `hot_b spans the graph when zoomed (${zoomed.w}px)`);
    assert.equal(await page.evaluate<boolean>(`[...document.querySelectorAll('g.frame')].find((g) => g.getAttribute('data-name') === 'hot_a').classList.contains('hide')`), true);
    assert.equal(await page.evaluate<boolean>(`document.getElementById('unzoom').classList.contains('hide')`), false);
    writeFileSync(join(REPO_ROOT, 'test-artifacts', 'flamegraph-hot-zoom.png'), await page.screenshot());
    const reset = await page.evaluate<{ x: number; y: number }>(`(() => { const b = document.getElementById('unzoom').getBoundingClientRect(); return { x: b.x + 5, y: b.y + b.height / 2 }; })()`);
    await page.click(reset.x, reset.y);
    assert.equal(await page.evaluate<boolean>(`[...document.querySelectorAll('g.frame')].find((g) => g.getAttribute('data-name') === 'hot_a').classList.contains('hide')`), false);
    assert.ok(Math.abs((await box('hot_b')).w - b.w) < 0.5);
  });
});
