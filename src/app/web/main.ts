// The page: loads model.json and model.onnx, shows the sample frame's result, then segments what the user
// opens or drops (an image, a video played with the overlay live) or the webcam. window.streetseg is the
// same path for automation: ready, segment(ImageData, {smooth, reset}), info, stats, setSmoothing, resetSmoothing.
// Video and webcam frames are smoothed over time (the checkbox, on by default) with the smoother a bare
// `streetseg predict --smooth` uses for the checkpoint; a single image has no time, so it never is.
// URL parameters: runtime=wasm|webgpu, threads=N (WASM), profile=1 (onnxruntime's per-node profile).
import { upsampleArgmax } from '../../data/class-map.js';
import { preprocessImage } from '../../data/preprocess.js';
import { decodeImage, fetchImage, fileKind, mediaErrorText, paint, videoFrame } from './media.js';
import { modelSize, overlayRgba, rgbaToRgb } from './pixels.js';
import { VideoSmoothing } from './smoothing.js';
import { createSession, usableThreads, type ModelSession } from './runtime.js';
import { SITE_FILES, SITE_FORMAT, SITE_VERSION, type InputSize, type RuntimeName, type SiteMeta } from './site.js';
import * as ui from './ui.js';

export interface SegmentResult {
  /** Class id per pixel, row-major, at the image's own size. */
  classIds: Uint8Array;
  width: number;
  height: number;
  /** The whole call: preprocessing, the model, upsampling and argmax. */
  ms: number;
  /** The model alone (onnxruntime's run). */
  modelMs: number;
  /** The ids are smoothed over time (false on a video's first frame, a scene cut, or without smoothing). */
  smoothed: boolean;
}

export interface SegmentOptions {
  /** Smooth this frame over time with the previous frames segmented with smooth (default false). */
  smooth?: boolean;
  /** This frame starts a new video: the smoother forgets the previous frames first. */
  reset?: boolean;
}

export interface Info {
  model: string;
  classes: string[];
  colors: [number, number, number][];
  runtime: RuntimeName;
  threads: number;
  inputSize: InputSize;
  /** The video smoother (canonical spec): predict's bare --smooth for the checkpoint. */
  smooth: string;
  crossOriginIsolated: boolean;
}

export interface Stats {
  source: 'sample' | 'image' | 'video' | 'webcam' | null;
  name: string | null;
  /** Frames segmented and shown from the current source, and how many of them smoothed over time. */
  frames: number;
  smoothed: number;
  ms: number | null;
  modelMs: number | null;
  fps: number | null;
}

export interface StreetsegApi {
  ready: Promise<void>;
  segment(img: ImageData, options?: SegmentOptions): Promise<SegmentResult>;
  info: Info;
  readonly stats: Stats;
  /** Switches runtime; on failure the error is shown and the previous runtime stays. */
  setRuntime(runtime: RuntimeName): Promise<void>;
  /** Turns the smoothing of video and webcam frames on or off (the checkbox); either way the smoother restarts. */
  setSmoothing(on: boolean): void;
  /** Whether video and webcam frames are smoothed. */
  readonly smoothing: boolean;
  /** The smoother forgets the previous frames: the next smoothed frame is a video's first. */
  resetSmoothing(): void;
  /** With ?profile=1: prints onnxruntime's per-node profile to the console. */
  endProfiling(): void;
}

declare global {
  interface Window {
    streetseg: StreetsegApi;
  }
}

const els = ui.elements();
const work = document.createElement('canvas');
const params = new URLSearchParams(location.search);
const threadsParam = Number(params.get('threads'));
const threadsWish = Number.isInteger(threadsParam) && threadsParam >= 1 ? threadsParam : Math.min(navigator.hardwareConcurrency || 1, 4);

