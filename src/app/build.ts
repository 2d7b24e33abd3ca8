// `streetseg app` as a library call: a checkpoint → a static, self-contained site (index.html, app.js
// bundled by esbuild from the page's compiled modules, model.onnx from our exporter checked in
// onnxruntime-node, model.json, a sample frame, and onnxruntime-web's modules and wasm files copied from
// node_modules). The site is written whole into a temporary sibling folder and swapped in by rename, so
// an existing site stays intact until the new one is complete; a folder that is not a site is refused.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeImage } from '../data/decode.js';
import { renderScene } from '../data/synthetic.js';
import { exportCheckpoint, selfCheckError, type CheckpointExport } from '../export/export.js';
import type { ConvMode } from '../export/int8-convs.js';
import { onnxEmitter } from '../export/families.js';
import { identifyVariant, variantName } from '../compare/inputs.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { labelPalette } from '../predict/colors.js';
import { encodePng } from '../predict/outputs.js';
import { checkLabelCount } from '../predict/segmenter.js';
import { configSmooth, formatSmoothSpec } from '../temporal/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { siteHtml } from './html.js';
import { ORT_MODULES, SITE_FILES, SITE_FORMAT, SITE_VERSION, type InputSize, type RuntimeName, type SiteMeta } from './web/site.js';

export interface AppOptions {
  /** The opened checkpoint (openCheckpoint). */
  checkpoint: Checkpoint;
  out: string;
  /** `export --int8`: int8 weights, the linear layers as integer GEMMs. */
  int8?: boolean;
  /** Fixed model input size; default each image's own size times the checkpoint's scale (as predict). */
  height?: number;
  width?: number;
  opset?: number;
  /** Class colours, as predict's --palette. */
  palette?: string;
  /** The sample frame shown when the page opens (default: a seeded synthetic driving scene, 480×360). */
  sample?: string;
  /** Carry onnxruntime-web's WebGPU build (default true; offered only where navigator.gpu exists). */
  webgpu?: boolean;
  /** With int8: calibration frames and conv mode, as export's (target: the browser's WASM). */
  calibrate?: string;
  calibrationImages?: number;
  int8Convs?: ConvMode;
  log?: (line: string) => void;
}

export interface AppSummary {
  out: string;
  model: string;
  classes: number;
  inputSize: InputSize;
  int8: boolean;
  onnxBytes: number;
  /** The export self-check: max |onnxruntime-node − libtorch|. */
  maxAbsDiff: number;
  /** int8: the convolutions' mode and why (export's convs). */
  convs?: CheckpointExport['convs'];
  runtimes: RuntimeName[];
  files: number;
  bytes: number;
}

/** The folder holding onnxruntime-web's dist files, and its version. */
export function ortWebDist(): { dir: string; version: string } {
  const dir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, '..', 'package.json'), 'utf8')) as { version: string };
  return { dir, version: pkg.version };
}

/** The page's script: web/main.js (compiled beside this file) and what it imports, as one ES module. */
async function bundlePage(): Promise<string> {
  const entry = fileURLToPath(new URL('./web/main.js', import.meta.url));
  if (!fs.existsSync(entry)) throw new Error(`${entry}: the page's compiled script is missing (build with 'npx tsc -p .')`);
  const esbuild = await import('esbuild');
  const r = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent', legalComments: 'inline' });
  return r.outputFiles[0]!.text;
}

/** An existing `out` must be a site (model.json of this format) or empty: anything else is not ours to replace. */
function checkOut(out: string): void {
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isDirectory()) throw new Error(`${out}: exists and is not a directory; give --out a new folder or an existing site`);
  if (fs.readdirSync(out).length === 0) return;
  let format: unknown;
  try {
    format = (JSON.parse(fs.readFileSync(path.join(out, SITE_FILES.meta), 'utf8')) as { format?: unknown }).format;
  } catch {
    format = undefined;
  }
  if (format !== SITE_FORMAT) throw new Error(`${out}: exists and is not a site written by streetseg app (no ${SITE_FILES.meta} of format ${SITE_FORMAT}); give --out a new folder`);
}

/** Moves the complete `tmp` into place at `dir`; the previous copy is moved aside until then. */
function swapIn(tmp: string, dir: string): void {
  const old = `${tmp}.old`;
  const hadOld = fs.existsSync(dir);
  if (hadOld) fs.renameSync(dir, old);
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    if (hadOld) fs.renameSync(old, dir);
    throw e;
  }
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
}

