// The web app's speed: ms per frame in headless Chromium (onnxruntime-web, WASM, N threads, the page
// served by `serve` so it is cross-origin isolated) beside onnxruntime-node on the same model file, same
// frame and same thread count, alternating round by round so that both see the same machine load.
// Models have random weights (speed does not depend on them): SegFormer-B0 at 360×480, and camvid-best's
// MobileViT-XXS (output stride 8) at its inference size 180×240 (half of a 360×480 frame).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { buildApp, ortWebDist, type AppSummary } from '../src/app/build.js';
import { serveSite } from '../src/app/serve.js';
import { decodeImage } from '../src/data/decode.js';
import { CAMVID11 } from '../src/data/palette.js';
import { preprocessImage } from '../src/data/preprocess.js';
import { createOrtSession, runLogits } from '../src/export/ort.js';
import { createModel, openCheckpoint, savePretrained, scaledSize, setEvalScales } from '../src/models/index.js';
import { classIdsFromLogits } from '../src/predict/segmenter.js';
import { fromArray, manualSeed } from '../src/torch/index.js';
import { launchChromium, chromiumPath } from '../src/util/chromium.js';
import { median } from '../src/util/median.js';
import { summarizeProfile, type ProfileSummary } from './app-profile.js';

export const APP_BENCH_MODELS = {
  'segformer-b0': { model: 'segformer-b0', overrides: {}, scale: 1 },
  'camvid-best': { model: 'mobilevit-xxs', overrides: { output_stride: 8 }, scale: 0.5 },
} as const;
export type AppBenchModel = keyof typeof APP_BENCH_MODELS;

export interface AppBenchOptions {
  models: AppBenchModel[];
  threads: number;
  iters: number;
  warmup: number;
  rounds: number;
  /** Also profile the browser session (per-operator kernel times). */
  profile: boolean;
  seed: number;
  /** Time the sites `streetseg app --int8` writes. */
  int8?: boolean;
  /** With int8: `app --calibrate` (integer convolutions). */
  calibrate?: string;
}

interface Times {
  /** Median ms (the model alone, and the whole segment call: preprocessing, model, upsampling, argmax). */
  modelMs: number;
  segmentMs: number;
  minModelMs: number;
  fps: number;
  roundsModelMs: number[];
}

export interface AppBenchModelResult {
  name: AppBenchModel;
  model: string;
  frame: { height: number; width: number };
  input: { height: number; width: number };
  onnxBytes: number;
  /** int8 sites: the convolutions' mode (app's convs). */
  convs?: AppSummary['convs'];
  browser: Times & { runtime: 'wasm'; threads: number; crossOriginIsolated: boolean };
  node: Times & { threads: number };
  /** Browser model ms / onnxruntime-node model ms. */
  browserVsNode: number;
  /**
   * onnxruntime-web's same WASM binary run in Node on one thread: CPU ms of the model per frame (median,
   * min). CPU time, unlike wall time, barely moves when other processes share the cores, so it is the
   * figure to compare across runs on a busy machine; FPS on N idle cores is at most N·1000/cpuMs.
   */
  wasmCpuMs: { median: number; min: number };
  profile?: ProfileSummary;
}

export interface AppBench {
  date: string;
  machine: { cpu: string; cores: number; loadavgBefore: number[]; loadavgAfter: number[] };
  chromium: string;
  onnxruntimeWeb: string;
  onnxruntimeNode: string;
  iters: number;
  warmup: number;
  rounds: number;
  models: AppBenchModelResult[];
  target: { model: 'camvid-best'; fps: 25; browserFps: number | null; met: boolean | null };
  consoleErrors: string[];
}

function summarize(model: number[], segment: number[], rounds: number[]): Times {
  const m = median(model);
  const s = median(segment);
  return { modelMs: +m.toFixed(1), segmentMs: +s.toFixed(1), minModelMs: +Math.min(...model).toFixed(1), fps: +(1000 / s).toFixed(1), roundsModelMs: rounds.map((r) => +r.toFixed(1)) };
}