let meta: SiteMeta | null = null;
let modelBytes: Uint8Array | null = null;
let session: ModelSession | null = null;
let smoother: VideoSmoothing | null = null;
let smoothOn = els.smooth.checked;
let alpha = Number(els.alpha.value);
let current: { frame: ImageData; ids: Uint8Array } | null = null;
let shown: ImageData | null = null;
let loopToken = 0;
let stream: MediaStream | null = null;
let doneTimes: number[] = [];
const stats: Stats = { source: null, name: null, frames: 0, smoothed: 0, ms: null, modelMs: null, fps: null };
const info: Info = { model: '', classes: [], colors: [], runtime: 'wasm', threads: 1, inputSize: { scale: 1 }, smooth: '', crossOriginIsolated: globalThis.crossOriginIsolated === true };

// onnxruntime sessions run one call at a time: segment calls queue here
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = queue.then(fn, fn);
  queue = p.catch(() => undefined);
  return p;
}

function segment(img: ImageData, options: SegmentOptions = {}): Promise<SegmentResult> {
  return serial(async () => {
    if (!img || !Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1 || img.data?.length !== 4 * img.width * img.height) {
      throw new TypeError('segment: expected an ImageData (RGBA, width × height × 4 values)');
    }
    if (!session || !meta) throw new Error('segment: no model is loaded');
    const t0 = performance.now();
    const size = modelSize(meta.inputSize, img.width, img.height);
    const rgb = rgbaToRgb(img.data, img.width, img.height);
    const pixels = preprocessImage(rgb, img.width, img.height, size);
    const t1 = performance.now();
    const { logits, dims } = await session.run(pixels, size.height, size.width);
    const modelMs = performance.now() - t1;
    if (dims[0] !== meta.classes.length) throw new Error(`${SITE_FILES.model}: ${dims[0]} classes in the logits, but ${SITE_FILES.meta} lists ${meta.classes.length}`);
    if (options.reset) smoother?.reset();
    let classIds: Uint8Array;
    let smoothed = false;
    if (options.smooth && smoother) ({ ids: classIds, smoothed } = smoother.frame(logits, dims[2]!, dims[1]!, rgb, img.width, img.height));
    else classIds = upsampleArgmax(logits, dims[0]!, dims[2]!, dims[1]!, img.width, img.height);
    return { classIds, width: img.width, height: img.height, ms: performance.now() - t0, modelMs, smoothed };
  });
}

function draw(): void {
  if (!current || !meta) return;
  const { frame, ids } = current;
  if (!shown || shown.width !== frame.width || shown.height !== frame.height) shown = new ImageData(frame.width, frame.height);
  overlayRgba(frame.data, ids, meta.colors, alpha, shown.data);
  paint(els.view, shown);
}

const FPS_FRAMES = 10;

/** Shows a segmented frame and updates the speed readout. */
function show(frame: ImageData, r: SegmentResult, live: boolean): void {
  current = { frame, ids: r.classIds };
  draw();
  stats.frames++;
  if (r.smoothed) stats.smoothed++;
  stats.ms = r.ms;
  stats.modelMs = r.modelMs;
  // live: frames shown per second over the last FPS_FRAMES frames (what the viewer sees, waits included)
  const now = performance.now();
  doneTimes = live ? [...doneTimes, now].slice(-FPS_FRAMES) : [];
  stats.fps = live ? (doneTimes.length > 1 ? (1000 * (doneTimes.length - 1)) / (now - doneTimes[0]!) : null) : 1000 / r.ms;
  ui.renderSpeed(els, stats.ms, stats.modelMs, stats.fps);
}

function setSource(source: Stats['source'], name: string | null): void {
  Object.assign(stats, { source, name, frames: 0, smoothed: 0, ms: null, modelMs: null, fps: null });
  doneTimes = [];
  els.source.textContent = name ?? '';
}

function fail(e: unknown): void {
  ui.showError(els, e instanceof Error ? e.message : String(e));
}

/** The checkbox's state; the smoother restarts, so frames from before do not carry over. */
function setSmoothing(on: boolean): void {
  smoothOn = els.smooth.checked = on;
  smoother?.reset();
}