async function sampleFrame(file: string | undefined): Promise<{ png: Buffer; width: number; height: number }> {
  if (file) {
    const img = await decodeImage(file);
    return { png: await encodePng(img.data, img.width, img.height, 3), width: img.width, height: img.height };
  }
  const scene = renderScene(0, 0, 480, 360);
  return { png: await encodePng(scene.image, scene.width, scene.height, 3), width: scene.width, height: scene.height };
}

export async function buildApp(o: AppOptions): Promise<AppSummary> {
  const log = o.log ?? ((l: string) => console.error(l));
  if ((o.height === undefined) !== (o.width === undefined)) throw new Error('app: give both height and width, or neither');
  // cheap checks first: the checkpoint's exporter and labels, the palette, the sample, the output folder
  const ckpt = o.checkpoint;
  const cfg = ckpt.config;
  onnxEmitter(cfg.model_type);
  const labels = [...ckpt.labels];
  checkLabelCount(labels, ckpt.configFile);
  // the smoother a bare `predict --smooth` uses for this checkpoint, so the page smooths video the same way
  const smooth = formatSmoothSpec(configSmooth(cfg as unknown as Record<string, unknown>, ckpt.configFile));
  const pal = labelPalette(labels, o.palette ?? 'auto');
  if (pal.fallback.length) log(`app: no palette colour for ${pal.fallback.join(', ')}; using fallback colours (PASCAL VOC colormap)`);
  const inputSize: InputSize = o.height !== undefined && o.width !== undefined ? { height: o.height, width: o.width } : { scale: ckpt.scale };
  const out = path.resolve(o.out);
  checkOut(out);
  const sample = await sampleFrame(o.sample);
  const ort = ortWebDist();
  const runtimes: RuntimeName[] = o.webgpu === false ? ['wasm'] : ['wasm', 'webgpu'];

  const tmp = path.join(path.dirname(out), `.tmp-${path.basename(out)}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const exported = await exportCheckpoint(ckpt, {
      out: path.join(tmp, SITE_FILES.model),
      opset: o.opset,
      int8: o.int8 === true,
      target: 'wasm',
      ...(o.calibrate ? { calibrate: o.calibrate } : {}),
      ...(o.calibrationImages ? { calibrationImages: o.calibrationImages } : {}),
      ...(o.int8Convs ? { int8Convs: o.int8Convs } : {}),
      ...('height' in inputSize ? { calibrationSize: inputSize } : {}),
      log,
    });
    const failed = selfCheckError(exported);
    if (failed) throw new Error(`${ckpt.dir}: the ONNX export failed: ${failed}`);
    const { bytes: onnxBytes, maxAbsDiff } = exported;
    if (exported.convs) log(`app: convolutions ${exported.convs.int8 ? `as integer QLinearConv (${exported.convs.qlinearConvs})` : 'in fp32'}: ${exported.convs.reason}`);

    const name = variantName(cfg.model_type, identifyVariant(cfg));
    const meta: SiteMeta = {
      format: SITE_FORMAT,
      version: SITE_VERSION,
      model: name,
      modelType: cfg.model_type,
      checkpoint: path.basename(path.resolve(ckpt.dir)),
      classes: labels,
      colors: pal.colors.map((c) => [c[0], c[1], c[2]]),
      inputSize,
      int8: o.int8 === true,
      opset: o.opset ?? 17,
      onnxBytes,
      runtimes,
      ortVersion: ort.version,
      smooth,
      sample: { width: sample.width, height: sample.height },
    };
    writeJsonAtomic(path.join(tmp, SITE_FILES.meta), meta);
    writeFileAtomic(path.join(tmp, SITE_FILES.sample), sample.png);
    writeFileAtomic(path.join(tmp, SITE_FILES.app), await bundlePage());
    writeFileAtomic(path.join(tmp, SITE_FILES.html), siteHtml(name));
    const ortDir = path.join(tmp, SITE_FILES.ort);
    fs.mkdirSync(ortDir);
    for (const r of runtimes) {
      for (const f of ORT_MODULES[r].files) {
        const src = path.join(ort.dir, f);
        if (!fs.existsSync(src)) throw new Error(`${src}: missing from onnxruntime-web ${ort.version} (reinstall it: npm ci)`);
        fs.copyFileSync(src, path.join(ortDir, f));
      }
    }
    const files = listFiles(tmp);
    swapIn(tmp, out);
    return { out, model: name, classes: labels.length, inputSize, int8: o.int8 === true, onnxBytes, maxAbsDiff, ...(exported.convs ? { convs: exported.convs } : {}), runtimes, files: files.length, bytes: files.reduce((s, f) => s + f.bytes, 0) };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function listFiles(dir: string): { file: string; bytes: number }[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((d) => d.isFile()).map((d) => {
    const file = path.join(d.parentPath, d.name);
    return { file, bytes: fs.statSync(file).size };
  });
}
