// Shared by the web app's browser tests: a site built from a checkpoint, served and opened in Chromium; a page of a served site with its console errors and requests
// recorded, pixels in and class ids out of window.streetseg.segment, the canvas as RGB from a screenshot,
// predict's class ids for comparison, and CamVid val frames.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { buildApp, type AppOptions, type AppSummary } from '../../src/app/build.js';
import { serveSite, type SiteServer } from '../../src/app/serve.js';
import type { SiteMeta } from '../../src/app/web/site.js';
import { openCheckpoint } from '../../src/models/checkpoint.js';
import { predict } from '../../src/predict/index.js';
import { launchChromium } from '../../src/util/chromium.js';
import { dataRoot } from '../../src/util/paths.js';

export interface AppPage {
  page: Page;
  /** Console errors and uncaught page errors. */
  errors: string[];
  requests: string[];
}

export async function openApp(context: BrowserContext, url: string): Promise<AppPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  return { page, errors, requests };
}

export interface OpenSite {
  /** the temporary folder holding the site (site/) and the browser profile */
  tmp: string;
  built: AppSummary;
  meta: SiteMeta;
  server: SiteServer;
  context: BrowserContext;
  app: AppPage;
  /** Closes the browser and the server and removes the folder. */
  close(): Promise<void>;
}

/** `streetseg app` on `checkpoint` (with `options`) into a temporary folder, served and opened in Chromium, window.streetseg ready. */
export async function openSite(checkpoint: string, options: Omit<AppOptions, 'checkpoint' | 'out'> = {}): Promise<OpenSite> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-app-'));
  let server: SiteServer | undefined;
  let context: BrowserContext | undefined;
  const close = async () => {
    await context?.close();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const built = await buildApp({ log: () => undefined, ...options, checkpoint: openCheckpoint(checkpoint), out: path.join(tmp, 'site') });
    const meta = JSON.parse(fs.readFileSync(path.join(built.out, 'model.json'), 'utf8')) as SiteMeta;
    server = await serveSite({ root: built.out });
    context = await launchChromium(path.join(tmp, 'profile'));
    const app = await openApp(context, server.url);
    await app.page.waitForFunction(() => window.streetseg?.ready !== undefined);
    await app.page.evaluate(() => window.streetseg.ready);
    return { tmp, built, meta, server, context, app, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The first `n` CamVid val frames (sorted by name). */
export function camvidFrames(n: number): string[] {
  const dir = path.join(dataRoot(), 'camvid', 'val');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.png')).sort().slice(0, n).map((f) => path.join(dir, f));
}

/** window.streetseg.segment on RGB pixels (sent as RGBA ImageData), with segment's options (smooth, reset). */
export async function segmentInPage(page: Page, rgb: Uint8Array, width: number, height: number, options: { smooth?: boolean; reset?: boolean } = {}): Promise<{ ids: Uint8Array; ms: number; modelMs: number; width: number; height: number; smoothed: boolean }> {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  const r = await page.evaluate(
    async ({ b64, width, height, options }) => {
      const bin = atob(b64);
      const px = new Uint8ClampedArray(bin.length);
      for (let i = 0; i < bin.length; i++) px[i] = bin.charCodeAt(i);
      const res = await window.streetseg.segment(new ImageData(px, width, height), options);
      let s = '';
      for (let i = 0; i < res.classIds.length; i += 0x8000) s += String.fromCharCode(...res.classIds.subarray(i, i + 0x8000));
      return { ids: btoa(s), ms: res.ms, modelMs: res.modelMs, width: res.width, height: res.height, smoothed: res.smoothed };
    },
    { b64: Buffer.from(rgba).toString('base64'), width, height, options },
  );
  return { ...r, ids: new Uint8Array(Buffer.from(r.ids, 'base64')) };
}

/** What #view shows, as RGB HWC, from a screenshot of the element. */
export async function canvasPixels(page: Page): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const png = await page.locator('#view').screenshot();
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** `streetseg predict --runtime onnx --onnx FILE` (onnx null: `--runtime torch`) on `images`: each image's class ids. */
export async function predictIds(checkpoint: string, onnx: string | null, images: string[], out: string): Promise<Uint8Array[]> {
  const runtime = onnx === null ? { runtime: 'torch' as const } : { runtime: 'onnx' as const, onnx };
  await predict({ checkpoint: openCheckpoint(checkpoint), inputs: images, out, ...runtime, progress: 'none', log: () => undefined });
  return Promise.all(images.map(async (f) => {
    const { data } = await sharp(path.join(out, `${path.basename(f, path.extname(f))}.png`)).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  }));
}

/** Share of positions where a and b are equal. */
export function agreement(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`agreement: ${a.length} vs ${b.length} values`);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/** Share of pixels whose channels all differ by at most `tol`. */
export function pixelMatch(a: Uint8Array, b: Uint8Array, tol = 1): number {
  if (a.length !== b.length) throw new RangeError(`pixelMatch: ${a.length} vs ${b.length} values`);
  let ok = 0;
  for (let i = 0; i < a.length; i += 3) {
    if (Math.abs(a[i]! - b[i]!) <= tol && Math.abs(a[i + 1]! - b[i + 1]!) <= tol && Math.abs(a[i + 2]! - b[i + 2]!) <= tol) ok++;
  }
  return ok / (a.length / 3);
}