/** CPU ms per run of `file` in onnxruntime-web's WASM (Node build, one thread). */
async function wasmCpuMs(file: string, pixels: Float32Array, dims: number[], iters: number, warmup: number): Promise<{ median: number; min: number }> {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(fs.readFileSync(file), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  try {
    const x = new ort.Tensor('float32', pixels, dims);
    const feeds = { [session.inputNames[0]!]: x };
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const cpu: number[] = [];
    for (let i = 0; i < iters; i++) {
      const c0 = process.cpuUsage();
      await session.run(feeds);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    return { median: +median(cpu).toFixed(1), min: +Math.min(...cpu).toFixed(1) };
  } finally {
    await session.release();
  }
}

/** `iters` segment calls on the sample frame in the page (after `warmup`): [modelMs[], ms[]]. */
async function browserRound(page: Page, iters: number, warmup: number): Promise<{ model: number[]; segment: number[] }> {
  return page.evaluate(async ({ iters, warmup }) => {
    const bmp = await createImageBitmap(await (await fetch('sample.png')).blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    const ctx = new OffscreenCanvas(bmp.width, bmp.height).getContext('2d')!;
    ctx.drawImage(bmp, 0, 0);
    const img = ctx.getImageData(0, 0, bmp.width, bmp.height);
    const model: number[] = [];
    const segment: number[] = [];
    for (let i = 0; i < warmup + iters; i++) {
      const r = await window.streetseg.segment(img);
      if (i >= warmup) {
        model.push(r.modelMs);
        segment.push(r.ms);
      }
    }
    return { model, segment };
  }, { iters, warmup });
}

export async function benchApp(o: AppBenchOptions): Promise<AppBench> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streetseg-bench-app-'));
  const loadavgBefore = os.loadavg().map((x) => +x.toFixed(2));
  const consoleErrors: string[] = [];
  const labels = CAMVID11.slice(0, 11).map((e) => e.name);
  const context = await launchChromium(path.join(tmp, 'profile'));
  const results: AppBenchModelResult[] = [];
  let chromium = '';
  try {
    for (const name of o.models) {
      const spec = APP_BENCH_MODELS[name];
      manualSeed(o.seed);
      const model = createModel(spec.model, labels, { ...spec.overrides });
      setEvalScales(model.config, [spec.scale]);
      const ckpt = path.join(tmp, `ckpt-${name}`);
      savePretrained(model, ckpt);
      model.dispose();
      const site = path.join(tmp, `site-${name}`);
      const built = await buildApp({ checkpoint: openCheckpoint(ckpt), out: site, webgpu: false, int8: o.int8 === true, ...(o.int8 && o.calibrate ? { calibrate: o.calibrate } : {}), log: () => undefined });
      const server = await serveSite({ root: site });
      try {
        const page = await context.newPage();
        page.on('console', (m) => {
          if (m.type() === 'error') consoleErrors.push(`${name}: ${m.text()}`);
        });
        page.on('pageerror', (e) => consoleErrors.push(`${name}: ${e.message}`));
        await page.goto(`${server.url}?runtime=wasm&threads=${o.threads}`);
        await page.evaluate(() => window.streetseg.ready);
        chromium = await page.evaluate(() => navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? navigator.userAgent);
        const info = await page.evaluate(() => ({ threads: window.streetseg.info.threads, isolated: window.streetseg.info.crossOriginIsolated }));

        // onnxruntime-node on the same file, frame and threads; the same pre- and post-processing as predict
        const frame = await decodeImage(path.join(site, 'sample.png'));
        const input = scaledSize(frame.height, frame.width, spec.scale);
        const pixels = preprocessImage(frame.data, frame.width, frame.height, input);
        const session = await createOrtSession(path.join(site, 'model.onnx'), { threads: o.threads });
        const dims: [number, number, number, number] = [1, 3, input.height, input.width];
        const nodeStep = async () => {
          const t0 = performance.now();
          const pre = preprocessImage(frame.data, frame.width, frame.height, input);
          const t1 = performance.now();
          const out = await runLogits(session, pre, dims);
          const t2 = performance.now();
          const logits = fromArray(out.data, out.dims);
          classIdsFromLogits(logits, [{ height: frame.height, width: frame.width }]);
          logits.dispose();
          return { model: t2 - t1, segment: performance.now() - t0 };
        };
        for (let i = 0; i < o.warmup; i++) await runLogits(session, pixels, dims);

        const b = { model: [] as number[], segment: [] as number[], rounds: [] as number[] };
        const n = { model: [] as number[], segment: [] as number[], rounds: [] as number[] };
        for (let r = 0; r < o.rounds; r++) {
          const br = await browserRound(page, o.iters, r === 0 ? o.warmup : 1);
          b.model.push(...br.model);
          b.segment.push(...br.segment);
          b.rounds.push(median(br.model));
          const nm: number[] = [];
          for (let i = 0; i < o.iters; i++) {
            const s = await nodeStep();
            nm.push(s.model);
            n.segment.push(s.segment);
          }
          n.model.push(...nm);
          n.rounds.push(median(nm));
        }
        await session.release();
        await page.close();
        const wasmCpu = await wasmCpuMs(path.join(site, 'model.onnx'), pixels, dims, o.iters, o.warmup);

        let profile: ProfileSummary | undefined;
        if (o.profile) {
          const pp = await context.newPage();
          const lines: string[] = [];
          pp.on('console', (m) => lines.push(m.text()));
          await pp.goto(`${server.url}?runtime=wasm&threads=${o.threads}&profile=1`);
          await pp.evaluate(() => window.streetseg.ready);
          await browserRound(pp, o.iters, 1);
          await pp.evaluate(() => window.streetseg.endProfiling());
          await pp.close();
          profile = summarizeProfile(lines);
        }
        const browser = summarize(b.model, b.segment, b.rounds);
        const nodeT = summarize(n.model, n.segment, n.rounds);
        results.push({
          name,
          model: built.model,
          frame: { height: frame.height, width: frame.width },
          input,
          onnxBytes: built.onnxBytes,
          ...(built.convs ? { convs: built.convs } : {}),
          browser: { ...browser, runtime: 'wasm', threads: info.threads, crossOriginIsolated: info.isolated },
          node: { ...nodeT, threads: o.threads },
          browserVsNode: +(browser.modelMs / nodeT.modelMs).toFixed(2),
          wasmCpuMs: wasmCpu,
          ...(profile ? { profile } : {}),
        });
      } finally {
        await server.close();
      }
    }
  } finally {
    await context.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const best = results.find((r) => r.name === 'camvid-best');
  return {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model ?? '?', cores: os.cpus().length, loadavgBefore, loadavgAfter: os.loadavg().map((x) => +x.toFixed(2)) },
    chromium: chromium || execFileSync(chromiumPath(), ['--version'], { encoding: 'utf8' }).trim(),
    onnxruntimeWeb: ortWebDist().version,
    onnxruntimeNode: (await import('onnxruntime-node')).default.env.versions.node ?? '?',
    iters: o.iters,
    warmup: o.warmup,
    rounds: o.rounds,
    models: results,
    target: { model: 'camvid-best', fps: 25, browserFps: best ? best.browser.fps : null, met: best ? best.browser.fps >= 25 : null },
    consoleErrors,
  };
}