function stopMedia(): void {
  loopToken++;
  // every new source (image, file, webcam) is a new video for the smoother
  smoother?.reset();
  const v = els.video;
  v.onerror = v.onloadeddata = null;
  v.pause();
  if (v.src.startsWith('blob:')) URL.revokeObjectURL(v.src);
  v.removeAttribute('src');
  v.srcObject = null;
  v.load();
  stream?.getTracks().forEach((t) => t.stop());
  stream = null;
  els.pause.hidden = true;
  els.webcam.textContent = 'Webcam';
}

async function showImage(img: ImageData, source: 'sample' | 'image', name: string): Promise<void> {
  stopMedia();
  const r = await segment(img);
  setSource(source, name);
  show(img, r, false);
}

/** Segments the video's frames as they are presented, skipping those that arrive while the model is busy. */
function startLoop(): void {
  const token = ++loopToken;
  const v = els.video;
  const next = () => {
    if (token !== loopToken) return;
    if ('requestVideoFrameCallback' in v) v.requestVideoFrameCallback(() => void tick());
    else requestAnimationFrame(() => void tick());
  };
  const tick = async () => {
    if (token !== loopToken) return;
    if (!v.paused && v.readyState >= 2 && v.videoWidth > 0) {
      try {
        const frame = videoFrame(v, work);
        const r = await segment(frame, { smooth: smoothOn });
        if (token !== loopToken) return;
        show(frame, r, true);
      } catch (e) {
        fail(e);
        return;
      }
    }
    next();
  };
  next();
}

async function playVideo(src: { file: File } | { stream: MediaStream }): Promise<void> {
  stopMedia();
  const v = els.video;
  v.muted = true;
  v.loop = true;
  const name = 'file' in src ? src.file.name : 'webcam';
  const loaded = new Promise<void>((resolve, reject) => {
    v.onloadeddata = () => resolve();
    v.onerror = () => reject(new Error(`${name}: cannot be played as a video (${mediaErrorText(v.error)})`));
  });
  if ('file' in src) v.src = URL.createObjectURL(src.file);
  else v.srcObject = stream = src.stream;
  await loaded;
  v.onerror = () => {
    fail(new Error(`${name}: playback failed (${mediaErrorText(v.error)})`));
    stopMedia();
  };
  setSource('file' in src ? 'video' : 'webcam', name);
  await v.play();
  els.pause.hidden = false;
  els.pause.textContent = 'Pause';
  startLoop();
}

async function openFile(file: File): Promise<void> {
  ui.clearError(els);
  const kind = fileKind(file);
  if (kind === 'other') throw new Error(`${file.name}: not an image or a video (type ${file.type}); open an image (PNG, JPEG, WebP…) or a video (WebM, MP4…)`);
  if (kind === 'video') return playVideo({ file });
  let img: ImageData;
  try {
    img = await decodeImage(file, file.name, work);
  } catch (e) {
    if (kind === 'unknown') return playVideo({ file }).catch(() => Promise.reject(new Error(`${file.name}: neither an image nor a video this browser can decode`)));
    throw e;
  }
  await showImage(img, 'image', file.name);
}

