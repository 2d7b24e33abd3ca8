// writeReport end to end: a report of synthetic scenes opened in headless Chromium (offline, from file://),
// checked for console errors, failed or external requests, broken images and the expected content; then
// rewritten (old files must go) and an empty report (no history, no evaluation, no samples).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { CAMVID11_GROUPING, CAMVID32, colorKey, groupedClasses } from '../src/data/palette.js';
import { renderScene } from '../src/data/synthetic.js';
import { formatPercent } from '../src/report/format.js';
import { writeReport } from '../src/report/index.js';
import type { ReportData, ReportEval, ReportSample } from '../src/report/types.js';
import { launchChromium } from '../src/util/chromium.js';
import { hashSeed, rng } from '../src/util/random.js';

const IGNORE = 255;
const { classes } = groupedClasses(CAMVID32, CAMVID11_GROUPING, 'camvid11', 'ignore', 'error');
const K = classes.names.length; // 11
const ABSENT = classes.names.indexOf('Bicyclist'); // removed from the labels below, so its IoU is n/a

/** CamVid-32 index → 11-class id (void, unknown colours and the "absent" class → ignore). */
const to11 = (() => {
  const byColor = new Map(CAMVID11_GROUPING.map((e) => [colorKey(...e.color), classes.names.indexOf(e.name)]));
  return CAMVID32.map((e) => {
    const id = byColor.get(colorKey(...e.color)) ?? -1;
    return id < 0 || id === ABSENT ? IGNORE : id;
  });
})();

/** A synthetic scene with its 11-class label and a seeded, imperfect "prediction". */
function makeSample(i: number): ReportSample {
  const w = 240, h = 180;
  const scene = renderScene(11, i, w, h);
  const label = scene.classes.map((c) => to11[c]!);
  const r = rng(hashSeed(11, i, 99));
  const pred = label.map((v) => (v === IGNORE ? 0 : v));
  // A wrong block (a confused object) and sparse noise, never predicting the absent class.
  const bx = r.int(w - 60), by = r.int(h - 40);
  for (let y = by; y < by + 40; y++) for (let x = bx; x < bx + 60; x++) pred[y * w + x] = (pred[y * w + x]! + 1 + i) % ABSENT;
  for (let p = 0; p < pred.length; p++) if (r.next() < 0.03) pred[p] = r.int(ABSENT);
  return { id: `synth_${String(i).padStart(3, '0')}`, width: w, height: h, image: scene.image, label, pred };
}

function confusion(samples: ReportSample[]): number[] {
  const cm = new Array<number>(K * K).fill(0);
  for (const s of samples) for (let p = 0; p < s.label.length; p++) if (s.label[p] !== IGNORE) cm[s.label[p]! * K + s.pred[p]!]!++;
  return cm;
}

function metrics(cm: number[]): Pick<ReportEval, 'perClassIou' | 'perClassAccuracy' | 'meanIou' | 'meanAccuracy' | 'overallAccuracy'> {
  const iou: number[] = [], acc: number[] = [];
  let tpSum = 0, total = 0;
  for (let c = 0; c < K; c++) {
    let row = 0, col = 0;
    for (let j = 0; j < K; j++) {
      row += cm[c * K + j]!;
      col += cm[j * K + c]!;
    }
    const tp = cm[c * K + c]!;
    iou.push(row + col - tp > 0 ? tp / (row + col - tp) : NaN);
    acc.push(row > 0 ? tp / row : NaN);
    tpSum += tp;
    total += row;
  }
  const nanMean = (xs: number[]): number => {
    const f = xs.filter(Number.isFinite);
    return f.reduce((a, b) => a + b, 0) / f.length;
  };
  return { perClassIou: iou, perClassAccuracy: acc, meanIou: nanMean(iou), meanAccuracy: nanMean(acc), overallAccuracy: tpSum / total };
}

function reportData(samples: ReportSample[]): ReportData {
  for (const s of samples) s.miou = metrics(confusion([s])).meanIou;
  const cm = confusion(samples);
  const m = metrics(cm);
  const history = [
    { epoch: 1, step: 50, train_loss: 1.9, val_loss: null, val_miou: null, val_macc: null, val_aacc: null, lr: 6e-5, train_img_s: 11.5 },
    { epoch: 2, step: 100, train_loss: '1.4', val_loss: '1.5', val_miou: '0.21', val_macc: '0.30', val_aacc: '0.62', lr: '5.2e-5', train_img_s: '12.1' },
    { epoch: 3, step: 150, train_loss: 1.1, val_loss: 1.25, val_miou: 0.33, val_macc: 0.41, val_aacc: 0.74, lr: 4.1e-5, train_img_s: 12.4 },
    { epoch: 4, step: 200, train_loss: 0.95, val_loss: 1.2, val_miou: m.meanIou, val_macc: m.meanAccuracy, val_aacc: m.overallAccuracy, lr: 3e-5, train_img_s: 12.5 },
  ];
  return {
    title: 'run-synthetic <b0>',
    config: { model: { variant: 'b0' }, train: { epochs: 20, lr: 6e-5, batch: 8 }, data: { root: '/data/camvid' } },
    history,
    eval: { classes: classes.names, ...m, loss: 1.2, numImages: samples.length, confusion: cm, epoch: 4, step: 200 },
    samples: samples.slice(0, 4),
    worst: samples.slice().sort((a, b) => a.miou! - b.miou!).slice(0, 3),
    palette: classes.palette,
    ignoreIndex: IGNORE,
    timing: { trainImagesPerSecond: 12.5, evalImagesPerSecond: 31.25, secondsPerEpoch: 245, totalSeconds: 980 },
    status: 'epoch 4/20',
  };
}

