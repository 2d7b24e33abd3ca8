// The web app's sources and failure modes on camvid-best's architecture (MobileViT-XXS, output stride 8,
// seeded random weights, streetseg_eval_scales [0.5] like a camvid-best checkpoint): predict's default
// input size and class ids, a video played with the overlay, the webcam (Chromium's fake camera), files
// that are not images or videos, a page without cross-origin isolation, and a model that fails to load.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { buildApp, type AppSummary } from '../src/app/build.js';
import { serveSite, type SiteServer } from '../src/app/serve.js';
import type { SiteMeta } from '../src/app/web/site.js';
import { CAMVID11 } from '../src/data/palette.js';
import { decodeImage } from '../src/data/decode.js';
import { createModel, openCheckpoint, savePretrained, setEvalScales } from '../src/models/index.js';
import { colorMask } from '../src/predict/outputs.js';
import { manualSeed } from '../src/torch/index.js';
import { launchChromium } from '../src/util/chromium.js';
import { agreement, camvidFrames, canvasPixels, openApp, pixelMatch, predictIds, segmentInPage } from './helpers/app-page.js';

const SLOW = 180_000;
const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

const errorText = (page: Page) => page.evaluate(() => {
  const e = document.getElementById('error')!;
  return e.hidden ? null : e.textContent;
});

async function waitForError(page: Page, re: RegExp): Promise<string> {
  await page.waitForFunction((src) => {
    const e = document.getElementById('error')!;
    return !e.hidden && new RegExp(src).test(e.textContent ?? '');
  }, re.source, { timeout: SLOW });
  return (await errorText(page))!;
}

