// index.html of a site: the static markup and style the page script (web/main.ts, bundled as app.js)
// fills in. Everything is local: no fonts, scripts or styles from elsewhere.
import { escapeXml as esc } from '../report/format.js';
import { SITE_FILES } from './web/site.js';

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; padding: 1rem 1.5rem; max-width: 1400px; }
header h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
#status { color: GrayText; margin: 0 0 .5rem; }
#isolation { background: #fff3cd; color: #5c4400; border: 1px solid #e0c060; padding: .4rem .6rem; border-radius: 4px; }
#error { background: #fde2e1; color: #7a1010; border: 1px solid #e08080; padding: .4rem .6rem; border-radius: 4px; white-space: pre-wrap; }
.toolbar { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: .75rem 0; }
.toolbar label { display: inline-flex; gap: .35rem; align-items: center; }
#speed { font-variant-numeric: tabular-nums; display: inline-flex; gap: 1rem; }
main { display: flex; gap: 1.5rem; align-items: flex-start; }
#drop { border: 2px dashed transparent; border-radius: 6px; padding: 4px; max-width: 100%; }
#drop.over { border-color: #4a90d9; }
#view { display: block; max-width: 100%; height: auto; image-rendering: auto; }
#source { color: GrayText; font-size: .9rem; }
#legend { list-style: none; padding: 0; margin: 0; columns: 1; font-size: .9rem; }
#legend li { display: flex; align-items: center; gap: .4rem; margin: .15rem 0; }
.swatch { width: 1rem; height: 1rem; border-radius: 2px; border: 1px solid #0004; flex: none; }
footer { margin-top: 1rem; color: GrayText; font-size: .85rem; }
`;

export function siteHtml(modelName: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streetseg · ${esc(modelName)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
<script type="module" src="${SITE_FILES.app}"></script>
</head>
<body>
<header>
<h1>streetseg · ${esc(modelName)}</h1>
<p id="status">loading…</p>
<p id="isolation" hidden>Not cross-origin isolated: onnxruntime runs on one thread. Serve this folder with <code>streetseg serve</code> (it sends the COOP/COEP headers) for WASM threads.</p>
</header>
<div id="error" role="alert" hidden></div>
<div class="toolbar">
<label>Open an image or video <input id="file" type="file" accept="image/*,video/*"></label>
<button id="webcam" type="button">Webcam</button>
<button id="pause" type="button" hidden>Pause</button>
<label>Runtime <select id="runtime"><option value="wasm">WASM (CPU)</option></select></label>
<label>Overlay <input id="alpha" type="range" min="0" max="1" step="0.05" value="0.5"> <output id="alpha-value">0.50</output></label>
<label>Smooth video over time <input id="smooth" type="checkbox" checked></label>
<span id="speed"><span id="ms">– ms/frame</span><span id="fps">– FPS</span></span>
</div>
<main>
<div>
<div id="drop"><canvas id="view" width="480" height="360"></canvas></div>
<div id="source"></div>
</div>
<aside><h2 style="font-size:1rem;margin:0 0 .4rem">Classes</h2><ul id="legend"></ul></aside>
</main>
<video id="video" muted playsinline hidden></video>
<footer>Drop an image or a video anywhere on the page. Video and webcam frames are smoothed over time (so classes do not flicker) while the box is ticked; a single image never is. Everything runs in this browser with onnxruntime-web; nothing is uploaded.</footer>
</body>
</html>
`;
}