interface PageCheck {
  errors: string[];
  failed: string[];
  requests: string[];
  images: Array<{ src: string; naturalWidth: number }>;
  text: (selector: string) => Promise<string>;
  screenshot: (file: string) => Promise<void>;
}

let tmp: string;
let context: BrowserContext | undefined;

async function openPage(index: string): Promise<PageCheck> {
  const page = await context!.newPage();
  const errors: string[] = [], failed: string[] = [], requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(index).href, { waitUntil: 'load' });
  const images = await page.$$eval('img', (els) => els.map((e) => ({ src: e.getAttribute('src') ?? '', naturalWidth: (e as HTMLImageElement).naturalWidth })));
  return {
    errors, failed, requests, images,
    text: async (sel) => (await page.textContent(sel)) ?? '',
    screenshot: async (file) => {
      await page.screenshot({ path: file, fullPage: true });
    },
  };
}

// Setup installs Debian's chromium; a missing browser is a failure, not a skip.
describe('training report in headless Chromium', { timeout: 180_000 }, () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-report-'));
    context = await launchChromium(path.join(tmp, 'profile'));
  });
  after(async () => {
    await context?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const samples = Array.from({ length: 6 }, (_, i) => makeSample(i));
  const data = reportData(samples);

  it('renders every section offline, with working images and the right numbers', async () => {
    const dir = path.join(tmp, 'run', 'report');
    const index = await writeReport(dir, data);
    assert.equal(index, path.join(dir, 'index.html'));
    const p = await openPage(index);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.failed, []);
    const dirUrl = pathToFileURL(dir).href + '/';
    assert.deepEqual(p.requests.filter((u) => !u.startsWith(dirUrl)), [], 'every request stays inside the report folder');
    // 4 curve charts (loss, metrics, lr, throughput) + class bars + confusion + 4 samples + 3 worst.
    assert.equal(p.images.length, 4 + 1 + 1 + 4 + 3);
    for (const img of p.images) assert.ok(img.naturalWidth > 0, `image ${img.src} did not load`);
    assert.equal(p.images.filter((i) => i.src.startsWith('curve-')).length, 4);

    const ev = data.eval!;
    assert.ok(Number.isNaN(ev.perClassIou[ABSENT]!), 'the synthetic data leave one class out');
    const summary = await p.text('#summary');
    assert.ok(summary.includes(formatPercent(ev.meanIou)), `mIoU ${formatPercent(ev.meanIou)} not in "${summary}"`);
    assert.ok(summary.includes(formatPercent(ev.overallAccuracy)));
    const perClass = await p.text('#classes');
    for (const name of classes.names) assert.ok(perClass.includes(name), `class ${name} missing`);
    assert.ok(perClass.includes(formatPercent(ev.perClassIou[0]!)));
    assert.match(perClass, /Bicyclistn\/an\/a0/, 'the absent class reads n/a, n/a, 0 pixels');
    const worst = await p.text('#worst');
    for (const s of data.worst) assert.ok(worst.includes(`${s.id} — mIoU ${formatPercent(s.miou!)}`), `worst image ${s.id} caption`);
    assert.ok((await p.text('#samples')).includes('synth_003'));
    const timing = await p.text('#timing');
    assert.ok(timing.includes('12.5') && timing.includes('31.25') && timing.includes('4 min 05 s') && timing.includes('16 min 20 s'), timing);
    assert.ok((await p.text('#config')).includes('"variant": "b0"'));
    assert.ok((await p.text('h1')).includes('run-synthetic <b0>'), 'the title is escaped, not parsed as HTML');

    await p.screenshot(path.join(tmp, 'report.png'));
    assert.ok(fs.statSync(path.join(tmp, 'report.png')).size > 50_000);
  });

  it('rewriting replaces the previous files and leaves no temp files', async () => {
    const dir = path.join(tmp, 'rewrite');
    await writeReport(dir, data);
    const first = fs.readdirSync(dir).sort();
    const fewer: ReportData = { ...data, samples: data.samples.slice(0, 1), worst: [], status: 'finished', history: data.history.slice(0, 2) };
    const index = await writeReport(dir, fewer);
    const html = fs.readFileSync(index, 'utf8');
    const referenced = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!).sort();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['index.html', ...referenced].sort(), 'only the new page and its files remain');
    assert.ok(first.length > fs.readdirSync(dir).length);
    // The unchanged charts (class bars, confusion, sample 0) keep their content-named files.
    assert.ok(referenced.includes(first.find((f) => f.startsWith('confusion-'))!));
    assert.ok(!referenced.includes(first.find((f) => f.startsWith('curve-loss-'))!), 'a shorter history is a new loss chart');
    assert.match(html, /finished/);
    const p = await openPage(index);
    assert.deepEqual([p.errors, p.failed], [[], []]);
    assert.match(await p.text('#worst'), /No images yet/);
  });

  it('a sequence evaluation adds flicker and consistency cards and draws flicker per frame pair', async () => {
    const dir = path.join(tmp, 'temporal');
    const perPair = [0.1, 0.04, 0.25, 0.02].map((f, i) => ({ from: `synth_00${i}`, to: `synth_00${i + 1}`, flicker: f, consistency: 1 - f / 2, labelFlicker: f / 2 }));
    const temporal = { flicker: 0.1025, consistency: 0.94875, labelFlicker: 0.05125, pairs: 4, smooth: 'hysteresis:margin=0.3,cut=40', perPair };
    const index = await writeReport(dir, { ...data, eval: { ...data.eval!, temporal } });
    const p = await openPage(index);
    assert.deepEqual([p.errors, p.failed], [[], []]);
    const chart = p.images.find((i) => i.src.startsWith('temporal-'));
    assert.ok(chart && chart.naturalWidth > 0, 'the flicker chart loads');
    const summary = await p.text('#summary');
    assert.ok(summary.includes(`${formatPercent(0.1025)}flicker`) && summary.includes(`${formatPercent(0.94875)}temporal consistency`), summary);
    assert.match(await p.text('#temporal'), /Over 4 consecutive frame pairs, smoothed \(hysteresis:margin=0\.3,cut=40\)/);
    assert.ok((await p.text('#temporal')).includes(`the labels' own: ${formatPercent(0.05125)}`));
    // one point per pair, at x = 1…4 (pair 3 has the most flicker, so it is the highest point: smallest y)
    const svg = fs.readFileSync(path.join(dir, chart.src), 'utf8');
    const pts = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.equal(pts.length, 4);
    assert.deepEqual(pts.map((q) => q[1]).indexOf(Math.min(...pts.map((q) => q[1]!))), 2);
    // without a sequence evaluation the section says how to get one
    const plain = await openPage(await writeReport(path.join(tmp, 'plain'), data));
    assert.match(await plain.text('#temporal'), /Not measured: .*--eval-sequence/);
    await assert.rejects(writeReport(path.join(tmp, 'bad-t'), { ...data, eval: { ...data.eval!, temporal: { ...temporal, pairs: 5 } } }), /eval\.temporal\.perPair has 4 pairs, expected pairs = 5/);
  });

  it('an empty report (no history, no evaluation, no samples) still renders', async () => {
    const dir = path.join(tmp, 'empty');
    const index = await writeReport(dir, { title: 'fresh', config: {}, history: [], samples: [], worst: [], palette: classes.palette, ignoreIndex: IGNORE, timing: {} });
    const p = await openPage(index);
    assert.deepEqual([p.errors, p.failed, p.images], [[], [], []]);
    assert.match(await p.text('#summary'), /No evaluation yet/);
    assert.match(await p.text('#curves'), /No history yet/);
    assert.match(await p.text('#samples'), /No samples yet/);
    assert.match(await p.text('#timing'), /No timing yet/);
    assert.deepEqual(fs.readdirSync(dir), ['index.html']);
  });

  it('bad input is a clear error naming the field', async () => {
    const dir = path.join(tmp, 'bad');
    const ev = data.eval!;
    await assert.rejects(writeReport(dir, { ...data, eval: { ...ev, confusion: ev.confusion.slice(1) } }), /eval\.confusion has 120 values, expected 121 for 11 classes/);
    await assert.rejects(writeReport(dir, { ...data, palette: [[0, 0, 300]] }), /palette\[0\] is \[0,0,300\], expected \[r, g, b\]/);
    const s = data.samples[0]!;
    await assert.rejects(writeReport(dir, { ...data, samples: [{ ...s, image: s.image.subarray(1) }] }), /sample "synth_000": image has 129599 bytes, expected 129600/);
    await assert.rejects(writeReport(dir, { ...data, worst: [{ ...s, pred: s.pred.map(() => 40) }] }), /worst image "synth_000" pred: value 40 at pixel 0 is neither a class id/);
  });
});