describe('web app in Chromium: video, webcam, bad input, no isolation', { timeout: 900_000 }, () => {
  let tmp: string;
  let ckpt: string;
  let built: AppSummary;
  let meta: SiteMeta;
  let server: SiteServer;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  const frames = camvidFrames(8);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-app-media-'));
    manualSeed(11);
    const model = createModel('mobilevit-xxs', CAMVID11.slice(0, 11).map((e) => e.name), { output_stride: 8 });
    setEvalScales(model.config, [0.5]);
    ckpt = path.join(tmp, 'ckpt');
    savePretrained(model, ckpt);
    model.dispose();
    built = await buildApp({ checkpoint: openCheckpoint(ckpt), out: path.join(tmp, 'site'), webgpu: false, log: () => undefined });
    meta = JSON.parse(fs.readFileSync(path.join(built.out, 'model.json'), 'utf8')) as SiteMeta;
    server = await serveSite({ root: built.out });
    context = await launchChromium(path.join(tmp, 'profile'), { args: FAKE_CAMERA });
    ({ page, errors } = await openApp(context, server.url));
    await page.waitForFunction(() => window.streetseg?.ready !== undefined);
    await page.evaluate(() => window.streetseg.ready);
  });
  after(async () => {
    await context?.close();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("runs at predict's default input size (the checkpoint's scale 0.5) with predict --runtime onnx's class ids", { timeout: SLOW }, async (t) => {
    assert.deepEqual(meta.inputSize, { scale: 0.5 });
    assert.deepEqual((await page.evaluate(() => window.streetseg.info)).inputSize, { scale: 0.5 });
    assert.match((await page.locator('#status').textContent())!, /model input: each image's size × 0\.5/);
    const files = frames.slice(0, 2);
    const ref = await predictIds(ckpt, path.join(built.out, 'model.onnx'), files, path.join(tmp, 'pred'));
    for (const [i, file] of files.entries()) {
      const img = await decodeImage(file);
      const r = await segmentInPage(page, img.data, img.width, img.height);
      const a = agreement(r.ids, ref[i]!);
      t.diagnostic(`${path.basename(file)}: ${(100 * a).toFixed(3)}% of ${r.ids.length} pixels agree with predict --runtime onnx (model input 180×240: ${r.modelMs.toFixed(0)} ms)`);
      assert.ok(a >= 0.995, `${file}: ${(100 * a).toFixed(3)}% agree`);
      assert.ok(new Set(r.ids).size >= 2, 'the random model predicts more than one class');
    }
    assert.deepEqual(errors, []);
  });

  it('plays a video with the overlay live', { timeout: SLOW }, async () => {
    // a 1 s VP8 clip of 8 CamVid frames at 8 fps
    const dir = path.join(tmp, 'clip');
    fs.mkdirSync(dir);
    frames.forEach((f, i) => fs.copyFileSync(f, path.join(dir, `f${i}.png`)));
    const clip = path.join(tmp, 'clip.webm');
    execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-framerate', '8', '-i', path.join(dir, 'f%d.png'), '-c:v', 'libvpx', '-b:v', '2M', '-pix_fmt', 'yuv420p', clip]);
    await page.setInputFiles('#file', clip);
    await page.waitForFunction(() => window.streetseg.stats.source === 'video' && window.streetseg.stats.frames >= 4, undefined, { timeout: SLOW });
    const v = await page.evaluate(() => {
      const el = document.getElementById('video') as HTMLVideoElement;
      return { paused: el.paused, width: el.videoWidth, height: el.videoHeight, name: window.streetseg.stats.name, fps: document.getElementById('fps')!.textContent, pause: document.getElementById('pause')!.hidden };
    });
    assert.deepEqual([v.paused, v.width, v.height, v.name, v.pause], [false, 480, 360, 'clip.webm', false]);
    assert.match(v.fps!, /^\d+\.\d FPS$/);
    // smoothing is on for video by default: the first frame keeps the model's own ids, later ones are smoothed
    const st = await page.evaluate(() => window.streetseg.stats);
    assert.ok(st.smoothed >= 1 && st.smoothed < st.frames, `${st.smoothed} of ${st.frames} frames smoothed`);
    // at alpha 1 the canvas shows only class colours, whichever frame is on it
    await page.locator('#alpha').fill('1');
    const at = (await page.evaluate(() => window.streetseg.stats)).frames;
    await page.waitForFunction((n) => window.streetseg.stats.frames >= n + 2, at, { timeout: SLOW });
    const shown = await canvasPixels(page);
    assert.deepEqual([shown.width, shown.height], [480, 360]);
    const palette = new Set(meta.colors.map((c) => c.join(',')));
    let inPalette = 0;
    const seen = new Set<string>();
    for (let i = 0; i < shown.rgb.length; i += 3) {
      const k = `${shown.rgb[i]},${shown.rgb[i + 1]},${shown.rgb[i + 2]}`;
      if (palette.has(k)) {
        inPalette++;
        seen.add(k);
      }
    }
    assert.ok(inPalette / (shown.rgb.length / 3) >= 0.999, `${inPalette} of ${shown.rgb.length / 3} pixels are class colours`);
    assert.ok(seen.size >= 2);
    await page.click('#pause');
    assert.equal(await page.evaluate(() => (document.getElementById('video') as HTMLVideoElement).paused), true);
    assert.equal(await page.locator('#pause').textContent(), 'Play');
    await page.locator('#alpha').fill('0.5');
    assert.deepEqual(errors, []);
  });

  it("segments the webcam (Chromium's fake camera) until stopped", { timeout: SLOW }, async () => {
    await page.click('#webcam');
    await page.waitForFunction(() => window.streetseg.stats.source === 'webcam' && window.streetseg.stats.frames >= 3, undefined, { timeout: SLOW });
    assert.equal(await page.locator('#webcam').textContent(), 'Stop webcam');
    await page.click('#webcam');
    assert.equal(await page.locator('#webcam').textContent(), 'Webcam');
    const n = (await page.evaluate(() => window.streetseg.stats)).frames;
    await page.waitForTimeout(500);
    assert.equal((await page.evaluate(() => window.streetseg.stats)).frames, n, 'no frames after the stop');
    assert.deepEqual(errors, []);
  });

  it('an image dropped on the page is segmented like one opened', { timeout: SLOW }, async () => {
    await page.evaluate(async () => {
      const blob = await (await fetch('sample.png')).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
      document.body.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => window.streetseg.stats.name === 'dropped.png', undefined, { timeout: SLOW });
    const s = await page.evaluate(() => ({ stats: window.streetseg.stats, over: document.getElementById('drop')!.classList.contains('over') }));
    assert.deepEqual([s.stats.source, s.stats.frames, s.over], ['image', 1, false]);
    assert.deepEqual(errors, []);
  });

  it('a file that is not an image or video shows a visible error, and the page keeps working', { timeout: SLOW }, async () => {
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
    assert.match(await waitForError(page, /notes\.txt/), /^notes\.txt: not an image or a video \(type text\/plain\)/);
    await page.setInputFiles('#file', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG\r\n\x1a\nthis is no image') });
    assert.match(await waitForError(page, /broken\.png/), /^broken\.png: cannot be decoded as an image/);
    await page.setInputFiles('#file', { name: 'broken.webm', mimeType: 'video/webm', buffer: Buffer.alloc(4096, 3) });
    assert.match(await waitForError(page, /broken\.webm/), /^broken\.webm: cannot be played as a video/);
    assert.ok(await page.locator('#error').isVisible());
    // still working: a good image replaces the error with its result
    await page.setInputFiles('#file', frames[3]!);
    await page.waitForFunction((name) => window.streetseg.stats.name === name, path.basename(frames[3]!), { timeout: SLOW });
    assert.equal(await errorText(page), null);
    const img = await decodeImage(frames[3]!);
    const { ids } = await segmentInPage(page, img.data, img.width, img.height);
    await page.locator('#alpha').fill('1');
    assert.ok(pixelMatch((await canvasPixels(page)).rgb, colorMask(ids, meta.colors, 'test'), 0) >= 0.999);
    await page.locator('#alpha').fill('0.5');
    assert.deepEqual(errors.filter((e) => e.startsWith('uncaught')), [], 'no error escaped the page');
  });

  it('served without COOP/COEP: runs on one thread, says so, same class ids', { timeout: SLOW }, async () => {
    const plain = await serveSite({ root: built.out, isolate: false });
    try {
      const p = await openApp(context, plain.url);
      await p.page.evaluate(() => window.streetseg.ready);
      const s = await p.page.evaluate(() => ({ isolated: crossOriginIsolated, info: window.streetseg.info, notice: document.getElementById('isolation')!, status: document.getElementById('status')!.textContent }));
      assert.equal(s.isolated, false);
      assert.equal(s.info.threads, 1);
      assert.match(s.status!, /wasm, 1 thread$/);
      assert.ok(await p.page.locator('#isolation').isVisible());
      assert.match((await p.page.locator('#isolation').textContent())!, /Not cross-origin isolated: onnxruntime runs on one thread/);
      const img = await decodeImage(frames[0]!);
      const one = await segmentInPage(p.page, img.data, img.width, img.height);
      const many = await segmentInPage(page, img.data, img.width, img.height);
      assert.ok(agreement(one.ids, many.ids) >= 0.999);
      assert.deepEqual(p.errors, []);
      await p.page.close();
    } finally {
      await plain.close();
    }
  });

  it('a model that fails to load: a visible error, ready rejects, the page still responds', { timeout: SLOW }, async () => {
    const broken = path.join(tmp, 'broken-site');
    fs.cpSync(built.out, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'model.onnx'), Buffer.from('this is not an ONNX model'));
    const bad = await serveSite({ root: broken });
    try {
      const p = await openApp(context, bad.url);
      const why = await p.page.evaluate(() => window.streetseg.ready.then(() => 'resolved', (e: Error) => e.message));
      assert.match(why, /^model\.onnx: onnxruntime-web \(wasm\) could not load the model/);
      assert.equal(await waitForError(p.page, /model\.onnx/), why);
      await p.page.locator('#alpha').fill('0.8');
      assert.equal(await p.page.locator('#alpha-value').textContent(), '0.80');
      await p.page.setInputFiles('#file', frames[0]!);
      assert.match(await waitForError(p.page, /no model/), /^segment: no model is loaded/);
      assert.deepEqual(p.errors.filter((e) => e.startsWith('uncaught')), []);
      await p.page.close();
    } finally {
      await bad.close();
    }
  });
});