async function toggleWebcam(): Promise<void> {
  ui.clearError(els);
  if (stream) {
    stopMedia();
    return;
  }
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('webcam: no camera access here (it needs a secure context: https, or http://127.0.0.1 / localhost)');
  let s: MediaStream;
  try {
    s = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (e) {
    throw new Error(`webcam: ${(e as Error).message || (e as Error).name}`);
  }
  await playVideo({ stream: s });
  els.webcam.textContent = 'Stop webcam';
}

async function useRuntime(runtime: RuntimeName): Promise<void> {
  if (!meta || !modelBytes) throw new Error('no model is loaded');
  ui.renderStatus(els, meta, runtime, null);
  let next: ModelSession;
  try {
    next = await createSession(runtime, modelBytes, { threads: threadsWish, int8: meta.int8, profile: params.get('profile') === '1' });
  } catch (e) {
    ui.renderStatus(els, meta, info.runtime, session ? info.threads : null);
    els.runtime.value = info.runtime;
    throw e;
  }
  const old = session;
  await serial(async () => {
    session = next;
    await old?.release();
  });
  info.runtime = runtime;
  info.threads = next.threads;
  els.runtime.value = runtime;
  ui.renderStatus(els, meta, runtime, next.threads);
}

async function loadMeta(): Promise<SiteMeta> {
  const res = await fetch(SITE_FILES.meta);
  if (!res.ok) throw new Error(`${SITE_FILES.meta}: HTTP ${res.status} ${res.statusText} (is this a folder written by streetseg app?)`);
  const m = (await res.json()) as SiteMeta;
  if (m.format !== SITE_FORMAT || m.version !== SITE_VERSION) throw new Error(`${SITE_FILES.meta}: format ${m.format} version ${m.version}, expected ${SITE_FORMAT} version ${SITE_VERSION}`);
  return m;
}

async function loadModel(): Promise<Uint8Array> {
  const res = await fetch(SITE_FILES.model);
  if (!res.ok) throw new Error(`${SITE_FILES.model}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

function wireControls(m: SiteMeta): void {
  const gpu = 'gpu' in navigator && m.runtimes.includes('webgpu');
  els.runtime.replaceChildren(...(['wasm', ...(gpu ? ['webgpu'] : [])] as const).map((r) => new Option(r === 'wasm' ? 'WASM (CPU)' : 'WebGPU', r)));
  els.runtime.onchange = () => void useRuntime(els.runtime.value as RuntimeName).catch(fail);
  els.alpha.oninput = () => {
    alpha = Number(els.alpha.value);
    els.alphaValue.textContent = alpha.toFixed(2);
    draw();
  };
  els.file.onchange = () => {
    const f = els.file.files?.[0];
    if (f) void openFile(f).catch(fail);
    els.file.value = '';
  };
  els.smooth.onchange = () => setSmoothing(els.smooth.checked);
  els.smooth.parentElement!.title = `over time, with ${m.smooth} (as streetseg predict --smooth); single images are never smoothed`;
  els.webcam.onclick = () => void toggleWebcam().catch(fail);
  els.pause.onclick = () => {
    const v = els.video;
    if (v.paused) void v.play().then(startLoop, fail);
    else v.pause();
    els.pause.textContent = v.paused ? 'Play' : 'Pause';
  };
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    els.drop.classList.add('over');
  });
  document.addEventListener('dragleave', () => els.drop.classList.remove('over'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    els.drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void openFile(f).catch(fail);
    else fail(new Error('the drop held no file'));
  });
}

async function start(): Promise<void> {
  meta = await loadMeta();
  smoother = new VideoSmoothing(meta.smooth, meta.classes.length);
  Object.assign(info, { model: meta.model, classes: meta.classes, colors: meta.colors, inputSize: meta.inputSize, smooth: meta.smooth, threads: usableThreads(threadsWish) });
  document.title = `streetseg · ${meta.model}`;
  ui.renderLegend(els, meta);
  wireControls(meta);
  ui.renderStatus(els, meta, 'wasm', null);
  modelBytes = await loadModel();
  const wanted = params.get('runtime') === 'webgpu' ? 'webgpu' : 'wasm';
  try {
    await useRuntime(wanted);
  } catch (e) {
    if (wanted === 'wasm') throw e;
    fail(e);
    await useRuntime('wasm');
  }
  await showImage(await fetchImage(SITE_FILES.sample, work), 'sample', 'sample frame');
}

const ready = start();
ready.catch(fail); // shown on the page; callers awaiting ready still see the rejection
window.addEventListener('unhandledrejection', (e) => fail(e.reason));
window.addEventListener('error', (e) => fail(e.error ?? e.message));

window.streetseg = {
  ready,
  segment,
  info,
  get stats() {
    return { ...stats };
  },
  setRuntime: (r) => useRuntime(r).catch((e) => {
    fail(e);
    throw e;
  }),
  setSmoothing: (on) => setSmoothing(on === true),
  get smoothing() {
    return smoothOn;
  },
  resetSmoothing: () => smoother?.reset(),
  endProfiling: () => session?.endProfiling(),
};
