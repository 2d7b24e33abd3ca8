// The web app end to end on the trained SegFormer-B0 (shared/reference/checkpoints/segformer-b0-camvid-scratch):
// `streetseg app` builds the site, `serve` serves it, Debian's Chromium opens it. The page must load with no
// console errors and no request outside the site, be cross-origin isolated (WASM threads), give the class
// ids of `streetseg predict --runtime onnx` on CamVid frames, and show the overlay on its canvas.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AppSummary } from '../src/app/build.js';
import type { SiteServer } from '../src/app/serve.js';
import type { SiteMeta } from '../src/app/web/site.js';
import { decodeImage } from '../src/data/decode.js';
import { blendOverlay } from '../src/predict/colors.js';
import { colorMask } from '../src/predict/outputs.js';
import { sharedRoot } from '../src/util/paths.js';
import { agreement, camvidFrames, canvasPixels, openSite, pixelMatch, predictIds, segmentInPage, type AppPage, type OpenSite } from './helpers/app-page.js';

const CHECKPOINT = path.join(sharedRoot(), 'reference', 'checkpoints', 'segformer-b0-camvid-scratch');
// a shared 2-core machine runs B0 at 360×480 in WASM in seconds per frame, not milliseconds
const SLOW = 240_000;

describe('web app in Chromium: the trained SegFormer-B0', { timeout: 900_000 }, () => {
  let site: OpenSite | undefined;
  let tmp: string;
  let built: AppSummary;
  let meta: SiteMeta;
  let server: SiteServer;
  let app: AppPage;
  const [frameA, frameB] = camvidFrames(2) as [string, string];

  before(async () => {
    site = await openSite(CHECKPOINT);
    ({ tmp, built, meta, server, app } = site);
  });
  after(async () => {
    await site?.close();
  });

  it('loads with no console errors, only its own files, cross-origin isolated, and shows the sample frame', async () => {
    const { page } = app;
    assert.deepEqual(app.errors, []);
    assert.deepEqual(app.requests.filter((u) => !u.startsWith(server.url)), [], 'every request stays on the site');
    assert.ok(app.requests.includes(`${server.url}ort/ort-wasm-simd-threaded.wasm`), 'the WASM binary comes from the site');
    const s = await page.evaluate(() => ({
      isolated: crossOriginIsolated,
      cores: navigator.hardwareConcurrency,
      info: window.streetseg.info,
      stats: window.streetseg.stats,
      status: document.getElementById('status')!.textContent,
      isolationHidden: document.getElementById('isolation')!.hidden,
      errorHidden: document.getElementById('error')!.hidden,
      legend: [...document.querySelectorAll('#legend li')].map((li) => li.textContent),
      fps: document.getElementById('fps')!.textContent,
    }));
    assert.equal(s.isolated, true);
    assert.equal(s.info.crossOriginIsolated, true);
    assert.equal(s.info.runtime, 'wasm');
    assert.equal(s.info.threads, Math.min(s.cores, 4));
    assert.ok(s.info.threads >= 2 || s.cores < 2, `threads ${s.info.threads} on ${s.cores} cores`);
    assert.equal(s.info.model, 'segformer-b0');
    assert.deepEqual(s.info.classes, meta.classes);
    assert.deepEqual(s.info.inputSize, { scale: 1 });
    assert.match(s.status!, new RegExp(`segformer-b0 · 11 classes · .* · wasm, ${s.info.threads} threads`));
    assert.equal(s.isolationHidden, true);
    assert.equal(s.errorHidden, true);
    assert.deepEqual(s.legend, meta.classes.map((c, i) => `${i} ${c}`));
    assert.equal(s.stats.source, 'sample');
    assert.equal(s.stats.frames, 1);
    assert.equal(s.stats.smoothed, 0, 'a single image is never smoothed');
    assert.match(s.fps!, /^\d+\.\d FPS$/);
    const shown = await canvasPixels(page);
    assert.deepEqual([shown.width, shown.height], [meta.sample.width, meta.sample.height]);
  });

  it("segment gives predict --runtime onnx's class ids on CamVid frames (≥ 99.5% of pixels)", { timeout: SLOW }, async (t) => {
    const ref = await predictIds(CHECKPOINT, path.join(built.out, 'model.onnx'), [frameA, frameB], path.join(tmp, 'pred'));
    for (const [i, file] of [frameA, frameB].entries()) {
      const img = await decodeImage(file);
      const r = await segmentInPage(app.page, img.data, img.width, img.height);
      assert.deepEqual([r.width, r.height], [img.width, img.height]);
      const a = agreement(r.ids, ref[i]!);
      t.diagnostic(`${path.basename(file)}: ${(100 * a).toFixed(3)}% of ${r.ids.length} pixels agree with predict --runtime onnx (${r.ms.toFixed(0)} ms, model ${r.modelMs.toFixed(0)} ms)`);
      assert.ok(a >= 0.995, `${file}: ${(100 * a).toFixed(3)}% agree`);
      assert.ok(new Set(r.ids).size >= 4, 'a real scene has several classes');
    }
  });

  it('an image opened with the file input is shown with the overlay (checked on a screenshot)', { timeout: SLOW }, async () => {
    const { page } = app;
    await page.setInputFiles('#file', frameB);
    await page.waitForFunction((name) => window.streetseg.stats.source === 'image' && window.streetseg.stats.name === name, path.basename(frameB), { timeout: SLOW });
    const img = await decodeImage(frameB);
    const { ids } = await segmentInPage(page, img.data, img.width, img.height);
    const shown = await canvasPixels(page);
    assert.deepEqual([shown.width, shown.height], [img.width, img.height]);
    const want = blendOverlay(img.data, colorMask(ids, meta.colors, 'test'), 0.5);
    const match = pixelMatch(shown.rgb, want);
    assert.ok(match >= 0.99, `${(100 * match).toFixed(2)}% of the canvas is the 0.5 overlay`);
    assert.ok(pixelMatch(shown.rgb, img.data, 8) < 0.2, 'the canvas is not the plain image');
    assert.equal(await page.locator('#source').textContent(), path.basename(frameB));

    // the slider re-blends without running the model again: at 1 only class colours remain
    await page.locator('#alpha').fill('1');
    assert.equal(await page.locator('#alpha-value').textContent(), '1.00');
    const solid = await canvasPixels(page);
    assert.ok(pixelMatch(solid.rgb, colorMask(ids, meta.colors, 'test'), 0) >= 0.999);
    assert.equal((await page.evaluate(() => window.streetseg.stats)).frames, 1);
    await page.locator('#alpha').fill('0.5');
  });

  it('offers WebGPU only where navigator.gpu exists; a WebGPU that cannot start leaves WASM running', { timeout: SLOW }, async () => {
    const { page } = app;
    const env = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return { gpu: gpu !== undefined, adapter: gpu ? (await gpu.requestAdapter()) !== null : false, options: [...document.querySelectorAll('#runtime option')].map((o) => (o as HTMLOptionElement).value) };
    });
    assert.deepEqual(env.options, env.gpu ? ['wasm', 'webgpu'] : ['wasm']);
    if (!env.gpu) return;
    const img = await decodeImage(frameA);
    const before = await segmentInPage(page, img.data, img.width, img.height);
    if (!env.adapter) {
      await page.selectOption('#runtime', 'webgpu');
      await page.waitForFunction(() => !document.getElementById('error')!.hidden, undefined, { timeout: SLOW });
      assert.match((await page.locator('#error').textContent())!, /^webgpu: WebGPU found no GPU adapter/);
      assert.equal(await page.locator('#runtime').inputValue(), 'wasm');
      assert.equal((await page.evaluate(() => window.streetseg.info)).runtime, 'wasm');
    } else {
      await page.evaluate(() => window.streetseg.setRuntime('webgpu'));
      assert.equal((await page.evaluate(() => window.streetseg.info)).runtime, 'webgpu');
    }
    const again = await segmentInPage(page, img.data, img.width, img.height);
    assert.ok(agreement(again.ids, before.ids) >= 0.995, 'the page still segments, with the same result');
  });
});
