// The web app's video smoothing against predict's: the page's softmax against libtorch's, then consecutive
// CamVid val frames through the page (Chromium, onnxruntime-web) with smoothing on, and the same frames in
// Node through predict's path (onnxruntime-node on the site's model.onnx, the app's preprocessing,
// libtorch's softmax, TemporalStream with the spec the site records). The site is built at a fixed 180×240
// model input so the model runs take seconds, not minutes, on a shared 2-core machine.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelSize } from '../src/app/web/pixels.js';
import type { SiteMeta } from '../src/app/web/site.js';
import { softmaxClasses } from '../src/app/web/smoothing.js';
import { decodeImage } from '../src/data/decode.js';
import { preprocessImage } from '../src/data/preprocess.js';
import { openCheckpoint } from '../src/models/checkpoint.js';
import { OnnxSegmenter } from '../src/predict/onnx-runtime.js';
import { idsAndProbabilities } from '../src/predict/segmenter.js';
import { configSmooth, formatSmoothSpec, parseSmoothSpec, TemporalStream } from '../src/temporal/index.js';
import { fromArray } from '../src/torch/index.js';
import { sharedRoot } from '../src/util/paths.js';
import { rng } from '../src/util/random.js';
import { agreement, camvidFrames, openSite, segmentInPage, type AppPage, type OpenSite } from './helpers/app-page.js';

const CHECKPOINT = path.join(sharedRoot(), 'reference', 'checkpoints', 'segformer-b0-camvid-scratch');
const SLOW = 240_000;

describe('web app smoothing: softmax', () => {
  it("softmaxClasses is libtorch's softmax over classes, also for logits that would overflow exp", () => {
    const [c, h, w] = [5, 3, 4];
    const r = rng(7);
    const logits = Float32Array.from({ length: c * h * w }, (_, i) => r.normal() * 4 + (i % 7 === 0 ? 200 : 0));
    const t = fromArray(logits, [1, c, h, w]);
    let want: Float32Array;
    try {
      want = idsAndProbabilities(t, [{ height: h, width: w }])[0]!.probs.data;
    } finally {
      t.dispose();
    }
    const got = softmaxClasses(logits, c, h * w);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-6, `value ${i}: ${got[i]} vs libtorch ${want[i]}`);
    assert.throws(() => softmaxClasses(logits, 4, h * w), /60 logits, expected 4 × 12/);
  });
});

describe('web app smoothing in Chromium: the trained SegFormer-B0', { timeout: 900_000 }, () => {
  let site: OpenSite | undefined;
  let tmp: string;
  let meta: SiteMeta;
  let app: AppPage;
  const frames = camvidFrames(4);

  before(async () => {
    site = await openSite(CHECKPOINT, { height: 180, width: 240, webgpu: false });
    ({ tmp, meta, app } = site);
  });
  after(async () => {
    await site?.close();
  });

  it("records predict's bare --smooth for the checkpoint; the toggle starts on and drives window.streetseg", async () => {
    const ckpt = openCheckpoint(CHECKPOINT);
    const want = formatSmoothSpec(configSmooth(ckpt.config as unknown as Record<string, unknown>, ckpt.configFile));
    assert.equal(meta.smooth, want);
    const { page } = app;
    const s = await page.evaluate(() => ({ smooth: window.streetseg.info.smooth, on: window.streetseg.smoothing, box: (document.getElementById('smooth') as HTMLInputElement).checked }));
    assert.deepEqual(s, { smooth: want, on: true, box: true });
    await page.evaluate(() => window.streetseg.setSmoothing(false));
    assert.equal(await page.locator('#smooth').isChecked(), false);
    await page.locator('#smooth').check();
    assert.equal(await page.evaluate(() => window.streetseg.smoothing), true);
    assert.match((await page.locator('label:has(#smooth)').getAttribute('title'))!, new RegExp(`${want.replace(/[.]/g, '\\.')}.*single images are never smoothed`));
    assert.deepEqual(app.errors, []);
  });

  it("4 consecutive CamVid val frames: the page's smoothed ids are predict's (≥ 99.5% of pixels), unsmoothed ones the model's own", { timeout: SLOW * 2 }, async (t) => {
    const { page } = app;
    const ckpt = openCheckpoint(CHECKPOINT);
    const seg = await OnnxSegmenter.load(ckpt, path.join(tmp, 'site', 'model.onnx'));
    const stream = new TemporalStream({ numClasses: meta.classes.length, smooth: parseSmoothSpec(meta.smooth) });
    let changed = 0;
    try {
      for (const [i, file] of frames.entries()) {
        const img = await decodeImage(file);
        const size = modelSize(meta.inputSize, img.width, img.height);
        const [node] = await seg.segmentWithProbabilities({ pixels: preprocessImage(img.data, img.width, img.height, size), n: 1, ...size, sizes: [{ height: img.height, width: img.width }] });
        const want = stream.frame({ id: path.basename(file), sequence: 'camvid-val', width: img.width, height: img.height, ids: node!.ids, probs: node!.probs, image: { data: img.data, width: img.width, height: img.height } });
        const smoothed = await segmentInPage(page, img.data, img.width, img.height, { smooth: true, reset: i === 0 });
        const plain = await segmentInPage(page, img.data, img.width, img.height);
        const a = agreement(smoothed.ids, want);
        const own = agreement(plain.ids, node!.ids);
        for (let p = 0; p < want.length; p++) if (want[p] !== node!.ids[p]) changed++;
        t.diagnostic(`${path.basename(file)}: smoothed ${(100 * a).toFixed(3)}% of ${want.length} pixels agree with predict's smoother; unsmoothed ${(100 * own).toFixed(3)}% with predict's ids`);
        assert.equal(smoothed.smoothed, i > 0, `frame ${i} smoothed: ${smoothed.smoothed}`);
        assert.equal(plain.smoothed, false);
        if (i === 0) assert.deepEqual(smoothed.ids, plain.ids, "a video's first frame keeps the model's own ids");
        assert.ok(a >= 0.995, `${file}: ${(100 * a).toFixed(3)}% of the smoothed ids agree`);
        assert.ok(own >= 0.995, `${file}: ${(100 * own).toFixed(3)}% of the unsmoothed ids agree`);
      }
    } finally {
      seg.dispose();
    }
    const r = stream.result();
    assert.equal(r.cuts, 0, 'no scene cut within a drive');
    assert.ok(changed > 0, 'the smoother changed some pixels (else the comparison proves nothing)');
    t.diagnostic(`${meta.smooth} changed ${changed} pixel ids over frames 2–4`);
    assert.deepEqual(app.errors, []);
  });
});
