// The page's DOM: the elements index.html declares (by id), the legend, the error box, the status and
// the speed readout. No logic beyond showing things.
import type { SiteMeta } from './site.js';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html has no #${id}`);
  return e as T;
}

export interface Elements {
  view: HTMLCanvasElement;
  video: HTMLVideoElement;
  file: HTMLInputElement;
  webcam: HTMLButtonElement;
  pause: HTMLButtonElement;
  runtime: HTMLSelectElement;
  alpha: HTMLInputElement;
  alphaValue: HTMLOutputElement;
  smooth: HTMLInputElement;
  error: HTMLElement;
  status: HTMLElement;
  isolation: HTMLElement;
  ms: HTMLElement;
  fps: HTMLElement;
  source: HTMLElement;
  legend: HTMLElement;
  drop: HTMLElement;
}

export function elements(): Elements {
  return {
    view: el('view'), video: el('video'), file: el('file'), webcam: el('webcam'), pause: el('pause'), runtime: el('runtime'),
    alpha: el('alpha'), alphaValue: el('alpha-value'), smooth: el('smooth'), error: el('error'), status: el('status'), isolation: el('isolation'),
    ms: el('ms'), fps: el('fps'), source: el('source'), legend: el('legend'), drop: el('drop'),
  };
}

export function showError(e: Elements, message: string): void {
  e.error.textContent = message;
  e.error.hidden = false;
}

export function clearError(e: Elements): void {
  e.error.textContent = '';
  e.error.hidden = true;
}

export function renderLegend(e: Elements, meta: SiteMeta): void {
  e.legend.replaceChildren(
    ...meta.classes.map((name, i) => {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      const [r, g, b] = meta.colors[i]!;
      sw.style.background = `rgb(${r}, ${g}, ${b})`;
      li.append(sw, document.createTextNode(`${i} ${name}`));
      return li;
    }),
  );
}

export function inputSizeText(meta: SiteMeta): string {
  const s = meta.inputSize;
  return 'scale' in s ? (s.scale === 1 ? "each image's own size" : `each image's size × ${s.scale}`) : `${s.height}×${s.width}`;
}

export function renderStatus(e: Elements, meta: SiteMeta, runtime: string, threads: number | null): void {
  const run = threads === null ? `${runtime}: loading…` : `${runtime}, ${threads} thread${threads === 1 ? '' : 's'}`;
  e.status.textContent = `${meta.model} · ${meta.classes.length} classes · model input: ${inputSizeText(meta)} · ${run}`;
  e.isolation.hidden = globalThis.crossOriginIsolated === true;
}

export function renderSpeed(e: Elements, ms: number | null, modelMs: number | null, fps: number | null): void {
  e.ms.textContent = ms === null ? '– ms/frame' : `${ms.toFixed(1)} ms/frame (model ${modelMs!.toFixed(1)})`;
  e.fps.textContent = fps === null ? '– FPS' : `${fps.toFixed(1)} FPS`;
}
